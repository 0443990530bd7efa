"""Idempotency-Key handling for POSTs that create money-relevant state (api.md, Conventions).

The same key and body within 24 hours returns the first response and creates nothing new; the same key with
a different body is a 422. The record is written in the same transaction as the side effect, so a crash
between the two cannot happen, and two concurrent requests with one key give one side effect (the loser
hits the unique constraint, waits for the winner's commit and replays its response).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.request import Request
from rest_framework.response import Response

from common.exceptions import IdempotencyKeyReused, ValidationFailed
from common.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _scope_of(request: Request) -> str:
    scope = getattr(request.user, "idempotency_scope", None)
    if scope:
        return str(scope)
    return f"user:{request.user.pk}"


def _hash_of(request: Request) -> str:
    """A fingerprint of the method, path and body; uploaded files count by their content, not their name."""
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    fields = {k: v for k, v in request.data.items() if k not in request.FILES} if request.FILES else request.data
    try:
        digest.update(json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str).encode())
    except TypeError:
        digest.update(repr(fields).encode())
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            digest.update(f"\n{name}:".encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord, request_hash: str) -> Response:
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused(_("This Idempotency-Key was already used with a different request. Use a new key."))
    return Response(record.response_body, status=record.response_status, headers={"Idempotent-Replayed": "true"})


def idempotent(request: Request, handler: Callable[[], Response], *, required: bool = False) -> Response:
    key = request.headers.get(HEADER, "").strip()
    if not key:
        if required:
            raise ValidationFailed(
                _("This request needs an Idempotency-Key header."), errors={HEADER: [_("This header is required.")]}
            )
        return handler()
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            _("The Idempotency-Key header is too long."), errors={HEADER: [_("At most 255 characters.")]}
        )

    scope = _scope_of(request)
    request_hash = _hash_of(request)
    horizon = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)

    existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
    if existing is not None:
        if existing.created_at >= horizon:
            return _replay(existing, request_hash)
        existing.delete()  # expired: the key may be used afresh

    try:
        with transaction.atomic():
            response = handler()
            if 200 <= response.status_code < 300:
                with transaction.atomic():  # savepoint: a concurrent twin shows up here
                    IdempotencyRecord.objects.create(
                        scope=scope,
                        key=key,
                        request_hash=request_hash,
                        response_status=response.status_code,
                        response_body=response.data,
                    )
    except Exception:
        # A twin request with the same key may have committed while this one ran; its side effect then made
        # this one fail (a unique index, a state check). The caller gets the twin's response, as if sequential.
        record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if record is None:
            raise
        return _replay(record, request_hash)
    return response
