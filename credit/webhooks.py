"""Webhooks: subscriptions, the transactional outbox, and signed delivery with retries.

An event is written (``webhook_event_record``) in the transaction of the change it announces: one
``WebhookEvent`` and one pending ``WebhookDelivery`` per matching subscription. After the commit a task is
enqueued per delivery; if the broker is down nothing is lost, because the beat task
``credit.tasks.webhook_deliveries_due`` sends every pending delivery whose ``next_attempt_at`` has passed.

A delivery is claimed in a short transaction (its ``next_attempt_at`` is pushed out by a lease, so the
sweeper and the on-commit task never send it twice at once), sent without holding a transaction, and its
outcome recorded in another short transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.audit import Actor, audit_record
from common.exceptions import NotFound
from credit.errors import WebhookInvalid
from credit.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
from registry.models import Bank

logger = logging.getLogger(__name__)

EVENT_TYPES = (
    "credit_line.issued",
    "credit_line.at_risk",
    "credit_line.recovered",
    "pledge.released",
    "consent.revoked",
    "valuation.approved",
)
USER_AGENT = "softasset-webhooks/1.0 (+Hubei soft-asset registry)"
CLAIM_LEASE = timedelta(seconds=60)


# --- subscriptions -------------------------------------------------------------------------------------------


def webhook_url_validate(url: str) -> None:
    parts = urlsplit(url)
    allowed = ("https", "http") if settings.WEBHOOK_ALLOW_HTTP else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise WebhookInvalid(
            _("The webhook URL must be an absolute %(schemes)s URL.") % {"schemes": " or ".join(allowed)},
            errors={"url": [_("Use %(schemes)s.") % {"schemes": " or ".join(allowed)}]},
        )


@transaction.atomic
def webhook_subscribe(*, bank: Bank, actor: Actor, url: str, events: list[str]) -> WebhookSubscription:
    """A new subscription; its ``secret`` is returned to the caller once, at creation."""
    webhook_url_validate(url)
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown or not events:
        raise WebhookInvalid(
            _("Subscribe to one or more of: %(types)s.") % {"types": ", ".join(EVENT_TYPES)},
            errors={"events": [_("Unknown event types: %(t)s") % {"t": ", ".join(unknown)}] if unknown else []},
        )
    subscription = WebhookSubscription.objects.create(
        bank=bank,
        url=url,
        events=sorted(set(events)),
        secret=secrets.token_hex(32),
        created_by=actor.label,
    )
    audit_record(
        actor=actor,
        action="webhook.subscribed",
        object_type="webhook_subscription",
        object_id=subscription.pk,
        after={"bank": bank.code, "url": url, "events": subscription.events},
    )
    return subscription


def webhook_qs_for_bank(*, bank: Bank) -> Any:
    return WebhookSubscription.objects.filter(bank=bank, deleted_at__isnull=True)


def webhook_get_for_bank(*, bank: Bank, webhook_id: int) -> WebhookSubscription:
    try:
        return webhook_qs_for_bank(bank=bank).get(pk=webhook_id)
    except WebhookSubscription.DoesNotExist:
        raise NotFound(_("Webhook not found.")) from None


@transaction.atomic
def webhook_unsubscribe(*, bank: Bank, actor: Actor, webhook_id: int) -> None:
    subscription = webhook_get_for_bank(bank=bank, webhook_id=webhook_id)
    subscription.deleted_at = timezone.now()
    subscription.save(update_fields=["deleted_at", "updated_at"])
    # Nothing more goes out to a deleted subscription.
    subscription.deliveries.filter(status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED, last_error="subscription deleted", updated_at=timezone.now()
    )
    audit_record(actor=actor, action="webhook.deleted", object_type="webhook_subscription", object_id=subscription.pk)


def delivery_get_for_bank(*, bank: Bank, delivery_id: int) -> WebhookDelivery:
    try:
        return WebhookDelivery.objects.select_related("event", "subscription").get(
            pk=delivery_id, subscription__bank=bank
        )
    except WebhookDelivery.DoesNotExist:
        raise NotFound(_("Delivery not found.")) from None


# --- the outbox ------------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _enqueue(delivery_id: int) -> None:
    from credit.tasks import webhook_deliver

    try:
        webhook_deliver.delay(delivery_id)
    except Exception:  # the broker is down: the due-sweeper sends it later, from the outbox
        logger.warning("webhook delivery %s not enqueued; the due-sweeper will send it", delivery_id, exc_info=True)


def _enqueue_on_commit(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        transaction.on_commit(lambda d=delivery_id: _enqueue(d), robust=True)


def webhook_event_record(*, bank: Bank, type: str, payload: dict[str, Any], key: str = "") -> WebhookEvent | None:
    """Write an event and its pending deliveries in the caller's transaction; enqueue sending on commit.

    With a ``key``, recording the same event twice is a no-op (returns None the second time)."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(bank=bank, type=type, payload=_jsonable(payload), key=key)
    except IntegrityError:
        if key:
            return None
        raise
    subscriptions = [s for s in webhook_qs_for_bank(bank=bank) if type in s.events]
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(event=event, subscription=s, next_attempt_at=now) for s in subscriptions]
    )
    if deliveries and deliveries[0].pk is None:  # backends that do not return ids
        deliveries = list(WebhookDelivery.objects.filter(event=event))
    _enqueue_on_commit([d.pk for d in deliveries])
    return event


# --- delivery ------------------------------------------------------------------------------------------------


def webhook_body(event: WebhookEvent) -> bytes:
    return json.dumps(
        {"id": event.pk, "type": event.type, "created_at": event.created_at.isoformat(), "data": event.payload},
        separators=(",", ":"),
        sort_keys=True,
        cls=DjangoJSONEncoder,
    ).encode()


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery: never follow it somewhere else with a signed body."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _send(*, url: str, headers: dict[str, str], body: bytes) -> SendResult:
    webhook_url_validate(url)  # the scheme may have been allowed when subscribed but not any more
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310  # scheme checked
    started = time.monotonic()
    status_code, error = None, ""
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            status_code = response.status
    except urllib.error.HTTPError as exc:
        status_code, error = exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
    return SendResult(status_code=status_code, error=error, duration_ms=int((time.monotonic() - started) * 1000))


def _claim(delivery_id: int) -> WebhookDelivery | None:
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("event", "subscription")
            .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None  # delivered, failed, not due, or being sent by another worker
        delivery.next_attempt_at = now + CLAIM_LEASE
        delivery.save(update_fields=["next_attempt_at", "updated_at"])
    return delivery


def webhook_delivery_send(*, delivery_id: int) -> WebhookDelivery | None:
    """Send one due, pending delivery once and record the attempt. A no-op when it is not due."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    body = webhook_body(delivery.event)
    timestamp = str(int(timezone.now().timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Softasset-Event": delivery.event.type,
        "X-Softasset-Delivery": str(delivery.pk),
        "X-Softasset-Timestamp": timestamp,
        "X-Softasset-Signature": webhook_signature(secret=delivery.subscription.secret, timestamp=timestamp, body=body),
    }
    result = _send(url=delivery.subscription.url, headers=headers, body=body)
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        delivery.attempts += 1
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            status_code=result.status_code,
            error=result.error,
            duration_ms=result.duration_ms,
        )
        now = timezone.now()
        delivery.last_status_code, delivery.last_error = result.status_code, result.error
        if result.ok:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                WebhookDelivery.Status.DELIVERED,
                now,
                None,
            )
        elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
        else:
            backoff = settings.WEBHOOK_BACKOFF_SECONDS * 2 ** (delivery.attempts - 1)
            delivery.next_attempt_at = now + timedelta(seconds=backoff)
        delivery.save()
    return delivery


def webhook_deliveries_due(*, limit: int = 500) -> int:
    """Send every pending delivery whose time has come (the sweeper behind the on-commit tasks)."""
    due = list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in due:
        # One task each: the sweep stays short (no 5 s timeouts in series) and any worker can take them; a
        # delivery already claimed by another attempt is skipped by its claim.
        _enqueue(delivery_id)
    return len(due)


@transaction.atomic
def webhook_delivery_replay(*, bank: Bank, actor: Actor, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again (whatever its state), right after this commits."""
    delivery_get_for_bank(bank=bank, delivery_id=delivery_id)
    delivery = WebhookDelivery.objects.select_for_update().select_related("event", "subscription").get(pk=delivery_id)
    if delivery.subscription.deleted_at is not None:
        raise NotFound(_("Delivery not found."))
    delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.PENDING, timezone.now()
    # A failed delivery gets one more try (attempts stay counted: failing again leaves it failed).
    delivery.save(update_fields=["status", "next_attempt_at", "updated_at"])
    audit_record(actor=actor, action="webhook.replayed", object_type="webhook_delivery", object_id=delivery.pk)
    _enqueue_on_commit([delivery.pk])
    return delivery
