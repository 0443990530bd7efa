"""Credit-limit policy: approved valuations and a score tier in, an explained limit out.

Pure Python (no Django, no ORM, no clock): the selectors gather a product's rules and a firm's candidate
collateral, this module computes, the API serializes. Every amount is a ``Decimal``; rounding happens only
through ``common.money.quantize`` with ``CREDIT_ROUNDING`` (down), so a limit is never rounded up.

How a limit is built (api.md ``GET /api/v1/credit/limits/{uscc}/``, domain.md sections 3 and 6):

* each candidate asset is excluded (and reported) when it is already pledged, when the product takes no
  collateral of its kind, or when its valuation is in another currency than the product (no FX here);
* an eligible asset gives one explanation line: ``collateral_value`` is the valuation's ``low`` (the
  conservative end of the range, so uncertainty lowers credit), ``amount`` is
  ``collateral_value x pledge_rate`` rounded down to the minor unit, then cut by the product's optional
  single-asset cap;
* ``secured`` is the sum of the line amounts, ``unsecured`` the product's amount for the firm's tier;
* ``limit = secured + unsecured``, cut by the product's ``max_amount``.

So ``sum(line.amount) + unsecured == limit`` exactly, unless ``"max_amount"`` is in ``caps_applied`` (then
the limit is lower). A credit line that pledges specific assets is checked by calling
``credit_limit_compute`` with just those assets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from types import MappingProxyType

from common.money import CREDIT_ROUNDING, RATE_DECIMAL_PLACES, ZERO, quantize

__all__ = [
    "ASSET_KINDS",
    "CAP_MAX_AMOUNT",
    "CAP_MAX_SECURED_PER_ASSET",
    "DEFAULT_MAX_SECURED_PER_ASSET",
    "DEFAULT_PLEDGE_RATES",
    "DEFAULT_UNSECURED_BY_TIER",
    "EXCLUDED_ALREADY_PLEDGED",
    "EXCLUDED_CURRENCY_MISMATCH",
    "EXCLUDED_KIND_NOT_ELIGIBLE",
    "PLEDGE_RATE_HARD_CAP",
    "TIERS",
    "UTILITY_MODEL_PLEDGE_RATE",
    "Collateral",
    "ExplanationLine",
    "LimitResult",
    "PolicyError",
    "ProductRules",
    "credit_limit_compute",
    "validate_pledge_rates",
]

ASSET_KINDS = frozenset({"data", "patent", "trademark", "software"})
TIERS = ("A", "B", "C", "D", "E")

# domain.md section 6: invention 25 %, trademark 30 %, software 20 %, data 30 %; hard cap 50 %.
DEFAULT_PLEDGE_RATES: dict[str, Decimal] = {
    "data": Decimal("0.30"),
    "patent": Decimal("0.25"),
    "software": Decimal("0.20"),
    "trademark": Decimal("0.30"),
}
# Utility-model patents (BoCom: <= 15 %): the patent rate of a product is the invention rate, and a
# utility-model patent gets the lower of that rate and this one (see ``Collateral.patent_type``).
UTILITY_MODEL_PLEDGE_RATE = Decimal("0.15")
PLEDGE_RATE_HARD_CAP = Decimal("0.50")

# Hubei 知识价值信用贷款: A = 10 m ... E = 1 m; B/C/D are placeholders (domain.md section 6 and 8).
DEFAULT_UNSECURED_BY_TIER: dict[str, Decimal] = {
    "A": Decimal("10000000.00"),
    "B": Decimal("7000000.00"),
    "C": Decimal("5000000.00"),
    "D": Decimal("3000000.00"),
    "E": Decimal("1000000.00"),
}
# Single IP loan cap, 10 m by default (domain.md section 6); a product opts in via max_secured_per_asset.
DEFAULT_MAX_SECURED_PER_ASSET = Decimal("10000000.00")

CAP_MAX_SECURED_PER_ASSET = "max_secured_per_asset"
CAP_MAX_AMOUNT = "max_amount"

EXCLUDED_ALREADY_PLEDGED = "already_pledged"
EXCLUDED_KIND_NOT_ELIGIBLE = "kind_not_eligible"
EXCLUDED_CURRENCY_MISMATCH = "currency_mismatch"

_PATENT_TYPE_UTILITY_MODEL = "utility_model"


class PolicyError(ValueError):
    """Rules or inputs that the policy cannot work with; ``code`` is stable, ``field`` a dotted path."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"PolicyError(code={self.code!r}, message={self.message!r}, field={self.field!r})"


def _parse_decimal(value: object, *, field: str, what: str) -> Decimal:
    """A finite Decimal from a Decimal, an int or a decimal string; floats and booleans are refused."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise PolicyError("invalid", f"{what} must be a decimal string, not {type(value).__name__}.", field)
    try:
        result = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise PolicyError("invalid", f"{what} {value!r} is not a decimal number.", field) from None
    if not result.is_finite():
        raise PolicyError("invalid", f"{what} {value!r} is not a finite number.", field)
    return result


def validate_pledge_rates(rates: Mapping[str, object]) -> dict[str, Decimal]:
    """Parse a product's ``pledge_rates`` (asset kind to rate) and check each ``0 < rate <= 0.50``.

    Returns a new dict of Decimals, sorted by kind. Raises ``PolicyError`` with code ``invalid`` (not a
    mapping, not a decimal), ``unknown_kind``, ``out_of_range`` or ``too_many_decimal_places`` (rates are
    stored with six places) and ``field`` ``"pledge_rates"`` or ``"pledge_rates.<kind>"``.
    """
    if not isinstance(rates, Mapping):
        raise PolicyError("invalid", "pledge_rates must map asset kinds to rates.", "pledge_rates")
    parsed: dict[str, Decimal] = {}
    for kind in sorted(rates, key=str):
        path = f"pledge_rates.{kind}"
        if not isinstance(kind, str) or kind not in ASSET_KINDS:
            raise PolicyError(
                "unknown_kind",
                f"{kind!r} is not an asset kind; use one of {', '.join(sorted(ASSET_KINDS))}.",
                path,
            )
        rate = _parse_decimal(rates[kind], field=path, what="A pledge rate")
        if not ZERO < rate <= PLEDGE_RATE_HARD_CAP:
            raise PolicyError(
                "out_of_range",
                f"The pledge rate for {kind} must be above 0 and at most {PLEDGE_RATE_HARD_CAP}; got {rate}.",
                path,
            )
        if rate.as_tuple().exponent < -RATE_DECIMAL_PLACES:  # type: ignore[operator]  # finite: int
            raise PolicyError(
                "too_many_decimal_places",
                f"A pledge rate has at most {RATE_DECIMAL_PLACES} decimal places; got {rate}.",
                path,
            )
        parsed[kind] = rate
    return parsed


def _validate_amount(value: object, *, field: str) -> Decimal:
    amount = _parse_decimal(value, field=field, what="An amount")
    if amount < ZERO:
        raise PolicyError("negative_amount", f"An amount cannot be negative; got {amount}.", field)
    return amount


@dataclass(frozen=True)
class ProductRules:
    """A bank product's limit rules. Validated and frozen on construction (mappings become read-only)."""

    code: str
    currency: str
    pledge_rates: Mapping[str, Decimal]  # asset kind -> rate; kinds absent are not eligible
    unsecured_by_tier: Mapping[str, Decimal]  # tier -> amount; empty = no unsecured part
    max_amount: Decimal | None  # cap on the whole limit
    max_secured_per_asset: Decimal | None = None  # optional single-asset cap on a line's amount

    def __post_init__(self) -> None:
        if not (isinstance(self.currency, str) and len(self.currency) == 3 and self.currency.isalpha()):
            raise PolicyError("invalid", f"{self.currency!r} is not an ISO 4217 currency code.", "currency")
        object.__setattr__(self, "pledge_rates", MappingProxyType(validate_pledge_rates(self.pledge_rates)))
        if not isinstance(self.unsecured_by_tier, Mapping):
            raise PolicyError("invalid", "unsecured_by_tier must map tiers to amounts.", "unsecured_by_tier")
        tiers = {
            tier: _validate_amount(amount, field=f"unsecured_by_tier.{tier}")
            for tier, amount in sorted(self.unsecured_by_tier.items(), key=lambda item: str(item[0]))
        }
        object.__setattr__(self, "unsecured_by_tier", MappingProxyType(tiers))
        for name in ("max_amount", "max_secured_per_asset"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _validate_amount(value, field=name))


@dataclass(frozen=True)
class Collateral:
    """One candidate asset with its approved valuation (``low`` is the conservative end of its range)."""

    asset_id: int
    kind: str
    valuation_id: int
    low: Decimal
    currency: str
    is_pledged: bool = False  # already under an active pledge (to anyone): excluded and reported
    patent_type: str | None = None  # "utility_model" lowers a patent's rate to UTILITY_MODEL_PLEDGE_RATE


@dataclass(frozen=True)
class ExplanationLine:
    asset: int
    kind: str
    valuation: int
    collateral_value: Decimal
    pledge_rate: Decimal
    amount: Decimal


@dataclass(frozen=True)
class LimitResult:
    limit: Decimal
    secured: Decimal
    unsecured: Decimal
    currency: str
    lines: tuple[ExplanationLine, ...]
    caps_applied: tuple[str, ...]
    excluded: tuple[dict, ...]  # {"asset": id, "reason": EXCLUDED_*}, ordered by asset id
    tier: str | None


def _exclusion_reason(rules: ProductRules, item: Collateral) -> str | None:
    if item.is_pledged:
        return EXCLUDED_ALREADY_PLEDGED
    if item.kind not in rules.pledge_rates:
        return EXCLUDED_KIND_NOT_ELIGIBLE
    if item.currency != rules.currency:
        return EXCLUDED_CURRENCY_MISMATCH
    return None


def _pledge_rate(rules: ProductRules, item: Collateral) -> Decimal:
    rate = rules.pledge_rates[item.kind]
    if item.kind == "patent" and item.patent_type == _PATENT_TYPE_UTILITY_MODEL:
        rate = min(rate, UTILITY_MODEL_PLEDGE_RATE)
    return rate


def credit_limit_compute(*, rules: ProductRules, collateral: Sequence[Collateral], tier: str | None) -> LimitResult:
    """The product's limit for a firm with this candidate collateral and score tier, with its explanation.

    Deterministic: lines and exclusions are ordered by asset id whatever the input order. An asset may
    appear only once (``PolicyError`` ``duplicate_asset``); an eligible asset's ``low`` must be a finite,
    non-negative Decimal (``PolicyError`` ``invalid_valuation``).
    """
    currency = rules.currency

    def money(value: Decimal) -> Decimal:
        return quantize(value, currency=currency, rounding=CREDIT_ROUNDING)

    items = sorted(collateral, key=lambda item: item.asset_id)
    for previous, item in pairwise(items):
        if previous.asset_id == item.asset_id:
            raise PolicyError("duplicate_asset", f"Asset {item.asset_id} is listed twice.", "collateral")

    per_asset_cap = None if rules.max_secured_per_asset is None else money(rules.max_secured_per_asset)
    caps_applied: list[str] = []
    lines: list[ExplanationLine] = []
    excluded: list[dict] = []
    for item in items:
        reason = _exclusion_reason(rules, item)
        if reason is not None:
            excluded.append({"asset": item.asset_id, "reason": reason})
            continue
        low = item.low
        if isinstance(low, bool) or not isinstance(low, Decimal) or not low.is_finite() or low < ZERO:
            raise PolicyError(
                "invalid_valuation",
                f"Valuation {item.valuation_id} of asset {item.asset_id} has no usable low value ({low!r}).",
                "collateral",
            )
        collateral_value = money(low)
        rate = _pledge_rate(rules, item)
        amount = money(collateral_value * rate)
        if per_asset_cap is not None and amount > per_asset_cap:
            amount = per_asset_cap
            if CAP_MAX_SECURED_PER_ASSET not in caps_applied:
                caps_applied.append(CAP_MAX_SECURED_PER_ASSET)
        lines.append(
            ExplanationLine(
                asset=item.asset_id,
                kind=item.kind,
                valuation=item.valuation_id,
                collateral_value=collateral_value,
                pledge_rate=rate,
                amount=amount,
            )
        )

    secured = money(sum((line.amount for line in lines), ZERO))
    unsecured_amount = rules.unsecured_by_tier.get(tier) if tier is not None else None
    unsecured = money(ZERO if unsecured_amount is None else unsecured_amount)
    limit = secured + unsecured
    if rules.max_amount is not None:
        max_amount = money(rules.max_amount)
        if limit > max_amount:
            limit = max_amount
            caps_applied.append(CAP_MAX_AMOUNT)

    return LimitResult(
        limit=limit,
        secured=secured,
        unsecured=unsecured,
        currency=currency,
        lines=tuple(lines),
        caps_applied=tuple(caps_applied),
        excluded=tuple(excluded),
        tier=tier,
    )
