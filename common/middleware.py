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
