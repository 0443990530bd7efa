"""The valuation parameter set: every default of domain.md section 6, versioned and stored with each result.

All rates are ``Decimal`` fractions built from strings (``Decimal("0.14")`` is 14 %). A parameter set is
immutable; change one with ``dataclasses.replace`` and give it a new ``version``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from valuation.methods.types import ValuationMethod, number_str

ZERO = Decimal(0)
ONE = Decimal(1)


def parse_decimal(value: object, name: str) -> Decimal:
    """A parameter Decimal from a Decimal, a string or an int; floats are refused (binary noise).

    Shared with ``valuation.points`` (the innovation parameters): ``name`` is the parameter in the messages.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"parameter {name}: {value!r} is not a decimal number") from None
    elif isinstance(value, int) and not isinstance(value, bool):
        result = Decimal(value)
    else:
        raise TypeError(f"parameter {name} must be a Decimal, a string or an int, not {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"parameter {name} must be finite, not {result}")
    return result


def parse_int(value: object, name: str) -> int:
    """A parameter int; a bool is refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"parameter {name} must be an int, not {type(value).__name__}")
    return value


def _range(value: object, name: str) -> tuple[Decimal, Decimal]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise TypeError(f"parameter {name} must be a (low, high) pair")
    low, high = parse_decimal(value[0], f"{name}[0]"), parse_decimal(value[1], f"{name}[1]")
    if not ZERO <= low <= high <= ONE:
        raise ValueError(f"parameter {name} must satisfy 0 <= low <= high <= 1, not ({low}, {high})")
    return low, high


_INT_FIELDS = (
    "software_term_years",
    "mc_paths",
    "economic_life_spread_years",
    "legacy_design_term_years",
    "market_min_comparables",
)
_DECIMAL_FIELDS = (
    "tax_rate",
    "growth_rate",
    "growth_sd",
    "default_quality_score",
    "cost_quality_sd",
    "pending_patent_factor",
    "growth_floor",
    "discount_rate_spread",
    "discount_rate_floor",
    "market_price_index_at_valuation",
    "market_dispersion_floor",
    "ip_profit_margin",
    "share_rate_spread",
)
_RANGE_FIELDS = ("default_royalty_range", "ip_profit_share_range")


@dataclass(frozen=True)
class Parameters:
    version: str
    discount_rate_by_kind: Mapping[str, Decimal]
    royalty_range_by_industry: Mapping[str, tuple[Decimal, Decimal]]  # sales royalty k, (low, high)
    default_royalty_range: tuple[Decimal, Decimal]
    tax_rate: Decimal
    growth_rate: Decimal  # revenue growth g (before the observed-CAGR cap)
    growth_sd: Decimal  # standard deviation of g in the simulation
    economic_life_cap_years_by_kind: Mapping[str, int]
    legal_term_years_by_patent_type: Mapping[str, int]
    software_term_years: int
    default_quality_score: Decimal  # Q (0..100) when a data asset (or a comparable) has no quality scores
    # relative standard deviation of the quality score Q in the simulation: the cost approach's delta = Q/100
    # and the market approach's X_quality = Q_subject / Q_comparable move together on a path
    cost_quality_sd: Decimal
    pending_patent_factor: Decimal
    # kind -> method -> weight; the order of a kind's methods is the order they are tried in
    method_weights_by_kind: Mapping[str, Mapping[str, Decimal]]
    mc_paths: int
    # Rules the brief fixes as numbers, kept configurable:
    growth_floor: Decimal = Decimal("-0.10")  # g after the CAGR cap is never below this
    discount_rate_spread: Decimal = Decimal("0.03")  # i ~ Uniform(i - spread, i + spread)
    discount_rate_floor: Decimal = Decimal("0.05")  # ... floored here
    # Economic life E on a path ~ Uniform(E - w, E + w), w = min(spread, E / 2), then capped by the remaining
    # legal life: symmetric around the estimate, never beyond the legal end (engine 1.1; 1.0 drew [n - 2, n]).
    economic_life_spread_years: int = 2
    # Patent Law 2021 amendment: designs filed before 1 June 2021 keep the old 10-year term.
    legacy_design_term_years: int = 10
    legacy_design_term_filed_before: date = field(default=date(2021, 6, 1))
    # Market approach (domain.md 1.2): at least this many comparable transactions, or the method is skipped
    market_min_comparables: int = 2
    # X_date = index at valuation / the comparable's price_index_at_trade (a comparable without one: 1)
    market_price_index_at_valuation: Decimal = Decimal("100")
    # relative standard deviation of the comparables' adjusted prices is never taken below this; a path's
    # market value = mean x max(0, 1 + dispersion / sqrt(m) x z)
    market_dispersion_floor: Decimal = Decimal("0.10")
    # Income approach for patents, trademarks and software (domain.md 2.2): F_t = Rev_t x K_profit x margin
    # x (1 - tax), K_profit ~ Uniform(profit-share range) (25 % "four-way" to 33 % "three-way" split)
    ip_profit_share_range: tuple[Decimal, Decimal] = (Decimal("0.25"), Decimal("0.33"))
    ip_profit_margin: Decimal = Decimal("0.15")  # [A] profit margin turning a profit share into a sales rate
    # Share variant for data: K on a path ~ Uniform(K x (1 - s), K x (1 + s)), kept within [0, 1] symmetrically
    share_rate_spread: Decimal = Decimal("0.20")

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.version, str) or not self.version:
            raise ValueError("parameter version must be a non-empty string")
        set_(
            self,
            "discount_rate_by_kind",
            MappingProxyType(
                {
                    str(kind): parse_decimal(rate, f"discount_rate_by_kind.{kind}")
                    for kind, rate in self.discount_rate_by_kind.items()
                }
            ),
        )
        set_(
            self,
            "royalty_range_by_industry",
            MappingProxyType(
                {
                    str(code): _range(pair, f"royalty_range_by_industry.{code}")
                    for code, pair in self.royalty_range_by_industry.items()
                }
            ),
        )
        for name in _RANGE_FIELDS:
            set_(self, name, _range(getattr(self, name), name))
        for name in _DECIMAL_FIELDS:
            set_(self, name, parse_decimal(getattr(self, name), name))
        set_(
            self,
            "economic_life_cap_years_by_kind",
            MappingProxyType(
                {
                    str(kind): parse_int(years, f"economic_life_cap_years_by_kind.{kind}")
                    for kind, years in self.economic_life_cap_years_by_kind.items()
                }
            ),
        )
        set_(
            self,
            "legal_term_years_by_patent_type",
            MappingProxyType(
                {
                    str(kind): parse_int(years, f"legal_term_years_by_patent_type.{kind}")
                    for kind, years in self.legal_term_years_by_patent_type.items()
                }
            ),
        )
        for name in _INT_FIELDS:
            parse_int(getattr(self, name), name)
        if not isinstance(self.legacy_design_term_filed_before, date):
            raise TypeError("parameter legacy_design_term_filed_before must be a date")
        valid_methods = {m.value for m in ValuationMethod}
        weights: dict[str, Mapping[str, Decimal]] = {}
        for kind, by_method in self.method_weights_by_kind.items():
            unknown = set(map(str, by_method)) - valid_methods
            if unknown:
                names = ", ".join(sorted(unknown))
                raise ValueError(f"parameter method_weights_by_kind.{kind}: unknown methods {names}")
            weights[str(kind)] = MappingProxyType(
                {
                    str(method): parse_decimal(weight, f"method_weights_by_kind.{kind}.{method}")
                    for method, weight in by_method.items()
                }
            )
        set_(self, "method_weights_by_kind", MappingProxyType(weights))
        self._check()

    def _check(self) -> None:
        problems = []
        if any(rate <= -ONE for rate in self.discount_rate_by_kind.values()):
            problems.append("discount rates must be above -1")
        if not ZERO <= self.tax_rate < ONE:
            problems.append("tax_rate must be in [0, 1)")
        if self.growth_sd < 0 or self.cost_quality_sd < 0 or self.discount_rate_spread < 0:
            problems.append("standard deviations and spreads cannot be negative")
        if not -ONE < self.growth_floor <= self.growth_rate:
            problems.append("growth_floor must be in (-1, growth_rate]")
        if self.discount_rate_floor <= -ONE:
            problems.append("discount_rate_floor must be above -1")
        if not ZERO <= self.default_quality_score <= Decimal(100):
            problems.append("default_quality_score must be in [0, 100]")
        if not ZERO <= self.pending_patent_factor <= ONE:
            problems.append("pending_patent_factor must be in [0, 1]")
        if self.mc_paths < 1:
            problems.append("mc_paths must be at least 1")
        if self.economic_life_spread_years < 0:
            problems.append("economic_life_spread_years cannot be negative")
        if any(years < 1 for years in self.economic_life_cap_years_by_kind.values()):
            problems.append("economic life caps must be at least 1 year")
        if any(years < 1 for years in self.legal_term_years_by_patent_type.values()):
            problems.append("legal terms must be at least 1 year")
        if any(w < 0 for by_method in self.method_weights_by_kind.values() for w in by_method.values()):
            problems.append("method weights cannot be negative")
        if self.market_min_comparables < 1:
            problems.append("market_min_comparables must be at least 1")
        if self.market_price_index_at_valuation <= 0:
            problems.append("market_price_index_at_valuation must be above 0")
        if self.market_dispersion_floor < 0:
            problems.append("market_dispersion_floor cannot be negative")
        if not ZERO <= self.ip_profit_margin <= ONE:
            problems.append("ip_profit_margin must be in [0, 1]")
        if not ZERO <= self.share_rate_spread < ONE:
            problems.append("share_rate_spread must be in [0, 1)")
        if problems:
            raise ValueError("invalid parameters: " + "; ".join(problems))

    # --- storage -----------------------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (decimals as strings, dates ISO), e.g. to store with each valuation."""

        def rng(pair: tuple[Decimal, Decimal]) -> list[str]:
            return [number_str(pair[0]), number_str(pair[1])]

        return {
            "version": self.version,
            "discount_rate_by_kind": {k: number_str(v) for k, v in self.discount_rate_by_kind.items()},
            "royalty_range_by_industry": {k: rng(v) for k, v in self.royalty_range_by_industry.items()},
            "default_royalty_range": rng(self.default_royalty_range),
            "tax_rate": number_str(self.tax_rate),
            "growth_rate": number_str(self.growth_rate),
            "growth_sd": number_str(self.growth_sd),
            "economic_life_cap_years_by_kind": dict(self.economic_life_cap_years_by_kind),
            "legal_term_years_by_patent_type": dict(self.legal_term_years_by_patent_type),
            "software_term_years": self.software_term_years,
            "default_quality_score": number_str(self.default_quality_score),
            "cost_quality_sd": number_str(self.cost_quality_sd),
            "pending_patent_factor": number_str(self.pending_patent_factor),
            "method_weights_by_kind": {
                kind: {m: number_str(w) for m, w in by_method.items()}
                for kind, by_method in self.method_weights_by_kind.items()
            },
            "mc_paths": self.mc_paths,
            "growth_floor": number_str(self.growth_floor),
            "discount_rate_spread": number_str(self.discount_rate_spread),
            "discount_rate_floor": number_str(self.discount_rate_floor),
            "economic_life_spread_years": self.economic_life_spread_years,
            "legacy_design_term_years": self.legacy_design_term_years,
            "legacy_design_term_filed_before": self.legacy_design_term_filed_before.isoformat(),
            "market_min_comparables": self.market_min_comparables,
            "market_price_index_at_valuation": number_str(self.market_price_index_at_valuation),
            "market_dispersion_floor": number_str(self.market_dispersion_floor),
            "ip_profit_share_range": rng(self.ip_profit_share_range),
            "ip_profit_margin": number_str(self.ip_profit_margin),
            "share_rate_spread": number_str(self.share_rate_spread),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Parameters:
        """The inverse of ``as_dict``: a stored parameter set back as ``Parameters``."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown parameters: {', '.join(unknown)}")
        values = dict(data)
        if "royalty_range_by_industry" in values:
            ranges = values["royalty_range_by_industry"]
            values["royalty_range_by_industry"] = {code: tuple(pair) for code, pair in ranges.items()}
        for name in _RANGE_FIELDS:
            if name in values:
                values[name] = tuple(values[name])
        if isinstance(values.get("legacy_design_term_filed_before"), str):
            cutoff = values["legacy_design_term_filed_before"]
            values["legacy_design_term_filed_before"] = date.fromisoformat(cutoff)
        return cls(**values)

    def __hash__(self) -> int:  # the mappings are read-only proxies, which do not hash themselves
        return hash(json.dumps(self.as_dict(), sort_keys=True))

    def __reduce__(self) -> tuple[Any, ...]:  # mapping proxies do not pickle; a stored dict does
        return (Parameters.from_dict, (self.as_dict(),))

    # --- look-ups -----------------------------------------------------------------------------------

    def royalty_range(self, industry: str) -> tuple[tuple[Decimal, Decimal], bool]:
        """The industry's sales-royalty range and whether it was found (False: the default range)."""
        pair = self.royalty_range_by_industry.get(industry)
        return (pair, True) if pair is not None else (self.default_royalty_range, False)


def _d(text: str) -> Decimal:
    return Decimal(text)


DEFAULT_PARAMETERS = Parameters(
    version="2026.2",
    # domain.md 6: 12 % data, 14 % patents (range 10-20 %); trademarks 13 %, software 14 % [A]
    discount_rate_by_kind={
        "data": _d("0.12"),
        "patent": _d("0.14"),
        "trademark": _d("0.13"),
        "software": _d("0.14"),
    },
    # UNIDO sales royalties (domain.md 2.2) mapped to the Hubei industry codes (domain.md 5)
    royalty_range_by_industry={
        "OPTO_ELEC": (_d("0.07"), _d("0.10")),  # optical / electronic 7-10 %
        "NEV_ICV": (_d("0.045"), _d("0.06")),  # automotive 4.5-6 %
        "AUTO_SERVICE": (_d("0.045"), _d("0.06")),  # automotive 4.5-6 %
        "LIFE_HEALTH": (_d("0.025"), _d("0.04")),  # pharmaceuticals 2.5-4 %
        "HIGH_END_EQUIP": (_d("0.015"), _d("0.03")),  # machinery 1.5-3 %
        "BEIDOU": (_d("0.04"), _d("0.055")),  # precision instruments 4-5.5 %
        "MODERN_CHEM": (_d("0.02"), _d("0.035")),  # chemicals 2-3.5 %
        "SOFTWARE": (_d("0.03"), _d("0.05")),  # no UNIDO row: the default range [A]
    },
    default_royalty_range=(_d("0.03"), _d("0.05")),
    tax_rate=_d("0.25"),
    growth_rate=_d("0.05"),
    growth_sd=_d("0.02"),
    # domain.md 2.1 [A]: patents <= 10 y, trademarks 5-10 y, software 3-5 y; data 3-5 y (section 6)
    economic_life_cap_years_by_kind={"data": 5, "patent": 10, "trademark": 10, "software": 5},
    # Patent Law Art. 42 (domain.md 2.1)
    legal_term_years_by_patent_type={"invention": 20, "utility_model": 10, "design": 15},
    software_term_years=50,
    default_quality_score=_d("60"),
    cost_quality_sd=_d("0.10"),
    pending_patent_factor=_d("0.5"),
    # Reconciliation [A] (domain.md 1.2: use at least two methods when the data allows); the weights are
    # renormalised over the methods that apply, and a kind's methods are tried in this order.
    method_weights_by_kind={
        "data": {ValuationMethod.COST: _d("0.4"), ValuationMethod.INCOME: _d("0.4"), ValuationMethod.MARKET: _d("0.2")},
        "patent": {
            ValuationMethod.RELIEF_FROM_ROYALTY: _d("0.6"),
            ValuationMethod.INCOME: _d("0.3"),
            ValuationMethod.MARKET: _d("0.1"),
        },
        "trademark": {
            ValuationMethod.RELIEF_FROM_ROYALTY: _d("0.6"),
            ValuationMethod.INCOME: _d("0.3"),
            ValuationMethod.MARKET: _d("0.1"),
        },
        "software": {
            ValuationMethod.RELIEF_FROM_ROYALTY: _d("0.6"),
            ValuationMethod.INCOME: _d("0.3"),
            ValuationMethod.MARKET: _d("0.1"),
        },
    },
    mc_paths=2000,
)
