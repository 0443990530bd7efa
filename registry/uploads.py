"""The size check every upload makes before its body is read, shared by the API views and the portal pages.

A request whose declared length exceeds the limit plus room for the multipart envelope (boundaries, part headers,
the other fields) is refused with the same coded error the service raises for a file over the limit; the service
still checks the file's own size once it is read.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from rest_framework.request import Request

from common.exceptions import ApplicationError
from registry.documents import DocumentTooLarge
from registry.imports.errors import ImportFileTooLarge

MULTIPART_OVERHEAD_BYTES = 64 * 1024


def request_content_length(request: HttpRequest | Request) -> int:
    """The declared body length; 0 when missing or not a number."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def upload_size_check(
    *, request: HttpRequest | Request, limit: int, error: type[ApplicationError], message: str
) -> None:
    """Refuse before the body is read. ``message`` is translated text with a ``%(limit)s`` placeholder."""
    if request_content_length(request) > limit + MULTIPART_OVERHEAD_BYTES:
        raise error(message % {"limit": limit}, extra={"max_bytes": limit})


def document_upload_size_check(*, request: HttpRequest | Request) -> None:
    upload_size_check(
        request=request,
        limit=settings.DOCUMENT_MAX_BYTES,
        error=DocumentTooLarge,
        message=_("The file is larger than the %(limit)s bytes an evidence file may have."),
    )


def import_upload_size_check(*, request: HttpRequest | Request) -> None:
    upload_size_check(
        request=request,
        limit=settings.IMPORT_MAX_BYTES,
        error=ImportFileTooLarge,
        message=_("The file is larger than the %(limit)s bytes an import may have."),
    )
