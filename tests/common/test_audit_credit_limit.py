"""Every credit-limit query is an audit event: bank, key or person, firm, purpose and result, refusals too."""

from __future__ import annotations

from decimal import Decimal

import pytest

from common.audit_chain import chain_verify
from common.models import AuditEvent
from registry.models import BankApiKey
from tests.factories.credit import CreditProductFactory
from tests.factories.registry import AssetFactory, BankStaffFactory, ConsentFactory, FirmFactory
from tests.factories.valuation import ValuationFactory

pytestmark = pytest.mark.django_db

RATES = {"patent": "0.25", "data": "0.30", "trademark": "0.30", "software": "0.20"}


@pytest.fixture
def firm(bank):  # type: ignore[no-untyped-def]
    firm = FirmFactory()
    ConsentFactory(firm=firm, bank=bank)
    asset = AssetFactory(firm=firm, kind="patent")
    ValuationFactory(asset=asset, low=Decimal("400000.00"), value=Decimal("400000.00"), high=Decimal("800000.00"))
    return firm


@pytest.fixture
def product(bank):  # type: ignore[no-untyped-def]
    return CreditProductFactory(bank=bank, code="IP", pledge_rates=RATES, max_amount=None)


@pytest.fixture
def bank_api(client_for, bank_key):  # type: ignore[no-untyped-def]
    return client_for(api_key=bank_key)


def query(client, uscc: str, **params: str):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/credit/limits/{uscc}/", params)


def only_event() -> AuditEvent:
    (event,) = AuditEvent.objects.filter(action__startswith="credit_limit.")
    return event


def key_prefix(bank) -> str:  # type: ignore[no-untyped-def]
    return BankApiKey.objects.get(bank=bank).prefix


def test_an_answered_query_records_bank_key_firm_purpose_and_the_figures(bank_api, bank, firm, product):
    r = query(bank_api, firm.uscc, product="IP", purpose="working capital loan")
    assert r.status_code == 200

    event = only_event()
    assert (event.action, event.result) == ("credit_limit.queried", "success")
    assert (event.actor_type, event.actor_id) == ("api_key", key_prefix(bank))
    assert event.actor_label == f"api_key:{bank.code}/{key_prefix(bank)}"
    assert (event.object_type, event.object_id) == ("firm", str(firm.pk))
    assert (event.data["bank"], event.data["firm"], event.data["product"]) == (bank.code, firm.uscc, "IP")
    assert event.data["purpose"] == "working capital loan"
    figures = event.data["result"]
    assert (figures["limit"], figures["secured"], figures["unsecured"], figures["currency"]) == (
        r.json()["limit"],
        r.json()["secured"],
        r.json()["unsecured"],
        "CNY",
    )
    assert figures["limit"] == "100000.00"
    assert event.request_id == r["X-Request-ID"]
    assert chain_verify().intact


def test_a_query_by_bank_staff_records_the_person(client_for, bank, firm, product):
    officer = BankStaffFactory(bank=bank, username="officer-1")

    assert query(client_for(officer), firm.uscc, product="IP", purpose="renewal").status_code == 200

    event = only_event()
    assert (event.actor_type, event.actor_id, event.actor_label) == ("user", str(officer.pk), "user:officer-1")
    assert (event.data["bank"], event.data["firm"], event.data["purpose"], event.result) == (
        bank.code,
        firm.uscc,
        "renewal",
        "success",
    )


def test_the_purpose_is_recorded_empty_when_not_given(bank_api, firm, product):
    assert query(bank_api, firm.uscc, product="IP").status_code == 200
    assert only_event().data["purpose"] == ""


def assert_refused(event: AuditEvent, *, bank, uscc: str, code: str, purpose: str, product: str | None) -> None:  # type: ignore[no-untyped-def]
    assert (event.action, event.result) == ("credit_limit.refused", "refused")
    assert (event.actor_type, event.actor_id) == ("api_key", key_prefix(bank))
    assert (event.object_type, event.object_id) == ("uscc", uscc)
    assert event.data == {"bank": bank.code, "firm": uscc, "product": product, "purpose": purpose, "code": code}
    assert event.after is None  # nothing about the firm is recorded for a refusal


def test_a_firm_without_consent_is_refused_and_audited(bank_api, bank, product):
    stranger = FirmFactory()

    r = query(bank_api, stranger.uscc, product="IP", purpose="prospecting")

    assert r.status_code == 404
    assert_refused(only_event(), bank=bank, uscc=stranger.uscc, code="not_found", purpose="prospecting", product="IP")


def test_consent_to_another_bank_is_refused_and_audited(bank_api, bank, product):
    firm = FirmFactory()
    ConsentFactory(firm=firm, bank=CreditProductFactory().bank)

    assert query(bank_api, firm.uscc, product="IP").status_code == 404
    assert_refused(only_event(), bank=bank, uscc=firm.uscc, code="not_found", purpose="", product="IP")


def test_an_unknown_firm_is_refused_and_audited(bank_api, bank, product):
    r = query(bank_api, "91420100MA4K1A2B3Q", product="IP", purpose="check")

    assert r.status_code == 404
    assert_refused(only_event(), bank=bank, uscc="91420100MA4K1A2B3Q", code="not_found", purpose="check", product="IP")


def test_an_unknown_product_is_refused_and_audited(bank_api, bank, firm, product):
    assert query(bank_api, firm.uscc, product="NOPE", purpose="x").status_code == 404
    assert_refused(only_event(), bank=bank, uscc=firm.uscc, code="not_found", purpose="x", product="NOPE")


def test_a_missing_product_choice_is_refused_and_audited(bank_api, bank, firm, product):
    CreditProductFactory(bank=bank, code="OTHER")

    r = query(bank_api, firm.uscc, purpose="x")

    assert (r.status_code, r.json()["code"]) == (400, "product_required")
    assert_refused(only_event(), bank=bank, uscc=firm.uscc, code="product_required", purpose="x", product=None)


def test_refusals_and_answers_chain_together(bank_api, firm, product):
    query(bank_api, firm.uscc, product="NOPE")
    query(bank_api, firm.uscc, product="IP")
    query(bank_api, "91420100MA4K1A2B3Q", product="IP")

    results = list(AuditEvent.objects.order_by("id").values_list("action", "result"))
    assert results[-3:] == [
        ("credit_limit.refused", "refused"),
        ("credit_limit.queried", "success"),
        ("credit_limit.refused", "refused"),
    ]
    assert chain_verify().intact
