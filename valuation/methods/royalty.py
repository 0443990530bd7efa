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

Simulation (vectorised over assets and paths, see ``shared``): ``g ~ Normal(g, growth_sd)``,
``i ~ Uniform(i - spread, i + spread)`` floored at ``discount_rate_floor``, ``k ~ Uniform(low, high)``, and
the economic life ``E ~ Uniform(E - w, E + w)`` (E = the kind's economic-life cap, w = min(spread, E / 2))
capped by the remaining legal life, so a path's life never exceeds the remaining legal life and the median
path life is the point life n.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from common.money import quantize
from valuation.methods.parameters import Parameters
from valuation.methods.shared import (
    IP_KINDS,
    PATENT_STATUSES,
    TERMINATED_PATENT_STATUSES,
    BasisCalculator,
    LegalLife,
    Protection,
    add_years,
    column,
    discount_paths,
    discounted_paths,
    discounted_point,
    growth_and_rate_rule,
    growth_paths,
    growth_rule,
    ip_protection,
    legal_drivers,
    legal_life,
    life_paths,
    life_simulation_rule,
    split_history,
    used_legal_details,
    years_between,
)
from valuation.methods.types import (
    MethodFigure,
    RevenueYear,
    ValuationInput,
    ValuationMethod,
    Variates,
    money_str,
    number_str,
    read_revenue_history,
)

ROYALTY_KINDS = IP_KINDS
ZERO = Decimal(0)
ONE = Decimal(1)

__all__ = [
    "PATENT_STATUSES",
    "ROYALTY_KINDS",
    "TERMINATED_PATENT_STATUSES",
    "LegalLife",
    "ReliefFromRoyaltyCalculator",
    "RoyaltyBasis",
    "add_years",
    "kind_rate_and_cap",
    "legal_life",
    "royalty_basis",
    "simulate",
    "simulate_batch",
    "years_between",
]


# --- what the method uses ---------------------------------------------------------------------------------


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
    life_cap_years: int = 0  # E, the economic-life estimate (the kind's cap)
    life_years: Decimal = ZERO  # n = min(E, remaining legal life), possibly fractional
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
        after_tax_rate = self.royalty_rate * (ONE - self.tax_rate)
        present = discounted_point(self.base_revenue, self.growth_rate, self.discount_rate, self.life_years)
        return present * after_tax_rate * self.factor


def _growth(revenue: tuple[RevenueYear, ...], params: Parameters) -> tuple[Decimal, str, Decimal | None]:
    return growth_rule(revenue, params)


def royalty_basis(inp: ValuationInput, params: Parameters) -> RoyaltyBasis | str:
    """Everything the method uses, or the reason it cannot be applied. Malformed data raises."""
    if inp.kind not in ROYALTY_KINDS:
        return f"relief from royalty applies to {', '.join(ROYALTY_KINDS)} assets, not {inp.kind}"
    protection = ip_protection(inp, params)
    if isinstance(protection, str):
        return protection
    if protection.zero_reason is not None:
        return RoyaltyBasis(kind=inp.kind, legal=protection.legal, zero_reason=protection.zero_reason)
    life = protection.legal
    assert life is not None  # noqa: S101 - a protection without a zero reason has a legal life

    history = read_revenue_history(inp.details.get("revenue_history"))
    if not history:
        return (
            "details.revenue_history is missing or empty: relief from royalty needs at least one year of "
            "revenue earned with the asset"
        )
    revenue, ignored = split_history(history, inp.as_of)
    if not revenue:
        return (
            f"details.revenue_history has no year up to {inp.as_of.year} (the valuation date's year); "
            f"later years are not yet earned"
        )
    growth, rule, cagr = growth_rule(revenue, params)

    royalty_range, found = params.royalty_range(inp.industry)
    source = (
        f"UNIDO range for industry {inp.industry}"
        if found
        else f"default range (industry {inp.industry or '(none)'} has no royalty range)"
    )
    discount, cap = kind_rate_and_cap(inp.kind, params)
    return RoyaltyBasis(
        kind=inp.kind,
        legal=life,
        revenue=revenue,
        ignored_years=ignored,
        growth_rate=growth,
        growth_rule=rule,
        observed_cagr=cagr,
        royalty_range=royalty_range,
        royalty_range_source=source,
        tax_rate=params.tax_rate,
        discount_rate=discount,
        life_cap_years=cap,
        life_years=min(Decimal(cap), life.remaining_years),
        factor=protection.factor,
        factor_rule=protection.factor_rule,
    )


def kind_rate_and_cap(kind: str, params: Parameters) -> tuple[Decimal, int]:
    """The kind's discount rate and economic-life cap; a parameter set without them is a configuration error."""
    try:
        return params.discount_rate_by_kind[kind], params.economic_life_cap_years_by_kind[kind]
    except KeyError as exc:
        problem = f"parameter set {params.version} has no {exc.args[0]} entry for {kind}"
        raise ValueError(problem) from None


# --- simulation ------------------------------------------------------------------------------------------


def simulate_batch(bases: Sequence[RoyaltyBasis], params: Parameters, variates: Variates) -> np.ndarray:
    """The value of each asset (row) and path (column), one numpy computation for the whole batch."""
    live = [basis.zero_reason is None for basis in bases]
    base = column([float(b.base_revenue) if ok else 0.0 for b, ok in zip(bases, live, strict=True)])
    growth = growth_paths(column([float(b.growth_rate) for b in bases]), variates.growth, params)
    rate = discount_paths(column([float(b.discount_rate) for b in bases]), variates.discount, params)
    low = column([float(b.royalty_range[0]) for b in bases])
    high = column([float(b.royalty_range[1]) for b in bases])
    royalty = low[:, None] + (high - low)[:, None] * variates.rate
    economic = column([float(b.life_cap_years) if ok else 0.0 for b, ok in zip(bases, live, strict=True)])
    legal = column(
        [float(b.legal.remaining_years) if ok and b.legal else 0.0 for b, ok in zip(bases, live, strict=True)]
    )
    life = life_paths(economic, legal, variates.life, params)
    present = discounted_paths(base, growth, rate, life)
    after_tax = column([1.0 - float(b.tax_rate) for b in bases])
    factor = column([float(b.factor) if ok else 0.0 for b, ok in zip(bases, live, strict=True)])
    return present * royalty * after_tax[:, None] * factor[:, None]


def simulate(basis: RoyaltyBasis, params: Parameters, rng: np.random.Generator) -> np.ndarray:
    """One asset's simulated values (shape ``(paths,)``), from ``rng``'s variates."""
    return simulate_batch([basis], params, Variates.draw(rng, params.mc_paths))[0]


# --- the calculator ---------------------------------------------------------------------------------------


class ReliefFromRoyaltyCalculator(BasisCalculator[RoyaltyBasis]):
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

    def basis(self, inp: ValuationInput, params: Parameters) -> RoyaltyBasis | str:
        return royalty_basis(inp, params)

    def simulate_basis_batch(self, bases: Sequence[RoyaltyBasis], params: Parameters, variates: Variates) -> np.ndarray:
        return simulate_batch(bases, params, variates)

    def figure(
        self, basis: RoyaltyBasis, params: Parameters, low: Decimal, value: Decimal, high: Decimal
    ) -> MethodFigure:
        drivers = legal_drivers(Protection(legal=basis.legal))
        if basis.zero_reason is not None:
            return self.zero_figure(drivers, basis.zero_reason)
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
                    f"{growth_and_rate_rule(basis.growth_rate, params)}; k ~ Uniform(range); "
                    f"{life_simulation_rule(params)}"
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
        key_drivers = ("base_revenue", "royalty_rate", "discount_rate", "life_years")
        return self.method_figure(drivers, key_drivers, low, value, high)

    def used_details(self, details: Mapping[str, Any]) -> dict[str, Any]:
        """The fields this method reads, normalised and JSON-ready."""
        used = used_legal_details(details)
        history = read_revenue_history(details.get("revenue_history"))
        if history:
            used["revenue_history"] = [{"year": e.year, "amount": money_str(e.amount)} for e in history]
        return used
