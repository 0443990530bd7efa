"""Field-level differences between two versions of an asset's content. Pure functions."""

from __future__ import annotations

import hashlib
import json
from typing import Any

_MISSING = object()


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key in sorted(value):
            _flatten(value[key], f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value


def content_of(*, title: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"title": title, "details": details}


def content_diff(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{"field": "details.number", "before": ..., "after": ...}]`` for every leaf that changed.
    Lists are compared whole (a revenue history is one field)."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    if before is not None:
        _flatten(before, "", old)
    _flatten(after, "", new)
    changes = []
    for field in sorted(set(old) | set(new)):
        a, b = old.get(field, _MISSING), new.get(field, _MISSING)
        if a != b:
            changes.append(
                {"field": field, "before": None if a is _MISSING else a, "after": None if b is _MISSING else b}
            )
    return changes


def content_hash(*, kind: str, title: str, details: dict[str, Any]) -> str:
    canonical = json.dumps(
        {"kind": kind, "title": title, "details": details},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
