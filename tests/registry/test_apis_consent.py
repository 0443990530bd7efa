"""A firm grants a bank consent to query its credit data, until it expires or is revoked (api.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from common.models import AuditEvent
from registry.models import Consent, User
from tests.factories.credit import CreditProductFactory
from tests.factories.registry import BankFactory, ConsentFactory, UserFactory, api_key_for, next_uscc

pytestmark = pytest.mark.django_db

CONSENTS = "/api/v1/consents/"


def _in(days: float) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


def _grant(client, bank_code: str, days: float = 90, **extra):
    return client.post(CONSENTS, {"bank": bank_code, "expires_at": _in(days), **extra}, format="json")


@pytest.fixture
def bank_client(client_for, bank, bank_key):
    CreditProductFactory(bank=bank, code="IP")
    return client_for(api_key=bank_key)


def _limit(bank_client, firm):
    return bank_client.get(f"/api/v1/credit/limits/{firm.uscc}/?product=IP")


# --- granting -------------------------------------------------------------------------------------


def test_a_firm_grants_a_bank_consent(client_for, firm_user, bank):
    expires = timezone.now() + timedelta(days=90)

    r = client_for(firm_user).post(CONSENTS, {"bank": bank.code, "expires_at": expires.isoformat()}, format="json")

    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["firm"], body["bank"], body["is_live"], body["revoked_at"]) == (
        firm_user.firm.uscc,
        bank.code,
        True,
        None,
    )
    assert body["scopes"] == ["credit_limit", "credit_line"]
    assert parse_datetime(body["expires_at"]) == expires
    consent = Consent.objects.get()
    assert (consent.firm_id, consent.bank_id, consent.granted_by_id) == (firm_user.firm_id, bank.pk, firm_user.pk)
    assert AuditEvent.objects.filter(action="consent.granted", object_id=str(consent.pk)).count() == 1


def test_a_consent_can_be_limited_to_some_scopes(client_for, firm_user, bank):
    r = _grant(client_for(firm_user), bank.code, scopes=["credit_limit"])
    assert (r.status_code, r.json()["scopes"]) == (201, ["credit_limit"])


def test_an_unknown_bank_code_is_400_on_bank(client_for, firm_user):
    r = _grant(client_for(firm_user), "NO_SUCH_BANK")

    assert (r.status_code, r.json()["code"], list(r.json()["errors"])) == (400, "validation_failed", ["bank"])
    assert Consent.objects.count() == 0
    assert not AuditEvent.objects.filter(action="consent.granted").exists()


def test_an_inactive_bank_cannot_be_granted_consent(client_for, firm_user):
    closed = BankFactory(code="CLOSED", is_active=False)
    r = _grant(client_for(firm_user), closed.code)
    assert (r.status_code, list(r.json()["errors"])) == (400, ["bank"])
    assert Consent.objects.count() == 0


@pytest.mark.parametrize("days", [-1, 0])
def test_an_expiry_not_in_the_future_is_422(client_for, firm_user, bank, days):
    r = _grant(client_for(firm_user), bank.code, days=days)

    assert r.status_code == 422, r.content
    assert (r.json()["code"], list(r.json()["errors"])) == ("business_rule_violation", ["expires_at"])
    assert Consent.objects.count() == 0


def test_an_unknown_scope_is_400(client_for, firm_user, bank):
    r = _grant(client_for(firm_user), bank.code, scopes=["read_everything"])
    assert (r.status_code, list(r.json()["errors"])) == (400, ["scopes.0"])
    assert Consent.objects.count() == 0


def test_a_bank_cannot_grant_itself_consent(client_for, bank, bank_key):
    r = _grant(client_for(api_key=bank_key), bank.code)
    assert (r.status_code, r.json()["code"]) == (403, "permission_denied")
    assert Consent.objects.count() == 0


def test_only_the_firms_administrator_grants_consent(client_for, firm_user, bank):
    member = UserFactory(firm=firm_user.firm, role=User.Role.FIRM_MEMBER)

    r = _grant(client_for(member), bank.code)

    assert r.status_code == 403
    assert Consent.objects.count() == 0


def test_granting_again_supersedes_the_previous_consent(client_for, firm_user, bank):
    client = client_for(firm_user)
    first = _grant(client, bank.code, days=30).json()

    r = _grant(client, bank.code, days=180)

    assert r.status_code == 201, r.content
    assert Consent.objects.count() == 2
    assert list(Consent.objects.filter(revoked_at__isnull=True).values_list("pk", flat=True)) == [r.json()["id"]]
    old = Consent.objects.get(pk=first["id"])
    assert (old.revoked_at is not None, old.revoked_by_id) == (True, firm_user.pk)
    listed = {c["id"]: c["is_live"] for c in client.get(CONSENTS).json()["results"]}
    assert listed == {first["id"]: False, r.json()["id"]: True}
    assert AuditEvent.objects.filter(action="consent.superseded", object_id=str(first["id"])).count() == 1


def test_a_consent_to_another_bank_is_not_superseded(client_for, firm_user, bank):
    other = BankFactory(code="OTHER")
    client = client_for(firm_user)
    _grant(client, bank.code)
    _grant(client, other.code)
    assert Consent.objects.filter(revoked_at__isnull=True).count() == 2


def test_the_database_keeps_one_unrevoked_consent_per_firm_and_bank(firm_user, bank):
    ConsentFactory(firm=firm_user.firm, bank=bank)
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentFactory(firm=firm_user.firm, bank=bank)
    assert Consent.objects.count() == 1


# --- what each side sees --------------------------------------------------------------------------


def test_a_firm_lists_only_its_own_consents(client_for, firm_user, bank):
    mine = ConsentFactory(firm=firm_user.firm, bank=bank)
    ConsentFactory(bank=bank)  # another firm's
    r = client_for(firm_user).get(CONSENTS)
    assert [c["id"] for c in r.json()["results"]] == [mine.pk]


def test_a_bank_lists_only_the_live_consents_given_to_it(client_for, bank, bank_key):
    live = ConsentFactory(bank=bank)
    ConsentFactory(bank=bank, revoked_at=timezone.now() - timedelta(hours=1))
    ConsentFactory(bank=bank, expires_at=timezone.now() - timedelta(seconds=1))
    ConsentFactory()  # live, to another bank

    r = client_for(api_key=bank_key).get("/api/v1/consenting-firms/")

    assert r.status_code == 200, r.content
    assert [f["uscc"] for f in r.json()["results"]] == [live.firm.uscc]


def test_the_consent_list_is_for_firms_not_banks(client_for, bank, bank_key):
    # api.md: GET /api/v1/consents/ is a firm endpoint; a bank lists its consenting firms at /consenting-firms/
    ConsentFactory(bank=bank)
    r = client_for(api_key=bank_key).get(CONSENTS)
    assert (r.status_code, r.json()["code"]) == (403, "permission_denied")


# --- revoking and expiry: the bank loses access at once -------------------------------------------


def test_revoking_cuts_the_banks_access_at_once(client_for, firm_user, bank, bank_client):
    firm_client = client_for(firm_user)
    consent_id = _grant(firm_client, bank.code).json()["id"]
    assert _limit(bank_client, firm_user.firm).status_code == 200

    r = firm_client.delete(f"{CONSENTS}{consent_id}/")

    assert (r.status_code, r.content) == (204, b"")
    consent = Consent.objects.get(pk=consent_id)
    assert (consent.revoked_at is not None, consent.revoked_by_id) == (True, firm_user.pk)
    r = _limit(bank_client, firm_user.firm)
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    assert bank_client.get("/api/v1/consenting-firms/").json()["results"] == []
    assert AuditEvent.objects.filter(action="consent.revoked", object_id=str(consent_id)).count() == 1


def test_revoking_twice_changes_nothing(client_for, firm_user, bank):
    consent = ConsentFactory(firm=firm_user.firm, bank=bank)
    client = client_for(firm_user)
    assert client.delete(f"{CONSENTS}{consent.pk}/").status_code == 204
    revoked_at = Consent.objects.get(pk=consent.pk).revoked_at

    assert client.delete(f"{CONSENTS}{consent.pk}/").status_code == 204

    assert Consent.objects.get(pk=consent.pk).revoked_at == revoked_at
    assert AuditEvent.objects.filter(action="consent.revoked").count() == 1


def test_another_firm_cannot_revoke_a_consent(client_for, firm_user, bank, bank_client):
    consent = ConsentFactory(firm=firm_user.firm, bank=bank)

    r = client_for(UserFactory()).delete(f"{CONSENTS}{consent.pk}/")

    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    assert Consent.objects.get(pk=consent.pk).revoked_at is None
    assert _limit(bank_client, firm_user.firm).status_code == 200
    assert not AuditEvent.objects.filter(action="consent.revoked").exists()


def test_a_bank_cannot_revoke_a_consent(client_for, firm_user, bank, bank_key):
    consent = ConsentFactory(firm=firm_user.firm, bank=bank)
    r = client_for(api_key=bank_key).delete(f"{CONSENTS}{consent.pk}/")
    assert (r.status_code, r.json()["code"]) == (403, "permission_denied")
    assert Consent.objects.get(pk=consent.pk).revoked_at is None


def test_an_expired_consent_gives_the_bank_no_access(firm_user, bank, bank_client):
    consent = ConsentFactory(firm=firm_user.firm, bank=bank)
    assert _limit(bank_client, firm_user.firm).status_code == 200

    Consent.objects.filter(pk=consent.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    r = _limit(bank_client, firm_user.firm)
    assert (r.status_code, r.json()["code"]) == (404, "not_found")


def test_without_consent_a_bank_cannot_tell_whether_a_firm_exists(firm_user, bank_client):
    existing = _limit(bank_client, firm_user.firm)
    missing = bank_client.get(f"/api/v1/credit/limits/{next_uscc()}/?product=IP")

    assert existing.status_code == missing.status_code == 404
    assert existing.json()["detail"] == missing.json()["detail"]
    assert existing.json()["code"] == missing.json()["code"] == "not_found"


def test_a_consent_to_one_bank_gives_another_bank_nothing(client_for, firm_user, bank):
    ConsentFactory(firm=firm_user.firm, bank=bank)
    other = BankFactory(code="OTHER")
    CreditProductFactory(bank=other, code="IP")
    r = _limit(client_for(api_key=api_key_for(other)), firm_user.firm)
    assert (r.status_code, r.json()["code"]) == (404, "not_found")


def test_a_consent_without_the_credit_limit_scope_gives_no_limit(firm_user, bank, bank_client):
    ConsentFactory(firm=firm_user.firm, bank=bank, scopes=["credit_line"])
    assert _limit(bank_client, firm_user.firm).status_code == 404
