"""Province-wide figures for the back office: assets registered, value approved, credit converted, by industry and
by month. Set-based aggregates only (a fixed number of queries whatever the data size); money stays Decimal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import get_language

from common.money import DEFAULT_CURRENCY, decimal_from, quantize
from credit.models import CreditLine
from registry.models import Asset, Industry
from valuation.models import Valuation

ZERO = Decimal("0.00")
MONTHS = 12


@dataclass
class Row:
    """One line of a table: an industry or a month."""

    key: str
    label: str
    assets: int = 0
    assets_approved: int = 0
    value_approved: Decimal = ZERO
    valuations_approved: int = 0
    credit_issued: Decimal = ZERO
    credit_drawn: Decimal = ZERO
    credit_lines: int = 0


@dataclass
class ProvinceFigures:
    totals: Row
    by_industry: list[Row] = field(default_factory=list)
    by_month: list[Row] = field(default_factory=list)
    currency: str = DEFAULT_CURRENCY
    since: date | None = None


def _money(value: Any) -> Decimal:
    """A database sum as money: SQLite hands sums back with spurious places (3500000.35000000, 800000)."""
    return quantize(decimal_from(value if value is not None else ZERO))


def _month_starts(*, today: date, count: int) -> list[date]:
    """The first day of the last ``count`` months, oldest first, ending with ``today``'s month."""
    year, month = today.year, today.month
    starts = []
    for _ in range(count):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _month_key(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{value.year:04d}-{value.month:02d}"


def province_figures(*, today: date | None = None) -> ProvinceFigures:
    """Seven aggregate queries: industries, then assets, approved valuations and credit lines, each grouped once by
    industry and once by month (last 12 months, local time).

    * assets registered: every asset on the register (any status), of which approved: a version was approved;
    * value approved: the central values of the approved valuations (at most one per asset), in CNY;
    * credit converted: the limits of the credit lines issued (``amount``) and what is drawn on them now."""
    today = today or timezone.localdate()
    months = _month_starts(today=today, count=MONTHS)
    since = datetime(months[0].year, months[0].month, 1, tzinfo=timezone.get_current_timezone())
    name_field = "name_en" if (get_language() or "").startswith("en") else "name_zh"

    industries = dict(Industry.objects.values_list("code", name_field))
    by_industry: dict[str, Row] = {code: Row(key=code, label=name) for code, name in industries.items()}
    by_month: dict[str, Row] = {_month_key(m): Row(key=_month_key(m), label=_month_key(m)) for m in months}

    approved_asset = Q(approved_version__isnull=False)
    for r in (
        Asset.objects.values("firm__industry")
        .annotate(n=Count("id"), approved=Count("id", filter=approved_asset))
        .order_by()
    ):
        row = by_industry.setdefault(r["firm__industry"], Row(key=r["firm__industry"], label=r["firm__industry"]))
        row.assets, row.assets_approved = r["n"], r["approved"]
    for r in (
        Asset.objects.filter(created_at__gte=since)
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(n=Count("id"), approved=Count("id", filter=approved_asset))
        .order_by()
    ):
        if (row := by_month.get(_month_key(r["month"]))) is not None:
            row.assets, row.assets_approved = r["n"], r["approved"]

    approved = Valuation.objects.filter(status=Valuation.Status.APPROVED, currency=DEFAULT_CURRENCY)
    for r in (
        approved.values("asset__firm__industry").annotate(n=Count("id"), value=Sum("value", default=ZERO)).order_by()
    ):
        code = r["asset__firm__industry"]
        row = by_industry.setdefault(code, Row(key=code, label=code))
        row.valuations_approved, row.value_approved = r["n"], _money(r["value"])
    for r in (
        approved.filter(reviewed_at__gte=since)
        .annotate(month=TruncMonth("reviewed_at"))
        .values("month")
        .annotate(n=Count("id"), value=Sum("value", default=ZERO))
        .order_by()
    ):
        if (row := by_month.get(_month_key(r["month"]))) is not None:
            row.valuations_approved, row.value_approved = r["n"], _money(r["value"])

    lines = CreditLine.objects.filter(currency=DEFAULT_CURRENCY)
    money = {"n": Count("id"), "issued": Sum("amount", default=ZERO), "drawn": Sum("drawn_amount", default=ZERO)}
    for r in lines.values("firm__industry").annotate(**money).order_by():
        code = r["firm__industry"]
        row = by_industry.setdefault(code, Row(key=code, label=code))
        row.credit_lines, row.credit_issued, row.credit_drawn = r["n"], _money(r["issued"]), _money(r["drawn"])
    for r in (
        lines.filter(created_at__gte=since)
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(**money)
        .order_by()
    ):
        if (row := by_month.get(_month_key(r["month"]))) is not None:
            row.credit_lines, row.credit_issued, row.credit_drawn = r["n"], _money(r["issued"]), _money(r["drawn"])

    totals = Row(key="total", label="")
    for row in by_industry.values():
        totals.assets += row.assets
        totals.assets_approved += row.assets_approved
        totals.valuations_approved += row.valuations_approved
        totals.value_approved += row.value_approved
        totals.credit_lines += row.credit_lines
        totals.credit_issued += row.credit_issued
        totals.credit_drawn += row.credit_drawn
    return ProvinceFigures(
        totals=totals,
        by_industry=sorted(by_industry.values(), key=lambda r: (-r.value_approved, -r.assets, r.key)),
        by_month=list(by_month.values()),
        since=months[0],
    )


def chart_rows(rows: list[Row], attribute: str) -> list[tuple[str, Any]]:
    return [(row.label, getattr(row, attribute)) for row in rows]
