"""Columns of the import templates and the mapping between spreadsheet cells and an asset's ``details``.

The columns of a kind are derived from its details serializer (``registry.details.DETAILS_SERIALIZERS``), so a
field added there is importable without touching this module:

* ``title``, then the kind's detail fields in declaration order;
* nested objects as dotted columns (``quality.accuracy``, ``cost.labor``, ``registration.number``);
* lists separated by ``;`` (``nice_classes`` ``9;42``, ``rights`` ``holding;processing_use``, ``ipc``,
  ``keywords``);
* ``revenue_history`` as ``2023:1200000.00;2024:1500000.00``;
* booleans as ``true``/``false``, ``1``/``0`` or ``是``/``否``;
* an empty cell means the field is absent.

Spreadsheet cells may arrive typed (XLSX): dates become ISO strings and numbers strings without float noise
before the details serializer validates them, exactly as if they had been typed into a CSV file.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cache
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from registry.details import DETAILS_SERIALIZERS, RevenueHistoryField

TITLE = "title"
LIST_SEPARATORS = re.compile(r"[;；]")
YEAR_SEPARATORS = re.compile(r"[:：]")
TRUE_WORDS = frozenset({"true", "1", "是", "yes", "y", "t", "on"})
FALSE_WORDS = frozenset({"false", "0", "否", "no", "n", "f", "off"})
# The column holding the registered identifier of each kind (its errors are reported there).
IDENTIFIER_COLUMNS = {
    "patent": "number",
    "trademark": "number",
    "software": "registration_number",
    "data": "registration.number",
}


class ColumnType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    BOOLEAN = "boolean"
    LIST = "list"
    REVENUE = "revenue"


@dataclass(frozen=True)
class Column:
    name: str  # as in the header row: "quality.accuracy"
    path: tuple[str, ...]  # where the value goes in details: ("quality", "accuracy"); () for the title
    type: ColumnType
    required: bool  # must be present in the header row


class HeaderProblem(ValueError):
    """The header row cannot be imported (unknown, missing or repeated columns)."""


def _type_of(drf_field: serializers.Field) -> ColumnType:
    if isinstance(drf_field, RevenueHistoryField):
        return ColumnType.REVENUE
    if isinstance(drf_field, serializers.ListField):
        return ColumnType.LIST
    if isinstance(drf_field, serializers.BooleanField):
        return ColumnType.BOOLEAN
    if isinstance(drf_field, serializers.DateField):
        return ColumnType.DATE
    if isinstance(drf_field, serializers.IntegerField):
        return ColumnType.INTEGER
    if isinstance(drf_field, serializers.DecimalField):
        return ColumnType.DECIMAL
    return ColumnType.TEXT


def _detail_columns(serializer: serializers.Serializer, prefix: tuple[str, ...] = ()) -> list[Column]:
    out: list[Column] = []
    for name, drf_field in serializer.fields.items():
        path = (*prefix, name)
        if isinstance(drf_field, serializers.Serializer):
            out.extend(_detail_columns(drf_field, path))
        elif (
            isinstance(drf_field, serializers.ListField)
            and not isinstance(drf_field, RevenueHistoryField)
            and isinstance(drf_field.child, serializers.Serializer)
        ):
            continue  # lists of objects (market comparables) do not fit a cell: import them with JSON
        else:
            # Only top-level required fields are required columns; a nested object is optional as a whole.
            out.append(Column(".".join(path), path, _type_of(drf_field), bool(drf_field.required and not prefix)))
    return out


@cache
def columns_for(kind: str) -> tuple[Column, ...]:
    """The columns of ``kind``'s template, in order (``title`` first)."""
    return (Column(TITLE, (), ColumnType.TEXT, True), *_detail_columns(DETAILS_SERIALIZERS[kind]()))


def column_names(kind: str) -> list[str]:
    return [column.name for column in columns_for(kind)]


# --- header --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Which column sits at which position of the rows of one file."""

    kind: str
    positions: tuple[tuple[int, Column], ...]
    unnamed: frozenset[int]  # positions whose header cell is empty


def _header_name(value: Any) -> str:
    return "" if value is None else str(value).replace("\ufeff", "").strip().lower()


def header_read(kind: str, header: list[Any] | None) -> Layout:
    """Match the header row against ``kind``'s columns; :class:`HeaderProblem` names what is wrong."""
    known = {column.name: column for column in columns_for(kind)}
    names = [_header_name(value) for value in header or []]
    problems: list[str] = []
    counts = Counter(name for name in names if name)
    seen = set(counts)
    repeated = sorted(name for name, count in counts.items() if count > 1)
    unknown = [name for name in dict.fromkeys(names) if name and name not in known]
    missing = [column.name for column in known.values() if column.required and column.name not in seen]
    if unknown:
        problems.append(_("Unknown columns: %(names)s.") % {"names": ", ".join(unknown)})
    if missing:
        problems.append(_("Missing required columns: %(names)s.") % {"names": ", ".join(missing)})
    if repeated:
        problems.append(_("Columns that appear more than once: %(names)s.") % {"names": ", ".join(repeated)})
    if problems:
        problems.append(
            _("The columns for %(kind)s assets are: %(names)s (required: %(required)s).")
            % {
                "kind": kind,
                "names": ", ".join(known),
                "required": ", ".join(c.name for c in known.values() if c.required),
            }
        )
        raise HeaderProblem(" ".join(problems))
    return Layout(
        kind=kind,
        positions=tuple((index, known[name]) for index, name in enumerate(names) if name),
        unnamed=frozenset(index for index, name in enumerate(names) if not name),
    )


# --- cells -> details ----------------------------------------------------------------------------------


def cell_text(value: Any) -> str | None:
    """A cell as the text a person would have typed; ``None`` for an empty cell.

    XLSX cells arrive typed: dates become ISO dates, numbers their shortest decimal form (never float noise:
    ``0.1`` stays ``"0.1"``, ``1200000.0`` becomes ``"1200000"``) and booleans ``true``/``false``.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return str(Decimal(repr(value)))
    if isinstance(value, Decimal):
        return str(value)
    text = str(value).strip()
    return text or None


@dataclass
class TableRecord:
    title: str | None
    details: dict[str, Any]
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column, message) found while reading cells


def _set_path(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def _revenue(text: str) -> list[dict[str, str]]:
    entries = []
    for item in LIST_SEPARATORS.split(text):
        item = item.strip()
        if not item:
            continue
        parts = YEAR_SEPARATORS.split(item, maxsplit=1)
        if len(parts) != 2:
            raise ValueError(
                _("Write each year as YEAR:AMOUNT and separate the years with ;, e.g. 2023:1200000.00;2024:1500000.00.")
            )
        entries.append({"year": parts[0].strip(), "amount": parts[1].strip()})
    return entries


def _convert(column: Column, text: str) -> Any:
    if column.type is ColumnType.BOOLEAN:
        word = text.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        return text  # the serializer says it is not a boolean
    if column.type is ColumnType.LIST:
        return [item.strip() for item in LIST_SEPARATORS.split(text) if item.strip()]
    if column.type is ColumnType.REVENUE:
        return _revenue(text)
    return text


def table_record(layout: Layout, cells: list[Any]) -> TableRecord:
    """One data row of a CSV or XLSX file as a title and the ``details`` the API would take."""
    record = TableRecord(title=None, details={})
    for index, column in layout.positions:
        text = cell_text(cells[index]) if index < len(cells) else None
        if text is None:
            continue  # an empty cell: the field is absent
        if not column.path:
            record.title = text
            continue
        try:
            _set_path(record.details, column.path, _convert(column, text))
        except ValueError as exc:
            record.errors.append((column.name, str(exc)))
    width = max((index for index, _column in layout.positions), default=-1) + 1
    stray = [
        index + 1
        for index, value in enumerate(cells)
        if (index in layout.unnamed or index >= width) and cell_text(value) is not None
    ]
    if stray:
        record.errors.append(
            ("", _("Column %(n)s has a value but no header, so it cannot be imported.") % {"n": stray[0]})
        )
    return record


def is_blank(cells: list[Any]) -> bool:
    return all(cell_text(value) is None for value in cells)


def error_column(kind: str, path: str) -> str:
    """The column a validation error on ``path`` (``details.quality.accuracy``, ``details.revenue_history.0.year``,
    ``title``) belongs to; ``""`` for an error on the row as a whole."""
    if path == TITLE:
        return TITLE
    if path in ("details", "non_field_errors"):
        return ""
    rest = path.removeprefix("details.")
    best = ""
    for name in column_names(kind):
        if (rest == name or rest.startswith(name + ".")) and len(name) > len(best):
            best = name
    return best or rest


# --- templates -----------------------------------------------------------------------------------------

EXAMPLES: dict[str, dict[str, Any]] = {
    "patent": {
        "title": "高功率光纤激光焊接头",
        "details": {
            "number": "202110123456.7",
            "patent_type": "invention",
            "filing_date": "2021-03-15",
            "legal_status": "valid",
            "grant_date": "2022-09-20",
            "claims": 12,
            "forward_citations": 3,
            "ipc": ["B23K 26/00", "B23K 26/70"],
            "revenue_history": [{"year": 2023, "amount": "1200000.00"}, {"year": 2024, "amount": "1500000.00"}],
        },
    },
    "trademark": {
        "title": "光谷星 图形及文字",
        "details": {
            "number": "41234567",
            "nice_classes": [9, 42],
            "valid_until": "2030-06-27",
            "revenue_history": [{"year": 2024, "amount": "650000.00"}],
        },
    },
    "software": {
        "title": "智能产线调度系统 V2.1",
        "details": {
            "registration_number": "2016SR172900",
            "version": "V2.1",
            "completed_on": "2016-03-01",
            "certificate_number": "软著登字第1351366号",
            "first_published_on": "2016-04-15",
            "revenue_history": [{"year": 2024, "amount": "980000.00"}],
        },
    },
    "data": {
        "title": "汽车零部件产线传感器数据集",
        "details": {
            "description": "武汉工厂冲压与焊装产线的每日传感器读数，已脱敏",
            "category": "industrial_iot",
            "source": "self_generated",
            "record_count": 1200000,
            "update_frequency": "daily",
            "security_level": "general",
            "rights": ["holding", "processing_use"],
            "size_bytes": 52428800,
            "time_span_start": "2022-01-01",
            "time_span_end": "2024-12-31",
            "contains_personal_info": False,
            "registration": {
                "registry": "湖北省数据知识产权登记平台",
                "number": "HBDR-2024-000123",
                "issued_on": "2024-05-20",
                "valid_until": "2027-05-19",
            },
            "quality": {
                "normativity": "85.00",
                "completeness": "90.00",
                "accuracy": "88.50",
                "consistency": "80.00",
                "timeliness": "75.00",
                "accessibility": "82.00",
            },
            "cost": {"acquisition": "300000.00", "processing": "120000.00", "storage": "30000.00", "labor": "50000.00"},
            "revenue_history": [{"year": 2023, "amount": "400000.00"}, {"year": 2024, "amount": "520000.00"}],
            "keywords": ["传感器", "冲压", "焊装"],
            "license": "仅限授权方内部分析使用",
        },
    },
}


def _lookup(details: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = details
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def record_cells(kind: str, title: str, details: dict[str, Any], *, typed: bool = False) -> list[Any]:
    """The row of cells for an asset, in ``columns_for(kind)`` order (the inverse of :func:`table_record`).
    ``typed``: dates and integers as spreadsheet values (XLSX) rather than text."""
    row: list[Any] = []
    for column in columns_for(kind):
        value = title if not column.path else _lookup(details, column.path)
        if value is None:
            row.append("" if not typed else None)
        elif column.type is ColumnType.REVENUE:
            row.append(";".join(f"{entry['year']}:{entry['amount']}" for entry in value))
        elif column.type is ColumnType.LIST:
            row.append(";".join(str(item) for item in value))
        elif column.type is ColumnType.BOOLEAN:
            row.append("true" if value else "false")
        elif typed and column.type is ColumnType.DATE:
            row.append(datetime.date.fromisoformat(value))
        elif typed and column.type is ColumnType.INTEGER:
            row.append(int(value))
        else:
            row.append(str(value))
    return row


def template_csv(kind: str) -> bytes:
    """UTF-8 with a BOM (so that Excel shows Chinese text), the header row and one example row."""
    example = EXAMPLES[kind]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(column_names(kind))
    writer.writerow(record_cells(kind, example["title"], example["details"]))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def template_xlsx(kind: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    example = EXAMPLES[kind]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = kind
    sheet.append(column_names(kind))
    sheet.append(record_cells(kind, example["title"], example["details"], typed=True))
    for index, column in enumerate(columns_for(kind), start=1):
        sheet.cell(row=1, column=index).font = Font(bold=True)
        sheet.column_dimensions[get_column_letter(index)].width = max(14, len(column.name) + 4)
        if column.type is ColumnType.DATE:
            sheet.cell(row=2, column=index).number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_json(kind: str) -> bytes:
    """A JSON array with one example object, exactly as ``POST /api/v1/assets/`` takes it (without ``kind``)."""
    return json.dumps([EXAMPLES[kind]], ensure_ascii=False, indent=2).encode("utf-8")


TEMPLATE_BUILDERS = {"csv": template_csv, "xlsx": template_xlsx, "json": template_json}
TEMPLATE_CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
