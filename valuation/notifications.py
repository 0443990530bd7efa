"""The e-mail a firm's people get when a valuation of one of their assets is approved (in each one's language).

``valuation_approve`` announces ``valuation_approved`` (common/hooks.py); settings.DOMAIN_HOOKS maps it to the
task ``valuation.tasks.valuation_approved_email``, which runs after commit and calls ``valuation_approved_email``.
Sending, idempotency and logging are registry/notifications.py's.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.utils.functional import lazy

from registry.notifications import email_send_once, firm_recipients
from valuation.models import Valuation

logger = logging.getLogger("softasset.email")


def money_text(value: Decimal) -> str:
    """Digits grouped by thousands, two decimals: 1234567.5 -> "1,234,567.50" (a string, never a float)."""
    return f"{value:,.2f}"


def valuation_approved_email(*, valuation_id: int) -> int:
    """E-mail every person of the asset's firm that this valuation was approved. Returns how many went out now."""
    valuation = (
        Valuation.objects.select_related("asset", "asset__firm")
        .filter(pk=valuation_id, status=Valuation.Status.APPROVED)
        .first()
    )
    if valuation is None:
        logger.warning("No valuation e-mail: valuation %s is not approved (or gone)", valuation_id)
        return 0
    from valuation.reports import method_label

    asset = valuation.asset
    context = {
        "method": lazy(method_label, str)(valuation.method),  # a label in each recipient's language
        "valuation": valuation,
        "asset": asset,
        "firm": asset.firm,
        "value": money_text(valuation.value),
        "low": money_text(valuation.low),
        "high": money_text(valuation.high),
    }
    sent = 0
    for recipient in firm_recipients(firm_id=asset.firm_id):
        sent += email_send_once(
            key=f"valuation.approved:{valuation.pk}",
            recipient=recipient,
            template="valuation/email/valuation_approved",
            context=context,
        )
    return sent
