"""The pages' SVG charts: bars in proportion, labels escaped, nothing drawn for all-zero data, ranges in order."""

from __future__ import annotations

import re
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from portal.charts import bar_chart, range_chart

money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e12"), places=2)


def _bar_widths(svg: str) -> list[float]:
    return [float(w) for w in re.findall(r'<rect x="\d+" y="\d+" width="([\d.]+)"', svg)]


def test_bars_are_in_proportion_and_labels_are_escaped() -> None:
    svg = bar_chart([("光电子 <b>", Decimal("300.00")), ("生物医药 & co", Decimal("150.00"))], title="按行业")
    assert "<b>" not in svg
    assert "光电子 &lt;b&gt;" in svg
    assert "生物医药 &amp; co" in svg
    first, second = _bar_widths(svg)
    assert abs(first - 2 * second) < 0.2
    assert "<title>按行业</title>" in svg


def test_all_zero_data_draws_no_bars() -> None:
    svg = bar_chart([("a", Decimal("0.00")), ("b", 0)], title="t")
    assert _bar_widths(svg) == []
    assert "—" in svg


@given(a=money, b=money, c=money)
def test_range_markers_keep_their_order_and_labels_stay_inside(a, b, c) -> None:  # type: ignore[no-untyped-def]
    low, central, high = sorted([a, b, c])
    svg = range_chart(low, central, high, title="range")
    band_x, band_w = (float(v) for v in re.search(r'<rect x="([\d.]+)" y="\d+" width="([\d.]+)"', svg).groups())
    marker_x = float(re.search(r'<line x1="([\d.]+)" y1="20"', svg).group(1))
    assert band_x - 0.1 <= marker_x <= band_x + band_w + 0.1
    for x, anchor in re.findall(r'<text x="([\d.]+)" y="\d+" text-anchor="(\w+)"', svg):
        if anchor == "start":
            assert float(x) < 560 * 0.7 + 1  # a label that starts near the right edge would be cut off
        if anchor == "end":
            assert float(x) > 560 * 0.3 - 1
    for value in (low, central, high):
        assert str(value) in svg
