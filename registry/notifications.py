"""E-mails to people, each in the recipient's saved language (``User.language``).

A service that decides something calls an ``*_enqueue`` function inside its transaction; the Celery task runs only
after commit and calls the matching ``*_email`` function here. Each e-mail is recorded in ``EmailSent`` under an
idempotency key before it goes out, so a redelivered or retried task does not send it twice; a failed send is
logged (never raised into the request) and its record removed, so a later retry can send it.

Templates are plain text, one pair per e-mail: ``<name>_subject.txt`` (one line) and ``<name>_body.txt``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import translation

from registry.models import Asset, EmailSent, User

logger = logging.getLogger("softasset.email")

ASSET_DECISIONS = ("approved", "rejected")


def email_render(*, template: str, context: Mapping[str, Any], language: str) -> tuple[str, str]:
    """Render a subject and a body in ``language``. The subject is folded to one line (headers cannot wrap)."""
    with translation.override(language):
        subject = render_to_string(f"{template}_subject.txt", dict(context))
        body = render_to_string(f"{template}_body.txt", dict(context))
    return " ".join(subject.split()), body.strip() + "\n"


def firm_recipients(*, firm_id: int) -> QuerySet[User]:
    """The firm's active people who have an e-mail address."""
    return User.objects.filter(firm_id=firm_id, is_active=True).exclude(email="").order_by("pk")


def email_send_once(*, key: str, recipient: User, template: str, context: Mapping[str, Any]) -> bool:
    """Send one templated e-mail to ``recipient`` in their language, unless one was already sent under ``key``.

    Returns True if it was sent now. A failure is logged and not raised.
    """
    try:
        with transaction.atomic():
            record, created = EmailSent.objects.get_or_create(key=key, recipient=recipient)
    except IntegrityError:  # a twin of this task recorded it a moment ago
        return False
    if not created:
        return False
    language = recipient.language or settings.LANGUAGE_CODE
    try:
        subject, body = email_render(template=template, context={**context, "recipient": recipient}, language=language)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient.email], fail_silently=False)
    except Exception:
        logger.exception("E-mail %s to user %s could not be sent", key, recipient.pk)
        EmailSent.objects.filter(pk=record.pk).delete()
        return False
    logger.info("E-mail %s sent to user %s in %s", key, recipient.pk, language)
    return True


def enqueue_quietly(task: Any, /, **kwargs: Any) -> Callable[[], None]:
    """An on-commit callback that queues ``task``; a broker or in-process failure is logged, not raised."""

    def run() -> None:
        try:
            task.delay(**kwargs)
        except Exception:
            logger.exception("Could not queue %s with %s", getattr(task, "name", task), kwargs)

    return run


# --- asset review -------------------------------------------------------------------------------------------------


def asset_decision_email_enqueue(*, asset: Asset, decision: str) -> None:
    """Called by the review services inside their transaction: e-mail the firm after commit."""
    from registry.tasks import asset_decision_email

    if decision not in ASSET_DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    transaction.on_commit(
        enqueue_quietly(
            asset_decision_email,
            asset_id=asset.pk,
            version=asset.version,
            decision=decision,
            reason=asset.rejection_reason if decision == "rejected" else "",
        )
    )


def asset_decision_email(*, asset_id: int, version: int, decision: str, reason: str = "") -> int:
    """E-mail every person of the asset's firm that the asset (at ``version``) was approved or rejected.

    Returns how many e-mails went out now.
    """
    asset = Asset.objects.select_related("firm").filter(pk=asset_id).first()
    if asset is None or decision not in ASSET_DECISIONS:
        logger.warning("No asset decision e-mail: asset %s, decision %r", asset_id, decision)
        return 0
    context = {"asset": asset, "firm": asset.firm, "version": version, "reason": reason}
    sent = 0
    for recipient in firm_recipients(firm_id=asset.firm_id):
        sent += email_send_once(
            key=f"asset.{decision}:{asset_id}:v{version}",
            recipient=recipient,
            template=f"registry/email/asset_{decision}",
            context=context,
        )
    return sent
