"""`manage.py export_audit`: JSON lines for a date range, every field and both hashes."""

from __future__ import annotations

import json
from datetime import datetime
from io import StringIO
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.utils.dateparse import parse_datetime

from common.audit import audit_record, system_actor
from common.audit_chain import EXPORTED_FIELDS, GENESIS, chain_hash
from common.models import AuditEvent

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")  # TIME_ZONE: export days are local days


def at(*args: int) -> AuditEvent:
    """An event written at the given local time."""
    moment = datetime(*args, tzinfo=SHANGHAI)
    with mock.patch("common.audit.timezone.now", return_value=moment):
        return audit_record(
            actor=system_actor("tests"),
            action="thing.changed",
            object_type="thing",
            object_id=moment.isoformat(),
            after={"名称": "光谷", "amount": "12.50"},
        )


def export(*args: str) -> tuple[list[dict], str]:
    out, err = StringIO(), StringIO()
    call_command("export_audit", *args, stdout=out, stderr=err)
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


@pytest.fixture
def four_days():  # type: ignore[no-untyped-def]
    return [
        at(2026, 11, 30, 23, 59, 59, 999999),
        at(2026, 12, 1, 0, 0, 0, 0),
        at(2026, 12, 2, 23, 59, 59, 999999),
        at(2026, 12, 3, 0, 0, 0, 0),
    ]


def test_both_days_are_included_and_nothing_outside(four_days):
    rows, message = export("--from", "2026-12-01", "--to", "2026-12-02")

    assert [row["id"] for row in rows] == [four_days[1].pk, four_days[2].pk]
    assert message.strip() == "Exported 2 audit events from 2026-12-01 to 2026-12-02 (Asia/Shanghai) to stdout."


def test_a_single_day(four_days):
    rows, _ = export("--from", "2026-12-03", "--to", "2026-12-03")
    assert [row["id"] for row in rows] == [four_days[3].pk]


def test_an_empty_range_exports_nothing(four_days):
    rows, message = export("--from", "2027-01-01", "--to", "2027-01-31")
    assert rows == []
    assert "Exported 0 audit events" in message


def test_each_line_has_every_field_and_the_hashes(four_days):
    rows, _ = export("--from", "2026-11-30", "--to", "2026-12-03")

    assert [row["id"] for row in rows] == [e.pk for e in four_days]
    first = rows[0]
    assert list(first) == list(EXPORTED_FIELDS)
    assert first["occurred_at"] == "2026-11-30T15:59:59.999999+00:00"  # UTC, microseconds
    assert (first["actor_type"], first["actor_label"], first["result"]) == ("system", "system:tests", "success")
    assert first["after"] == {"名称": "光谷", "amount": "12.50"}
    assert (first["prev_hash"], first["hash"]) == (GENESIS, four_days[0].hash)


def test_an_exported_range_can_be_checked_on_its_own(four_days):
    rows, _ = export("--from", "2026-12-01", "--to", "2026-12-03")

    assert rows[0]["prev_hash"] == four_days[0].hash  # the link into the part before the range
    for before, row in zip([None, *rows], rows, strict=False):
        if before is not None:
            assert row["prev_hash"] == before["hash"]
        fields = {**row, "occurred_at": parse_datetime(row["occurred_at"])}
        assert chain_hash(row["prev_hash"], fields) == row["hash"]


def test_output_to_a_file(four_days, tmp_path: Path):
    target = tmp_path / "audit-2026-12.jsonl"

    rows, message = export("--from", "2026-12-01", "--to", "2026-12-31", "--output", str(target))

    assert rows == []
    lines = target.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == [e.pk for e in four_days[1:]]
    assert "光谷" in lines[0]  # UTF-8, not escaped
    assert f"Exported 3 audit events from 2026-12-01 to 2026-12-31 (Asia/Shanghai) to {target}." in message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-01", "--to", "2026-12-31"], "--from '2026-13-01' is not a date: give it as YYYY-MM-DD"),
        (["--from", "2026/12/01", "--to", "2026-12-31"], "--from '2026/12/01' is not a date"),
        (["--from", "2026-12-01", "--to", "20261231"], "--to '20261231' is not a date"),
        (["--from", "2026-12-01", "--to", "2026-02-30"], "--to '2026-02-30' is not a date"),
        (["--from", "2026-12-02", "--to", "2026-12-01"], "--from 2026-12-02 is after --to 2026-12-01."),
    ],
)
def test_bad_dates_are_named(args, message):
    with pytest.raises(CommandError) as info:
        export(*args)
    assert message in str(info.value)


def test_both_dates_are_required():
    with pytest.raises(CommandError, match="--to"):
        export("--from", "2026-12-01")


def test_an_unwritable_output_is_an_error(tmp_path: Path):
    with pytest.raises(CommandError, match="cannot write"):
        export("--from", "2026-12-01", "--to", "2026-12-01", "--output", str(tmp_path / "missing" / "x.jsonl"))
