"""The JSON parser every API view uses: DRF's, made strict about what no field of ours can hold.

Refused as problem details before any view code runs:
- a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE: 413 ``request_too_large`` (read no further than the limit);
- NaN, Infinity and -Infinity as bare tokens, and numbers too large for a float (``1e400``): 400;
- nesting deep enough to exhaust the parser: 400;
- arrays and objects of more than DATA_UPLOAD_MAX_NUMBER_FIELDS items (as Django limits form fields): 400;
- NUL characters and lone surrogates anywhere in a string or an object key: 400 ``malformed_request``.
  PostgreSQL's text and jsonb types refuse ``\\u0000`` and lone surrogates cannot be encoded as UTF-8, so they
  would otherwise surface as server errors wherever a free-form value (a JSON field, a dictionary key) is stored.
"""

from __future__ import annotations

import codecs
import json
import math
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from common.exceptions import RequestTooLarge


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _bad_text(value: str) -> str | None:
    if "\x00" in value:
        return _("NUL characters (\\u0000) are not accepted.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("Unpaired surrogate characters are not accepted.")
    return None


def _first_problem(data: Any) -> str | None:
    """The first problem in ``data``: a bad string or key, or an array or object with too many items (no
    field of this API takes more than DATA_UPLOAD_MAX_NUMBER_FIELDS; refusing here keeps a 100,000-item array
    from being validated item by item into 100,000 error messages). Walked without recursion."""
    max_items = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            problem = _bad_text(item)
            if problem:
                return problem
        elif isinstance(item, dict | list):
            if max_items is not None and len(item) > max_items:
                return _("Arrays and objects may have at most %(max)s items.") % {"max": max_items}
            if isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            else:
                stack.extend(item)
    return None


def body_limit() -> int:
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def request_too_large() -> RequestTooLarge:
    limit = body_limit()
    return RequestTooLarge(
        _("The request body is larger than the %(limit)s bytes this API accepts.") % {"limit": limit},
        extra={"max_bytes": limit},
    )


def refuse_oversized(declared: Any) -> None:
    """413 when the declared Content-Length is above the limit, before anything is read."""
    try:
        length = int(declared or 0)
    except (TypeError, ValueError):
        return
    if length > body_limit():
        raise request_too_large()


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        parser_context = parser_context or {}
        request = parser_context.get("request")
        if request is not None:
            refuse_oversized(request.META.get("CONTENT_LENGTH"))
        encoding = parsers.get_encoding(parser_context)
        limit = body_limit()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            refuse_oversized(len(raw))
        try:
            text = codecs.decode(raw, encoding)
            data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
        except (ValueError, RecursionError) as exc:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": str(exc)[:200]}) from exc
        problem = _first_problem(data)
        if problem:
            raise ParseError(problem)
        return data
