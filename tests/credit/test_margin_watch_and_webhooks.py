"""Margin watch (coverage, at risk, recovery) and webhooks (outbox, signature, retries, replay, outage)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu.exceptions import OperationalError

from credit import services, tasks, webhooks
from credit.models import CreditLine, CreditLineEvent, WebhookAttempt, WebhookDelivery, WebhookEvent
from registry.models import AssetVersion
from tests.credit.helpers import LINES, RATES, draw, issue, patent_with_valuation, receiver, repay
from tests.factories.credit import CreditProductFactory
from tests.factories.registry import BankFactory, ConsentFactory, ReviewerFactory, api_key_for
from tests.factories.valuation import ValuationFactory
from valuation.models import Valuation

pytestmark = pytest.mark.django_db
HOOKS = "/api/v1/webhooks/"


@pytest.fixture
def firm(firm_user, bank):
    ConsentFactory(firm=firm_user.firm, bank=bank)
    return firm_user.firm


@pytest.fixture
def product(bank):
    return CreditProductFactory(bank=bank, code="IP", pledge_rates=RATES, max_amount=None)


@pytest.fixture
def bank_api(client_for, bank_key):
    return client_for(api_key=bank_key)


@pytest.fixture
def hook():
    with receiver() as r:
        yield r


def subscribe(client, url, events):  # type: ignore[no-untyped-def]
    response = client.post(HOOKS, {"url": url, "events": events}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def approve(client, asset, low: str):  # type: ignore[no-untyped-def]
    amount = Decimal(low)
    pending = ValuationFactory(
        asset=asset, low=amount, value=amount, high=amount * 2, status=Valuation.Status.PENDING_REVIEW
    )
    return client.post(f"/api/v1/review/valuations/{pending.pk}/approve/")


def test_a_lower_valuation_puts_the_line_at_risk_and_a_higher_one_recovers_it(
    bank_api, firm, product, hook, client_for, django_capture_on_commit_callbacks
):
    sub = subscribe(bank_api, hook.url, ["credit_line.at_risk", "credit_line.recovered"])
    valuation = patent_with_valuation(firm, "8000.00")  # supports 2,000.00 at 25 %
    line_id = issue(bank_api, firm, [valuation.asset], "1000.00").json()["id"]
    assert draw(bank_api, line_id, "1000.00", "d1").status_code == 201
    reviewer = client_for(ReviewerFactory())

    with django_capture_on_commit_callbacks(execute=True):
        assert approve(reviewer, valuation.asset, "2000.00").status_code == 200  # supports 500.00: coverage 0.5

    line = CreditLine.objects.get(pk=line_id)
    assert line.status == "at_risk"
    assert line.coverage == Decimal("0.5000")
    assert line.coverage_computed_at is not None
    refused = draw(bank_api, line_id, "1.00", "d2")
    assert refused.status_code == 409
    assert refused.json()["code"] == "credit_line_at_risk"
    event = CreditLineEvent.objects.get(credit_line=line, type="at_risk")
    assert event.data == {"from": "active", "to": "at_risk", "coverage": "0.5000"}
    delivery = WebhookDelivery.objects.get(event__type="credit_line.at_risk")
    assert delivery.status == "delivered"
    assert hook.json()["type"] == "credit_line.at_risk"
    assert hook.json()["data"]["credit_line"] == line_id
    assert hook.verify(hook.requests[-1], sub["secret"])

    with django_capture_on_commit_callbacks(execute=True):
        assert approve(reviewer, valuation.asset, "6000.00").status_code == 200  # 1,500.00: coverage 1.5

    line.refresh_from_db()
    assert line.status == "active"
    assert line.coverage == Decimal("1.5000")
    assert CreditLineEvent.objects.filter(credit_line=line, type="recovered").count() == 1
    assert hook.json()["type"] == "credit_line.recovered"
    assert draw(bank_api, line_id, "0.01", "d3").json()["code"] == "credit_limit_exceeded"  # active again


def test_repaying_restores_coverage_and_recovers(bank_api, firm, product):
    valuation = patent_with_valuation(firm, "8000.00")
    line_id = issue(bank_api, firm, [valuation.asset], "1000.00").json()["id"]
    draw(bank_api, line_id, "1000.00", "d1")
    Valuation.objects.filter(pk=valuation.pk).update(low=Decimal("3000.00"))  # 750.00: coverage 0.75
    assert services.margin_watch() == [line_id]
    assert CreditLine.objects.get(pk=line_id).status == "at_risk"
    assert services.margin_watch() == []  # running it twice changes nothing more
    response = repay(bank_api, line_id, "300.00", "r1")
    assert response.json()["credit_line"]["status"] == "active"
    assert response.json()["credit_line"]["coverage"] == "1.0714"  # 750 / 700


def test_a_lapsed_patent_counts_for_nothing(bank_api, firm, product):
    valuation = patent_with_valuation(firm, "8000.00")
    line_id = issue(bank_api, firm, [valuation.asset], "1000.00").json()["id"]
    draw(bank_api, line_id, "10.00", "d1")
    AssetVersion.objects.filter(asset=valuation.asset).update(
        details={**valuation.asset.details, "legal_status": "lapsed"}
    )
    response = bank_api.post(f"{LINES}{line_id}/margin-check/")
    assert response.status_code == 200
    assert response.json()["status"] == "at_risk"
    assert response.json()["coverage"] == "0.0000"


def test_margin_watch_gathers_with_a_constant_number_of_queries(bank_api, firm, product):
    def open_lines(start: int, end: int) -> None:
        for i in range(start, end):
            valuation = patent_with_valuation(firm, "8000.00")
            line_id = issue(bank_api, firm, [valuation.asset], "100.00", key=f"l{i}").json()["id"]
            draw(bank_api, line_id, "50.00", f"d{i}")

    open_lines(0, 3)
    with CaptureQueriesContext(connection) as three:
        services.margin_watch()
    open_lines(3, 12)
    with CaptureQueriesContext(connection) as twelve:
        services.margin_watch()
    assert len(twelve.captured_queries) == len(three.captured_queries)
    assert set(CreditLine.objects.values_list("coverage", flat=True)) == {Decimal("40.0000")}


def test_webhook_subscription_rules(bank_api, settings, client_for, firm_user):
    created = subscribe(bank_api, "https://bank.example/hooks", ["pledge.released"])
    assert len(created["secret"]) == 64
    listed = bank_api.get(HOOKS).json()["results"]
    assert [w["id"] for w in listed] == [created["id"]]
    assert "secret" not in listed[0]
    bad = bank_api.post(HOOKS, {"url": "ftp://bank.example/x", "events": ["pledge.released"]}, format="json")
    assert bad.status_code == 400
    unknown = bank_api.post(HOOKS, {"url": "https://bank.example/x", "events": ["nope"]}, format="json")
    assert unknown.status_code == 400
    settings.WEBHOOK_ALLOW_HTTP = False
    plain = bank_api.post(HOOKS, {"url": "http://bank.example/x", "events": ["pledge.released"]}, format="json")
    assert plain.status_code == 400
    assert plain.json()["code"] == "webhook_invalid"
    other = client_for(api_key=api_key_for(BankFactory()))
    assert other.get(HOOKS).json()["results"] == []
    assert other.delete(f"{HOOKS}{created['id']}/").status_code == 404
    assert client_for(firm_user).get(HOOKS).status_code == 403
    assert bank_api.delete(f"{HOOKS}{created['id']}/").status_code == 204
    assert bank_api.get(HOOKS).json()["results"] == []


def test_a_failing_receiver_is_retried_with_backoff_then_failed_and_replayable(
    bank_api, firm, product, hook, client_for, django_capture_on_commit_callbacks
):
    hook.status = 500
    sub = subscribe(bank_api, hook.url, ["credit_line.issued"])
    valuation = patent_with_valuation(firm, "8000.00")
    issue(bank_api, firm, [valuation.asset], "1000.00")  # on-commit tasks do not run in this test transaction
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 0)

    for attempt in range(1, 9):
        before = timezone.now()
        sent = webhooks.webhook_delivery_send(delivery_id=delivery.pk)
        assert sent is not None
        assert sent.attempts == attempt
        assert sent.last_status_code == 500
        if attempt < 8:
            assert sent.status == "pending"
            wait = sent.next_attempt_at - before
            assert timedelta(seconds=30 * 2 ** (attempt - 1)) <= wait < timedelta(seconds=30 * 2 ** (attempt - 1) + 5)
            assert webhooks.webhook_delivery_send(delivery_id=delivery.pk) is None  # not due yet: nothing sent
            WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 8, None)
    assert len(hook.requests) == 8
    assert list(WebhookAttempt.objects.filter(delivery=delivery).values_list("number", flat=True)) == list(range(1, 9))

    listed = bank_api.get(f"{HOOKS}{sub['id']}/deliveries/").json()["results"]
    assert listed[0]["status"] == "failed"
    assert len(listed[0]["attempt_log"]) == 8

    hook.status = 204
    with django_capture_on_commit_callbacks(execute=True):
        response = bank_api.post(f"{HOOKS}deliveries/{delivery.pk}/replay/")
    assert response.status_code == 202
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert delivery.attempts == 9
    received = hook.requests[-1]
    assert received.headers["X-Softasset-Event"] == "credit_line.issued"
    assert received.headers["X-Softasset-Delivery"] == str(delivery.pk)
    assert received.headers["User-Agent"].startswith("softasset-webhooks/")
    assert hook.verify(received, sub["secret"])
    assert not hook.verify(received, "wrong-secret")
    other = client_for(api_key=api_key_for(BankFactory()))
    assert other.post(f"{HOOKS}deliveries/{delivery.pk}/replay/").status_code == 404
    assert other.get(f"{HOOKS}{sub['id']}/deliveries/").status_code == 404


def test_a_broker_outage_loses_nothing(bank_api, firm, product, hook, django_capture_on_commit_callbacks):
    sub = subscribe(bank_api, hook.url, ["credit_line.issued", "pledge.released"])
    valuation = patent_with_valuation(firm, "8000.00")
    with (
        mock.patch.object(tasks.webhook_deliver, "delay", side_effect=OperationalError("broker down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = issue(bank_api, firm, [valuation.asset], "1000.00")
        assert response.status_code == 201
        assert bank_api.post(f"{LINES}{response.json()['id']}/close/").status_code == 200

    assert hook.requests == []
    assert list(WebhookEvent.objects.order_by("pk").values_list("type", flat=True)) == [
        "credit_line.issued",
        "pledge.released",
    ]
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("pending", 0)}

    tasks.webhook_deliveries_due()  # the beat sweeper, once the broker is back

    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert [r.headers["X-Softasset-Event"] for r in hook.requests] == ["credit_line.issued", "pledge.released"]
    assert all(hook.verify(r, sub["secret"]) for r in hook.requests)
    tasks.webhook_deliveries_due()  # nothing due: nothing sent twice
    assert len(hook.requests) == 2


def test_consent_revoked_goes_to_that_bank_once(
    bank_api, firm, firm_user, client_for, hook, django_capture_on_commit_callbacks
):
    subscribe(bank_api, hook.url, ["consent.revoked"])
    consent = firm.consents.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(firm_user).delete(f"/api/v1/consents/{consent.pk}/").status_code == 204
    assert hook.json()["type"] == "consent.revoked"
    assert hook.json()["data"] == {
        "consent": consent.pk,
        "firm": firm.uscc,
        "revoked_at": hook.json()["data"]["revoked_at"],
    }
    tasks.consent_revoked_notify(consent.pk)  # a redelivered task changes nothing
    assert WebhookEvent.objects.filter(type="consent.revoked").count() == 1
    assert len(hook.requests) == 1


def test_valuation_approved_goes_to_banks_with_live_consent(
    bank_api, firm, client_for, hook, django_capture_on_commit_callbacks
):
    subscribe(bank_api, hook.url, ["valuation.approved"])
    stranger_bank = BankFactory()
    stranger = client_for(api_key=api_key_for(stranger_bank))
    subscribe(stranger, hook.url, ["valuation.approved"])
    valuation = patent_with_valuation(firm, "8000.00")
    with django_capture_on_commit_callbacks(execute=True):
        assert approve(client_for(ReviewerFactory()), valuation.asset, "9000.00").status_code == 200
    events = WebhookEvent.objects.filter(type="valuation.approved")
    assert [e.bank_id for e in events] == [firm.consents.get().bank_id]
    assert hook.json()["data"]["low"] == "9000.00"
    assert len(hook.requests) == 1
