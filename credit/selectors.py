from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.expressions import Col
from django.db.models.fields import Field
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from common.exceptions import NotFound
from common.money import DEFAULT_CURRENCY, MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from credit.errors import ProductRequired
from credit.models import CreditLine, CreditLineEvent, CreditLineMovement, CreditProduct, Pledge
from credit.policies import Collateral, ProductRules
from registry.details import asset_marks
from registry.models import Asset, AssetVersion, Bank, Consent, Firm
from valuation.models import InnovationScore, Valuation


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
    approved_details = AssetVersion.objects.filter(
        asset_id=OuterRef("asset_id"), number=OuterRef("asset_version")
    ).values("details")[:1]
    qs = (
        Valuation.objects.filter(
            asset__firm=firm,
            asset__approved_version__isnull=False,
            asset_version=F("asset__approved_version"),
            status=Valuation.Status.APPROVED,
            computed_at__gte=oldest,
        )
        .exclude(asset__status=Asset.Status.RETIRED)
        .annotate(is_pledged=Exists(active_pledge), approved_details=Subquery(approved_details))
        .values("id", "asset_id", "asset__kind", "approved_details", "low", "currency", "is_pledged")
        .order_by("asset_id")
    )
    if asset_ids is not None:
        qs = qs.filter(asset_id__in=asset_ids)
    today = timezone.localdate()
    return [
        _collateral(
            valuation_id=row["id"],
            asset_id=row["asset_id"],
            kind=row["asset__kind"],
            details=row["approved_details"],
            low=row["low"],
            currency=row["currency"],
            is_pledged=row["is_pledged"],
            today=today,
        )
        for row in qs
    ]


def _collateral(
    *,
    valuation_id: int,
    asset_id: int,
    kind: str,
    details: Any,
    low: Decimal,
    currency: str,
    is_pledged: bool,
    today: date,
) -> Collateral:
    """One collateral item from a valuation row (shared by ``collateral_for_firm`` and ``credit_limit_inputs_get``)."""
    if isinstance(details, str):  # some backends hand a JSON subquery back as text
        details = json.loads(details)
    details = details or {}
    # A right that has ended (lapsed, expired, invalidated, past its term or registration) is no cover:
    # the same rule as the margin watch.
    worthless = WORTHLESS_MARKS.intersection(asset_marks(kind=kind, details=details, today=today))
    return Collateral(
        asset_id=asset_id,
        kind=kind,
        valuation_id=valuation_id,
        low=Decimal("0.00") if worthless else low,
        currency=currency,
        is_pledged=is_pledged,
        patent_type=details.get("patent_type") if kind == "patent" else None,
    )


# --- the limit query's inputs in one statement -------------------------------------------------------------


@dataclass(frozen=True)
class CreditLimitInputs:
    firm: Firm
    product: CreditProduct
    collateral: list[Collateral]
    tier: str | None


@dataclass(frozen=True)
class _LimitSql:
    """The statement of ``credit_limit_inputs_get`` for one backend, with the converters of its columns (the
    ones the ORM would apply, so values come back exactly as the ORM's: Decimal, aware datetimes, JSON)."""

    sql: str
    firm_fields: list[Field]
    product_fields: list[Field]
    converters: list[tuple[Col, list[Any]]]


_LIMIT_SQL: dict[tuple[str, bool], _LimitSql] = {}


def _limit_sql(connection: BaseDatabaseWrapper, *, by_code: bool) -> _LimitSql:
    cached = _LIMIT_SQL.get((connection.vendor, by_code))
    if cached is not None:
        return cached
    firm_fields = list(Firm._meta.concrete_fields)
    product_fields = list(CreditProduct._meta.concrete_fields)
    extra = [
        (Consent._meta.get_field("scopes"), "c"),
        (InnovationScore._meta.get_field("tier"), "s"),
        (Valuation._meta.get_field("id"), "v"),
        (Valuation._meta.get_field("asset"), "v"),
        (Asset._meta.get_field("kind"), "a"),
        (AssetVersion._meta.get_field("details"), "av"),
        (Valuation._meta.get_field("low"), "v"),
        (Valuation._meta.get_field("currency"), "v"),
        (Valuation._meta.get_field("computed_at"), "v"),
    ]  # then is_pledged (EXISTS), read with bool()
    # The bank's only active product when no code is given (product_get_for_bank refuses two or none).
    product_match = (
        "p.code = %s"
        if by_code
        else "(SELECT COUNT(*) FROM credit_creditproduct p2 WHERE p2.bank_id = c.bank_id AND p2.is_active = %s) = 1"
    )
    # Identifiers only come from model metadata; every value is a parameter.
    sql = f"""
        SELECT {", ".join(f"f.{f.column}" for f in firm_fields)},
               {", ".join(f"p.{f.column}" for f in product_fields)},
               c.scopes,
               (SELECT s.tier FROM valuation_innovationscore s
                  INNER JOIN valuation_innovationparameterset ps ON ps.id = s.parameter_set_id
                 WHERE s.firm_id = f.id AND ps.is_active = %s
                 ORDER BY s.year DESC LIMIT 1),
               v.id, v.asset_id, a.kind, av.details, v.low, v.currency, v.computed_at,
               EXISTS (SELECT 1 FROM credit_pledge pl WHERE pl.asset_id = v.asset_id AND pl.status = %s)
          FROM registry_consent c
         INNER JOIN registry_firm f ON f.id = c.firm_id
          LEFT OUTER JOIN credit_creditproduct p
            ON p.bank_id = c.bank_id AND p.is_active = %s AND {product_match}
          LEFT OUTER JOIN (registry_asset a
                INNER JOIN valuation_valuation v
                   ON v.asset_id = a.id AND v.asset_version = a.approved_version AND v.status = %s)
            ON a.firm_id = f.id AND a.approved_version IS NOT NULL AND a.status <> %s
          LEFT OUTER JOIN registry_assetversion av ON av.asset_id = a.id AND av.number = v.asset_version
         WHERE c.bank_id = %s AND f.uscc = %s AND c.revoked_at IS NULL AND c.expires_at > %s
         ORDER BY v.asset_id
    """  # noqa: S608
    converters = []
    for field, alias in [(f, "f") for f in firm_fields] + [(f, "p") for f in product_fields] + extra:
        col = field.get_col(alias)
        converters.append((col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
    built = _LimitSql(sql=sql, firm_fields=firm_fields, product_fields=product_fields, converters=converters)
    _LIMIT_SQL[(connection.vendor, by_code)] = built
    return built


def credit_limit_inputs_get(
    *, bank: Bank, uscc: str, product_code: str | None, scope: str = Consent.Scope.CREDIT_LIMIT
) -> CreditLimitInputs:
    """Everything a limit query needs, read live in one SQL statement: the firm (only with a live consent of
    ``bank`` with ``scope``), the product (``product_get_for_bank``'s rules), the collateral
    (``collateral_for_firm``'s rules) and the innovation tier (``valuation.innovation.firm_tier``). Raises the
    same errors as ``firm_get_for_bank`` and ``product_get_for_bank``, in the same order."""
    connection = connections[CreditProduct.objects.db]
    statement = _limit_sql(connection, by_code=bool(product_code))
    now = timezone.now()
    params: list[Any] = [True, Pledge.Status.ACTIVE, True]
    params.append(product_code if product_code else True)
    params += [
        Valuation.Status.APPROVED,
        Asset.Status.RETIRED,
        bank.pk,
        uscc.strip().upper(),
        connection.ops.adapt_datetimefield_value(now),
    ]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        rows = cursor.fetchall()
    if not rows:
        raise NotFound(_("No firm with this code has given your bank consent."))
    n_firm, n_product = len(statement.firm_fields), len(statement.product_fields)
    first = _convert(rows[0], statement.converters, connection)
    firm = Firm.from_db(connection.alias, [f.attname for f in statement.firm_fields], first[:n_firm])
    scopes, tier = first[n_firm + n_product], first[n_firm + n_product + 1]
    if scope not in scopes or not firm.is_active:
        raise NotFound(_("No firm with this code has given your bank consent."))
    product_values = first[n_firm : n_firm + n_product]
    if product_values[0] is None:  # no product matched: the same refusals as product_get_for_bank
        if not product_code:
            raise ProductRequired(
                _("Name the credit product with ?product=<code>."),
                errors={"product": [_("This parameter is required.")]},
            )
        raise NotFound(_("Your bank has no active product with this code."))
    product = CreditProduct.from_db(connection.alias, [f.attname for f in statement.product_fields], product_values)
    oldest = now - timedelta(days=product.max_valuation_age_days)
    today = timezone.localdate()
    collateral = []
    # Firm and product repeat on every row; only the collateral columns of the other rows are converted.
    tail = n_firm + n_product
    for row in [first, *(_convert(r, statement.converters, connection, start=tail) for r in rows[1:])]:
        valuation_id, asset_id, kind, details, low, currency, computed_at, is_pledged = row[tail + 2 :]
        if valuation_id is None or computed_at < oldest:
            continue
        collateral.append(
            _collateral(
                valuation_id=valuation_id,
                asset_id=asset_id,
                kind=kind,
                details=details,
                low=low,
                currency=currency,
                is_pledged=bool(is_pledged),
                today=today,
            )
        )
    return CreditLimitInputs(firm=firm, product=product, collateral=collateral, tier=tier)


def _convert(
    row: tuple[Any, ...], converters: list[tuple[Col, list[Any]]], connection: BaseDatabaseWrapper, start: int = 0
) -> list[Any]:
    """``row`` with the ORM's converters applied to its columns from ``start`` on."""
    values = list(row)
    for i, (col, funcs) in enumerate(converters[start:], start):
        value = values[i]
        for func in funcs:
            value = func(value, col, connection)
        values[i] = value
    return values


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
        # credit_line_id IN (the bank's lines), not a filter on the joined line: the planner walks the pledges
        # newest first and checks each one's line in the (bank, id) index, where with the join it walked every
        # line of every bank and sorted the bank's pledges. Newer pledges of other banks are still walked past:
        # a page 1 bounded whatever the others hold needs the bank on the pledge row and a (bank, id) index.
        qs = qs.filter(credit_line__in=CreditLine.objects.filter(bank=bank).values("pk"))
    elif getattr(user, "is_firm_user", False):
        qs = qs.filter(asset__firm_id=user.firm_id)
    elif not getattr(user, "is_reviewer", False):
        qs = qs.none()
    if status:
        qs = qs.filter(status=status)
    return qs


def pledge_get_for_user(*, user: Any, pledge_id: int) -> Pledge:
    try:
        return pledge_list_for_user(user=user).prefetch_related("events").get(pk=pledge_id)
    except Pledge.DoesNotExist:
        raise NotFound(_("Pledge not found.")) from None


def credit_line_events(*, credit_line: CreditLine) -> QuerySet[CreditLineEvent]:
    return CreditLineEvent.objects.filter(credit_line=credit_line)


def credit_line_movements(*, credit_line: CreditLine) -> QuerySet[CreditLineMovement]:
    return CreditLineMovement.objects.filter(credit_line=credit_line)


# --- margin watch ----------------------------------------------------------------------------------------------

# An asset with one of these marks is worth nothing as collateral (registry.details.asset_marks).
WORTHLESS_MARKS = frozenset({"lapsed", "expired", "invalidated", "term_ended", "registration_expired"})
COVERAGE_QUANTUM = Decimal("0.0001")


def coverage_for_lines(*, lines: list[CreditLine], today: date) -> dict[int, Decimal | None]:
    """Coverage per line: the sum over its active pledges of the asset's current approved valuation's ``low``
    times the pledge rate (0 for a marked asset), over the secured exposure ``drawn - unsecured part``.

    ``None`` when nothing secured is drawn (coverage is unbounded). One query for all the lines."""
    approved_low = Valuation.objects.filter(asset_id=OuterRef("asset_id"), status=Valuation.Status.APPROVED).values(
        "low"
    )[:1]
    approved_details = AssetVersion.objects.filter(
        asset_id=OuterRef("asset_id"), number=OuterRef("asset__approved_version")
    ).values("details")[:1]
    rows = (
        Pledge.objects.filter(credit_line_id__in=[line.pk for line in lines], status=Pledge.Status.ACTIVE)
        .annotate(current_low=Subquery(approved_low), approved_details=Subquery(approved_details))
        .values_list("credit_line_id", "pledge_rate", "asset__kind", "current_low", "approved_details")
    )
    collateral: dict[int, Decimal] = defaultdict(Decimal)
    for line_id, rate, kind, low, details in rows:
        if isinstance(details, str):  # some backends hand a JSON subquery back as text
            details = json.loads(details)
        if low is None or WORTHLESS_MARKS.intersection(asset_marks(kind=kind, details=details or {}, today=today)):
            continue
        collateral[line_id] += Decimal(low) * rate
    result: dict[int, Decimal | None] = {}
    for line in lines:
        exposure = line.drawn_amount - line.unsecured_amount
        result[line.pk] = (
            None if exposure <= 0 else (collateral[line.pk] / exposure).quantize(COVERAGE_QUANTUM, rounding=ROUND_DOWN)
        )
    return result


# --- portfolio -------------------------------------------------------------------------------------------------

COVERAGE_BUCKETS: dict[str, Q] = {
    "below_1": Q(coverage__lt=1),
    "1_to_1_5": Q(coverage__gte=1, coverage__lt=Decimal("1.5")),
    "1_5_to_2": Q(coverage__gte=Decimal("1.5"), coverage__lt=2),
    "2_and_above": Q(coverage__gte=2),
    "no_drawing": Q(coverage__isnull=True),
}


def portfolio_for_bank(*, bank: Bank) -> dict[str, Any]:
    """The bank's open lines (active and at risk) in aggregate: a handful of aggregate queries."""
    lines = CreditLine.objects.filter(
        bank=bank, currency=DEFAULT_CURRENCY, status__in=(CreditLine.Status.ACTIVE, CreditLine.Status.AT_RISK)
    )
    sums = {
        "lines": Count("id"),
        "amount": Sum("amount", default=Decimal(0)),
        "drawn": Sum("drawn_amount", default=Decimal(0)),
    }
    totals = lines.aggregate(**sums)
    at_risk = lines.filter(status=CreditLine.Status.AT_RISK).aggregate(**sums)
    by_industry = list(
        lines.values(industry=F("firm__industry__code"), industry_name=F("firm__industry__name_en"))
        .annotate(**sums)
        .order_by("industry")
    )
    by_asset_kind = list(
        Pledge.objects.filter(credit_line__in=lines, status=Pledge.Status.ACTIVE)
        .values(asset_kind=F("asset__kind"))
        .annotate(
            pledges=Count("id"),
            lines=Count("credit_line", distinct=True),
            collateral_value=Sum("collateral_value"),
            secured_amount=Sum("secured_amount"),
        )
        .order_by("asset_kind")
    )
    distribution = lines.aggregate(**{name: Count("id", filter=q) for name, q in COVERAGE_BUCKETS.items()})
    return {
        "currency": DEFAULT_CURRENCY,
        "totals": totals,
        "at_risk": at_risk,
        "by_industry": by_industry,
        "by_asset_kind": by_asset_kind,
        "coverage_distribution": distribution,
    }


def _line_sum(qs: QuerySet[Any], field: str) -> Coalesce:
    """A per-line sum of ``field`` over ``qs`` (rows with ``credit_line=OuterRef("pk")``) as a subquery, 0 if none."""
    money = DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    total = qs.values("credit_line").annotate(total=Sum(field)).values("total")[:1]
    return Coalesce(Subquery(total, output_field=money), Value(Decimal("0.00")), output_field=money)


def credit_line_export_qs(*, bank: Bank, status: str | None = None) -> QuerySet[CreditLine]:
    """The bank's credit lines, oldest first, for the portfolio export and the lines pages: the firm, its industry
    and the product joined, plus ``collateral_value`` (sum over active pledges) and ``drawn_to_date`` (sum of all
    draws) as subqueries, so any number of lines is one query. Scoped exactly as the portfolio: the bank's own."""
    qs = (
        CreditLine.objects.filter(bank=bank)
        .select_related("firm__industry", "product")
        .annotate(
            collateral_value=_line_sum(
                Pledge.objects.filter(credit_line=OuterRef("pk"), status=Pledge.Status.ACTIVE), "collateral_value"
            ),
            drawn_to_date=_line_sum(
                CreditLineMovement.objects.filter(credit_line=OuterRef("pk"), kind=CreditLineMovement.Kind.DRAW),
                "amount",
            ),
        )
        .order_by("id")
    )
    if status:
        qs = qs.filter(status=status)
    return qs
