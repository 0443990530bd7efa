"""Idempotency-Key claims: a twin of a request still in flight, a crashed holder, a failed first attempt.

The claim is committed before the handler runs (common/api/idempotency.py). The tests on every database hold
the first request in flight by sending its twin from inside the first one's service call (one connection);
the PostgreSQL tests do it for real, with threads on separate connections."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from common.models import IdempotencyRecord
from credit import services
from credit.apis import CreditLineDrawApi
from credit.models import CreditLine, CreditLineMovement
from tests.concurrency import run_in_threads
from tests.credit.helpers import RATES, draw, issue, patent_with_valuation
from tests.factories.credit import CreditProductFactory
from tests.factories.registry import BankFactory, ConsentFactory, FirmFactory, api_key_for

PROBLEM = "application/problem+json"
IS_POSTGRES = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _bank_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def _open_line() -> tuple[str, int]:
    """A bank's API key and an issued 1,000.00 line of its, secured by one patent."""
    firm, bank = FirmFactory(), BankFactory()
    CreditProductFactory(bank=bank, code="IP", pledge_rates=RATES, max_amount=None)
    ConsentFactory(firm=firm, bank=bank)
    key = api_key_for(bank)
    valuation = patent_with_valuation(firm, "8000.00")
    r = issue(_bank_client(key), firm, [valuation.asset], "1000.00", key="issue")
    assert r.status_code == 201, r.content
    return key, r.json()["id"]


def _hold_draws(monkeypatch, during):  # type: ignore[no-untyped-def]
    """Makes the draw endpoint call ``during()`` inside its service call, before the real draw."""
    real = services.credit_line_draw

    def held(**kwargs):  # type: ignore[no-untyped-def]
        during()
        return real(**kwargs)

    monkeypatch.setattr(CreditLineDrawApi, "service", staticmethod(held))


# --- on every database -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_twin_of_a_request_in_flight_gets_409_with_retry_after_then_the_replay(monkeypatch, settings):
    settings.IDEMPOTENCY_IN_FLIGHT_WAIT_SECONDS = 0.2
    key, line_id = _open_line()
    client = _bank_client(key)
    twins = []
    _hold_draws(monkeypatch, lambda: twins.append(draw(client, line_id, "100.00", "d-1")) if not twins else None)

    first = draw(client, line_id, "100.00", "d-1")

    # the twin, sent while the first was inside its service call, was told to come back
    (twin,) = twins
    assert (twin.status_code, twin["Content-Type"], twin["Retry-After"]) == (409, PROBLEM, "1")
    body = twin.json()
    assert (body["code"], body["status"]) == ("idempotency_in_progress", 409)
    # the first went through, once
    assert first.status_code == 201, first.content
    assert CreditLineMovement.objects.filter(credit_line_id=line_id).count() == 1
    # and the twin's retry, now that the first is done, is the first's response
    retry = draw(client, line_id, "100.00", "d-1")
    assert (retry.status_code, retry.json(), retry["Idempotent-Replayed"]) == (201, first.json(), "true")
    assert CreditLine.objects.get(pk=line_id).drawn_amount == Decimal("100.00")


@pytest.mark.django_db
def test_a_different_body_under_a_key_in_flight_is_422(monkeypatch, settings):
    settings.IDEMPOTENCY_IN_FLIGHT_WAIT_SECONDS = 5  # a 422 must not wait for the first request
    key, line_id = _open_line()
    client = _bank_client(key)
    twins = []
    _hold_draws(monkeypatch, lambda: twins.append(draw(client, line_id, "200.00", "d-1")) if not twins else None)

    first = draw(client, line_id, "100.00", "d-1")

    (twin,) = twins
    assert (twin.status_code, twin["Content-Type"], twin.json()["code"]) == (422, PROBLEM, "idempotency_key_reused")
    assert first.status_code == 201
    assert CreditLine.objects.get(pk=line_id).drawn_amount == Decimal("100.00")


@pytest.mark.django_db
def test_a_claim_whose_lease_ran_out_is_taken_over():
    key, line_id = _open_line()
    client = _bank_client(key)
    # given a claim left behind by a process that crashed mid-request (another body, even)
    scope = IdempotencyRecord.objects.get(key="issue").scope
    IdempotencyRecord.objects.create(
        scope=scope,
        key="d-1",
        request_hash="0" * 64,
        state=IdempotencyRecord.State.IN_PROGRESS,
        owner="crashed",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )

    r = draw(client, line_id, "100.00", "d-1")

    assert r.status_code == 201, r.content
    record = IdempotencyRecord.objects.get(scope=scope, key="d-1")
    assert (record.state, record.response_body) == (IdempotencyRecord.State.COMPLETED, r.json())
    assert record.owner != "crashed"
    assert CreditLineMovement.objects.filter(credit_line_id=line_id).count() == 1


@pytest.mark.django_db
def test_a_live_claim_is_not_taken_over(settings):
    # the control for the test above: the same claim with its lease still running keeps the key
    settings.IDEMPOTENCY_IN_FLIGHT_WAIT_SECONDS = 0
    key, line_id = _open_line()
    scope = IdempotencyRecord.objects.get(key="issue").scope
    IdempotencyRecord.objects.create(
        scope=scope,
        key="d-1",
        request_hash="0" * 64,
        state=IdempotencyRecord.State.IN_PROGRESS,
        owner="running",
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )

    r = draw(_bank_client(key), line_id, "100.00", "d-1")

    assert (r.status_code, r.json()["code"]) == (422, "idempotency_key_reused")
    assert IdempotencyRecord.objects.get(scope=scope, key="d-1").owner == "running"
    assert CreditLineMovement.objects.filter(credit_line_id=line_id).count() == 0


@pytest.mark.django_db
def test_a_first_attempt_that_crashes_releases_the_key(monkeypatch):
    key, line_id = _open_line()
    client = _bank_client(key)
    calls = []

    def crash_once() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database went away")

    _hold_draws(monkeypatch, crash_once)

    failed = draw(client, line_id, "100.00", "d-1")
    assert (failed.status_code, failed["Content-Type"]) == (500, PROBLEM)
    assert not IdempotencyRecord.objects.filter(key="d-1").exists()

    retry = draw(client, line_id, "100.00", "d-1")

    assert retry.status_code == 201, retry.content
    assert "Idempotent-Replayed" not in retry
    assert CreditLineMovement.objects.filter(credit_line_id=line_id).count() == 1


@pytest.mark.django_db
def test_a_request_whose_claim_was_taken_over_meanwhile_undoes_its_side_effect(monkeypatch):
    # the lease ran out while the handler ran and another request took the key: the late one must not commit
    key, line_id = _open_line()

    def taken_over() -> None:
        IdempotencyRecord.objects.filter(key="d-1").update(owner="someone-else")

    _hold_draws(monkeypatch, taken_over)

    r = draw(_bank_client(key), line_id, "100.00", "d-1")

    assert (r.status_code, r.json()["code"]) == (409, "idempotency_in_progress")
    assert CreditLineMovement.objects.filter(credit_line_id=line_id).count() == 0
    assert CreditLine.objects.get(pk=line_id).drawn_amount == Decimal("0.00")


# --- PostgreSQL: real threads on separate connections ----------------------------------------------------------

needs_postgres = pytest.mark.skipif(not IS_POSTGRES, reason="needs PostgreSQL: runs in the service pass of `make test`")


@needs_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the seeded industries
@pytest.mark.parametrize("endpoint", ["draw", "issue"])
def test_twenty_identical_requests_in_parallel_make_one_side_effect_and_identical_replies(endpoint, settings):
    settings.IDEMPOTENCY_IN_FLIGHT_WAIT_SECONDS = 60  # twins wait for the answer instead of being told 409
    if endpoint == "draw":
        key, line_id = _open_line()
        results = run_in_threads(20, lambda i: draw(_bank_client(key), line_id, "100.00", "same"))
        assert CreditLineMovement.objects.filter(credit_line_id=line_id).count() == 1
        assert CreditLine.objects.get(pk=line_id).drawn_amount == Decimal("100.00")
    else:
        firm, bank = FirmFactory(), BankFactory()
        CreditProductFactory(bank=bank, code="IP", pledge_rates=RATES, max_amount=None)
        ConsentFactory(firm=firm, bank=bank)
        key = api_key_for(bank)
        asset = patent_with_valuation(firm, "8000.00").asset
        results = run_in_threads(20, lambda i: issue(_bank_client(key), firm, [asset], "1000.00", key="same"))
        assert CreditLine.objects.count() == 1
    statuses = [r.status_code for r in results]
    assert statuses == [201] * 20, [(r.status_code, r.content[:200]) for r in results]
    # the same body (the stored copy is jsonb, which does not keep key order, so compared as JSON)
    assert all(r.json() == results[0].json() for r in results)
    assert sum("Idempotent-Replayed" not in r for r in results) == 1  # one ran, nineteen replayed


@needs_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the seeded industries
def test_a_twin_on_another_connection_gets_409_while_the_first_is_held_then_the_replay(monkeypatch, settings):
    settings.IDEMPOTENCY_IN_FLIGHT_WAIT_SECONDS = 0.3
    key, line_id = _open_line()
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        entered.set()
        assert release.wait(timeout=60)

    _hold_draws(monkeypatch, hold)
    first: list = []

    def run_first() -> None:
        try:
            first.append(draw(_bank_client(key), line_id, "100.00", "held"))
        finally:
            connection.close()

    thread = threading.Thread(target=run_first)
    thread.start()
    try:
        assert entered.wait(timeout=60)
        # while the first holds its claim, inside its transaction
        twin = draw(_bank_client(key), line_id, "100.00", "held")
        other = draw(_bank_client(key), line_id, "999.00", "held")
    finally:
        release.set()
        thread.join(timeout=60)

    assert (twin.status_code, twin["Retry-After"], twin.json()["code"]) == (409, "1", "idempotency_in_progress")
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    (done,) = first
    assert done.status_code == 201, done.content
    retry = draw(_bank_client(key), line_id, "100.00", "held")
    assert (retry.status_code, retry.json()) == (201, done.json())
    assert CreditLineMovement.objects.filter(credit_line_id=line_id).count() == 1
