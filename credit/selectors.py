from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Exists, F, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from common.exceptions import NotFound
from credit.errors import ProductRequired
from credit.models import CreditLine, CreditProduct, Pledge
from credit.policies import Collateral, ProductRules
from registry.models import Asset, AssetVersion, Bank, Firm
from valuation.models import Valuation


def product_list_for_bank(*, bank: Bank) -> QuerySet[CreditProduct]:
    return CreditProduct.objects.filter(bank=bank)


def product_get_for_bank(*, bank: Bank, code: str | None) -> CreditProduct:
    active = CreditProduct.objects.filter(bank=bank, is_active=True)
    if not code:
        products = list(active[:2])
        if len(products) == 1:
            return products[0]
        raise ProductRequired(
            _("Name the credit product with ?product=<code>."), errors={"product": [_("This parameter is required.")]}
        )
    try:
        return active.get(code=code)
    except CreditProduct.DoesNotExist:
        raise NotFound(_("Your bank has no active product with this code.")) from None


def product_rules(product: CreditProduct) -> ProductRules:
    unsecured = product.unsecured_by_tier if product.kind != CreditProduct.Kind.PLEDGE else {}
    rates = product.pledge_rates if product.kind != CreditProduct.Kind.UNSECURED else {}
    return ProductRules(
        code=product.code,
        currency=product.currency,
        pledge_rates=rates,
        unsecured_by_tier=unsecured,
        max_amount=product.max_amount,
    )


def collateral_for_firm(*, firm: Firm, product: CreditProduct, asset_ids: list[int] | None = None) -> list[Collateral]:
    """Assets with an approved version, not retired, whose approved valuation is of that version and young
    enough for ``product``; in one query. An approved asset under re-review still counts with its approved
    version (and that version's details)."""
    oldest = timezone.now() - timedelta(days=product.max_valuation_age_days)
    active_pledge = Pledge.objects.filter(asset_id=OuterRef("asset_id"), status=Pledge.Status.ACTIVE)
    approved_patent_type = AssetVersion.objects.filter(
        asset_id=OuterRef("asset_id"), number=OuterRef("asset_version")
    ).values("details__patent_type")[:1]
    qs = (
        Valuation.objects.filter(
            asset__firm=firm,
            asset__approved_version__isnull=False,
            asset_version=F("asset__approved_version"),
            status=Valuation.Status.APPROVED,
            computed_at__gte=oldest,
        )
        .exclude(asset__status=Asset.Status.RETIRED)
        .annotate(is_pledged=Exists(active_pledge), patent_type=Subquery(approved_patent_type))
        .values("id", "asset_id", "asset__kind", "patent_type", "low", "currency", "is_pledged")
        .order_by("asset_id")
    )
    if asset_ids is not None:
        qs = qs.filter(asset_id__in=asset_ids)
    return [
        Collateral(
            asset_id=row["asset_id"],
            kind=row["asset__kind"],
            valuation_id=row["id"],
            low=row["low"],
            currency=row["currency"],
            is_pledged=row["is_pledged"],
            patent_type=row["patent_type"] if row["asset__kind"] == "patent" else None,
        )
        for row in qs
    ]


def credit_line_qs_for_user(*, user: Any) -> QuerySet[CreditLine]:
    qs = CreditLine.objects.select_related("firm", "bank", "product")
    bank = getattr(user, "acting_bank", None)
    if bank is not None:
        return qs.filter(bank=bank)
    if getattr(user, "is_firm_user", False):
        return qs.filter(firm_id=user.firm_id)
    if getattr(user, "is_reviewer", False):
        return qs
    return qs.none()


def credit_line_get_for_user(*, user: Any, credit_line_id: int) -> CreditLine:
    try:
        return credit_line_qs_for_user(user=user).get(pk=credit_line_id)
    except CreditLine.DoesNotExist:
        raise NotFound(_("Credit line not found.")) from None


def pledge_list_for_user(*, user: Any, status: str | None = None) -> QuerySet[Pledge]:
    qs = Pledge.objects.select_related("credit_line__bank", "credit_line__firm", "asset")
    bank = getattr(user, "acting_bank", None)
    if bank is not None:
        qs = qs.filter(credit_line__bank=bank)
    elif getattr(user, "is_firm_user", False):
        qs = qs.filter(asset__firm_id=user.firm_id)
    elif not getattr(user, "is_reviewer", False):
        qs = qs.none()
    if status:
        qs = qs.filter(status=status)
    return qs
