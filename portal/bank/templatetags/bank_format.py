"""Number formats of the bank dashboard: money with two decimals and thousands separators, exact (Decimal)."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django import template

from common.money import decimal_from

register = template.Library()


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return decimal_from(value)  # a float (some database sums) goes through its shortest repr, never binary noise
    except (InvalidOperation, TypeError, ValueError):
        return None


@register.filter
def money(value: object) -> str:
    """1234567.5 -> "1,234,567.50"; empty for no value."""
    number = _decimal(value)
    return "" if number is None else f"{number:,.2f}"


@register.filter
def ratio(value: object) -> str:
    """A coverage ratio with two decimals, cut (never rounded up: 0.999 is "0.99"), or an em dash when none."""
    number = _decimal(value)
    return "—" if number is None else f"{number.quantize(Decimal('0.01'), rounding=ROUND_DOWN):,.2f}"


@register.filter
def percent(value: object) -> str:
    """A rate 0.25 -> "25.00 %"."""
    number = _decimal(value)
    return "" if number is None else f"{number * 100:,.2f} %"
