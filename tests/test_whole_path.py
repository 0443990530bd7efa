"""The whole path through the HTTP API: register, review, value, approve, consent, limit, credit line, and a
second bank refused on the same asset. Once in-process (any database), once on PostgreSQL with a live worker."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

import pytest
from django.utils import timezone

from common.models import AuditEvent
from credit.models import CreditLine, Pledge
from tests.factories.registry import BankFactory, ReviewerFactory, UserFactory, api_key_for, patent_details


def walk_path(client_for: Callable, run_jobs: Callable[[], AbstractContextManager], *, job_timeout: float) -> None:
    firm_user = UserFactory(username="firm-admin")
    reviewer_a, reviewer_b = ReviewerFactory(username="rev-a"), ReviewerFactory(username="rev-b")
    bank_a, bank_b = BankFactory(code="BANK_A"), BankFactory(code="BANK_B")
    firm_c, rev_a_c, rev_b_c = client_for(firm_user), client_for(reviewer_a), client_for(reviewer_b)
    bank_a_c, bank_b_c = client_for(api_key=api_key_for(bank_a)), client_for(api_key=api_key_for(bank_b))
    uscc = firm_user.firm.uscc

    # 1. The firm registers a patent and submits it.
    r = firm_c.post(
        "/api/v1/assets/", {"kind": "patent", "title": "光通信芯片封装专利", "details": patent_details()}, format="json"
    )
    assert r.status_code == 201, r.content
    asset_id = r.json()["id"]
    assert r.json()["status"] == "draft"
    r = firm_c.post(f"/api/v1/assets/{asset_id}/submit/")
    assert (r.status_code, r.json()["status"]) == (200, "submitted")

    # 2. Its declared revenue is above the four-eyes threshold: two different reviewers approve it.
    r = rev_a_c.post(f"/api/v1/review/assets/{asset_id}/approve/")
    assert (r.status_code, r.json()["status"], r.json()["approvals"]) == (200, "submitted", 1), r.content
    r = rev_b_c.post(f"/api/v1/review/assets/{asset_id}/approve/")
    assert (r.status_code, r.json()["status"], r.json()["approved_version"]) == (200, "approved", 1), r.content

    # 3. The firm asks for a valuation; a worker runs it and reports progress.
    with run_jobs():
        r = firm_c.post("/api/v1/valuation-jobs/", {"assets": [asset_id]}, format="json", HTTP_IDEMPOTENCY_KEY="job-1")
    assert r.status_code == 202, r.content
    job_id = r.json()["id"]
    deadline = time.monotonic() + job_timeout
    while True:
        job = firm_c.get(f"/api/v1/valuation-jobs/{job_id}/").json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert job["status"] == "succeeded", job
    assert job["progress"] == {"done": 1, "total": 1, "failed": 0, "chunks_done": 1, "chunks_total": 1}

    r = firm_c.get(f"/api/v1/valuations/?asset={asset_id}")
    [valuation] = r.json()["results"]
    assert valuation["status"] == "pending_review"
    assert valuation["method"] == "relief_from_royalty"
    low, value, high = (Decimal(valuation[k]) for k in ("low", "value", "high"))
    assert Decimal(0) < low <= value <= high

    # 4. Another reviewer approves the valuation.
    r = rev_b_c.post(f"/api/v1/review/valuations/{valuation['id']}/approve/")
    assert (r.status_code, r.json()["status"]) == (200, "approved"), r.content

    # 5. Without consent the bank cannot even tell the firm exists.
    r = bank_a_c.get(f"/api/v1/credit/limits/{uscc}/")
    assert r.status_code == 404
    assert r["Content-Type"] == "application/problem+json"

    # 6. The firm consents to both banks; bank A defines a product and reads the explained limit.
    for code in ("BANK_A", "BANK_B"):
        r = firm_c.post(
            "/api/v1/consents/",
            {"bank": code, "expires_at": (timezone.now() + timedelta(days=90)).isoformat()},
            format="json",
        )
        assert r.status_code == 201, r.content
    for client in (bank_a_c, bank_b_c):
        r = client.post(
            "/api/v1/credit/products/",
            {
                "code": "IP_PLEDGE",
                "name": "IP pledge loan",
                "pledge_rates": {"patent": "0.25"},
                "max_amount": "50000000.00",
            },
            format="json",
        )
        assert r.status_code == 201, r.content
    r = bank_a_c.get(f"/api/v1/credit/limits/{uscc}/?product=IP_PLEDGE")
    assert r.status_code == 200, r.content
    limit = r.json()
    expected = (low * Decimal("0.25")).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    assert limit["limit"] == str(expected)
    assert limit["explanation"] == [
        {
            "asset": asset_id,
            "kind": "patent",
            "valuation": valuation["id"],
            "collateral_value": str(low),
            "pledge_rate": "0.250000",
            "amount": str(expected),
        }
    ]
    assert limit["caps_applied"] == []

    # 7. Bank A issues a line that pledges the asset; replaying the same request creates nothing new.
    body = {"firm": uscc, "product": "IP_PLEDGE", "amount": str(expected), "assets": [asset_id]}
    r = bank_a_c.post("/api/v1/credit-lines/", body, format="json", HTTP_IDEMPOTENCY_KEY="line-1")
    assert r.status_code == 201, r.content
    replay = bank_a_c.post("/api/v1/credit-lines/", body, format="json", HTTP_IDEMPOTENCY_KEY="line-1")
    assert (replay.status_code, replay.json()) == (201, r.json())
    assert CreditLine.objects.count() == 1

    # 8. Bank B tries to pledge the same asset: a clear refusal.
    r = bank_b_c.post(
        "/api/v1/credit-lines/", {**body, "amount": "1000.00"}, format="json", HTTP_IDEMPOTENCY_KEY="line-b"
    )
    assert r.status_code == 409, r.content
    assert r.json()["code"] == "asset_already_pledged"
    assert Pledge.objects.filter(asset_id=asset_id, status="active").count() == 1

    # Every step left an audit row.
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "asset.created",
        "asset.submitted",
        "asset.approved",
        "valuation_job.created",
        "valuation.chunk_computed",
        "valuation.approved",
        "consent.granted",
        "credit_limit.queried",
        "credit_line.issued",
    } <= actions


@pytest.mark.django_db
def test_whole_path_in_process(client_for, django_capture_on_commit_callbacks):
    walk_path(client_for, lambda: django_capture_on_commit_callbacks(execute=True), job_timeout=0)


@pytest.mark.live_services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_whole_path_on_postgres_with_a_live_worker(client_for, live_worker):
    walk_path(client_for, nullcontext, job_timeout=60)
