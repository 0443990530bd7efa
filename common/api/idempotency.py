"""Idempotency-Key handling for POSTs that create money-relevant state (api-guide, Idempotency-Key).

The same key and body within 24 hours returns the first response and creates nothing new; the same key with
a different body is a 422. A request first *claims* its key in a short transaction of its own (a row in state
``in_progress`` with a lease), then runs the handler; the response is stored (``completed``) in the handler's
transaction, so the side effect and the stored answer commit together or not at all. A failed handler (an
error response or an exception) deletes the claim, so the key may be retried.

A twin arriving while the claim is held (the same key and body, say a client retry after a timeout) waits up
to IDEMPOTENCY_IN_FLIGHT_WAIT_SECONDS for the answer and replays it; if the first request is still running
then, the twin gets 409 ``idempotency_in_progress`` with ``Retry-After: 1``. A claim whose lease
(IDEMPOTENCY_LEASE_SECONDS) ran out belonged to a crashed process and is taken over. This needs the claim to
commit on its own, which holds because ATOMIC_REQUESTS is off (config/settings/base.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.request import Request
from rest_framework.response import Response

from common.api.exception_handler import handle as problem_response
from common.exceptions import IdempotencyKeyReused, IdempotencyRequestInFlight, ValidationFailed
from common.models import IdempotencyRecord

logger = logging.getLogger("softasset.api")

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
POLL_SECONDS = 0.05
RETRY_AFTER_SECONDS = 1
State = IdempotencyRecord.State


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


def _in_flight(request: Request) -> Response:
    exc = IdempotencyRequestInFlight(
        _("A request with this Idempotency-Key is still being processed. Retry shortly with the same key."),
        extra={"retry_after": RETRY_AFTER_SECONDS},
    )
    response = problem_response(exc, {"request": request})
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _claim(request: Request, scope: str, key: str, request_hash: str) -> IdempotencyRecord | Response:
    """The claim on the key for this request, or the response to give instead (a replay or a 409)."""
    deadline = time.monotonic() + float(settings.IDEMPOTENCY_IN_FLIGHT_WAIT_SECONDS)
    lease = timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS)
    ttl = timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    while True:
        now = timezone.now()
        owner = uuid.uuid4().hex
        try:
            with transaction.atomic():  # committed at once: twins on other connections see the claim
                return IdempotencyRecord.objects.create(
                    scope=scope,
                    key=key,
                    request_hash=request_hash,
                    state=State.IN_PROGRESS,
                    owner=owner,
                    lease_expires_at=now + lease,
                )
        except IntegrityError:
            pass  # the key is taken: see by whom
        existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if existing is None:
            continue  # released (the holder failed) or expired since the insert: claim it afresh
        if existing.state == State.COMPLETED:
            if existing.created_at >= now - ttl:
                return _replay(existing, request_hash)
            IdempotencyRecord.objects.filter(pk=existing.pk, state=State.COMPLETED).delete()  # may be reused
            continue
        if existing.lease_expires_at is None or existing.lease_expires_at <= now:
            # the holder crashed: take its claim over, whatever its body was (the key was never answered)
            taken = IdempotencyRecord.objects.filter(
                pk=existing.pk, state=State.IN_PROGRESS, owner=existing.owner
            ).update(owner=owner, request_hash=request_hash, lease_expires_at=now + lease, created_at=now)
            if taken:
                existing.refresh_from_db()
                return existing
            continue
        if existing.request_hash != request_hash:
            raise IdempotencyKeyReused(
                _("This Idempotency-Key was already used with a different request. Use a new key.")
            )
        if time.monotonic() >= deadline:
            return _in_flight(request)
        time.sleep(POLL_SECONDS)


def _release(claim: IdempotencyRecord) -> None:
    try:
        IdempotencyRecord.objects.filter(pk=claim.pk, owner=claim.owner, state=State.IN_PROGRESS).delete()
    except DatabaseError:  # the lease runs out on its own; the original error matters more
        logger.warning("Could not release the Idempotency-Key claim %s", claim.pk, exc_info=True)


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

    claim = _claim(request, _scope_of(request), key, _hash_of(request))
    if isinstance(claim, Response):
        return claim
    try:
        with transaction.atomic():
            response = handler()
            if 200 <= response.status_code < 300:
                stored = IdempotencyRecord.objects.filter(
                    pk=claim.pk, owner=claim.owner, state=State.IN_PROGRESS
                ).update(
                    state=State.COMPLETED,
                    response_status=response.status_code,
                    response_body=response.data,
                    lease_expires_at=None,
                )
                if not stored:  # the lease ran out and another request took the key over: undo, let it answer
                    raise IdempotencyRequestInFlight(
                        _("A request with this Idempotency-Key is still being processed. Retry shortly.")
                    )
    except BaseException:
        _release(claim)
        raise
    if not 200 <= response.status_code < 300:
        _release(claim)
    return response
