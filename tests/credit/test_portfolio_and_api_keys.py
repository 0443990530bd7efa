"""The bank's portfolio view and bank staff managing their systems' API keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from credit.models import CreditLine
from registry.models import BankApiKey
from tests.credit.helpers import RATES, draw, issue, patent_with_valuation
from tests.factories.credit import CreditProductFactory
from tests.factories.registry import BankStaffFactory, ConsentFactory, FirmFactory, UserFactory

pytestmark = pytest.mark.django_db
KEYS = "/api/v1/credit/api-keys/"


def test_portfolio_totals_breakdowns_and_coverage_buckets(bank, bank_key, client_for):
    api = client_for(api_key=bank_key)
    CreditProductFactory(bank=bank, code="IP", pledge_rates=RATES, max_amount=None)
    firm = FirmFactory()
    ConsentFactory(firm=firm, bank=bank)
    lines = []
    for i, (amount, drawn) in enumerate([("1000.00", "1000.00"), ("1000.00", "600.00"), ("500.00", None)]):
        valuation = patent_with_valuation(firm, "8000.00")  # supports 2,000.00
        line_id = issue(api, firm, [valuation.asset], amount, key=f"l{i}").json()["id"]
        if drawn:
            draw(api, line_id, drawn, f"d{i}")
        lines.append(line_id)
    CreditLine.objects.filter(pk=lines[0]).update(status="at_risk", coverage="0.9000")

    body = api.get("/api/v1/credit/portfolio/").json()
    assert body["totals"] == {"lines": 3, "amount": "2500.00", "drawn": "1600.00"}
    assert body["at_risk"] == {"lines": 1, "amount": "1000.00", "drawn": "1000.00"}
    assert body["by_industry"] == [
        {"industry": "OPTO_ELEC", "industry_name": body["by_industry"][0]["industry_name"], **body["totals"]}
    ]
    assert body["by_asset_kind"] == [
        {
            "asset_kind": "patent",
            "pledges": 3,
            "lines": 3,
            "collateral_value": "24000.00",
            "secured_amount": "6000.00",
        }
    ]
    assert body["coverage_distribution"] == {
        "below_1": 1,
        "1_to_1_5": 0,
        "1_5_to_2": 0,
        "2_and_above": 1,  # 2,000 / 600
        "no_drawing": 1,
    }
    assert body["currency"] == "CNY"
    assert client_for(UserFactory()).get("/api/v1/credit/portfolio/").status_code == 403


def test_bank_staff_create_list_and_revoke_keys(bank, client_for):
    staff = client_for(BankStaffFactory(bank=bank))
    created = staff.post(KEYS, {"name": "core banking"}, format="json")
    assert created.status_code == 201
    key = created.json()["key"]
    prefix = created.json()["prefix"]
    system = client_for(api_key=key)
    assert system.get("/api/v1/credit/products/").status_code == 200
    listed = system.get(KEYS).json()["results"]  # a bank system may list its bank's keys
    assert [k["prefix"] for k in listed] == [prefix]
    assert "key" not in listed[0]
    assert system.post(KEYS, {"name": "mine"}, format="json").status_code == 403  # but not create
    assert system.delete(f"{KEYS}{prefix}/").status_code == 403

    other_staff = client_for(BankStaffFactory())
    assert other_staff.delete(f"{KEYS}{prefix}/").status_code == 404
    assert staff.delete(f"{KEYS}{prefix}/").status_code == 204
    assert system.get("/api/v1/credit/products/").status_code == 401  # revoked at once
    assert BankApiKey.objects.get(prefix=prefix).revoked is True


def test_key_expiry(bank, client_for):
    staff = client_for(BankStaffFactory(bank=bank))
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    assert staff.post(KEYS, {"name": "old", "expires_at": past}, format="json").status_code == 400
    soon = (timezone.now() + timedelta(days=1)).isoformat()
    created = staff.post(KEYS, {"name": "soon", "expires_at": soon}, format="json").json()
    assert created["expires_at"] is not None
    BankApiKey.objects.filter(prefix=created["prefix"]).update(expiry_date=timezone.now() - timedelta(seconds=1))
    assert client_for(api_key=created["key"]).get("/api/v1/credit/products/").status_code == 401


def test_firm_users_and_reviewers_cannot_manage_keys(client_for, firm_user, reviewer):
    for user in (firm_user, reviewer):
        assert client_for(user).get(KEYS).status_code == 403
        assert client_for(user).post(KEYS, {"name": "x"}, format="json").status_code == 403
