from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from common.exceptions import NotFound
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
        return qs.filter(asset__firm_id=user.firm_id)
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
