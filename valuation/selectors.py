from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch, QuerySet, Sum
from django.utils.translation import gettext as _

from common.exceptions import NotFound
from common.money import DEFAULT_CURRENCY, quantize
from valuation.models import Valuation, ValuationJob, ValuationJobItem


def valuation_job_get_for_user(*, user: Any, job_id: int) -> ValuationJob:
    qs = ValuationJob.objects.all()
    if getattr(user, "is_firm_user", False):
        qs = qs.filter(firm_id=user.firm_id)
    elif not getattr(user, "is_reviewer", False):
        qs = qs.none()
    try:
        return qs.get(pk=job_id)
    except ValuationJob.DoesNotExist:
        raise NotFound(_("Valuation job not found.")) from None


def valuation_job_list_for_user(*, user: Any) -> QuerySet[ValuationJob]:
    qs = ValuationJob.objects.prefetch_related(
        Prefetch(
            "items",
            queryset=ValuationJobItem.objects.filter(status="failed").order_by("asset_id"),
            to_attr="failed_items",
        )
    )
    if getattr(user, "is_reviewer", False):
        return qs
    if getattr(user, "is_firm_user", False):
        return qs.filter(firm_id=user.firm_id)
    return qs.none()


def valuation_qs_for_user(*, user: Any) -> QuerySet[Valuation]:
    qs = Valuation.objects.select_related("asset")
    if getattr(user, "is_reviewer", False):
        return qs
    if getattr(user, "is_firm_user", False):
        return qs.filter(firm_id=user.firm_id)
    return qs.none()


def valuation_list_for_user(
    *, user: Any, asset_id: int | None = None, status: str | None = None
) -> QuerySet[Valuation]:
    qs = valuation_qs_for_user(user=user)
    if asset_id is not None:
        qs = qs.filter(asset_id=asset_id)
    if status:
        qs = qs.filter(status=status)
    return qs


def valuation_get_for_user(*, user: Any, valuation_id: int) -> Valuation:
    try:
        return valuation_qs_for_user(user=user).get(pk=valuation_id)
    except Valuation.DoesNotExist:
        raise NotFound(_("Valuation not found.")) from None


def valuation_get_for_review(*, valuation_id: int) -> Valuation:
    try:
        return Valuation.objects.select_related("asset", "job").get(pk=valuation_id)
    except Valuation.DoesNotExist:
        raise NotFound(_("Valuation not found.")) from None


def valuation_totals_for_firm(*, firm_id: int) -> dict[str, Any]:
    """The sum of the approved valuations (at most one per asset) of the firm's assets that are not retired:
    ``value`` (central), ``low``, ``high`` as Decimal to the cent, and ``assets``, the number summed. One query."""
    zero = Decimal("0.00")
    sums = (
        Valuation.objects.filter(firm_id=firm_id, status=Valuation.Status.APPROVED, currency=DEFAULT_CURRENCY)
        .exclude(asset__status="retired")
        .aggregate(
            value=Sum("value", default=zero),
            low=Sum("low", default=zero),
            high=Sum("high", default=zero),
            assets=Count("id"),
        )
    )
    # Sums of amounts in cents are exact; SQLite hands them back with trailing digits, so give them the cent.
    return {key: quantize(sums[key]) for key in ("value", "low", "high")} | {"assets": sums["assets"]}
