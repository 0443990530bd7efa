"""Request-scoped context (request id, client address) that audit rows read without threading requests
through every service."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    request_id: str = ""
    ip: str = ""


_NO_ORIGIN = Origin()
_origin: contextvars.ContextVar[Origin | None] = contextvars.ContextVar("origin", default=None)


def origin_get() -> Origin:
    return _origin.get() or _NO_ORIGIN


def origin_set(origin: Origin) -> contextvars.Token[Origin | None]:
    return _origin.set(origin)


def origin_reset(token: contextvars.Token[Origin | None]) -> None:
    _origin.reset(token)
