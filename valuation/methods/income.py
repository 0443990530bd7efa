"""Income approach (domain.md 1.2 for data assets, 2.2 for patents, trademarks and software).

``V = sum_{t=1..n} F_t / (1 + i)^t`` with ``F_t = F_0 x m x (1 + g)^t`` (``shared.discounted_point``: a
fractional final year counts proportionally, as in relief from royalty).

Data assets read ``details["income"]``; its ``variant`` says what F_0 is (the latest year up to the valuation
date's year; later years are ignored as not yet earned):

=================  ==========================================================  ===========================
variant            F_0 (m = 1 unless stated)                                   growth g from the CAGR of
=================  ==========================================================  ===========================
direct             EBIT of the latest year of ``income.ebit_history``          ``income.ebit_history``
share              latest ``revenue_history`` amount, m = ``share_rate`` K     ``revenue_history``
excess_earnings    max(0, revenue - ``contributory_charges`` of that year)     ``revenue_history``
incremental        max(0, revenue - ``revenue_without_history`` of that        ``revenue_history``
                   year); else the latest ``cost_savings`` amount              (else ``cost_savings``)
=================  ==========================================================  ===========================

The growth of the excess-earnings and incremental variants is read from the revenue history, not from the
difference series: the business grows, the charges do not cancel it, and more revenue can then never
lower the value. When both ``revenue_without_history`` and ``cost_savings`` are given, the revenue
increment is used and the cost savings are ignored (said in the drivers). Data income is valued as given
(no tax), with the data discount rate. n = ``economic_life_years`` (default: the kind's economic-life cap),
never above that cap; data have no legal end.

Patents, trademarks and software (no ``income`` detail): the profit-share variant on ``revenue_history``,
``F_t = Rev_t x K_profit x margin x (1 - tax)`` with ``K_profit`` from ``params.ip_profit_share_range`` (25 %
"four-way" to 33 % "three-way" split, domain.md 2.2) and ``params.ip_profit_margin`` [A], so the implied
sales rate is ``k_sales = K_profit x margin``. The life, the pending-patent factor and the zero value of a
terminated right follow relief from royalty exactly (``shared.ip_protection``).

Simulation (vectorised over assets and paths): g, the discount rate and the economic life as in
``shared``; the rate m ~ Uniform(range) (data share: ``K x (1 - s)..K x (1 + s)``, kept within [0, 1]
symmetrically around K; IP: the profit-share range times the margin); the amount variants have m = 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from common.money import quantize
from valuation.methods.parameters import Parameters
from valuation.methods.royalty import kind_rate_and_cap
from valuation.methods.shared import (
    IP_KINDS,
    BasisCalculator,
    Protection,
    column,
    discount_paths,
    discounted_paths,
    discounted_point,
    growth_and_rate_rule,
    growth_paths,
    growth_rule,
    ip_protection,
    legal_drivers,
    life_paths,
    life_simulation_rule,
    split_history,
    used_legal_details,
)
from valuation.methods.types import (
    MethodFigure,
    RevenueYear,
    ValuationInput,
    ValuationMethod,
    Variates,
    invalid,
    money_str,
    number_str,
    read_decimal,
    read_int,
    read_mapping,
    read_revenue_history,
)

INCOME_VARIANTS = ("direct", "share", "excess_earnings", "incremental")
IP_VARIANT = "profit_share"
INCOME_HISTORIES = ("ebit_history", "contributory_charges", "revenue_without_history", "cost_savings")
ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True)
class IncomeBasis:
    kind: str
    variant: str  # one of INCOME_VARIANTS for data, IP_VARIANT for patents, trademarks and software
    zero_reason: str | None = None
    protection: Protection | None = None
    base_year: int = 0
    base_amount: Decimal = ZERO  # F_0 before the rate m
    base_rule: str = ""
    history_label: str = ""
    years_used: tuple[int, ...] = ()
    ignored_years: tuple[int, ...] = ()
    growth_rate: Decimal = ZERO
    growth_rule: str = ""
    observed_cagr: Decimal | None = None
    rate_range: tuple[Decimal, Decimal] = (ONE, ONE)  # m on a path ~ Uniform(range); the point m is the middle
    rate_rule: str = ""
    after_rate: Decimal = ONE  # IP: (1 - tax) x pending factor; data: 1
    discount_rate: Decimal = ZERO
    economic_life_years: Decimal = ZERO  # E
    legal_remaining_years: Decimal | None = None  # None: no legal end (data)
    life_years: Decimal = ZERO  # n = min(E, legal remaining)
    life_rule: str = ""
    notes: tuple[str, ...] = ()

    @property
    def rate(self) -> Decimal:
        return (self.rate_range[0] + self.rate_range[1]) / 2

    @property
    def point_value(self) -> Decimal:
        """The deterministic value with the central inputs (unrounded)."""
        if self.zero_reason is not None:
            return ZERO
        present = discounted_point(self.base_amount, self.growth_rate, self.discount_rate, self.life_years)
        return present * self.rate * self.after_rate


# --- reading ------------------------------------------------------------------------------------------------


def read_income(details: Mapping[str, Any]) -> Mapping[str, Any] | None:
    raw = details.get("income")
    return None if raw is None else read_mapping(raw, "income")


def read_variant(income: Mapping[str, Any]) -> str | None:
    variant = income.get("variant")
    if variant in (None, ""):
        return None
    if variant not in INCOME_VARIANTS:
        raise invalid("income.variant", f"{variant!r} is not one of {', '.join(INCOME_VARIANTS)}")
    return str(variant)


def read_share_rate(income: Mapping[str, Any]) -> Decimal | None:
    raw = income.get("share_rate")
    if raw in (None, ""):
        return None
    rate = read_decimal(raw, "income.share_rate")
    if not ZERO < rate <= ONE:
        raise invalid("income.share_rate", f"a share rate is a fraction in (0, 1], not {rate}")
    return rate


def read_history(income: Mapping[str, Any], name: str) -> tuple[RevenueYear, ...]:
    return read_revenue_history(income.get(name), f"income.{name}")


def read_economic_life(details: Mapping[str, Any]) -> int | None:
    raw = details.get("economic_life_years")
    return None if raw in (None, "") else read_int(raw, "economic_life_years", minimum=1)


def _amount_of(history: tuple[RevenueYear, ...], year: int) -> Decimal | None:
    return next((entry.amount for entry in history if entry.year == year), None)


@dataclass(frozen=True)
class _Flow:
    base_year: int
    base_amount: Decimal
    base_rule: str
    label: str
    used: tuple[RevenueYear, ...]  # the history the growth is read from
    ignored: tuple[int, ...]
    rate_range: tuple[Decimal, Decimal] = (ONE, ONE)
    rate_rule: str = ""
    notes: tuple[str, ...] = ()


def _latest(
    history: tuple[RevenueYear, ...], inp: ValuationInput, path: str, why: str
) -> tuple[tuple[RevenueYear, ...], tuple[int, ...]] | str:
    if not history:
        return f"details.{path} is missing or empty: {why}"
    used, ignored = split_history(history, inp.as_of)
    if not used:
        return (
            f"details.{path} has no year up to {inp.as_of.year} (the valuation date's year); later years are "
            f"not yet earned"
        )
    return used, ignored


def _data_flow(inp: ValuationInput, income: Mapping[str, Any], variant: str, params: Parameters) -> _Flow | str:
    details = inp.details
    if variant == "direct":
        found = _latest(
            read_history(income, "ebit_history"),
            inp,
            "income.ebit_history",
            "the direct variant discounts the EBIT earned directly by the data asset",
        )
        if isinstance(found, str):
            return found
        used, ignored = found
        last = used[-1]
        rule = f"F_0 = EBIT {last.year} earned directly by the data asset"
        return _Flow(last.year, last.amount, rule, "EBIT", used, ignored)

    revenue = read_revenue_history(details.get("revenue_history"))
    if variant == "incremental" and not income.get("revenue_without_history"):
        found = _latest(
            read_history(income, "cost_savings"),
            inp,
            "income.cost_savings",
            "the incremental variant needs income.revenue_without_history (with revenue_history) or "
            "income.cost_savings",
        )
        if isinstance(found, str):
            return found
        used, ignored = found
        last = used[-1]
        rule = f"F_0 = cost saving {last.year} brought by the data asset"
        return _Flow(last.year, last.amount, rule, "cost savings", used, ignored)

    needs = {
        "share": "the share variant applies income.share_rate to the revenue",
        "excess_earnings": "the excess-earnings variant deducts contributory charges from the revenue",
        "incremental": "the incremental variant compares the revenue with and without the data asset",
    }[variant]
    found = _latest(revenue, inp, "revenue_history", needs)
    if isinstance(found, str):
        return found
    used, ignored = found
    last = used[-1]
    if variant == "share":
        share = read_share_rate(income)
        if share is None:
            return "details.income.share_rate is missing: the share variant needs the data asset's share K"
        high = min(ONE, share * (ONE + params.share_rate_spread))
        low = share - (high - share)
        rule = f"F_0 = revenue {last.year} {money_str(last.amount)} x K"
        rate_rule = (
            f"K = details.income.share_rate {number_str(share)}; simulated K ~ Uniform({number_str(low)}, "
            f"{number_str(high)}) (K x (1 -/+ {number_str(params.share_rate_spread)}), within [0, 1])"
        )
        return _Flow(last.year, last.amount, rule, "revenue", used, ignored, (low, high), rate_rule)

    name, what = (
        ("contributory_charges", "contributory charges")
        if variant == "excess_earnings"
        else ("revenue_without_history", "revenue without the data asset")
    )
    other = read_history(income, name)
    amount = _amount_of(other, last.year)
    if amount is None:
        return (
            f"details.income.{name} has no amount for {last.year}, the latest revenue year: the "
            f"{variant.replace('_', ' ')} variant needs the {what} of that year"
        )
    base = max(ZERO, last.amount - amount)
    rule = (
        f"F_0 = max(0, revenue {last.year} {money_str(last.amount)} - {what} {money_str(amount)}) = {money_str(base)}"
    )
    notes: tuple[str, ...] = ()
    if variant == "incremental" and income.get("cost_savings"):
        notes = ("details.income.cost_savings is ignored: the revenue increment is used when both are given",)
    return _Flow(last.year, base, rule, "revenue", used, ignored, notes=notes)


def income_basis(inp: ValuationInput, params: Parameters) -> IncomeBasis | str:
    """Everything the method uses, or the reason it cannot be applied. Malformed data raises."""
    if inp.kind == "data":
        return _data_basis(inp, params)
    if inp.kind in IP_KINDS:
        return _ip_basis(inp, params)
    return f"the income approach applies to data, {', '.join(IP_KINDS)} assets, not {inp.kind}"


def _data_basis(inp: ValuationInput, params: Parameters) -> IncomeBasis | str:
    income = read_income(inp.details)
    if income is None:
        return (
            "details.income is missing: the income approach for data needs details.income.variant (direct, "
            "share, excess_earnings or incremental) and the history that variant reads"
        )
    variant = read_variant(income)
    if variant is None:
        return "details.income.variant is missing: choose direct, share, excess_earnings or incremental"
    flow = _data_flow(inp, income, variant, params)
    if isinstance(flow, str):
        return flow
    growth, rule, cagr = growth_rule(flow.used, params, label=flow.label)
    discount, cap = kind_rate_and_cap(inp.kind, params)
    given = read_economic_life(inp.details)
    economic = Decimal(min(given, cap) if given is not None else cap)
    if given is None:
        life_rule = f"n = the parameter set's economic life for data, {cap} years (details.economic_life_years absent)"
    elif given > cap:
        life_rule = f"n = details.economic_life_years {given}, capped at the parameter set's {cap}-year cap for data"
    else:
        life_rule = f"n = details.economic_life_years {given} (cap {cap}); data assets have no legal end"
    return IncomeBasis(
        kind=inp.kind,
        variant=variant,
        base_year=flow.base_year,
        base_amount=flow.base_amount,
        base_rule=flow.base_rule,
        history_label=flow.label,
        years_used=tuple(entry.year for entry in flow.used),
        ignored_years=flow.ignored,
        growth_rate=growth,
        growth_rule=rule,
        observed_cagr=cagr,
        rate_range=flow.rate_range,
        rate_rule=flow.rate_rule,
        discount_rate=discount,
        economic_life_years=economic,
        legal_remaining_years=None,
        life_years=economic,
        life_rule=life_rule,
        notes=flow.notes,
    )


def _ip_basis(inp: ValuationInput, params: Parameters) -> IncomeBasis | str:
    protection = ip_protection(inp, params)
    if isinstance(protection, str):
        return protection
    if protection.zero_reason is not None:
        return IncomeBasis(kind=inp.kind, variant=IP_VARIANT, zero_reason=protection.zero_reason, protection=protection)
    legal = protection.legal
    assert legal is not None  # noqa: S101 - a protection without a zero reason has a legal life
    found = _latest(
        read_revenue_history(inp.details.get("revenue_history")),
        inp,
        "revenue_history",
        "the income approach takes a profit share of the revenue earned with the right",
    )
    if isinstance(found, str):
        return found
    used, ignored = found
    last = used[-1]
    growth, rule, cagr = growth_rule(used, params)
    discount, cap = kind_rate_and_cap(inp.kind, params)
    share_low, share_high = params.ip_profit_share_range
    margin = params.ip_profit_margin
    rate_rule = (
        f"m = K_profit x margin: K_profit ~ Uniform({number_str(share_low)}, {number_str(share_high)}) "
        f"(profit share, domain.md 2.2) x margin {number_str(margin)}; the after-tax factor (1 - "
        f"{number_str(params.tax_rate)}) follows"
    )
    return IncomeBasis(
        kind=inp.kind,
        variant=IP_VARIANT,
        protection=protection,
        base_year=last.year,
        base_amount=last.amount,
        base_rule=f"F_0 = revenue {last.year} {money_str(last.amount)} x K_profit x margin x (1 - tax)",
        history_label="revenue",
        years_used=tuple(entry.year for entry in used),
        ignored_years=ignored,
        growth_rate=growth,
        growth_rule=rule,
        observed_cagr=cagr,
        rate_range=(share_low * margin, share_high * margin),
        rate_rule=rate_rule,
        after_rate=(ONE - params.tax_rate) * protection.factor,
        discount_rate=discount,
        economic_life_years=Decimal(cap),
        legal_remaining_years=legal.remaining_years,
        life_years=min(Decimal(cap), legal.remaining_years),
        life_rule="n = min(economic-life cap, remaining legal life), as in relief from royalty",
    )


# --- simulation ------------------------------------------------------------------------------------------


def simulate_batch(bases: Sequence[IncomeBasis], params: Parameters, variates: Variates) -> np.ndarray:
    """The value of each asset (row) and path (column), one numpy computation for the whole batch."""
    live = [basis.zero_reason is None for basis in bases]
    base = column([float(b.base_amount) if ok else 0.0 for b, ok in zip(bases, live, strict=True)])
    growth = growth_paths(column([float(b.growth_rate) for b in bases]), variates.growth, params)
    rate = discount_paths(column([float(b.discount_rate) for b in bases]), variates.discount, params)
    economic = column([float(b.economic_life_years) if ok else 0.0 for b, ok in zip(bases, live, strict=True)])
    legal = column(
        [
            0.0 if not ok else math.inf if b.legal_remaining_years is None else float(b.legal_remaining_years)
            for b, ok in zip(bases, live, strict=True)
        ]
    )
    life = life_paths(economic, legal, variates.life, params)
    present = discounted_paths(base, growth, rate, life)
    low = column([float(b.rate_range[0]) for b in bases])
    high = column([float(b.rate_range[1]) for b in bases])
    share = low[:, None] + (high - low)[:, None] * variates.rate
    after = column([float(b.after_rate) if ok else 0.0 for b, ok in zip(bases, live, strict=True)])
    return present * share * after[:, None]


class IncomeCalculator(BasisCalculator[IncomeBasis]):
    method = ValuationMethod.INCOME
    detail_fields = (
        "income",
        "economic_life_years",
        "revenue_history",
        "patent_type",
        "filing_date",
        "legal_status",
        "valid_until",
        "completed_on",
        "first_published_on",
    )
    formula = (
        "V = sum over years t = 1..n of F_t / (1 + i)^t, F_t = F_0 x m x (1 + g)^t. Data assets: F_0 by the "
        "variant of details.income (direct: EBIT; share: revenue x K; excess earnings: revenue - "
        "contributory charges; incremental: revenue with - without the data, or cost savings). Patents, "
        "trademarks, software: F_0 = revenue x K_profit (25-33 %) x margin x (1 - tax). g from the history's "
        "growth, i = discount rate of the kind, n = economic life capped by the remaining legal life, a "
        "fractional final year counting proportionally."
    )

    def basis(self, inp: ValuationInput, params: Parameters) -> IncomeBasis | str:
        return income_basis(inp, params)

    def simulate_basis_batch(self, bases: Sequence[IncomeBasis], params: Parameters, variates: Variates) -> np.ndarray:
        return simulate_batch(bases, params, variates)

    def figure(
        self, basis: IncomeBasis, params: Parameters, low: Decimal, value: Decimal, high: Decimal
    ) -> MethodFigure:
        drivers = legal_drivers(basis.protection)
        if basis.zero_reason is not None:
            return self.zero_figure(drivers, basis.zero_reason)
        drivers.update(
            {
                "point_value": money_str(quantize(basis.point_value)),
                "variant": basis.variant,
                "base_year": str(basis.base_year),
                "base_amount": money_str(basis.base_amount),
                "base_rule": basis.base_rule,
                "history_years_used": ", ".join(map(str, basis.years_used)),
                "growth_rate": number_str(basis.growth_rate),
                "growth_rule": basis.growth_rule,
                "discount_rate": number_str(basis.discount_rate),
                "economic_life_years": number_str(basis.economic_life_years),
                "life_years": number_str(basis.life_years),
                "life_rule": basis.life_rule,
                "mc_paths": str(params.mc_paths),
                "simulation": f"{growth_and_rate_rule(basis.growth_rate, params)}; {life_simulation_rule(params)}"
                + (
                    f"; m ~ Uniform({number_str(basis.rate_range[0])}, {number_str(basis.rate_range[1])})"
                    if basis.rate_range[0] != basis.rate_range[1]
                    else ""
                ),
            }
        )
        keys: list[str] = ["base_amount"]
        if basis.rate_rule:
            drivers["rate"] = number_str(basis.rate)
            drivers["rate_rule"] = basis.rate_rule
            keys.append("rate")
        keys += ["discount_rate", "life_years"]
        if basis.after_rate != ONE:
            drivers["after_tax_and_pending_factor"] = number_str(basis.after_rate)
        if basis.protection is not None and basis.protection.factor_rule:
            drivers["pending_patent_factor"] = number_str(basis.protection.factor)
            drivers["pending_rule"] = basis.protection.factor_rule
        if basis.observed_cagr is not None:
            drivers["observed_cagr"] = number_str(basis.observed_cagr)
        if basis.ignored_years:
            drivers["ignored_history_years"] = ", ".join(map(str, basis.ignored_years))
        for number, note in enumerate(basis.notes, start=1):
            drivers[f"note_{number}"] = note
        return self.method_figure(drivers, tuple(keys), low, value, high)

    def used_details(self, details: Mapping[str, Any]) -> dict[str, Any]:
        """The fields this method reads, normalised and JSON-ready."""
        used = used_legal_details(details)
        history = read_revenue_history(details.get("revenue_history"))
        if history:
            used["revenue_history"] = [{"year": e.year, "amount": money_str(e.amount)} for e in history]
        life = read_economic_life(details)
        if life is not None:
            used["economic_life_years"] = life
        income = read_income(details)
        if income is not None:
            normal: dict[str, Any] = {}
            variant = read_variant(income)
            if variant is not None:
                normal["variant"] = variant
            share = read_share_rate(income)
            if share is not None:
                normal["share_rate"] = number_str(share)
            for name in INCOME_HISTORIES:
                entries = read_history(income, name)
                if entries:
                    normal[name] = [{"year": e.year, "amount": money_str(e.amount)} for e in entries]
            used["income"] = normal
        return used
