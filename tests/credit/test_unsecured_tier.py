"""The unsecured part of a limit comes from the firm's innovation tier, end to end through the API."""

from decimal import Decimal

import pytest

from tests.factories.credit import CreditProductFactory
from tests.factories.registry import AssetFactory, ConsentFactory, FirmFactory, api_key_for
from tests.factories.valuation import ValuationFactory
from valuation.innovation import innovation_parameters_active
from valuation.models import InnovationScore

pytestmark = pytest.mark.django_db

INDICATORS = {
    "revenue": "12000000.00",
    "rd_expense": "1800000.00",
    "staff_count": 120,
    "rd_staff_count": 45,
    "invention_applications": 6,
    "pct_applications": 1,
    "tech_contract_turnover": "500000.00",
    "hightech_product_revenue": "9000000.00",
}


def _score(firm, tier):
    return InnovationScore.objects.create(
        firm=firm,
        year=2025,
        parameter_set=innovation_parameters_active(),
        stage="growth",
        base_points=Decimal("72.00"),
        bonus_points=Decimal("0.00"),
        total_points=Decimal("72.00"),
        tier=tier,
        cohort_size=10,
        breakdown={},
    )


def test_limit_adds_the_tier_amount_and_explains_it(client_for, bank):
    firm = FirmFactory()
    ConsentFactory(firm=firm, bank=bank)
    product = CreditProductFactory(
        bank=bank,
        kind="both",
        pledge_rates={"patent": "0.25"},
        unsecured_by_tier={"A": "10000000.00", "B": "7000000.00"},
        max_amount=Decimal("50000000.00"),
    )
    ValuationFactory(asset=AssetFactory(firm=firm), low=Decimal("1000000.00"))
    client = client_for(api_key=api_key_for(bank))
    before = client.get(f"/api/v1/credit/limits/{firm.uscc}/?product={product.code}").json()
    _score(firm, "B")
    after = client.get(f"/api/v1/credit/limits/{firm.uscc}/?product={product.code}").json()

    assert (before["tier"], before["unsecured"], before["limit"]) == (None, "0.00", "250000.00")
    assert (after["tier"], after["secured"], after["unsecured"], after["limit"]) == (
        "B",
        "250000.00",
        "7000000.00",
        "7250000.00",
    )


def test_a_pledge_only_product_ignores_the_tier(client_for, bank):
    firm = FirmFactory()
    ConsentFactory(firm=firm, bank=bank)
    product = CreditProductFactory(bank=bank, kind="pledge", unsecured_by_tier={"B": "7000000.00"})
    _score(firm, "B")
    r = client_for(api_key=api_key_for(bank)).get(f"/api/v1/credit/limits/{firm.uscc}/?product={product.code}")
    assert (r.json()["unsecured"], r.json()["limit"]) == ("0.00", "0.00")


def test_indicators_put_rescores_the_province_on_commit(client_for, django_capture_on_commit_callbacks):
    from tests.factories.registry import UserFactory

    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        r = client_for(user).put("/api/v1/firms/me/indicators/2025/", INDICATORS, format="json")
    assert r.status_code == 201
    score = InnovationScore.objects.get(firm=user.firm, year=2025)
    assert score.cohort_size == 1
    me = client_for(user).get("/api/v1/firms/me/").json()
    assert me["innovation"]["year"] == 2025
