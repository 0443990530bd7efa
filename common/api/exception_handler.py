"""Every API error becomes an RFC 9457 problem details body (application/problem+json)."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from common.api.parsers import request_too_large
from common.context import origin_get
from common.exceptions import ApplicationError

logger = logging.getLogger("softasset.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"

_TITLES = {
    400: gettext_noop("Invalid input"),
    401: gettext_noop("Authentication required"),
    403: gettext_noop("Not allowed"),
    404: gettext_noop("Not found"),
    405: gettext_noop("Method not allowed"),
    406: gettext_noop("Not acceptable"),
    409: gettext_noop("Conflict with the current state"),
    413: gettext_noop("Request too large"),
    415: gettext_noop("Unsupported media type"),
    422: gettext_noop("Business rule violated"),
    429: gettext_noop("Too many requests"),
    500: gettext_noop("Internal server error"),
}

_DRF_CODES = {
    drf.ParseError: "malformed_request",
    drf.AuthenticationFailed: "authentication_failed",
    drf.NotAuthenticated: "not_authenticated",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "throttled",
    drf.ValidationError: "validation_failed",
}


def problem_type(code: str) -> str:
    return f"urn:problem-type:softasset:{code}"


def problem_body(
    *,
    status: int,
    code: str,
    detail: str,
    title: str | None = None,
    errors: Mapping[str, list[str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title or _(_TITLES.get(status, gettext_noop("Error"))),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = dict(errors)
    request_id = origin_get().request_id
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return body


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error structure into {"dotted.path": ["message", ...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = "non_field_errors" if key in ("non_field_errors", "__all__") else str(key)
            path = f"{prefix}.{name}" if prefix and name != "non_field_errors" else (prefix or name)
            for k, v in flatten_errors(value, path).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list | tuple):
        if all(not isinstance(item, Mapping | list | tuple) for item in detail):
            out.setdefault(prefix or "non_field_errors", []).extend(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                if not item:
                    continue
                for k, v in flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)).items():
                    out.setdefault(k, []).extend(v)
    else:
        out.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return out


def _first_message(errors: Mapping[str, list[str]]) -> str:
    for path, messages in errors.items():
        if messages:
            return messages[0] if path == "non_field_errors" else f"{path}: {messages[0]}"
    return _("The request is not valid.")


def handle(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, RequestDataTooBig):  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE, met while reading the body
        exc = request_too_large()
    elif isinstance(exc, SuspiciousOperation):  # too many fields or files, a malformed multipart body, ...
        exc = drf.ParseError(str(exc))
    if isinstance(exc, ApplicationError):
        body = problem_body(
            status=exc.http_status,
            code=exc.code,
            detail=exc.message,
            title=_(str(exc.title)),  # a lazy title is already in the request's language; a plain one is looked up
            errors=exc.errors or None,
            **exc.extra,
        )
        response = Response(body, status=exc.http_status, content_type=PROBLEM_CONTENT_TYPE)
        if exc.http_status == 429 and isinstance(exc.extra.get("retry_after"), int):
            response["Retry-After"] = str(exc.extra["retry_after"])
        return response

    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in %s", context.get("view"), exc_info=exc)
        body = problem_body(
            status=500,
            code="internal_error",
            detail=_("Something went wrong on our side. Quote the request id to support."),
        )
        return Response(body, status=500, content_type=PROBLEM_CONTENT_TYPE)

    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, drf.ValidationError):
        errors = flatten_errors(exc.detail)
        body = problem_body(status=response.status_code, code=code, detail=_first_message(errors), errors=errors)
    else:
        detail = exc.detail if isinstance(exc, drf.APIException) else str(exc)
        if isinstance(detail, Mapping | list):
            errors = flatten_errors(detail)
            body = problem_body(status=response.status_code, code=code, detail=_first_message(errors))
        else:
            body = problem_body(status=response.status_code, code=code, detail=str(detail))
    if isinstance(exc, drf.Throttled):
        # RFC 9110 Retry-After in whole seconds (at least 1), and the same number in the body.
        retry_after = max(1, math.ceil(exc.wait)) if exc.wait is not None else 1
        body["retry_after"] = retry_after
        response["Retry-After"] = str(retry_after)
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    return response
