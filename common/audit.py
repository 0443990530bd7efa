"""Writing the audit trail. Call inside the transaction of the change being recorded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from common.audit_chain import CHAIN_LOCK_KEY, GENESIS, chain_hash, event_fields
from common.context import origin_get
from common.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    type: str  # AuditEvent.ActorType value
    id: str
    label: str


def system_actor(name: str) -> Actor:
    return Actor(type=AuditEvent.ActorType.SYSTEM, id=name, label=f"system:{name}")


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def audit_record(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    before: Any = None,
    after: Any = None,
    data: dict[str, Any] | None = None,
    result: str = AuditEvent.Result.SUCCESS,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction (or a transaction of its own)."""
    origin = origin_get()
    event = AuditEvent(
        actor_type=actor.type,
        actor_id=actor.id[:64],
        actor_label=actor.label[:200],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=_jsonable(before),
        after=_jsonable(after),
        data=_jsonable(data or {}),
        request_id=origin.request_id,
        ip=origin.ip,
        result=result,
    )
    if transaction.get_connection().in_atomic_block:
        _append(event)
    else:
        with transaction.atomic():
            _append(event)
    return event


def _append(event: AuditEvent) -> None:
    """Link ``event`` to the newest event and insert it. Writers are serialised so the chain never forks:
    on PostgreSQL by a transaction-scoped advisory lock (held until the caller's transaction ends), on SQLite
    by the database itself (one writing transaction at a time)."""
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    previous = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    event.prev_hash = GENESIS if previous is None else previous
    event.occurred_at = timezone.now()
    event.hash = chain_hash(event.prev_hash, event_fields(event))
    event.save(force_insert=True)
