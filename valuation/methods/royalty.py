"""Relief from royalty for patents, trademarks and software (domain.md 2.1, 2.2).

``V = sum_{t=1..n} Rev_t x k x (1 - tax) / (1 + i)^t``

Rules (all stated again in each result's drivers):

* Revenue: ``Rev_1 = R x (1 + g)`` where R is the latest year's revenue in ``revenue_history`` (years after
  the valuation date's year are ignored as not yet earned), then ``Rev_t = Rev_{t-1} x (1 + g)``.
* Growth: ``g = params.growth_rate``; with two or more years of history whose first amount is positive, g is
  capped by the observed compound annual growth rate between the first and the last year
  (``CAGR = (R_last / R_first)^(1 / years between) - 1``), and never set below ``params.growth_floor``.
* Royalty rate k: the middle of the industry's UNIDO range (``params.royalty_range_by_industry``); industries
  without a range use ``params.default_royalty_range``.
* Life n: ``min(economic-life cap by kind, remaining legal life)`` in years. Remaining legal life runs from
  the valuation date to: patents, filing date + legal term by ``patent_type``; trademarks, ``valid_until``
  (renewal is not assumed); software, 31 December of the 50th year after ``first_published_on`` (or
  ``completed_on`` when never published). It is counted in whole years by calendar anniversary plus the
  fraction (in days) of the next year. A fractional final year counts proportionally: its cash flow is
  multiplied by the fraction f and discounted at ``(1 + i)^(t - 1 + f)``, the end of the partial period.
* A patent that is lapsed, expired or invalidated, or any asset whose legal protection has ended, is worth
  zero. A pending patent's value is multiplied by ``params.pending_patent_factor``.

Simulation (vectorised over paths): ``g ~ Normal(g, growth_sd)``, ``i ~ Uniform(i - spread, i + spread)``
floored at ``discount_rate_floor``, ``k ~ Uniform(low, high)``, life ``= n - j`` with j discrete uniform over
``0..min(spread, floor(n) - 1)`` (for whole n: ``[max(1, n - 2), n]``), so a path's life never exceeds the
remaining legal life.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from common.money import quantize, quantize_rate
from valuation.methods.parameters import Parameters
from valuation.methods.types import (
    MethodFigure,
    RevenueYear,
    ValuationInput,
    ValuationMethod,
    invalid,
    money_str,
    number_str,
    percentiles,
    read_date,
    read_revenue_history,
)

ROYALTY_KINDS = ("patent", "trademark", "software")
TERMINATED_PATENT_STATUSES = ("lapsed", "expired", "invalidated")
PATENT_STATUSES = ("pending", "valid", *TERMINATED_PATENT_STATUSES)
ZERO = Decimal(0)
ONE = Decimal(1)


# --- calendar ------------------------------------------------------------------------------------------


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def years_between(start: date, end: date) -> Decimal:
    """Whole years by anniversary plus the day fraction of the next year, to 6 places.

    Zero or negative when ``end`` is not after ``start``.
    """
    if end <= start:
        return quantize_rate(Decimal((end - start).days) / Decimal(365))
    whole = end.year - start.year
    if add_years(start, whole) > end:
        whole -= 1
    anchor, following = add_years(start, whole), add_years(start, whole + 1)
    return quantize_rate(whole + Decimal((end - anchor).days) / Decimal((following - anchor).days))


# --- what the method uses ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LegalLife:
    end: date
    remaining_years: Decimal
    rule: str


@dataclass(frozen=True)
class RoyaltyBasis:
    kind: str
    legal: LegalLife | None
    zero_reason: str | None = None
    revenue: tuple[RevenueYear, ...] = ()  # the years used
    ignored_years: tuple[int, ...] = ()
    growth_rate: Decimal = ZERO
    growth_rule: str = ""
    observed_cagr: Decimal | None = None
    royalty_range: tuple[Decimal, Decimal] = (ZERO, ZERO)
    royalty_range_source: str = ""
    tax_rate: Decimal = ZERO
    discount_rate: Decimal = ZERO
    life_cap_years: int = 0
    life_years: Decimal = ZERO  # n, possibly fractional
    factor: Decimal = ONE
    factor_rule: str = ""

    @property
    def base_revenue(self) -> Decimal:
        return self.revenue[-1].amount

    @property
    def royalty_rate(self) -> Decimal:
        return (self.royalty_range[0] + self.royalty_range[1]) / 2

    @property
    def point_value(self) -> Decimal:
        """The deterministic value with the central inputs (unrounded)."""
        if self.zero_reason is not None:
            return ZERO
        total, revenue = ZERO, self.base_revenue
        after_tax_rate = self.royalty_rate * (ONE - self.tax_rate)
        for t in range(1, math.ceil(self.life_years) + 1):
            revenue *= ONE + self.growth_rate
            share = min(ONE, self.life_years - (t - 1))
            total += revenue * share * after_tax_rate / (ONE + self.discount_rate) ** ((t - 1) + share)
        return total * self.factor


def _required(details: Mapping[str, Any], name: str, why: str) -> str | None:
    return None if details.get(name) not in (None, "") else f"details.{name} is missing: {why}"


def legal_life(inp: ValuationInput, params: Parameters) -> LegalLife | str:
    """The end of legal protection and the years left at ``inp.as_of``, or what data is missing."""
    details = inp.details
    if inp.kind == "patent":
        why = "the patent's legal term runs from its filing date by type"
        for name in ("patent_type", "filing_date"):
            if missing := _required(details, name, why):
                return missing
        patent_type = details["patent_type"]
        filed = read_date(details["filing_date"], "filing_date")
        if not isinstance(patent_type, str) or patent_type not in params.legal_term_years_by_patent_type:
            types = ", ".join(params.legal_term_years_by_patent_type)
            raise invalid("patent_type", f"{patent_type!r} is not one of {types}")
        term = params.legal_term_years_by_patent_type[patent_type]
        name = patent_type.replace("_", " ")
        rule = f"{name} patent: {term} years from the filing date {filed.isoformat()}"
        if patent_type == "design" and filed < params.legacy_design_term_filed_before:
            term = params.legacy_design_term_years
            rule = (
                f"design patent filed before {params.legacy_design_term_filed_before.isoformat()}: "
                f"{term} years from the filing date {filed.isoformat()} "
                f"(Patent Law before the 2021 amendment)"
            )
        end = add_years(filed, term)
    elif inp.kind == "trademark":
        why = "a trademark's value runs to the end of its registration"
        if missing := _required(details, "valid_until", why):
            return missing
        end = read_date(details["valid_until"], "valid_until")
        rule = (
            f"trademark registration valid until {end.isoformat()}; renewal is possible but not certain, "
            f"so it is not assumed"
        )
    elif inp.kind == "software":
        published = details.get("first_published_on")
        if published not in (None, ""):
            base, basis = read_date(published, "first_published_on"), "first publication"
        else:
            if missing := _required(
                details, "completed_on", "software protection runs from first publication or completion"
            ):
                return missing
            base, basis = read_date(details["completed_on"], "completed_on"), "completion (never published)"
        end = date(base.year + params.software_term_years, 12, 31)
        rule = (
            f"software of a legal person: to 31 December of the {params.software_term_years}th year after "
            f"{basis} on {base.isoformat()}"
        )
    else:
        return f"relief from royalty applies to {', '.join(ROYALTY_KINDS)} assets, not {inp.kind}"
    return LegalLife(end=end, remaining_years=years_between(inp.as_of, end), rule=rule)


def _growth(revenue: tuple[RevenueYear, ...], params: Parameters) -> tuple[Decimal, str, Decimal | None]:
    default = params.growth_rate
    if len(revenue) < 2:
        return default, f"one year of revenue: the default growth rate {number_str(default)} is used", None
    first, last = revenue[0], revenue[-1]
    if first.amount <= 0:
        return (
            default,
            f"the observed growth is undefined (revenue {first.year} is zero): the default growth "
            f"rate {number_str(default)} is used",
            None,
        )
    span = last.year - first.year
    cagr = quantize_rate((last.amount / first.amount) ** (ONE / span) - ONE)
    growth = max(params.growth_floor, min(default, cagr))
    rule = (
        f"g = min(default {number_str(default)}, observed CAGR {first.year}-{last.year} {number_str(cagr)})"
        f", not below {number_str(params.growth_floor)}: {number_str(growth)}"
    )
    return growth, rule, cagr


def royalty_basis(inp: ValuationInput, params: Parameters) -> RoyaltyBasis | str:
    """Everything the method uses, or the reason it cannot be applied. Malformed data raises."""
    details = inp.details
    if inp.kind == "patent":
        status = details.get("legal_status")
        if status in (None, ""):
            return "details.legal_status is missing: a patent's value depends on whether it is in force"
        if status not in PATENT_STATUSES:
            raise invalid("legal_status", f"{status!r} is not one of {', '.join(PATENT_STATUSES)}")
        if status in TERMINATED_PATENT_STATUSES:
            reason = f"the patent is {status}: it no longer confers an exclusive right, so it is worth zero"
            return RoyaltyBasis(kind=inp.kind, legal=None, zero_reason=reason)
    life = legal_life(inp, params)
    if isinstance(life, str):
        return life
    if life.remaining_years <= 0:
        ended = f"legal protection ended on {life.end.isoformat()} ({life.rule})"
        return RoyaltyBasis(kind=inp.kind, legal=life, zero_reason=f"{ended}, so the asset is worth zero")

    history = read_revenue_history(details.get("revenue_history"))
    if not history:
        return (
            "details.revenue_history is missing or empty: relief from royalty needs at least one year of "
            "revenue earned with the asset"
        )
    revenue = tuple(entry for entry in history if entry.year <= inp.as_of.year)
    ignored = tuple(entry.year for entry in history if entry.year > inp.as_of.year)
    if not revenue:
        return (
            f"details.revenue_history has no year up to {inp.as_of.year} (the valuation date's year); "
            f"later years are not yet earned"
        )
    growth, growth_rule, cagr = _growth(revenue, params)

    royalty_range, found = params.royalty_range(inp.industry)
    source = (
        f"UNIDO range for industry {inp.industry}"
        if found
        else f"default range (industry {inp.industry or '(none)'} has no royalty range)"
    )
    try:
        discount = params.discount_rate_by_kind[inp.kind]
        cap = params.economic_life_cap_years_by_kind[inp.kind]
    except KeyError as exc:
        problem = f"parameter set {params.version} has no {exc.args[0]} entry for {inp.kind}"
        raise ValueError(problem) from None

    factor, factor_rule = ONE, ""
    if inp.kind == "patent" and details.get("legal_status") == "pending":
        factor = params.pending_patent_factor
        factor_rule = f"pending patent: the value is multiplied by {number_str(factor)} (grant not certain)"
    return RoyaltyBasis(
        kind=inp.kind,
        legal=life,
        revenue=revenue,
        ignored_years=ignored,
        growth_rate=growth,
        growth_rule=growth_rule,
        observed_cagr=cagr,
        royalty_range=royalty_range,
        royalty_range_source=source,
        tax_rate=params.tax_rate,
        discount_rate=discount,
        life_cap_years=cap,
        life_years=min(Decimal(cap), life.remaining_years),
        factor=factor,
        factor_rule=factor_rule,
    )


# --- the calculator ---------------------------------------------------------------------------------------


def simulate(basis: RoyaltyBasis, params: Parameters, rng: np.random.Generator) -> np.ndarray:
    """The value of each path (numpy, vectorised over paths and years)."""
    paths = params.mc_paths
    # Draw in a fixed order and always all of them, so the stream does not depend on the data.
    normal = rng.standard_normal(paths)
    uniform_rate = rng.random(paths)
    uniform_royalty = rng.random(paths)
    life = float(basis.life_years)
    shortest = min(params.economic_life_spread_years, max(0, math.floor(life) - 1))
    shortening = rng.integers(0, shortest, size=paths, endpoint=True)

    growth = np.maximum(float(basis.growth_rate) + float(params.growth_sd) * normal, -1.0)
    spread = float(params.discount_rate_spread)
    rate = np.maximum(
        float(basis.discount_rate) - spread + 2.0 * spread * uniform_rate, float(params.discount_rate_floor)
    )
    low, high = float(basis.royalty_range[0]), float(basis.royalty_range[1])
    royalty = low + (high - low) * uniform_royalty
    path_life = life - shortening

    years = np.arange(1, math.ceil(life) + 1, dtype=float)  # at most the economic-life cap
    share = np.clip(path_life[:, None] - (years - 1.0), 0.0, 1.0)
    revenue = float(basis.base_revenue) * (1.0 + growth[:, None]) ** years
    discount = (1.0 + rate[:, None]) ** ((years - 1.0) + share)
    present = (revenue * share / discount).sum(axis=1)
    return present * royalty * (1.0 - float(basis.tax_rate)) * float(basis.factor)


class ReliefFromRoyaltyCalculator:
    method = ValuationMethod.RELIEF_FROM_ROYALTY
    detail_fields = (
        "patent_type",
        "filing_date",
        "legal_status",
        "valid_until",
        "completed_on",
        "first_published_on",
        "revenue_history",
    )
    formula = (
        "V = sum over years t = 1..n of Rev_t x k x (1 - tax) / (1 + i)^t: the after-tax royalty the "
        "owner is spared by owning the right, discounted. Rev_1 = latest revenue x (1 + g); k = sales "
        "royalty rate of the industry (UNIDO); i = discount rate of the asset kind; n = min(economic-life "
        "cap, remaining legal life), a fractional final year counting proportionally."
    )

    def applicable(self, inp: ValuationInput, params: Parameters) -> str | None:
        basis = royalty_basis(inp, params)
        return basis if isinstance(basis, str) else None

    def point_value(self, inp: ValuationInput, params: Parameters) -> Decimal:
        """The deterministic value with the central inputs (unrounded)."""
        basis = royalty_basis(inp, params)
        if isinstance(basis, str):
            raise ValueError(basis)
        return basis.point_value

    def compute(self, inp: ValuationInput, params: Parameters, rng: np.random.Generator) -> MethodFigure:
        basis = royalty_basis(inp, params)
        if isinstance(basis, str):
            raise ValueError(basis)
        drivers = self._legal_drivers(basis)
        if basis.zero_reason is not None:
            drivers.update(
                {
                    "point_value": money_str(quantize(ZERO)),
                    "zero_value_reason": basis.zero_reason,
                    "mc_paths": "0",
                },
            )
            return MethodFigure(
                method=self.method,
                value=ZERO,
                low=ZERO,
                high=ZERO,
                weight=ONE,
                drivers=drivers,
            )
        low, value, high = percentiles(simulate(basis, params, rng))
        drivers.update(
            {
                "point_value": money_str(quantize(basis.point_value)),
                "base_year": str(basis.revenue[-1].year),
                "base_revenue": money_str(basis.base_revenue),
                "revenue_years_used": ", ".join(str(entry.year) for entry in basis.revenue),
                "growth_rate": number_str(basis.growth_rate),
                "growth_rule": basis.growth_rule,
                "royalty_rate": number_str(basis.royalty_rate),
                "royalty_range": f"{number_str(basis.royalty_range[0])}-{number_str(basis.royalty_range[1])}",
                "royalty_range_source": basis.royalty_range_source,
                "tax_rate": number_str(basis.tax_rate),
                "discount_rate": number_str(basis.discount_rate),
                "economic_life_cap_years": str(basis.life_cap_years),
                "life_years": number_str(basis.life_years),
                "life_rule": (
                    "n = min(economic-life cap, remaining legal life); a fractional final year f counts "
                    "as f x that year's cash flow, discounted at (1 + i)^(t - 1 + f)"
                ),
                "mc_paths": str(params.mc_paths),
                "simulation": (
                    f"g ~ Normal({number_str(basis.growth_rate)}, {number_str(params.growth_sd)}); "
                    f"i ~ Uniform(i - {number_str(params.discount_rate_spread)}, "
                    f"i + {number_str(params.discount_rate_spread)}) floored at "
                    f"{number_str(params.discount_rate_floor)}; k ~ Uniform(range); life ~ n - j, "
                    f"j discrete uniform over 0..min({params.economic_life_spread_years}, floor(n) - 1)"
                ),
            }
        )
        if basis.observed_cagr is not None:
            drivers["observed_cagr"] = number_str(basis.observed_cagr)
        if basis.ignored_years:
            drivers["ignored_revenue_years"] = ", ".join(map(str, basis.ignored_years))
        if basis.factor_rule:
            drivers["pending_patent_factor"] = number_str(basis.factor)
            drivers["pending_rule"] = basis.factor_rule
        return MethodFigure(method=self.method, value=value, low=low, high=high, weight=ONE, drivers=drivers)

    @staticmethod
    def _legal_drivers(basis: RoyaltyBasis) -> dict[str, str]:
        if basis.legal is None:
            return {}
        return {
            "legal_end_date": basis.legal.end.isoformat(),
            "remaining_legal_life_years": number_str(basis.legal.remaining_years),
            "legal_life_rule": basis.legal.rule,
        }

    def used_details(self, details: Mapping[str, Any]) -> dict[str, Any]:
        """The fields this method reads, normalised and JSON-ready."""
        used: dict[str, Any] = {}
        for name in ("patent_type", "legal_status"):
            if details.get(name) not in (None, ""):
                used[name] = str(details[name])
        for name in ("filing_date", "valid_until", "completed_on", "first_published_on"):
            if details.get(name) not in (None, ""):
                used[name] = read_date(details[name], name).isoformat()
        history = read_revenue_history(details.get("revenue_history"))
        if history:
            used["revenue_history"] = [{"year": e.year, "amount": money_str(e.amount)} for e in history]
        return used
