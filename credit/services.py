"""Credit conversion: explained limits, credit lines and their exclusive pledges."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from common.audit import Actor, audit_record, system_actor
from common.exceptions import ApplicationError, InvalidTransition, NotFound, ValidationFailed
from common.models import AuditEvent
from common.money import quantize
from credit.errors import (
    AssetAlreadyPledged,
    AssetNotEligible,
    CreditLimitExceeded,
    CreditLineAtRisk,
    CreditLineClosed,
    CreditLineHasBalance,
    PledgeNotActive,
    ProductCodeTaken,
    ProductInvalid,
    RepaymentExceedsDrawn,
    TermExceedsAssetLife,
    TermTooLong,
)
from credit.lock_objects import credit_line_qs_for_update
from credit.models import CreditLine, CreditLineEvent, CreditLineMovement, CreditProduct, Pledge, PledgeEvent
from credit.policies import LimitResult, PolicyError, credit_limit_compute, validate_pledge_rates
from credit.selectors import (
    collateral_for_firm,
    coverage_for_lines,
    credit_limit_inputs_get,
    product_get_for_bank,
    product_rules,
)
from credit.transitions import TRANSITION_EVENTS, transition_allowed
from credit.webhooks import webhook_event_record
from registry.details import PATENT_TERM_YEARS
from registry.models import AssetVersion, Bank, BankApiKey, Consent, Firm, User
from registry.selectors import firm_get_for_bank
from registry.services import bank_api_key_create, bank_api_key_revoke
from valuation.innovation import firm_tier
from valuation.models import Valuation


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
        # Consent, firm, product, collateral and tier, read live in one statement (no cache: a revoked or
        # expired consent refuses the very next query).
        inputs = credit_limit_inputs_get(
            bank=bank, uscc=uscc, product_code=product_code, scope=Consent.Scope.CREDIT_LIMIT
        )
    except ApplicationError as exc:
        # Refused queries are audited too: who asked about which code, and why they got nothing.
        audit_record(
            actor=actor,
            action="credit_limit.refused",
            object_type="uscc",
            object_id=uscc[:64],
            data={"bank": bank.code, "firm": uscc[:64], "product": product_code, "purpose": purpose, "code": exc.code},
            result=AuditEvent.Result.REFUSED,
        )
        raise
    firm, product = inputs.firm, inputs.product
    result = credit_limit_compute(rules=product_rules(product), collateral=inputs.collateral, tier=inputs.tier)
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
    registrations: dict[int, str] | None = None,
) -> CreditLine:
    """Issue a line that pledges ``asset_ids``. Exclusive pledges are enforced by a partial unique index.

    ``registrations`` maps an asset id to the pledge's external registration number (CNIPA, exchange...)."""
    firm = firm_get_for_bank(bank=bank, uscc=uscc, scope=Consent.Scope.CREDIT_LINE)
    product = product_get_for_bank(bank=bank, code=product_code)
    term = term_months or product.max_term_months
    if term > product.max_term_months:
        raise TermTooLong(
            _("The product allows at most %(n)s months.") % {"n": product.max_term_months},
            errors={"term_months": [_("At most %(n)s.") % {"n": product.max_term_months}]},
        )

    wanted = sorted(set(asset_ids))
    registrations = registrations or {}
    strangers = sorted(a for a in registrations if a not in wanted)
    if strangers:
        raise ValidationFailed(
            _("Registration numbers can only be given for the pledged assets."),
            errors={f"registrations.{a}": [_("This asset is not in assets.")] for a in strangers},
        )
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

    matures_on = _add_months(timezone.localdate(), term)
    _check_term_within_asset_life(asset_ids=wanted, matures_on=matures_on)

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
        matures_on=matures_on,
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
                        external_registration_number=registrations.get(item.asset, ""),
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
    events = []
    for pledge in Pledge.objects.filter(credit_line=line).order_by("pk"):
        events.append(
            PledgeEvent(
                pledge=pledge,
                type=PledgeEvent.Type.CREATED,
                actor=actor.label,
                data={"asset": pledge.asset_id, "valuation": pledge.valuation_id},
            )
        )
        if pledge.external_registration_number:
            events.append(
                PledgeEvent(
                    pledge=pledge,
                    type=PledgeEvent.Type.REGISTRATION_NUMBER_SET,
                    actor=actor.label,
                    data={"from": "", "to": pledge.external_registration_number},
                )
            )
    PledgeEvent.objects.bulk_create(events)
    CreditLineEvent.objects.create(
        credit_line=line,
        type=CreditLineEvent.Type.ISSUED,
        actor=actor.label,
        data={"amount": str(amount), "currency": line.currency, "assets": wanted, "term_months": term},
    )
    webhook_event_record(
        bank=bank,
        type="credit_line.issued",
        payload={**_line_payload(line), "assets": wanted, "term_months": term, "matures_on": line.matures_on},
    )
    return line


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _check_term_within_asset_life(*, asset_ids: list[int], matures_on: date) -> None:
    """A patent pledge must not outlive the patent (CNIPA refuses a debt term beyond the patent term)."""
    versions = AssetVersion.objects.filter(
        asset_id__in=asset_ids, asset__kind="patent", number=F("asset__approved_version")
    ).values_list("asset_id", "details")
    too_long: list[dict[str, Any]] = []
    for asset_id, details in versions:
        years = PATENT_TERM_YEARS.get((details or {}).get("patent_type", ""))
        filed = (details or {}).get("filing_date")
        if not (years and filed):
            continue
        ends = _add_years(date.fromisoformat(filed), years)
        if matures_on > ends:
            too_long.append({"asset": asset_id, "legal_life_ends": ends.isoformat()})
    if too_long:
        ids = ", ".join(str(t["asset"]) for t in too_long)
        raise TermExceedsAssetLife(
            _("The line would mature on %(day)s, after the legal life of these patents ends: %(ids)s.")
            % {"day": matures_on.isoformat(), "ids": ids},
            errors={
                "term_months": [_("Shorten the term to end before %(day)s.") % {"day": too_long[0]["legal_life_ends"]}]
            },
            extra={"assets": too_long, "matures_on": matures_on.isoformat()},
        )


def _line_payload(line: CreditLine) -> dict[str, Any]:
    return {
        "credit_line": line.pk,
        "firm": line.firm.uscc,
        "amount": line.amount,
        "drawn": quantize(Decimal(line.drawn_amount), currency=line.currency),
        "currency": line.currency,
        "status": line.status,
        "coverage": line.coverage,
    }


# --- state changes ---------------------------------------------------------------------------------------------

_TRANSITION_WEBHOOKS = {
    CreditLineEvent.Type.AT_RISK: "credit_line.at_risk",
    CreditLineEvent.Type.RECOVERED: "credit_line.recovered",
}


def _transition(*, line: CreditLine, to: str, actor_label: str, data: dict[str, Any] | None = None) -> CreditLine:
    """Change the status of a line the caller has locked, with its event (and webhook) in the same transaction."""
    if not transition_allowed(line.status, to):
        raise InvalidTransition(
            _("A %(from)s credit line cannot become %(to)s.") % {"from": line.status, "to": to},
            extra={"from": line.status, "to": to},
        )
    event_type = TRANSITION_EVENTS[(line.status, to)]
    CreditLineEvent.objects.create(
        credit_line=line, type=event_type, actor=actor_label, data={"from": line.status, "to": to, **(data or {})}
    )
    line.status = to
    fields = ["status", "updated_at"]
    if to == CreditLine.Status.CLOSED:
        line.closed_at = timezone.now()
        fields.append("closed_at")
    line.save(update_fields=fields)
    if event_type in _TRANSITION_WEBHOOKS:
        webhook_event_record(bank=line.bank, type=_TRANSITION_WEBHOOKS[event_type], payload=_line_payload(line))
    return line


@transaction.atomic
def credit_line_transition(
    *, credit_line_id: int, to: str, actor: Actor, data: dict[str, Any] | None = None
) -> CreditLine:
    line = credit_line_qs_for_update().get(pk=credit_line_id)
    return _transition(line=line, to=to, actor_label=actor.label, data=data)


def _coverage_apply(*, lines: list[CreditLine], actor_label: str) -> list[CreditLine]:
    """Store the coverage of lines the caller has locked and move them between active and at_risk.

    Returns the lines whose status changed. One query gathers the numbers, one writes the coverage."""
    now = timezone.now()
    coverage = coverage_for_lines(lines=lines, today=timezone.localdate())
    changed = []
    for line in lines:
        line.coverage, line.coverage_computed_at, line.updated_at = coverage[line.pk], now, now
    CreditLine.objects.bulk_update(lines, ["coverage", "coverage_computed_at", "updated_at"])
    for line in lines:
        short = line.coverage is not None and line.coverage < 1
        target = {
            (CreditLine.Status.ACTIVE, True): CreditLine.Status.AT_RISK,
            (CreditLine.Status.AT_RISK, False): CreditLine.Status.ACTIVE,
        }.get((line.status, short))
        if target is not None:
            coverage_text = None if line.coverage is None else str(line.coverage)
            _transition(line=line, to=target, actor_label=actor_label, data={"coverage": coverage_text})
            changed.append(line)
    return changed


@transaction.atomic
def credit_line_draw(*, credit_line: CreditLine, amount: Decimal, actor: Actor) -> CreditLineMovement:
    line = credit_line_qs_for_update().get(pk=credit_line.pk)
    if line.status == CreditLine.Status.CLOSED:
        raise CreditLineClosed(_("Credit line %(id)s is closed.") % {"id": line.pk})
    if line.status == CreditLine.Status.AT_RISK:
        raise CreditLineAtRisk(
            _("Credit line %(id)s is at risk: its collateral no longer covers the drawn balance; no new draws.")
            % {"id": line.pk},
            extra={"coverage": str(line.coverage) if line.coverage is not None else None},
        )
    available = line.amount - line.drawn_amount
    if amount > available:
        raise CreditLimitExceeded(
            _("The draw %(amount)s is above the available %(available)s.") % {"amount": amount, "available": available},
            errors={"amount": [_("At most %(available)s.") % {"available": available}]},
            extra={"available": str(available), "currency": line.currency},
        )
    return _movement(line=line, kind=CreditLineMovement.Kind.DRAW, amount=amount, actor=actor)


@transaction.atomic
def credit_line_repay(*, credit_line: CreditLine, amount: Decimal, actor: Actor) -> CreditLineMovement:
    line = credit_line_qs_for_update().get(pk=credit_line.pk)
    if line.status == CreditLine.Status.CLOSED:
        raise CreditLineClosed(_("Credit line %(id)s is closed.") % {"id": line.pk})
    if amount > line.drawn_amount:
        raise RepaymentExceedsDrawn(
            _("The repayment %(amount)s is above the drawn %(drawn)s.")
            % {"amount": amount, "drawn": line.drawn_amount},
            errors={"amount": [_("At most %(drawn)s.") % {"drawn": line.drawn_amount}]},
            extra={"drawn": str(line.drawn_amount), "currency": line.currency},
        )
    return _movement(line=line, kind=CreditLineMovement.Kind.REPAYMENT, amount=-amount, actor=actor)


def _movement(*, line: CreditLine, kind: str, amount: Decimal, actor: Actor) -> CreditLineMovement:
    """Apply a signed change to the drawn balance of a locked line, with its movement, event and audit rows."""
    before = line.drawn_amount
    line.drawn_amount = before + amount
    line.save(update_fields=["drawn_amount", "updated_at"])
    movement = CreditLineMovement.objects.create(
        credit_line=line,
        kind=kind,
        amount=abs(amount),
        currency=line.currency,
        drawn_after=line.drawn_amount,
        actor=actor.label,
    )
    data = {
        "movement": movement.pk,
        "amount": str(abs(amount)),
        "drawn_before": str(before),
        "drawn_after": str(line.drawn_amount),
    }
    CreditLineEvent.objects.create(credit_line=line, type=kind, actor=actor.label, data=data)
    audit_record(actor=actor, action=f"credit_line.{kind}", object_type="credit_line", object_id=line.pk, data=data)
    _coverage_apply(lines=[line], actor_label=actor.label)
    movement.credit_line = line
    return movement


@transaction.atomic
def credit_line_close(*, credit_line: CreditLine, actor: Actor) -> CreditLine:
    """Close a line with nothing drawn and release its pledges."""
    line = credit_line_qs_for_update().get(pk=credit_line.pk)
    if line.status == CreditLine.Status.CLOSED:
        raise CreditLineClosed(_("Credit line %(id)s is already closed.") % {"id": line.pk})
    if line.drawn_amount > 0:
        raise CreditLineHasBalance(
            _("Credit line %(id)s still has %(drawn)s drawn; it must be repaid first.")
            % {"id": line.pk, "drawn": line.drawn_amount},
            extra={"drawn": str(line.drawn_amount), "currency": line.currency},
        )
    now = timezone.now()
    pledges = list(
        Pledge.objects.select_for_update().filter(credit_line=line, status=Pledge.Status.ACTIVE).order_by("pk")
    )
    for pledge in pledges:
        pledge.status, pledge.released_at = Pledge.Status.RELEASED, now
        pledge.save(update_fields=["status", "released_at", "updated_at"])
        PledgeEvent.objects.create(pledge=pledge, type=PledgeEvent.Type.RELEASED, actor=actor.label, data={})
        CreditLineEvent.objects.create(
            credit_line=line,
            type=CreditLineEvent.Type.PLEDGE_RELEASED,
            actor=actor.label,
            data={"pledge": pledge.pk, "asset": pledge.asset_id},
        )
        webhook_event_record(
            bank=line.bank,
            type="pledge.released",
            payload={
                "pledge": pledge.pk,
                "credit_line": line.pk,
                "asset": pledge.asset_id,
                "firm": line.firm.uscc,
                "external_registration_number": pledge.external_registration_number,
                "released_at": now,
            },
        )
    _transition(
        line=line, to=CreditLine.Status.CLOSED, actor_label=actor.label, data={"pledges_released": len(pledges)}
    )
    audit_record(
        actor=actor,
        action="credit_line.closed",
        object_type="credit_line",
        object_id=line.pk,
        data={"pledges_released": [p.pk for p in pledges]},
    )
    return line


@transaction.atomic
def pledge_registration_set(*, bank: Bank, actor: Actor, pledge_id: int, number: str) -> Pledge:
    """Set the pledge's registration number at the external registry (the bank of the line only)."""
    try:
        pledge = Pledge.objects.select_for_update(of=("self",)).get(pk=pledge_id, credit_line__bank=bank)
    except Pledge.DoesNotExist:
        raise NotFound(_("Pledge not found.")) from None
    if pledge.status != Pledge.Status.ACTIVE:
        raise PledgeNotActive(_("Pledge %(id)s is released; its registration cannot change.") % {"id": pledge.pk})
    before = pledge.external_registration_number
    if before != number:
        pledge.external_registration_number = number
        pledge.save(update_fields=["external_registration_number", "updated_at"])
        PledgeEvent.objects.create(
            pledge=pledge,
            type=PledgeEvent.Type.REGISTRATION_NUMBER_SET,
            actor=actor.label,
            data={"from": before, "to": number},
        )
        audit_record(
            actor=actor,
            action="pledge.registration_number_set",
            object_type="pledge",
            object_id=pledge.pk,
            before={"external_registration_number": before},
            after={"external_registration_number": number},
        )
    return pledge


# --- margin watch ----------------------------------------------------------------------------------------------

MARGIN_WATCH_CHUNK = 500
OPEN_STATUSES = (CreditLine.Status.ACTIVE, CreditLine.Status.AT_RISK)


def margin_watch(*, line_ids: list[int] | None = None, actor: Actor | None = None) -> list[int]:
    """Recompute the coverage of open lines (all of them, or ``line_ids``) and flag or recover them.

    Set-based: per chunk of lines, one locking read, one query for the pledged collateral, one bulk write;
    only lines whose status changes get their own event (and webhook) rows. Returns the changed line ids."""
    label = (actor or system_actor("margin_watch")).label
    qs = CreditLine.objects.filter(status__in=OPEN_STATUSES)
    if line_ids is not None:
        qs = qs.filter(pk__in=line_ids)
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    changed: list[int] = []
    for start in range(0, len(ids), MARGIN_WATCH_CHUNK):
        with transaction.atomic():
            lines = list(
                credit_line_qs_for_update()
                .filter(pk__in=ids[start : start + MARGIN_WATCH_CHUNK], status__in=OPEN_STATUSES)
                .order_by("pk")
            )
            changed.extend(line.pk for line in _coverage_apply(lines=lines, actor_label=label))
    return changed


def margin_watch_for_valuation(*, valuation_id: int) -> list[int]:
    """After a valuation is approved: the open lines that pledge its asset."""
    return margin_watch_for_valuations(valuation_ids=[valuation_id])


def margin_watch_for_valuations(*, valuation_ids: list[int]) -> list[int]:
    """After many valuations changed (a revaluation's approvals): every open line pledging one of their assets,
    found in one query and recomputed by ``margin_watch`` (a constant number of queries per 500 lines, however
    many valuations and lines). Returns the lines whose status changed."""
    assets = Valuation.objects.filter(pk__in=valuation_ids).values("asset_id")
    line_ids = list(
        Pledge.objects.filter(
            asset_id__in=Subquery(assets), status=Pledge.Status.ACTIVE, credit_line__status__in=OPEN_STATUSES
        )
        .order_by("credit_line_id")
        .values_list("credit_line_id", flat=True)
        .distinct()
    )
    return margin_watch(line_ids=line_ids) if line_ids else []


# --- events for banks from lower apps ---------------------------------------------------------------------------


@transaction.atomic
def consent_revoked_notify(*, consent_id: int) -> None:
    consent = Consent.objects.select_related("firm", "bank").filter(pk=consent_id, revoked_at__isnull=False).first()
    if consent is None:
        return
    webhook_event_record(
        bank=consent.bank,
        type="consent.revoked",
        key=f"consent.revoked:{consent.pk}",
        payload={"consent": consent.pk, "firm": consent.firm.uscc, "revoked_at": consent.revoked_at},
    )


@transaction.atomic
def valuation_approved_notify(*, valuation_id: int) -> None:
    """Tell every bank with live consent from the firm that one of its assets has a newly approved valuation."""
    valuation = Valuation.objects.select_related("asset__firm").filter(pk=valuation_id).first()
    approved = (Valuation.Status.APPROVED, Valuation.Status.SUPERSEDED)
    if valuation is None or valuation.status not in approved or valuation.reviewed_at is None:
        return
    firm = valuation.asset.firm
    payload = {
        "valuation": valuation.pk,
        "asset": valuation.asset_id,
        "asset_kind": valuation.asset.kind,
        "firm": firm.uscc,
        "value": valuation.value,
        "low": valuation.low,
        "high": valuation.high,
        "currency": valuation.currency,
        "approved_at": valuation.reviewed_at,
    }
    for bank in Bank.objects.filter(pk__in=Consent.objects.live().filter(firm=firm).values("bank_id")).order_by("pk"):
        webhook_event_record(
            bank=bank, type="valuation.approved", key=f"valuation.approved:{valuation.pk}", payload=payload
        )


# --- API keys of banks ------------------------------------------------------------------------------------------


def api_key_create(*, user: User, name: str, expires_at: datetime | None) -> tuple[BankApiKey, str]:
    bank = user.acting_bank
    assert bank is not None  # noqa: S101  # the API lets bank staff only
    return bank_api_key_create(bank=bank, name=name, actor=user.as_actor, expires_at=expires_at)


@transaction.atomic
def api_key_revoke(*, user: User, prefix: str) -> None:
    try:
        api_key = BankApiKey.objects.select_for_update().get(bank=user.acting_bank, prefix=prefix)
    except BankApiKey.DoesNotExist:
        raise NotFound(_("API key not found.")) from None
    bank_api_key_revoke(api_key=api_key, actor=user.as_actor)


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
