"""GET /api/v1/audit/ returns each event's result and hashes, so a reviewer can re-check the chain from the API."""

from __future__ import annotations

import itertools

import pytest
from django.utils.dateparse import parse_datetime

from common.audit import audit_record, system_actor
from common.audit_chain import EXPORTED_FIELDS, chain_hash
from common.models import AuditEvent

pytestmark = pytest.mark.django_db


def _events() -> list[AuditEvent]:
    actor = system_actor("tests")
    return [
        audit_record(actor=actor, action="asset.created", object_type="asset", object_id=1, after={"名称": "光谷"}),
        audit_record(
            actor=actor,
            action="credit.limit_queried",
            object_type="firm",
            object_id="91420100MA4K0000XX",
            data={"reason": "consent_missing"},
            result=AuditEvent.Result.REFUSED,
        ),
        audit_record(actor=actor, action="asset.submitted", object_type="asset", object_id=1, data={"n": "1.50"}),
    ]


def test_each_event_carries_its_result_and_hashes_and_they_recompute(client_for, reviewer) -> None:
    events = _events()
    response = client_for(reviewer).get("/api/v1/audit/", {"page_size": 100})
    assert response.status_code == 200
    rows = sorted(response.json()["results"], key=lambda row: row["id"])
    assert [row["id"] for row in rows][-3:] == [e.pk for e in events]
    for row in rows:
        assert list(row) == list(EXPORTED_FIELDS)
        fields = {**row, "occurred_at": parse_datetime(row["occurred_at"])}
        assert chain_hash(row["prev_hash"], fields) == row["hash"]
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["hash"]
    assert [row["result"] for row in rows[-3:]] == ["success", "refused", "success"]


def test_filter_by_result(client_for, reviewer) -> None:
    events = _events()
    response = client_for(reviewer).get("/api/v1/audit/", {"result": "refused"})
    assert [row["id"] for row in response.json()["results"]] == [events[1].pk]
    bad = client_for(reviewer).get("/api/v1/audit/", {"result": "maybe"})
    assert bad.status_code == 400
