"""Every firm page renders for the firm, refuses other roles and strangers, and speaks both languages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.credit import PledgeFactory
from tests.factories.registry import (
    AssetFactory,
    BankFactory,
    BankStaffFactory,
    ConsentFactory,
    ReviewerFactory,
)
from tests.factories.valuation import ValuationFactory

pytestmark = pytest.mark.django_db

PAGES = [
    ("portal_firm:dashboard", {}),
    ("portal_firm:asset-list", {}),
    ("portal_firm:asset-register-choose", {}),
    ("portal_firm:asset-register", {"kind": "patent"}),
    ("portal_firm:asset-register", {"kind": "trademark"}),
    ("portal_firm:asset-register", {"kind": "software"}),
    ("portal_firm:asset-register", {"kind": "data"}),
    ("portal_firm:import-list", {}),
    ("portal_firm:import-new", {}),
    ("portal_firm:consents", {}),
]


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_each_page_renders_for_the_firm(admin_client, name, kwargs) -> None:  # type: ignore[no-untyped-def]
    response = admin_client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200
    assert 'data-testid="nav-consents"' in response.text


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_other_roles_get_403_and_strangers_go_to_sign_in(signed_in, name, kwargs) -> None:  # type: ignore[no-untyped-def]
    url = reverse(name, kwargs=kwargs)
    assert signed_in(BankStaffFactory(bank=BankFactory())).get(url).status_code == 403
    assert signed_in(ReviewerFactory()).get(url).status_code == 403
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("portal:login"))


def test_register_pages_exist_for_each_asset_kind_only(admin_client) -> None:  # type: ignore[no-untyped-def]
    for kind in ("patent", "trademark", "software", "data"):
        assert admin_client.get(f"/firm/assets/new/{kind}/").status_code == 200
    assert admin_client.get("/firm/assets/new/car/").status_code == 404


def test_dashboard_sums_approved_valuations_and_lists_lines_pledges_and_consents(firm, admin_client) -> None:  # type: ignore[no-untyped-def]
    a = ValuationFactory(
        asset=AssetFactory(firm=firm, title="Laser head"), value="1000000.10", low="800000.00", high="1200000.00"
    )
    ValuationFactory(asset=AssetFactory(firm=firm), value="500000.25", low="400000.00", high="600000.00")
    ValuationFactory(
        asset=AssetFactory(firm=firm, status="retired"), value="9999999.00", low="1.00", high="99999999.00"
    )
    ValuationFactory(value="7777777.00", low="7777777.00", high="7777778.00")  # another firm's
    AssetFactory(firm=firm, status="draft", kind="data", title="Sensor data")
    PledgeFactory(valuation=a, credit_line__product__bank__name="Hubei pledge bank")
    ConsentFactory(firm=firm)
    response = admin_client.get(reverse("portal_firm:dashboard"))
    body = response.text
    assert 'data-testid="firm-dashboard"' in body
    assert "1,500,000.35" in body  # Decimal sum of the two live approved valuations
    assert "1,200,000.00" in body
    assert "1,800,000.00" in body
    assert "7,777,777.00" not in body
    assert "9,999,999.00" not in body
    assert "Hubei pledge bank" in body
    assert "Laser head" in body
    assert response.context["grand_total"] == 4
    assert response.context["consent_counts"] == {"active": 1, "expired": 0, "revoked": 0}
    assert "<svg" in body


def _dashboard_queries(firm, client, django_assert_max_num_queries, n: int) -> int:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(n):
        valuation = ValuationFactory(asset=AssetFactory(firm=firm))
        PledgeFactory(valuation=valuation)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("portal_firm:dashboard")).status_code == 200
    return len(captured.captured_queries)


def test_dashboard_query_count_does_not_grow_with_assets(firm, signed_in, admin, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    client = signed_in(admin)
    few = _dashboard_queries(firm, client, django_assert_max_num_queries, 3)
    many = _dashboard_queries(firm, client, django_assert_max_num_queries, 12)
    assert few == many
    with django_assert_max_num_queries(10):
        client.get(reverse("portal_firm:dashboard"))


def test_pages_speak_chinese_by_default_and_english_on_request(admin, signed_in) -> None:  # type: ignore[no-untyped-def]
    zh = signed_in(admin, language="zh-hans").get(reverse("portal_firm:dashboard"))
    assert 'lang="zh-hans"' in zh.text
    assert "按类型和状态统计的资产" in zh.text
    assert "登记资产" in zh.text
    en = signed_in(admin, language="en").get(reverse("portal_firm:dashboard"))
    assert 'lang="en"' in en.text
    assert "Assets by kind and status" in en.text
    zh_form = signed_in(admin, language="zh-hans").get("/firm/assets/new/patent/")
    assert "申请日" in zh_form.text
