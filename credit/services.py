"""Credit conversion: explained limits, credit lines and their exclusive pledges."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.audit import Actor, audit_record
from common.exceptions import ApplicationError
from credit.errors import (
    AssetAlreadyPledged,
    AssetNotEligible,
    CreditLimitExceeded,
    ProductCodeTaken,
    ProductInvalid,
    TermTooLong,
)
from credit.models import CreditLine, CreditProduct, Pledge
from credit.policies import LimitResult, PolicyError, credit_limit_compute, validate_pledge_rates
from credit.selectors import collateral_for_firm, product_get_for_bank, product_rules
from registry.models import Bank, Consent, Firm
from registry.selectors import firm_get_for_bank
from valuation.innovation import firm_tier


@dataclass(frozen=True)
class CreditLimit:
    firm: Firm
    product: CreditProduct
    result: LimitResult
    valid_until: datetime


def _firm_tier(firm: Firm) -> str | None:
    """The tier of the firm's latest innovation score (no score: no unsecured part)."""
    return firm_tier(firm=firm)


def _limit_summary(result: LimitResult) -> dict[str, Any]:
    return {
        "limit": result.limit,
        "secured": result.secured,
        "unsecured": result.unsecured,
        "currency": result.currency,
        "assets": [line.asset for line in result.lines],
        "caps_applied": list(result.caps_applied),
    }


def credit_limit_query(
    *, bank: Bank, actor: Actor, uscc: str, product_code: str | None, purpose: str = ""
) -> CreditLimit:
    """The explained limit of a consenting firm under one of the bank's products. Audited."""
    try:
        firm = firm_get_for_bank(bank=bank, uscc=uscc, scope=Consent.Scope.CREDIT_LIMIT)
        product = product_get_for_bank(bank=bank, code=product_code)
    except ApplicationError as exc:
        # Refused queries are audited too: who asked about which code, and why they got nothing.
        audit_record(
            actor=actor,
            action="credit_limit.refused",
            object_type="uscc",
            object_id=uscc[:64],
            data={"bank": bank.code, "product": product_code, "purpose": purpose, "code": exc.code},
        )
        raise
    result = credit_limit_compute(
        rules=product_rules(product), collateral=collateral_for_firm(firm=firm, product=product), tier=_firm_tier(firm)
    )
    valid_until = timezone.now() + timedelta(minutes=settings.CREDIT_LIMIT_VALID_MINUTES)
    audit_record(
        actor=actor,
        action="credit_limit.queried",
        object_type="firm",
        object_id=firm.pk,
        data={
            "bank": bank.code,
            "firm": firm.uscc,
            "product": product.code,
            "purpose": purpose,
            "result": _limit_summary(result),
        },
    )
    return CreditLimit(firm=firm, product=product, result=result, valid_until=valid_until)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@transaction.atomic
def credit_line_issue(
    *,
    bank: Bank,
    actor: Actor,
    uscc: str,
    product_code: str,
    amount: Decimal,
    asset_ids: list[int],
    term_months: int | None = None,
) -> CreditLine:
    """Issue a line that pledges ``asset_ids``. Exclusive pledges are enforced by a partial unique index."""
    firm = firm_get_for_bank(bank=bank, uscc=uscc, scope=Consent.Scope.CREDIT_LINE)
    product = product_get_for_bank(bank=bank, code=product_code)
    term = term_months or product.max_term_months
    if term > product.max_term_months:
        raise TermTooLong(
            _("The product allows at most %(n)s months.") % {"n": product.max_term_months},
            errors={"term_months": [_("At most %(n)s.") % {"n": product.max_term_months}]},
        )

    wanted = sorted(set(asset_ids))
    collateral = collateral_for_firm(firm=firm, product=product, asset_ids=wanted)
    found = {c.asset_id for c in collateral}
    missing = [a for a in wanted if a not in found]
    if missing:
        raise AssetNotEligible(
            _("These assets are not approved assets of the firm with an approved, recent valuation: %(ids)s.")
            % {"ids": ", ".join(map(str, missing))},
            errors={"assets": [_("Not eligible: %(ids)s") % {"ids": ", ".join(map(str, missing))}]},
            extra={"assets": missing},
        )
    pledged = [c.asset_id for c in collateral if c.is_pledged]
    if pledged:
        raise AssetAlreadyPledged(
            _("Already pledged under another active credit line: %(ids)s.") % {"ids": ", ".join(map(str, pledged))},
            extra={"assets": pledged},
        )

    result = credit_limit_compute(rules=product_rules(product), collateral=collateral, tier=_firm_tier(firm))
    excluded = [e["asset"] for e in result.excluded]
    if excluded:
        raise AssetNotEligible(
            _("The product does not take these assets as collateral: %(ids)s.")
            % {"ids": ", ".join(map(str, excluded))},
            extra={"assets": excluded, "reasons": list(result.excluded)},
        )
    if amount > result.limit:
        raise CreditLimitExceeded(
            _("The amount %(amount)s is above the limit %(limit)s for these assets.")
            % {"amount": amount, "limit": result.limit},
            errors={"amount": [_("At most %(limit)s.") % {"limit": result.limit}]},
            extra={"limit": str(result.limit), "currency": result.currency},
        )

    secured_part = min(amount, result.secured)
    line = CreditLine.objects.create(
        bank=bank,
        firm=firm,
        product=product,
        amount=amount,
        secured_amount=secured_part,
        unsecured_amount=amount - secured_part,
        currency=product.currency,
        term_months=term,
        matures_on=_add_months(timezone.localdate(), term),
        issued_by=actor.label,
    )
    try:
        with transaction.atomic():
            Pledge.objects.bulk_create(
                [
                    Pledge(
                        credit_line=line,
                        asset_id=item.asset,
                        valuation_id=item.valuation,
                        collateral_value=item.collateral_value,
                        pledge_rate=item.pledge_rate,
                        secured_amount=item.amount,
                        currency=result.currency,
                    )
                    for item in result.lines
                ]
            )
    except IntegrityError:
        # Another line pledged one of these assets between our read and our write: the index decided.
        raise AssetAlreadyPledged(
            _("One of these assets was just pledged under another credit line."), extra={"assets": wanted}
        ) from None
    audit_record(
        actor=actor,
        action="credit_line.issued",
        object_type="credit_line",
        object_id=line.pk,
        after={
            "bank": bank.code,
            "firm": firm.uscc,
            "product": product.code,
            "amount": amount,
            "assets": wanted,
            "limit": result.limit,
            "term_months": term,
        },
    )
    return line


@transaction.atomic
def product_create(
    *,
    bank: Bank,
    actor: Actor,
    code: str,
    name: str,
    kind: str,
    pledge_rates: dict[str, Any],
    unsecured_by_tier: dict[str, Any],
    max_amount: Decimal | None,
    max_term_months: int,
    max_valuation_age_days: int,
    currency: str = "CNY",
) -> CreditProduct:
    try:
        rates = validate_pledge_rates(pledge_rates)
    except PolicyError as exc:
        raise ProductInvalid(exc.message, errors={exc.field or "pledge_rates": [exc.message]}) from None
    if kind != CreditProduct.Kind.UNSECURED and not rates:
        raise ProductInvalid(
            _("A pledge product needs at least one pledge rate."),
            errors={"pledge_rates": [_("Give at least one asset kind and its rate.")]},
        )
    product = CreditProduct(
        bank=bank,
        code=code,
        name=name,
        kind=kind,
        currency=currency,
        pledge_rates={k: str(v) for k, v in rates.items()},
        unsecured_by_tier={k: str(v) for k, v in unsecured_by_tier.items()},
        max_amount=max_amount,
        max_term_months=max_term_months,
        max_valuation_age_days=max_valuation_age_days,
    )
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError:
        raise ProductCodeTaken(
            _("Your bank already has a product with code %(code)s.") % {"code": code},
            errors={"code": [_("Already used.")]},
        ) from None
    audit_record(
        actor=actor,
        action="credit_product.created",
        object_type="credit_product",
        object_id=product.pk,
        after={"bank": bank.code, "code": code, "pledge_rates": product.pledge_rates},
    )
    return product
