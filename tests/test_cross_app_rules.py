"""Rules that cross apps: a pledged asset cannot be retired; a valuation of a superseded version cannot be
approved; webhook payload money is a decimal string."""

from decimal import Decimal

import pytest
from django.utils import translation

from credit.services import _line_payload
from tests.factories.bulk import approved_patents
from tests.factories.registry import FirmFactory, ReviewerFactory
from tests.factories.valuation import ValuationFactory
from tests.security.matrix_world import build_world
from valuation.errors import ValuationWrongState
from valuation.models import Valuation
from valuation.services import valuation_approve

pytestmark = pytest.mark.django_db


def test_a_pledged_asset_cannot_be_retired(client_for):
    world = build_world()
    asset_id = world.params["<int:asset_id>"]
    r = world.clients["a_admin"].post(f"/api/v1/assets/{asset_id}/retire/")
    assert (r.status_code, r.json()["code"]) == (409, "asset_wrong_state")


def test_a_valuation_of_an_old_version_cannot_be_approved():
    [asset] = approved_patents(firm=FirmFactory(), count=1)
    stale = ValuationFactory(asset=asset, asset_version=1, status=Valuation.Status.PENDING_REVIEW)
    type(asset).objects.filter(pk=asset.pk).update(approved_version=2)
    with translation.override("en"), pytest.raises(ValuationWrongState, match="version 2"):
        valuation_approve(valuation=stale, reviewer=ReviewerFactory())
    stale.refresh_from_db()
    assert stale.status == "pending_review"


def test_webhook_line_payload_carries_money_as_decimals():
    from credit.models import CreditLine

    line = CreditLine.objects.select_related("firm").get(pk=build_world().params["<int:credit_line_id>"])
    payload = _line_payload(line)
    assert payload["drawn"] == Decimal("0.00")
    assert str(payload["drawn"]) == "0.00"


def test_an_ended_right_is_no_cover_in_the_limit(client_for, bank):
    from registry.models import AssetVersion
    from tests.factories.credit import CreditProductFactory
    from tests.factories.registry import AssetFactory, ConsentFactory, api_key_for, data_details

    firm = FirmFactory()
    ConsentFactory(firm=firm, bank=bank)
    product = CreditProductFactory(bank=bank)
    expired = data_details(
        registration={"registry": "HB", "number": "R-9", "issued_on": "2020-01-01", "valid_until": "2021-01-01"}
    )
    data_asset = AssetFactory(firm=firm, kind="data", details=expired, identifier=None)
    ValuationFactory(asset=data_asset, low=Decimal("1000000.00"))
    live = ValuationFactory(asset=AssetFactory(firm=firm), low=Decimal("1000000.00"))
    assert AssetVersion.objects.filter(asset=data_asset).exists()

    r = client_for(api_key=api_key_for(bank)).get(f"/api/v1/credit/limits/{firm.uscc}/?product={product.code}")
    lines = {line["asset"]: line for line in r.json()["explanation"]}
    assert (lines[data_asset.pk]["collateral_value"], lines[data_asset.pk]["amount"]) == ("0.00", "0.00")
    assert lines[live.asset_id]["amount"] == "250000.00"
    assert r.json()["limit"] == "250000.00"
