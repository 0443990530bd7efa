"""The root of every domain error. The API exception handler turns them into RFC 9457 problem details."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    """A refusal the caller can act on. Subclasses set ``code`` (stable, snake_case) and ``http_status``."""

    code = "application_error"
    http_status = 400
    title = _("Request refused")

    def __init__(
        self,
        message: str,
        *,
        errors: Mapping[str, Sequence[str]] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = {k: list(v) for k, v in (errors or {}).items()}
        self.extra = dict(extra or {})


class NotFound(ApplicationError):
    code = "not_found"
    http_status = 404
    title = _("Not found")


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    http_status = 403
    title = _("Not allowed")


class Conflict(ApplicationError):
    code = "conflict"
    http_status = 409
    title = _("Conflict with the current state")


class InvalidTransition(Conflict):
    code = "invalid_transition"


class BusinessRuleViolation(ApplicationError):
    code = "business_rule_violation"
    http_status = 422
    title = _("Business rule violated")


class ValidationFailed(ApplicationError):
    code = "validation_failed"
    http_status = 400
    title = _("Invalid input")


class IdempotencyKeyReused(ApplicationError):
    code = "idempotency_key_reused"
    http_status = 422
    title = _("Idempotency key reused with a different request")


class IdempotencyRequestInFlight(Conflict):
    code = "idempotency_in_progress"
    title = _("A request with this Idempotency-Key is still being processed")


class RequestTooLarge(ApplicationError):
    code = "request_too_large"
    http_status = 413
    title = _("Request too large")
