"""Consents in the firm portal: the list, grant and revoke through the API's services, administrators only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from common.models import AuditEvent
from registry.models import Consent
from tests.factories.registry import BankFactory, ConsentFactory, UserFactory

pytestmark = pytest.mark.django_db


def _future(days: int = 90) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def test_the_list_shows_active_expired_and_revoked_consents(firm, admin_client) -> None:  # type: ignore[no-untyped-def]
    ConsentFactory(firm=firm, bank=BankFactory(name="Active bank"))
    ConsentFactory(firm=firm, bank=BankFactory(name="Old bank"), expires_at=timezone.now() - timedelta(days=1))
    ConsentFactory(firm=firm, bank=BankFactory(name="Gone bank"), revoked_at=timezone.now())
    ConsentFactory(bank=BankFactory(name="Other firm's bank"))
    page = admin_client.get(reverse("portal_firm:consents"))
    states = {consent.bank.name: state for consent, state in page.context["consents"]}
    assert states == {"Active bank": "active", "Old bank": "expired", "Gone bank": "revoked"}


def test_an_administrator_grants_consent_through_the_service(firm, admin, admin_client) -> None:  # type: ignore[no-untyped-def]
    bank = BankFactory(code="HBDEMO", name="Hubei demo bank")
    response = admin_client.post(
        reverse("portal_firm:consents"), {"bank": "HBDEMO", "scopes": ["credit_limit"], "expires_on": _future()}
    )
    assert response.status_code == 302
    consent = Consent.objects.get()
    assert (consent.firm_id, consent.bank_id, consent.scopes, consent.granted_by_id) == (
        firm.pk,
        bank.pk,
        ["credit_limit"],
        admin.pk,
    )
    assert timezone.localtime(consent.expires_at).date().isoformat() == _future()
    assert AuditEvent.objects.filter(action="consent.granted", object_id=str(consent.pk)).exists()
    both = admin_client.post(reverse("portal_firm:consents"), {"bank": "HBDEMO", "expires_on": _future(30)})
    assert both.status_code == 302
    assert Consent.objects.live().get().scopes == ["credit_limit", "credit_line"]  # the earlier one superseded


def test_a_past_expiry_and_an_unknown_bank_are_refused(admin_client) -> None:  # type: ignore[no-untyped-def]
    BankFactory(code="HBDEMO")
    past = admin_client.post(
        reverse("portal_firm:consents"),
        {"bank": "HBDEMO", "expires_on": (timezone.localdate() - timedelta(days=1)).isoformat()},
    )
    assert past.status_code == 400
    assert past.context["form"].errors["expires_on"] == ["The expiry must be in the future."]
    unknown = admin_client.post(reverse("portal_firm:consents"), {"bank": "NOPE", "expires_on": _future()})
    assert unknown.status_code == 400
    assert "bank" in unknown.context["form"].errors
    assert Consent.objects.count() == 0


def test_an_administrator_revokes_with_a_confirmation_button(firm, admin_client) -> None:  # type: ignore[no-untyped-def]
    consent = ConsentFactory(firm=firm)
    page = admin_client.get(reverse("portal_firm:consents"))
    assert f'data-testid="revoke-consent-{consent.pk}"' in page.text
    assert "data-confirm=" in page.text
    url = reverse("portal_firm:consent-revoke", args=[consent.pk])
    assert admin_client.get(url).status_code == 405
    response = admin_client.post(url)
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.revoked_at is not None
    assert AuditEvent.objects.filter(action="consent.revoked", object_id=str(consent.pk)).exists()


def test_members_see_consents_but_cannot_grant_or_revoke(firm, member, signed_in) -> None:  # type: ignore[no-untyped-def]
    consent = ConsentFactory(firm=firm)
    BankFactory(code="HBDEMO")
    client = signed_in(member)
    page = client.get(reverse("portal_firm:consents"))
    assert page.status_code == 200
    assert 'data-testid="grant-form"' not in page.text
    assert "revoke-consent" not in page.text
    assert 'data-testid="admin-only"' in page.text
    assert client.post(reverse("portal_firm:consents"), {"bank": "HBDEMO", "expires_on": _future()}).status_code == 403
    assert client.post(reverse("portal_firm:consent-revoke", args=[consent.pk])).status_code == 403
    consent.refresh_from_db()
    assert consent.revoked_at is None
    assert Consent.objects.count() == 1


def test_another_firms_consent_cannot_be_revoked(admin_client) -> None:  # type: ignore[no-untyped-def]
    other = ConsentFactory(firm=UserFactory().firm)
    assert admin_client.post(reverse("portal_firm:consent-revoke", args=[other.pk])).status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None
