"""The firm's own profile, credentials, yearly indicators and members; banks' view of consenting firms."""

from __future__ import annotations

import pytest

from common.models import AuditEvent
from registry.models import FirmIndicator, User
from tests.factories.registry import ConsentFactory, FirmFactory, UserFactory, api_key_for

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
    "net_assets": "30000000.00",
}


def test_firm_admin_updates_credentials_and_member_cannot(client_for, firm_user):
    member = UserFactory(firm=firm_user.firm, role=User.Role.FIRM_MEMBER)
    body = {
        "high_tech_certificate_number": "GR202342001234",
        "high_tech_certificate_expires_on": "2026-12-31",
        "specialised_level": "provincial",
        "industry": "NEV_ICV",
    }
    r = client_for(firm_user).patch("/api/v1/firms/me/", body, format="json")
    assert r.status_code == 200, r.content
    assert (r.json()["specialised_level"], r.json()["industry"]) == ("provincial", "NEV_ICV")
    assert client_for(member).patch("/api/v1/firms/me/", {"name": "x"}, format="json").status_code == 403
    assert client_for(member).get("/api/v1/firms/me/").json()["high_tech_certificate_number"] == "GR202342001234"
    assert AuditEvent.objects.filter(action="firm.updated").count() == 1


def test_firm_profile_refuses_uscc_changes_and_unknown_industry(client_for, firm_user):
    uscc = firm_user.firm.uscc
    r = client_for(firm_user).patch("/api/v1/firms/me/", {"uscc": "91110000600037341L"}, format="json")
    assert (r.status_code, list(r.json()["errors"])) == (400, ["uscc"])
    r = client_for(firm_user).patch("/api/v1/firms/me/", {"industry": "NOPE"}, format="json")
    assert (r.status_code, list(r.json()["errors"])) == (400, ["industry"])
    firm_user.firm.refresh_from_db()
    assert firm_user.firm.uscc == uscc


def test_yearly_indicators_upsert_and_validation(client_for, firm_user):
    client = client_for(firm_user)
    r = client.put("/api/v1/firms/me/indicators/2025/", INDICATORS, format="json")
    assert (r.status_code, r.json()["year"], r.json()["revenue"]) == (201, 2025, "12000000.00")
    r = client.put("/api/v1/firms/me/indicators/2025/", {**INDICATORS, "staff_count": 130}, format="json")
    assert (r.status_code, r.json()["staff_count"]) == (200, 130)
    assert FirmIndicator.objects.filter(firm=firm_user.firm).count() == 1

    bad = client.put("/api/v1/firms/me/indicators/2024/", {**INDICATORS, "rd_staff_count": 500}, format="json")
    assert (bad.status_code, list(bad.json()["errors"])) == (400, ["rd_staff_count"])
    neg = client.put("/api/v1/firms/me/indicators/2024/", {**INDICATORS, "revenue": "-1"}, format="json")
    assert (neg.status_code, list(neg.json()["errors"])) == (400, ["revenue"])
    future = client.put("/api/v1/firms/me/indicators/2999/", INDICATORS, format="json")
    assert future.status_code == 400
    assert [i["year"] for i in client.get("/api/v1/firms/me/indicators/").json()] == [2025]


def test_firm_admin_adds_a_member_who_can_sign_in(client_for, firm_user, api_client):
    r = client_for(firm_user).post(
        "/api/v1/firms/me/members/",
        {"username": "clerk", "password": "a-long-pass-42", "role": "firm_member"},
        format="json",
    )
    assert r.status_code == 201, r.content
    clerk = User.objects.get(username="clerk")
    assert (clerk.firm, clerk.role) == (firm_user.firm, "firm_member")
    token = api_client.post("/api/v1/auth/token/", {"username": "clerk", "password": "a-long-pass-42"}).json()
    assert "token" in token
    assert (
        client_for(firm_user)
        .post("/api/v1/firms/me/members/", {"username": "clerk", "password": "another-pass-1"}, format="json")
        .json()["code"]
        == "conflict"
    )
    weak = client_for(firm_user).post(
        "/api/v1/firms/me/members/", {"username": "w", "password": "1234567890"}, format="json"
    )
    assert (weak.status_code, list(weak.json()["errors"])) == (400, ["password"])
    assert (
        client_for(clerk)
        .post("/api/v1/firms/me/members/", {"username": "z", "password": "a-long-pass-43"}, format="json")
        .status_code
        == 403
    )


def test_members_list_shows_only_own_firm(client_for, firm_user):
    UserFactory()  # another firm's user
    names = [m["username"] for m in client_for(firm_user).get("/api/v1/firms/me/members/").json()["results"]]
    assert names == [firm_user.username]


def test_banks_list_only_live_consenting_firms(client_for, bank):
    live = ConsentFactory(bank=bank)
    ConsentFactory(bank=bank, revoked_at="2026-01-01T00:00:00Z")
    ConsentFactory()  # another bank
    FirmFactory()
    r = client_for(api_key=api_key_for(bank)).get("/api/v1/consenting-firms/")
    assert r.status_code == 200
    assert [f["uscc"] for f in r.json()["results"]] == [live.firm.uscc]
