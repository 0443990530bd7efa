"""Template filters of the firm portal: money with thousands separators, method and change names in words."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

from common.money import quantize
from portal.firm.forms import CHANGE_LABELS, METHOD_LABELS

register = template.Library()


@register.filter
def money(value: Any) -> str:
    """``Decimal("23836496.6900000")`` -> ``23,836,496.69``; never through float. Empty for no value."""
    if value is None or value == "":
        return ""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        return f"{quantize(amount):,.2f}"
    except (InvalidOperation, TypeError, ValueError):
        return str(value)


@register.filter
def method_name(value: str) -> str:
    return str(METHOD_LABELS.get(value, value))


@register.filter
def change_name(value: str) -> str:
    return str(CHANGE_LABELS.get(value, value))
