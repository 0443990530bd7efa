"""Idempotency-Key on POSTs that create money-relevant state (api.md, Conventions)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from common.models import AuditEvent, IdempotencyRecord
from credit.models import CreditLine, Pledge
from registry.services import asset_approve, asset_create, asset_submit
from tests.factories.credit import CreditProductFactory
from tests.factories.registry import AssetFactory, BankFactory, ConsentFactory, api_key_for, patent_details
from tests.factories.valuation import ValuationFactory
from valuation.models import Valuation, ValuationJob

pytestmark = pytest.mark.django_db

LINES = "/api/v1/credit-lines/"
JOBS = "/api/v1/valuation-jobs/"
PROBLEM = "application/problem+json"


@pytest.fixture
def pledgeable(firm_user, bank):
    """A consenting firm with one approved patent valued at low = 400,000.00: a 100,000.00 limit at 25 %."""
    ConsentFactory(firm=firm_user.firm, bank=bank)
    CreditProductFactory(bank=bank, code="IP", pledge_rates={"patent": "0.25"}, max_amount=None)
    valuation = ValuationFactory(
        asset=AssetFactory(firm=firm_user.firm, approved_version=1),
        low=Decimal("400000.00"),
        value=Decimal("500000.00"),
        high=Decimal("600000.00"),
    )
    return valuation.asset


def _body(asset, amount="100000.00"):
    return {"firm": asset.firm.uscc, "product": "IP", "amount": amount, "assets": [asset.pk]}


# --- credit lines: the key is required -------------------------------------------------------------


def test_credit_line_without_idempotency_key_is_400_and_creates_nothing(client_for, bank_key, pledgeable):
    r = client_for(api_key=bank_key).post(LINES, _body(pledgeable), format="json")

    assert (r.status_code, r["Content-Type"]) == (400, PROBLEM)
    body = r.json()
    assert body["code"] == "validation_failed"
    assert list(body["errors"]) == ["Idempotency-Key"]
    assert CreditLine.objects.count() == 0
    assert Pledge.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0


def test_blank_idempotency_key_counts_as_missing(client_for, bank_key, pledgeable):
    r = client_for(api_key=bank_key).post(LINES, _body(pledgeable), format="json", HTTP_IDEMPOTENCY_KEY="   ")
    assert (r.status_code, list(r.json()["errors"])) == (400, ["Idempotency-Key"])
    assert CreditLine.objects.count() == 0


def test_overlong_idempotency_key_is_400(client_for, bank_key, pledgeable):
    r = client_for(api_key=bank_key).post(LINES, _body(pledgeable), format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert (r.status_code, list(r.json()["errors"])) == (400, ["Idempotency-Key"])
    assert CreditLine.objects.count() == 0


# --- replay --------------------------------------------------------------------------------------


def test_same_key_and_body_replays_the_first_response_and_creates_nothing_new(client_for, bank_key, pledgeable):
    client = client_for(api_key=bank_key)
    first = client.post(LINES, _body(pledgeable), format="json", HTTP_IDEMPOTENCY_KEY="line-1")
    assert first.status_code == 201, first.content

    # when the bank's system retries (e.g. after a timeout), with the keys of the body in another order
    retried = dict(reversed(list(_body(pledgeable).items())))
    replay = client.post(LINES, retried, format="json", HTTP_IDEMPOTENCY_KEY="line-1")

    # then the very same reply, marked as a replay, and one line, one pledge, one audit row
    assert (replay.status_code, replay.json()) == (201, first.json())
    assert replay["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert CreditLine.objects.count() == 1
    assert Pledge.objects.count() == 1
    assert AuditEvent.objects.filter(action="credit_line.issued").count() == 1


def test_same_key_with_a_different_body_is_422_and_creates_nothing(client_for, bank_key, pledgeable):
    client = client_for(api_key=bank_key)
    first = client.post(LINES, _body(pledgeable), format="json", HTTP_IDEMPOTENCY_KEY="line-1")
    assert first.status_code == 201, first.content

    r = client.post(LINES, _body(pledgeable, amount="50000.00"), format="json", HTTP_IDEMPOTENCY_KEY="line-1")

    assert (r.status_code, r["Content-Type"], r.json()["code"]) == (422, PROBLEM, "idempotency_key_reused")
    line = CreditLine.objects.get()
    assert line.amount == Decimal("100000.00")
    assert Pledge.objects.count() == 1


def test_a_refused_request_does_not_burn_the_key(client_for, bank_key, pledgeable):
    client = client_for(api_key=bank_key)

    # given a first attempt above the 100,000.00 limit
    r = client.post(LINES, _body(pledgeable, amount="100000.01"), format="json", HTTP_IDEMPOTENCY_KEY="line-1")
    assert (r.status_code, r.json()["code"]) == (422, "credit_limit_exceeded")
    assert IdempotencyRecord.objects.count() == 0

    # when the bank retries with the same key and a valid amount
    r = client.post(LINES, _body(pledgeable), format="json", HTTP_IDEMPOTENCY_KEY="line-1")

    # then the line is issued: the refusal was not recorded as the key's answer
    assert r.status_code == 201, r.content
    assert "Idempotent-Replayed" not in r
    assert CreditLine.objects.get().amount == Decimal("100000.00")


def test_a_refused_request_is_refused_again_on_retry(client_for, bank_key, pledgeable):
    # the refusal is not cached either: the retry is evaluated afresh (still above the limit)
    client = client_for(api_key=bank_key)
    for _ in range(2):
        r = client.post(LINES, _body(pledgeable, amount="999999.00"), format="json", HTTP_IDEMPOTENCY_KEY="k")
        assert (r.status_code, r.json()["code"]) == (422, "credit_limit_exceeded")
    assert CreditLine.objects.count() == 0


def test_keys_of_one_bank_are_shared_by_its_api_keys(client_for, bank, bank_key, pledgeable):
    # given a bank that rotated its API key between the first attempt and the retry
    first = client_for(api_key=bank_key).post(LINES, _body(pledgeable), format="json", HTTP_IDEMPOTENCY_KEY="rot-1")
    assert first.status_code == 201, first.content

    replay = client_for(api_key=api_key_for(bank)).post(
        LINES, _body(pledgeable), format="json", HTTP_IDEMPOTENCY_KEY="rot-1"
    )

    assert (replay.status_code, replay.json()) == (201, first.json())
    assert CreditLine.objects.count() == 1


def test_the_same_key_from_another_bank_is_a_different_request(client_for, bank_key, pledgeable):
    # given bank A issued a line with key "k1"
    r = client_for(api_key=bank_key).post(LINES, _body(pledgeable), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert r.status_code == 201, r.content

    # and bank B, with a consenting firm of its own, happens to use the same key string
    other_bank = BankFactory(code="OTHER")
    firm_asset = AssetFactory(approved_version=1)
    ConsentFactory(firm=firm_asset.firm, bank=other_bank)
    CreditProductFactory(bank=other_bank, code="IP", pledge_rates={"patent": "0.25"}, max_amount=None)
    ValuationFactory(asset=firm_asset)
    r = client_for(api_key=api_key_for(other_bank)).post(
        LINES, _body(firm_asset, amount="1000.00"), format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )

    # then bank B gets its own line, not bank A's reply nor a 422
    assert r.status_code == 201, r.content
    assert "Idempotent-Replayed" not in r
    assert r.json()["bank"] == "OTHER"
    assert CreditLine.objects.count() == 2


def test_a_key_older_than_24_hours_may_be_used_afresh(client_for, bank_key, pledgeable):
    client = client_for(api_key=bank_key)
    first = client.post(LINES, _body(pledgeable, amount="1000.00"), format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert first.status_code == 201, first.content
    CreditLine.objects.update(status=CreditLine.Status.CLOSED)
    Pledge.objects.update(status=Pledge.Status.RELEASED)
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))

    r = client.post(LINES, _body(pledgeable, amount="2000.00"), format="json", HTTP_IDEMPOTENCY_KEY="old")

    assert r.status_code == 201, r.content
    assert r.json()["id"] != first.json()["id"]
    assert CreditLine.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 1


# --- valuation jobs: the key is optional, and honoured -------------------------------------------


@pytest.fixture
def approved_patent(firm_user, reviewer):
    asset = asset_create(
        firm=firm_user.firm,
        kind="patent",
        title="Lens patent",
        details=patent_details(revenue_history=[{"year": 2025, "amount": "1000000.00"}]),
        actor=firm_user.as_actor,
        user=firm_user,
    )
    asset_submit(asset=asset, actor=firm_user.as_actor, user=firm_user)
    return asset_approve(asset=asset, reviewer=reviewer)


def test_valuation_job_with_the_same_key_twice_makes_one_job(
    client_for, firm_user, approved_patent, django_capture_on_commit_callbacks
):
    client = client_for(firm_user)
    with django_capture_on_commit_callbacks(execute=True) as first_callbacks:
        first = client.post(JOBS, {"assets": [approved_patent.pk]}, format="json", HTTP_IDEMPOTENCY_KEY="job-1")
    assert first.status_code == 202, first.content
    assert len(first_callbacks) == 1

    with django_capture_on_commit_callbacks(execute=True) as replay_callbacks:
        replay = client.post(JOBS, {"assets": [approved_patent.pk]}, format="json", HTTP_IDEMPOTENCY_KEY="job-1")

    assert (replay.status_code, replay.json()) == (202, first.json())
    assert replay["Idempotent-Replayed"] == "true"
    assert replay_callbacks == []  # nothing enqueued a second time
    assert ValuationJob.objects.count() == 1
    assert Valuation.objects.filter(asset=approved_patent).count() == 1


def test_valuation_job_without_a_key_is_not_deduplicated(
    client_for, firm_user, approved_patent, django_capture_on_commit_callbacks
):
    # the control: what the key prevents does happen without it
    client = client_for(firm_user)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            r = client.post(JOBS, {"assets": [approved_patent.pk]}, format="json")
            assert r.status_code == 202, r.content
    assert ValuationJob.objects.count() == 2


def test_valuation_job_key_reused_for_other_assets_is_422(
    client_for, firm_user, reviewer, approved_patent, django_capture_on_commit_callbacks
):
    other = asset_create(
        firm=firm_user.firm,
        kind="patent",
        title="Other",
        details=patent_details(revenue_history=[]),
        actor=firm_user.as_actor,
        user=firm_user,
    )
    asset_submit(asset=other, actor=firm_user.as_actor, user=firm_user)
    asset_approve(asset=other, reviewer=reviewer)
    client = client_for(firm_user)
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            client.post(JOBS, {"assets": [approved_patent.pk]}, format="json", HTTP_IDEMPOTENCY_KEY="j").status_code
            == 202
        )

        r = client.post(JOBS, {"assets": [other.pk]}, format="json", HTTP_IDEMPOTENCY_KEY="j")

    assert (r.status_code, r.json()["code"]) == (422, "idempotency_key_reused")
    assert ValuationJob.objects.count() == 1


# --- twins -----------------------------------------------------------------------------------------------------
# A twin sent while the first request is still running waits for its answer or gets 409 idempotency_in_progress;
# twenty in parallel make one side effect: tests/common/test_api_idempotency_in_flight.py.


def test_the_key_is_claimed_before_the_side_effect_and_completed_with_it(client_for, bank_key, pledgeable, monkeypatch):
    from credit import services

    seen = []
    real = services.credit_line_issue

    def spy(**kwargs):  # type: ignore[no-untyped-def]
        seen.append(list(IdempotencyRecord.objects.values_list("key", "state")))
        return real(**kwargs)

    monkeypatch.setattr(services, "credit_line_issue", spy)
    r = client_for(api_key=bank_key).post(LINES, _body(pledgeable), format="json", HTTP_IDEMPOTENCY_KEY="c-1")

    assert r.status_code == 201, r.content
    assert seen == [[("c-1", IdempotencyRecord.State.IN_PROGRESS)]]  # claimed while the handler ran
    record = IdempotencyRecord.objects.get()
    assert (record.state, record.response_status, record.response_body) == ("completed", 201, r.json())
    assert record.lease_expires_at is None
