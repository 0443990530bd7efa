"""The operator commands of api.md (Operations)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from common.models import AuditEvent
from credit.models import CreditProduct
from registry.models import Asset, Bank, Consent, Firm, User
from valuation.models import Valuation


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_create_firm_with_its_first_user():
    run(
        "create_firm",
        "--uscc",
        "91110000600037341L",
        "--name",
        "北京测试",
        "--username",
        "ceo",
        "--password",
        "s3cret-pw",
    )
    firm = Firm.objects.get(uscc="91110000600037341L")
    user = User.objects.get(username="ceo")
    assert (user.firm, user.role, user.check_password("s3cret-pw")) == (firm, "firm_admin", True)
    assert firm.region_code == "110000"
    assert AuditEvent.objects.filter(action="firm.created", object_id=str(firm.pk)).count() == 1


@pytest.mark.django_db
def test_create_firm_refuses_a_bad_uscc_and_writes_nothing():
    with pytest.raises(CommandError, match="check character"):
        run("create_firm", "--uscc", "91110000600037341N", "--name", "x", "--username", "u", "--password", "p")
    assert not Firm.objects.exists()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_create_firm_refuses_a_taken_username_and_leaves_no_firm_behind():
    User.objects.create_user(username="taken", role="reviewer")
    with pytest.raises(CommandError):
        run("create_firm", "--uscc", "91110000600037341L", "--name", "x", "--username", "taken", "--password", "p")
    assert not Firm.objects.exists()


@pytest.mark.django_db
def test_create_bank_and_an_api_key_that_authenticates():
    run("create_bank", "--code", "HBX", "--name", "Hubei X bank")
    key = run("create_api_key", "--bank", "HBX").strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/v1/credit/products/").status_code == 200
    wrong = key[:-1] + ("x" if key[-1] != "x" else "y")
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {wrong}")
    assert client.get("/api/v1/credit/products/").status_code == 401


@pytest.mark.django_db
def test_create_bank_refuses_a_bad_code_or_a_duplicate():
    with pytest.raises(CommandError):
        run("create_bank", "--code", "bad code", "--name", "x")
    run("create_bank", "--code", "HBX", "--name", "x")
    with pytest.raises(CommandError, match="already exists"):
        run("create_bank", "--code", "HBX", "--name", "y")
    assert Bank.objects.count() == 1


@pytest.mark.django_db
def test_create_api_key_for_an_unknown_bank_fails():
    with pytest.raises(CommandError, match="No bank"):
        run("create_api_key", "--bank", "NOPE")


@pytest.mark.django_db
def test_create_reviewer_can_sign_in_and_review():
    run("create_reviewer", "--username", "rev", "--password", "pw-rev-123")
    user = User.objects.get(username="rev")
    assert (user.role, user.is_staff, user.is_superuser) == ("reviewer", True, False)
    assert user.has_perm("registry.view_asset")
    token = APIClient().post("/api/v1/auth/token/", {"username": "rev", "password": "pw-rev-123"}).json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/review/assets/").status_code == 200


@pytest.mark.django_db
def test_seed_demo_builds_a_usable_province_and_is_idempotent():
    run("seed_demo")
    counts = {m.__name__: m.objects.count() for m in (Firm, Asset, Valuation, Bank, CreditProduct, Consent, User)}
    assert counts["Firm"] == 5
    assert counts["Asset"] == 20
    assert set(Asset.objects.values_list("kind", flat=True)) == {"data", "patent", "trademark", "software"}
    assert Valuation.objects.filter(status="approved").count() == 20
    assert counts["Consent"] == 1
    events = AuditEvent.objects.count()

    run("seed_demo")
    assert {
        m.__name__: m.objects.count() for m in (Firm, Asset, Valuation, Bank, CreditProduct, Consent, User)
    } == counts
    assert AuditEvent.objects.count() == events

    # The demo bank can read a limit for the consenting demo firm at once.
    from registry.models import BankApiKey

    _key_obj, key = BankApiKey.objects.create_key(bank=Bank.objects.get(code="HBDEMO"), name="t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    r = client.get("/api/v1/credit/limits/91420100MA4K1A2B3Q/?product=IP_PLEDGE")
    assert r.status_code == 200
    assert len(r.json()["explanation"]) == 4
