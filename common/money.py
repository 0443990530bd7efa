"""Money rules for the whole service.

Pure Python (no Django imports) so that the valuation engine and the credit policies can use it.
Amounts are ``Decimal`` built from strings or ints; this module is the one place that rounds.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

MONEY_MAX_DIGITS = 20
MONEY_DECIMAL_PLACES = 2
RATE_MAX_DIGITS = 9
RATE_DECIMAL_PLACES = 6
CURRENCY_LENGTH = 3
DEFAULT_CURRENCY = "CNY"

# Valuations round half up; credit limits are never rounded up.
VALUATION_ROUNDING = ROUND_HALF_UP
CREDIT_ROUNDING = ROUND_DOWN

_MINOR_UNITS = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "JPY": 0}
ZERO = Decimal("0")
CENT = Decimal("0.01")


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


_MINOR_UNIT_STEPS = {currency: Decimal(1).scaleb(-places) for currency, places in _MINOR_UNITS.items()}
_DEFAULT_MINOR_UNIT_STEP = Decimal(1).scaleb(-MONEY_DECIMAL_PLACES)


def minor_unit(currency: str) -> Decimal:
    # looked up, not rebuilt: quantize() runs tens of times per valuation in the bulk revaluation
    return _MINOR_UNIT_STEPS.get(currency, _DEFAULT_MINOR_UNIT_STEP)


def quantize(value: Decimal, *, currency: str = DEFAULT_CURRENCY, rounding: str = VALUATION_ROUNDING) -> Decimal:
    """Round ``value`` to the currency's minor unit. The only rounding function of the service."""
    if not isinstance(value, Decimal):
        raise TypeError(f"quantize() takes a Decimal, not {type(value).__name__}")
    return value.quantize(minor_unit(currency), rounding=rounding)


def quantize_rate(value: Decimal, *, rounding: str = ROUND_HALF_UP) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-RATE_DECIMAL_PLACES), rounding=rounding)


def decimal_from(value: object) -> Decimal:
    """Build a Decimal from a string, an int, a Decimal or a (numpy) float without binary noise.

    Floats are converted through their shortest repr, which is what a person would read.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
    else:
        try:
            result = Decimal(repr(float(value)))  # type: ignore[arg-type]
        except (TypeError, ValueError, InvalidOperation):
            raise ValueError(f"{value!r} is not a number") from None
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return result


def ensure_same_currency(*currencies: str) -> str:
    distinct = set(currencies)
    if len(distinct) != 1:
        raise CurrencyMismatch(f"cannot combine amounts in {', '.join(sorted(distinct))}")
    return distinct.pop()
