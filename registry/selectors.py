"""Reads that imply permission. A caller never learns whether an object it may not see exists (404)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from common.exceptions import NotFound
from registry.models import Asset, AssetReview, Bank, Consent, Document, Firm


def asset_qs_annotated() -> QuerySet[Asset]:
    """Assets with their firm and the number of approvals their current version has.

    The count is a correlated subquery, not a join with GROUP BY: the outer query stays a plain filter on the
    asset table, so ``firm_id = X ORDER BY id DESC LIMIT n`` is read from the (firm, id) index and page 1 of a
    firm's list costs what a deep page costs however many newer assets other firms have."""
    approvals = (
        AssetReview.objects.filter(asset=OuterRef("pk"), version=OuterRef("version"), decision="approved")
        .order_by()
        .values("asset")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Asset.objects.select_related("firm").annotate(
        approvals=Coalesce(Subquery(approvals, output_field=IntegerField()), Value(0))
    )


def asset_qs_for_user(*, user: Any) -> QuerySet[Asset]:
    qs = asset_qs_annotated()
    if getattr(user, "is_reviewer", False):
        return qs
    if getattr(user, "is_firm_user", False):
        return qs.filter(firm_id=user.firm_id)
    return qs.none()


def _with_documents(qs: QuerySet[Asset]) -> QuerySet[Asset]:
    return qs.prefetch_related(Prefetch("documents", queryset=Document.objects.order_by("-id")))


def asset_list_for_user(*, user: Any, kind: str | None = None, status: str | None = None) -> QuerySet[Asset]:
    qs = _with_documents(asset_qs_for_user(user=user))
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    return qs


def asset_get_for_user(*, user: Any, asset_id: int) -> Asset:
    try:
        return asset_qs_for_user(user=user).get(pk=asset_id)
    except (Asset.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Asset not found.")) from None


def asset_review_queue(
    *, kind: str | None = None, firm_uscc: str | None = None, older_than_days: int | None = None
) -> QuerySet[Asset]:
    qs = _with_documents(asset_qs_annotated()).filter(status=Asset.Status.SUBMITTED)
    if older_than_days is not None:
        qs = qs.filter(submitted_at__lte=timezone.now() - timedelta(days=older_than_days))
    if kind:
        qs = qs.filter(kind=kind)
    if firm_uscc:
        qs = qs.filter(firm__uscc=firm_uscc)
    return qs


def asset_get_for_review(*, asset_id: int) -> Asset:
    try:
        return asset_qs_annotated().get(pk=asset_id)
    except Asset.DoesNotExist:
        raise NotFound(_("Asset not found.")) from None


def firm_get_for_user(*, user: Any) -> Firm:
    if not getattr(user, "is_firm_user", False) or user.firm_id is None:
        raise NotFound(_("You are not a member of a firm."))
    return Firm.objects.select_related("industry").get(pk=user.firm_id)


def consent_list_for_user(*, user: Any) -> QuerySet[Consent]:
    qs = Consent.objects.select_related("firm", "bank")
    if getattr(user, "is_firm_user", False):
        return qs.filter(firm_id=user.firm_id)
    bank = getattr(user, "acting_bank", None)
    if bank is not None:
        return qs.filter(bank=bank).live()
    if getattr(user, "is_reviewer", False):
        return qs
    return qs.none()


def consent_get_for_firm_user(*, user: Any, consent_id: int) -> Consent:
    try:
        return Consent.objects.select_related("bank", "firm").get(pk=consent_id, firm_id=user.firm_id)
    except (Consent.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Consent not found.")) from None


def firm_get_for_bank(*, bank: Bank, uscc: str, scope: str = Consent.Scope.CREDIT_LIMIT) -> Firm:
    """The firm, only if it has live consent for ``bank`` with ``scope``; otherwise 404 (no existence leak)."""
    consent = Consent.objects.live().select_related("firm").filter(bank=bank, firm__uscc=uscc.strip().upper()).first()
    if consent is None or scope not in consent.scopes or not consent.firm.is_active:
        raise NotFound(_("No firm with this code has given your bank consent."))
    return consent.firm


def bank_get_by_code(*, code: str) -> Bank | None:
    return Bank.objects.filter(code=code, is_active=True).first()


def bank_list_active() -> QuerySet[Bank]:
    """Banks a firm may give consent to, by name."""
    return Bank.objects.filter(is_active=True).order_by("name")


def asset_counts_for_firm(*, firm_id: int) -> dict[tuple[str, str], int]:
    """How many of the firm's assets there are per (kind, status): one aggregate query."""
    rows = Asset.objects.filter(firm_id=firm_id).order_by().values_list("kind", "status").annotate(n=Count("id"))
    return {(kind, status): n for kind, status, n in rows}


def consent_counts_for_firm(*, firm_id: int) -> dict[str, int]:
    """The firm's consents as ``active``, ``expired`` and ``revoked`` counts: one aggregate query."""
    now = timezone.now()
    return Consent.objects.filter(firm_id=firm_id).aggregate(
        active=Count("id", filter=Q(revoked_at__isnull=True, expires_at__gt=now)),
        expired=Count("id", filter=Q(revoked_at__isnull=True, expires_at__lte=now)),
        revoked=Count("id", filter=Q(revoked_at__isnull=False)),
    )
