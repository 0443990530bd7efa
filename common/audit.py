"""Writing the audit trail. Call inside the transaction of the change being recorded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from common.audit_chain import CHAIN_LOCK_KEY, GENESIS, canonical, chain_hash, event_fields
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
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        # One statement, atomic by itself: no transaction of our own needed (see _append_postgresql).
        _append_postgresql(event, connection)
    elif connection.in_atomic_block:
        _append(event)
    else:
        with transaction.atomic():
            _append(event)
    return event


def _append(event: AuditEvent) -> None:
    """Link ``event`` to the newest event and insert it (SQLite). Writers are serialised so the chain never
    forks: SQLite allows one writing transaction at a time."""
    previous = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    event.prev_hash = GENESIS if previous is None else previous
    event.occurred_at = timezone.now()
    event.hash = chain_hash(event.prev_hash, event_fields(event))
    event.save(force_insert=True)


def _append_postgresql(event: AuditEvent, connection: BaseDatabaseWrapper) -> None:
    """Append in one round trip through ``common_auditevent_append`` (migration common.0004): it takes the
    chain's transaction-scoped advisory lock (held until the caller's transaction ends, or until this
    statement's own transaction commits in autocommit mode), reads the head with a fresh snapshot, hashes
    ``prev_hash + canonical`` and inserts. The lock is never held across Python code.

    occurred_at is stamped just before the call, so two writers racing for the lock may store times out of id
    order by at most that wait (the chain is in id order and is unaffected; so is the export, by id)."""
    event.occurred_at = timezone.now()
    text = canonical(event_fields(event))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT new_id, new_prev_hash, new_hash FROM common_auditevent_append("
            "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s::jsonb, %s, %s, %s)",
            [
                CHAIN_LOCK_KEY,
                text,
                event.occurred_at,
                event.actor_type,
                event.actor_id,
                event.actor_label,
                event.action,
                event.object_type,
                event.object_id,
                None if event.before is None else json.dumps(event.before),
                None if event.after is None else json.dumps(event.after),
                json.dumps(event.data),
                event.request_id,
                event.ip,
                event.result,
            ],
        )
        event.pk, event.prev_hash, event.hash = cursor.fetchone()
    event._state.adding = False
    event._state.db = connection.alias
