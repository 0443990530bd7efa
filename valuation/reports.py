"""The valuation report: one valuation as a PDF (reportlab), in the active language.

``valuation_report_data_for_user`` reads everything the report shows into a plain dataclass (the same visibility
as the valuation's JSON detail: a firm its own, reviewers all, through ``valuation_qs_for_user``);
``valuation_report_pdf`` turns that dataclass into PDF bytes and touches no database.

Chinese text is set in reportlab's built-in CID font STSong-Light (Adobe's Asian font pack names it; no font
file is embedded and none is needed: every PDF reader maps it to a local Song/Ming font, and the text stays
extractable as Unicode). Runs of Latin-1 text are set in Helvetica, the fingerprint in Courier. Amounts are
printed as the Decimal strings the API returns (``1000000.00``); the charts only use floats to place bars.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from common.exceptions import NotFound
from registry.models import Asset
from valuation.methods.engine import canonical_json
from valuation.models import ParameterSet, Valuation
from valuation.selectors import valuation_qs_for_user

CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
MONO_FONT = "Courier"
PDF_CONTENT_TYPE = "application/pdf"
MAX_INPUT_ROWS = 60  # the inputs table stops here (long revenue histories); the fingerprint covers them all
MAX_VALUE_CHARS = 160
MAX_FORMULA_CHARS = 1000

pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))

_WIDE = re.compile(r"[^\x00-\xff]+")  # characters Helvetica (WinAnsi) cannot draw: set them in the CJK font


# --- the data the report shows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportMethod:
    code: str
    value: Decimal
    low: Decimal
    high: Decimal
    weight: Decimal
    formula: str
    drivers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ValuationReportData:
    valuation_id: int
    status: str
    computed_at: datetime
    as_of: date | None
    reviewed_at: datetime | None
    asset_id: int
    asset_kind: str
    asset_title: str
    asset_identifier: str | None
    asset_version: int
    firm_name: str
    firm_uscc: str
    low: Decimal
    value: Decimal
    high: Decimal
    currency: str
    main_method: str
    methods: tuple[ReportMethod, ...]
    skipped: tuple[tuple[str, str], ...]
    inputs: tuple[tuple[str, str], ...]
    parameter_set: str
    parameter_set_description: str
    parameters: tuple[tuple[str, str], ...]
    engine_version: str
    seed: int
    inputs_sha256: str
    fingerprint: str


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return Decimal(0)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:f}"
    text = canonical_json(value) if isinstance(value, Mapping | list | tuple) else str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _flatten(value: Any, prefix: str = "") -> Iterable[tuple[str, str]]:
    """Nested inputs as dotted paths; lists of objects (revenue histories) stay one line each."""
    if isinstance(value, Mapping):
        for key in sorted(value):
            yield from _flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, _text(value)


def _parameters_used(data: Mapping[str, Any], kind: str) -> tuple[tuple[str, str], ...]:
    """The set's scalar parameters, and for per-kind tables the entry of the asset's kind."""
    rows: list[tuple[str, str]] = []
    for name in sorted(data):
        value = data[name]
        if name == "version":
            continue  # shown once, as the set's version
        if isinstance(value, Mapping):
            if kind in value:
                rows.append((f"{name}.{kind}", _text(value[kind])))
        elif not isinstance(value, list):
            rows.append((name, _text(value)))
    return tuple(rows)


def _methods(explanation: Mapping[str, Any]) -> tuple[ReportMethod, ...]:
    methods = explanation.get("methods") or {}
    out = []
    for code, figure in methods.items():
        if not isinstance(figure, Mapping):
            continue
        drivers = figure.get("main_drivers") or figure.get("drivers") or {}
        out.append(
            ReportMethod(
                code=str(code),
                value=_decimal(figure.get("value", "0")),
                low=_decimal(figure.get("low", "0")),
                high=_decimal(figure.get("high", "0")),
                weight=_decimal(figure.get("weight", "0")),
                formula=str(figure.get("formula", ""))[:MAX_FORMULA_CHARS],
                drivers=tuple((str(k), _text(v)) for k, v in drivers.items()) if isinstance(drivers, Mapping) else (),
            )
        )
    return tuple(out)


def valuation_report_data(*, valuation: Valuation) -> ValuationReportData:
    """Everything the report shows, from a valuation fetched with ``asset__firm``."""
    asset = valuation.asset
    parameter_set = ParameterSet.objects.filter(version=valuation.parameter_set).first()
    explanation = valuation.explanation if isinstance(valuation.explanation, Mapping) else {}
    inputs = valuation.inputs if isinstance(valuation.inputs, Mapping) else {}
    skipped = explanation.get("skipped") or {}
    return ValuationReportData(
        valuation_id=valuation.pk,
        status=valuation.status,
        computed_at=valuation.computed_at,
        as_of=valuation.as_of,
        reviewed_at=valuation.reviewed_at,
        asset_id=asset.pk,
        asset_kind=asset.kind,
        asset_title=asset.title,
        asset_identifier=asset.identifier,
        asset_version=valuation.asset_version,
        firm_name=asset.firm.name,
        firm_uscc=asset.firm.uscc,
        low=valuation.low,
        value=valuation.value,
        high=valuation.high,
        currency=valuation.currency,
        main_method=valuation.method,
        methods=_methods(explanation),
        skipped=tuple((str(k), _text(v)) for k, v in skipped.items()) if isinstance(skipped, Mapping) else (),
        inputs=tuple(_flatten(inputs))[:MAX_INPUT_ROWS],
        parameter_set=valuation.parameter_set,
        parameter_set_description=parameter_set.description if parameter_set else "",
        parameters=_parameters_used(parameter_set.data, asset.kind) if parameter_set else (),
        engine_version=valuation.engine_version,
        seed=valuation.seed,
        inputs_sha256=hashlib.sha256(canonical_json(inputs).encode("utf-8")).hexdigest(),
        fingerprint=valuation.fingerprint,
    )


def valuation_report_data_for_user(*, user: Any, valuation_id: int) -> ValuationReportData:
    """The report's data, if ``user`` may see the valuation (404 otherwise, as the JSON detail)."""
    try:
        valuation = valuation_qs_for_user(user=user).select_related("asset__firm").get(pk=valuation_id)
    except Valuation.DoesNotExist:
        raise NotFound(_("Valuation not found.")) from None
    return valuation_report_data(valuation=valuation)


# --- labels -------------------------------------------------------------------------------------------------


def method_label(code: str) -> str:
    labels = {
        "cost": _("Cost approach"),
        "income": _("Income approach"),
        "market": _("Market approach"),
        "relief_from_royalty": _("Relief from royalty"),
    }
    return labels.get(code, code)


def _kind_label(kind: str) -> str:
    return str(Asset.Kind(kind).label) if kind in Asset.Kind.values else kind


def _status_label(status: str) -> str:
    return str(Valuation.Status(status).label) if status in Valuation.Status.values else status


def _when(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(sep=" ", timespec="minutes")
    return value.isoformat()


def money(amount: Decimal) -> str:
    """An amount exactly as the API prints it: ``1000000.00``."""
    return f"{amount:f}"


def percent(weight: Decimal) -> str:
    return formats.number_format((weight * 100).quantize(Decimal("0.1")), decimal_pos=1) + " %"


# --- the PDF ------------------------------------------------------------------------------------------------


def _markup(text: str) -> str:
    """Escaped paragraph markup with every run of non-Latin-1 characters set in the CJK font."""
    out, last = [], 0
    for match in _WIDE.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(f'<font name="{CJK_FONT}">{escape(match.group())}</font>')
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def _font_for(text: str) -> str:
    return CJK_FONT if _WIDE.search(text) else LATIN_FONT


@dataclass(frozen=True)
class _Styles:
    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    mono: ParagraphStyle
    cell: ParagraphStyle
    cell_bold: ParagraphStyle


def _styles() -> _Styles:
    body = ParagraphStyle("body", fontName=LATIN_FONT, fontSize=9.5, leading=13, alignment=TA_LEFT)
    return _Styles(
        title=ParagraphStyle("title", parent=body, fontName=LATIN_BOLD, fontSize=17, leading=22, spaceAfter=4),
        heading=ParagraphStyle(
            "heading", parent=body, fontName=LATIN_BOLD, fontSize=12, leading=16, spaceBefore=9, spaceAfter=4
        ),
        body=body,
        small=ParagraphStyle("small", parent=body, fontSize=8, leading=10.5, textColor=colors.HexColor("#555555")),
        mono=ParagraphStyle("mono", parent=body, fontName=MONO_FONT, fontSize=8, leading=10.5),
        cell=ParagraphStyle("cell", parent=body, fontSize=8.5, leading=11),
        cell_bold=ParagraphStyle("cellb", parent=body, fontName=LATIN_BOLD, fontSize=8.5, leading=11),
    )


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(_markup(text), style)


TABLE_STYLE = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
)
FACTS_STYLE = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef2f7")),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
)


def _facts(rows: list[tuple[str, str]], s: _Styles, width: float, mono_rows: Iterable[int] = ()) -> Table:
    mono = set(mono_rows)
    data = [
        [_p(label, s.cell_bold), _p(value, s.mono if i in mono else s.cell)] for i, (label, value) in enumerate(rows)
    ]
    table = Table(data, colWidths=[width * 0.3, width * 0.7])
    table.setStyle(FACTS_STYLE)
    return table


def _range_chart(data: ValuationReportData, width: float) -> Drawing:
    """The range as a band from low (P10) to high (P90) with the central value (P50) marked."""
    height = 66
    drawing = Drawing(width, height)
    left, right = 10, width - 10
    top = max(float(data.high), 1.0) * 1.08

    def x(amount: Decimal) -> float:
        return left + (right - left) * float(amount) / top

    axis_y = 24
    drawing.add(Line(left, axis_y, right, axis_y, strokeColor=colors.HexColor("#888888"), strokeWidth=0.6))
    drawing.add(
        Rect(
            x(data.low),
            axis_y + 6,
            max(x(data.high) - x(data.low), 1.0),
            14,
            fillColor=colors.HexColor("#9ec5e8"),
            strokeColor=colors.HexColor("#2f6ea5"),
            strokeWidth=0.6,
        )
    )
    drawing.add(
        Line(
            x(data.value),
            axis_y + 2,
            x(data.value),
            axis_y + 24,
            strokeColor=colors.HexColor("#c0392b"),
            strokeWidth=1.6,
        )
    )
    # The central value above the band; low and high below it, each pointing away from the other.
    labels = [
        (data.value, _("Central (P50)"), "middle", 30),
        (data.low, _("Low (P10)"), "end" if x(data.low) > width * 0.3 else "start", -12),
        (data.high, _("High (P90)"), "start" if x(data.high) < width * 0.7 else "end", -12),
    ]
    if labels[1][2] == "start" and labels[2][2] == "end":  # both at the same end: two lines
        labels[2] = (data.high, _("High (P90)"), "end", -22)
    for amount, label, anchor, dy in labels:
        text = f"{label}: {money(amount)}"
        offset = {"start": 2, "end": -2, "middle": 0}[anchor]
        drawing.add(
            String(x(amount) + offset, axis_y + dy, text, fontName=_font_for(text), fontSize=7.5, textAnchor=anchor)
        )
    return drawing


def _methods_chart(data: ValuationReportData, width: float) -> Drawing:
    """Each method's value (P50) as a bar, labelled with its weight in the reconciliation."""
    height = 150
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 60, 30, width - 80, height - 50
    chart.data = [[float(m.value) for m in data.methods]]
    chart.barWidth = 20
    chart.bars[0].fillColor = colors.HexColor("#2f6ea5")
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontName = LATIN_FONT
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = lambda v: f"{v:,.0f}"
    names = [f"{method_label(m.code)} ({percent(m.weight)})" for m in data.methods]
    chart.categoryAxis.categoryNames = names
    chart.categoryAxis.labels.fontName = CJK_FONT if any(_WIDE.search(n) for n in names) else LATIN_FONT
    chart.categoryAxis.labels.fontSize = 7.5
    drawing.add(chart)
    title = _("Value by method (weight)")
    drawing.add(String(0, height - 10, title, fontName=_font_for(title), fontSize=8.5))
    return drawing


def _footer(canvas: Any, doc: Any, text: str) -> None:
    canvas.saveState()
    canvas.setFont(_font_for(text), 7.5)
    canvas.setFillColor(colors.HexColor("#666666"))
    canvas.drawString(doc.leftMargin, 10 * mm, text)
    canvas.drawRightString(A4[0] - doc.rightMargin, 10 * mm, str(doc.page))
    canvas.restoreState()


def valuation_report_pdf(data: ValuationReportData) -> bytes:
    """The report as PDF bytes, with the labels in the active language. Same data, same bytes."""
    s = _styles()
    buffer = io.BytesIO()
    title = _("Valuation report")
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"{title} #{data.valuation_id}",
        author=_("Hubei soft-asset registry"),
        subject=data.asset_title,
        lang=get_language() or "zh-hans",
        invariant=True,
    )
    width = doc.width
    cur = data.currency
    story: list[Any] = [
        _p(f"{title} #{data.valuation_id}", s.title),
        _p(f"{data.asset_title} · {data.firm_name}", s.body),
        Spacer(1, 6),
        _p(_("Asset"), s.heading),
        _facts(
            [
                (_("Title"), data.asset_title),
                (_("Kind"), _kind_label(data.asset_kind)),
                (_("Registered identifier"), data.asset_identifier or "—"),
                (_("Asset number and version"), f"#{data.asset_id} v{data.asset_version}"),
                (_("Firm"), data.firm_name),
                (_("Unified social credit code"), data.firm_uscc),
            ],
            s,
            width,
        ),
        _p(_("Valuation"), s.heading),
        _facts(
            [
                (_("Status"), _status_label(data.status)),
                (_("Valuation date"), _when(data.as_of)),
                (_("Computed at"), _when(data.computed_at)),
                (_("Reviewed at"), _when(data.reviewed_at)),
                (_("Main method"), method_label(data.main_method)),
                (_("Currency"), cur),
            ],
            s,
            width,
        ),
        _p(_("Value range"), s.heading),
    ]
    range_table = Table(
        [
            [_p(_("Low (P10)"), s.cell_bold), _p(_("Central (P50)"), s.cell_bold), _p(_("High (P90)"), s.cell_bold)],
            [
                _p(f"{money(data.low)} {cur}", s.cell),
                _p(f"{money(data.value)} {cur}", s.cell),
                _p(f"{money(data.high)} {cur}", s.cell),
            ],
        ],
        colWidths=[width / 3] * 3,
    )
    range_table.setStyle(TABLE_STYLE)
    story += [range_table, Spacer(1, 6), _range_chart(data, width)]

    story.append(_p(_("Methods"), s.heading))
    if data.methods:
        story += [_methods_chart(data, width), Spacer(1, 4)]
        rows = [
            [
                _p(_("Method"), s.cell_bold),
                _p(_("Weight"), s.cell_bold),
                _p(_("Low (P10)"), s.cell_bold),
                _p(_("Central (P50)"), s.cell_bold),
                _p(_("High (P90)"), s.cell_bold),
            ]
        ]
        rows += [
            [
                _p(method_label(m.code), s.cell),
                _p(percent(m.weight), s.cell),
                _p(money(m.low), s.cell),
                _p(money(m.value), s.cell),
                _p(money(m.high), s.cell),
            ]
            for m in data.methods
        ]
        methods_table = Table(rows, colWidths=[width * 0.28, width * 0.12, width * 0.2, width * 0.2, width * 0.2])
        methods_table.setStyle(TABLE_STYLE)
        story.append(methods_table)
        for m in data.methods:
            story.append(_p(f"{method_label(m.code)}", s.heading))
            if m.formula:
                formula = _("Formula")
                story.append(_p(f"{formula}: {m.formula}", s.small))
            if m.drivers:
                story.append(_facts(list(m.drivers), s, width))
    else:
        story.append(_p(_("The valuation records no breakdown by method."), s.body))
    if data.skipped:
        story.append(_p(_("Methods not applied"), s.heading))
        story.append(_facts([(method_label(code), reason) for code, reason in data.skipped], s, width))

    story.append(_p(_("Inputs"), s.heading))
    story.append(_facts(list(data.inputs) or [("—", "—")], s, width))

    story.append(_p(_("Parameter set"), s.heading))
    parameter_rows = [(_("Version"), data.parameter_set)]
    if data.parameter_set_description:
        parameter_rows.append((_("Description"), data.parameter_set_description))
    story.append(_facts(parameter_rows + list(data.parameters), s, width))

    story.append(_p(_("Reproducibility"), s.heading))
    story.append(
        _facts(
            [
                (_("Engine version"), data.engine_version),
                (_("Parameter set"), data.parameter_set),
                (_("Seed"), str(data.seed)),
                (_("Inputs hash (SHA-256)"), data.inputs_sha256),
                (_("Fingerprint (SHA-256)"), data.fingerprint),
            ],
            s,
            width,
            mono_rows=(2, 3, 4),
        )
    )
    story.append(Spacer(1, 4))
    story.append(
        _p(
            _(
                "Recomputing this valuation from its inputs, parameter set and seed with the same engine version "
                "gives the same figures to the cent and the same fingerprint (manage.py verify_valuation %(id)s)."
            )
            % {"id": data.valuation_id},
            s.small,
        )
    )
    footer = f"{title} #{data.valuation_id} | {data.firm_uscc}"  # (no middle dot: STSong-Light lacks it)
    doc.build(story, onFirstPage=lambda c, d: _footer(c, d, footer), onLaterPages=lambda c, d: _footer(c, d, footer))
    return buffer.getvalue()
