import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from common.context import Origin, origin_reset, origin_set

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Gives every request an id (honouring a well-formed incoming X-Request-ID) and echoes it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = origin_set(Origin(request_id=request_id, ip=request.META.get("REMOTE_ADDR", "")))
        try:
            response = self.get_response(request)
        finally:
            origin_reset(token)
        response["X-Request-ID"] = request_id
        return response


# Scripts only from this origin (no inline script, no eval); inline styles are allowed because the home page,
# the admin and Swagger UI's page carry small style blocks. Swagger UI (/api/docs/) loads its assets from
# drf-spectacular-sidecar's static files and its start-up script from /api/docs/?script= (the split view).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Sends CONTENT_SECURITY_POLICY with every HTML page (Django 5.2 has no CSP of its own)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
