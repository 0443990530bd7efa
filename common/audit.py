"""Writing the audit trail. Call inside the transaction of the change being recorded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

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
) -> AuditEvent:
    origin = origin_get()
    return AuditEvent.objects.create(
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
    )
