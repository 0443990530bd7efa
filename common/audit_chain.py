"""The audit trail's hash chain: one canonical form of an event, its hash, verification and export.

Every event stores ``prev_hash`` (the hash of the event before it in id order, ``""`` for the first) and
``hash = sha256(prev_hash + canonical(event))``. ``canonical`` is the only serialisation that is hashed; the
writer (``common.audit.audit_record``), the backfill in migration ``common.0002`` and ``verify_audit`` all use it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Context, Decimal
from typing import Any

from django.utils import timezone

from common.models import AuditEvent

GENESIS = ""  # prev_hash of the first event
# Key of the PostgreSQL advisory lock that serialises audit writers (the bytes "sa-audit").
CHAIN_LOCK_KEY = 0x73612D6175646974
HASHED_FIELDS = (
    "occurred_at",
    "actor_type",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "data",
    "request_id",
    "ip",
    "result",
)
EXPORTED_FIELDS = ("id", *HASHED_FIELDS, "prev_hash", "hash")
_EXACT = Context(prec=100_000)  # normalising a number must never round it


# --- the canonical form (pure) ---------------------------------------------------------------------


def _number(value: int | float) -> str:
    """A number by its value, so that it survives a trip through jsonb (``1.0`` and ``1``, ``1e+20`` and
    ``100000000000000000000`` are one number there) and the JSON text of SQLite alike."""
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)  # NaN, Infinity (SQLite keeps them; PostgreSQL refuses them)
    text = format(Decimal(repr(value) if isinstance(value, float) else value).normalize(_EXACT), "E")
    mantissa, exponent = text.split("E")
    return mantissa if exponent == "+0" else f"{mantissa}E{exponent}"


def _encode(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, Mapping):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{json.dumps(k)}:{_encode(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def occurred_at_text(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds, e.g. ``2026-12-01T05:57:00.123456+00:00``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(fields: Mapping[str, Any]) -> str:
    """Sorted-key compact JSON of the hashed fields; numbers in a normal form (see ``_number``)."""
    values = {name: fields[name] for name in HASHED_FIELDS}
    values["occurred_at"] = occurred_at_text(values["occurred_at"])
    return _encode(values)


def chain_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(fields)).encode("utf-8")).hexdigest()


def event_fields(event: Any) -> dict[str, Any]:
    """The hashed fields of an event (a model instance, also a migration's historical one)."""
    return {name: getattr(event, name) for name in HASHED_FIELDS}


# --- verification ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    count: int  # events checked (up to and including the broken one)
    head: str  # hash of the last intact event
    broken_id: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_id is None


def chain_verify(*, chunk_size: int = 2000) -> ChainReport:
    """Walk the whole trail in id order (constant memory) and stop at the first broken link."""
    prev_hash, prev_id, count = GENESIS, None, 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=chunk_size):
        count += 1
        if event.prev_hash != prev_hash:
            if prev_id is None:
                problem = "gap: it is the first event but its prev_hash is not empty (earlier events are missing)"
            elif event.pk != prev_id + 1:
                problem = (
                    f"gap: prev_hash does not match the hash of event {prev_id}, the event before it "
                    f"(ids {prev_id + 1} to {event.pk - 1} are absent: an event between them is missing)"
                )
            else:
                problem = f"prev_hash does not match the hash of event {prev_id}, the event before it"
            return ChainReport(count=count, head=prev_hash, broken_id=event.pk, problem=problem)
        expected = chain_hash(prev_hash, event_fields(event))
        if event.hash != expected:
            return ChainReport(
                count=count,
                head=prev_hash,
                broken_id=event.pk,
                problem=(
                    f"hash mismatch: stored {event.hash or '(empty)'}, recomputed {expected} "
                    "(the event was changed after it was written)"
                ),
            )
        prev_hash, prev_id = event.hash, event.pk
    return ChainReport(count=count, head=prev_hash)


# --- export ----------------------------------------------------------------------------------------


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def export_lines(*, first_day: date, last_day: date, chunk_size: int = 2000) -> Iterator[str]:
    """One JSON document per event that occurred from ``first_day`` to ``last_day`` inclusive (days in
    ``TIME_ZONE``), in id order, every field including the hashes."""
    events = AuditEvent.objects.filter(
        occurred_at__gte=_day_start(first_day), occurred_at__lt=_day_start(last_day + timedelta(days=1))
    ).order_by("id")
    for event in events.iterator(chunk_size=chunk_size):
        row = {name: getattr(event, name) for name in EXPORTED_FIELDS}
        row["occurred_at"] = occurred_at_text(event.occurred_at)
        yield json.dumps(row, ensure_ascii=False, separators=(",", ":"))
