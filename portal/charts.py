"""Small server-side SVG charts for the pages (no JavaScript, no build step, allowed by the CSP).

Values come in as Decimal (money) or int; they are only scaled to pixel positions here. Labels are escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

Number = Decimal | int | float

PALETTE = ("#0b5cad", "#2e8b57", "#c77c0e", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d")


def _fraction(value: Number, top: Number) -> float:
    return float(value) / float(top) if top else 0.0


def bar_chart(
    rows: Sequence[tuple[str, Number]],
    *,
    title: str,
    value_label: str = "",
    width: int = 560,
    bar_height: int = 22,
) -> SafeString:
    """Horizontal bars, one per (label, value); the value is printed at the end of its bar."""
    if not any(value for _, value in rows):
        rows = []  # nothing to draw: all zero reads better as a dash (the table beside it has the zeros)
    label_w, gap, pad = 170, 6, 8
    height = pad * 2 + len(rows) * (bar_height + gap) + 18
    top = max((v for _, v in rows), default=0) or 1
    plot_w = width - label_w - 110
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(rows):
        y = pad + i * (bar_height + gap)
        w = max(1.0, plot_w * _fraction(value, top)) if value else 0.0
        colour = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" font-size="12">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" fill="{colour}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + bar_height * 0.7:.1f}" font-size="12">'
            f"{escape(value)}{(' ' + escape(value_label)) if value_label else ''}</text>"
        )
    if not rows:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" font-size="12">—</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated label and value is escaped above


def range_chart(
    low: Number,
    central: Number,
    high: Number,
    *,
    title: str,
    labels: tuple[str, str, str] = ("P5", "P50", "P95"),
    width: int = 560,
) -> SafeString:
    """A value range as a band from low to high with a marker at the central value, on an axis from 0."""
    height, left, right, y = 70, 10, 10, 24
    top = float(high) * 1.1 or 1.0
    plot_w = width - left - right

    def x(v: Number) -> float:
        return left + plot_w * float(v) / top

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{y + 10}" x2="{width - right}" y2="{y + 10}" stroke="#999"/>',
        f'<rect x="{x(low):.1f}" y="{y}" width="{max(1.0, x(high) - x(low)):.1f}" height="20" '
        'fill="#0b5cad" fill-opacity="0.25" stroke="#0b5cad"/>',
        f'<line x1="{x(central):.1f}" y1="{y - 4}" x2="{x(central):.1f}" y2="{y + 24}" stroke="#c0392b" '
        'stroke-width="3"/>',
    ]

    def anchor_for(v: Number, preferred: str) -> str:
        # Keep a label inside the picture: near the right edge it ends at its point, near the left it starts there.
        if x(v) > width * 0.7:
            return "end"
        if x(v) < width * 0.3:
            return "start"
        return preferred

    for value, name, anchor, dy in (
        (low, labels[0], anchor_for(low, "end"), 58),
        (central, labels[1], anchor_for(central, "middle"), 14),
        (high, labels[2], anchor_for(high, "start"), 58),
    ):
        parts.append(
            f'<text x="{x(value):.1f}" y="{dy}" text-anchor="{anchor}" font-size="11">'
            f"{escape(name)} {escape(value)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated label and value is escaped above
