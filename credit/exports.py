"""The portfolio export: one row per credit line of a bank, as CSV or XLSX.

Money stays ``Decimal`` to the end: exact decimal strings in the CSV, numeric cells with a ``0.00`` number format in
the XLSX (openpyxl writes a Decimal as its exact decimal text). The header row is translated to the active language.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from common.money import decimal_from, quantize
from credit.models import CreditLine

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {"csv": CSV_CONTENT_TYPE, "xlsx": XLSX_CONTENT_TYPE}
MONEY_FORMAT = "0.00"
RATIO_FORMAT = "0.0000"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


@dataclass(frozen=True)
class Column:
    key: str
    header: Any  # a lazy translation, evaluated when the file is written
    value: Callable[[CreditLine], Any]
    kind: str = "text"  # text, money, ratio, date, datetime


def _industry_name(line: CreditLine) -> str:
    industry = line.firm.industry
    return industry.name_en if (get_language() or "").startswith("en") else industry.name_zh


def _local(value: datetime | None) -> datetime | None:
    return None if value is None else timezone.localtime(value).replace(tzinfo=None, microsecond=0)


COLUMNS: tuple[Column, ...] = (
    Column("id", _("Credit line"), lambda line: line.pk, "int"),
    Column("firm_name", _("Firm"), lambda line: line.firm.name),
    Column("firm_uscc", _("Unified social credit code"), lambda line: line.firm.uscc),
    Column("industry", _("Industry code"), lambda line: line.firm.industry_id),
    Column("industry_name", _("Industry"), _industry_name),
    Column("product", _("Product code"), lambda line: line.product.code),
    Column("product_name", _("Product"), lambda line: line.product.name),
    Column("currency", _("Currency"), lambda line: line.currency),
    Column("limit", _("Limit"), lambda line: line.amount, "money"),
    Column("drawn", _("Drawn to date"), lambda line: line.drawn_to_date, "money"),
    Column("outstanding", _("Outstanding"), lambda line: line.drawn_amount, "money"),
    Column("available", _("Available"), lambda line: line.amount - line.drawn_amount, "money"),
    Column("collateral_value", _("Collateral value"), lambda line: line.collateral_value, "money"),
    Column("coverage", _("Coverage ratio"), lambda line: line.coverage, "ratio"),
    Column("status", _("Status"), lambda line: line.status),
    Column("issued_at", _("Issued at"), lambda line: _local(line.created_at), "datetime"),
    Column("matures_on", _("Matures on"), lambda line: line.matures_on, "date"),
    Column("closed_at", _("Closed at"), lambda line: _local(line.closed_at), "datetime"),
)


def export_headers() -> list[str]:
    return [str(column.header) for column in COLUMNS]


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _typed(value: Any, kind: str, currency: str) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        # A firm or product name like "=HYPERLINK(...)" must stay text in Excel (CSV and formula injection).
        return "'" + value
    if kind == "money" and value is not None:
        # Sums from the database may come back without their trailing zeros (or, on SQLite, as floats):
        # back to an exact Decimal in the currency's minor unit. Amounts already have at most two places.
        return quantize(decimal_from(value), currency=currency)
    return value


def export_rows(lines: Iterable[CreditLine]) -> Iterable[list[Any]]:
    """The typed values of each line, column by column (Decimal, int, str, date, datetime or None)."""
    for line in lines:
        yield [_typed(column.value(line), column.kind, line.currency) for column in COLUMNS]


def _csv_text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value)  # exact: "1234.50", never a float
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def portfolio_csv(lines: Iterable[CreditLine]) -> bytes:
    """UTF-8 with a byte order mark, so that Excel opens the Chinese names correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(export_headers())
    kinds = [column.kind for column in COLUMNS]
    for row in export_rows(lines):
        writer.writerow([_csv_text(value, kind) for value, kind in zip(row, kinds, strict=True)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def portfolio_xlsx(lines: Iterable[CreditLine], *, sheet_title: str = "Portfolio") -> bytes:
    """A write-only workbook (rows are streamed to the file, not kept in memory) with typed cells."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for title in export_headers():
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    formats = {"money": MONEY_FORMAT, "ratio": RATIO_FORMAT, "date": DATE_FORMAT, "datetime": DATETIME_FORMAT}
    kinds = [column.kind for column in COLUMNS]
    for row in export_rows(lines):
        cells = []
        for value, kind in zip(row, kinds, strict=True):
            cell = WriteOnlyCell(sheet, value=value)
            if kind in formats and value is not None:
                cell.number_format = formats[kind]
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


BUILDERS: dict[str, Callable[..., bytes]] = {"csv": portfolio_csv, "xlsx": portfolio_xlsx}


def export_filename(*, bank_code: str, fmt: str, today: date | None = None) -> str:
    day = today or timezone.localdate()
    safe = "".join(ch for ch in bank_code if ch.isalnum() or ch in "-_") or "bank"
    return f"portfolio-{safe}-{day.isoformat()}.{fmt}"
