"""What the income-based methods share: calendar, legal life, growth, discounting, and the simulated paths.

Relief from royalty, the income approach and (for the legal rules) the market approach read the same
rules from here, so they cannot drift apart:

* Legal life (domain.md 2.1): patents run ``legal term by type`` years from filing (designs filed before
  1 June 2021 keep the old 10 years); trademarks to ``valid_until`` (renewal not assumed); software to
  31 December of the 50th year after first publication (or completion when never published).
* Protection: a patent that is lapsed, expired or invalidated, or any right whose legal life has run out, is
  worth zero by every method; a pending patent's value is multiplied by ``params.pending_patent_factor``.
* Growth: ``g = params.growth_rate``, capped by the observed CAGR of the history when it has two or more
  years and a positive first year, never below ``params.growth_floor``.
* Discounting: ``V = sum_{t=1..ceil(n)} F_t x s_t / (1 + i)^(t - 1 + s_t)`` with ``F_t = F_0 x (1 + g)^t``
  and ``s_t = min(1, n - (t - 1))``: a fractional final year counts proportionally.

Simulated paths (numpy, shape ``(assets, paths)``):

* growth ``g ~ Normal(g, growth_sd)``, not below -1;
* discount rate ``i ~ Uniform(i - spread, i + spread)``, floored at ``discount_rate_floor``;
* economic life ``E_path ~ Uniform(E - w, E + w)`` with ``w = min(economic_life_spread_years, E / 2)``, then
  ``n_path = min(E_path, remaining legal life)``. The draw is symmetric around the economic-life estimate E
  and never beyond the legal end, so the median path life is the point life ``n = min(E, legal life)``
  (engine 1.0 drew ``n - j``, j in 0..2, which put the median value well below the point value).

Calculators: ``BasisCalculator`` holds the plumbing every method built on a "basis" shares (``applicable``,
``point_value``, the batch interface, ``simulate`` and ``compute``); a method gives ``basis``,
``simulate_basis_batch`` and ``figure``.
"""

from __future__ import annotations

import decimal
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Generic, TypeVar

import numpy as np

from common.money import quantize, quantize_rate
from valuation.methods.parameters import Parameters
from valuation.methods.types import (
    MethodFigure,
    RevenueYear,
    ValuationInput,
    ValuationMethod,
    Variates,
    invalid,
    money_str,
    number_str,
    percentiles,
    read_date,
)

IP_KINDS = ("patent", "trademark", "software")
TERMINATED_PATENT_STATUSES = ("lapsed", "expired", "invalidated")
PATENT_STATUSES = ("pending", "valid", *TERMINATED_PATENT_STATUSES)
LEGAL_DETAIL_FIELDS = (
    "patent_type",
    "filing_date",
    "legal_status",
    "valid_until",
    "completed_on",
    "first_published_on",
)
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


# --- legal life and protection ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LegalLife:
    end: date
    remaining_years: Decimal
    rule: str


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
        return f"relief from royalty applies to {', '.join(IP_KINDS)} assets, not {inp.kind}"
    return LegalLife(end=end, remaining_years=years_between(inp.as_of, end), rule=rule)


@dataclass(frozen=True)
class Protection:
    """The legal position of a patent, trademark or software right at the valuation date."""

    legal: LegalLife | None  # None when a patent's status alone ends it
    zero_reason: str | None = None  # set when the right is worth zero whatever the method
    factor: Decimal = ONE  # the pending-patent factor, else 1
    factor_rule: str = ""


def ip_protection(inp: ValuationInput, params: Parameters) -> Protection | str:
    """The right's protection, or what data is missing to know it. Malformed data raises."""
    details = inp.details
    if inp.kind == "patent":
        status = details.get("legal_status")
        if status in (None, ""):
            return "details.legal_status is missing: a patent's value depends on whether it is in force"
        if status not in PATENT_STATUSES:
            raise invalid("legal_status", f"{status!r} is not one of {', '.join(PATENT_STATUSES)}")
        if status in TERMINATED_PATENT_STATUSES:
            reason = f"the patent is {status}: it no longer confers an exclusive right, so it is worth zero"
            return Protection(legal=None, zero_reason=reason)
    life = legal_life(inp, params)
    if isinstance(life, str):
        return life
    if life.remaining_years <= 0:
        ended = f"legal protection ended on {life.end.isoformat()} ({life.rule})"
        return Protection(legal=life, zero_reason=f"{ended}, so the asset is worth zero")
    if inp.kind == "patent" and details.get("legal_status") == "pending":
        factor = params.pending_patent_factor
        rule = f"pending patent: the value is multiplied by {number_str(factor)} (grant not certain)"
        return Protection(legal=life, factor=factor, factor_rule=rule)
    return Protection(legal=life)


def legal_drivers(protection: Protection | None) -> dict[str, str]:
    if protection is None or protection.legal is None:
        return {}
    legal = protection.legal
    return {
        "legal_end_date": legal.end.isoformat(),
        "remaining_legal_life_years": number_str(legal.remaining_years),
        "legal_life_rule": legal.rule,
    }


def used_legal_details(details: Mapping[str, Any]) -> dict[str, Any]:
    used: dict[str, Any] = {}
    for name in ("patent_type", "legal_status"):
        if details.get(name) not in (None, ""):
            used[name] = str(details[name])
    for name in ("filing_date", "valid_until", "completed_on", "first_published_on"):
        if details.get(name) not in (None, ""):
            used[name] = read_date(details[name], name).isoformat()
    return used


# --- histories and growth ------------------------------------------------------------------------------------


def split_history(history: tuple[RevenueYear, ...], as_of: date) -> tuple[tuple[RevenueYear, ...], tuple[int, ...]]:
    """The years up to the valuation date's year (used) and the later ones (ignored: not yet earned)."""
    used = tuple(entry for entry in history if entry.year <= as_of.year)
    ignored = tuple(entry.year for entry in history if entry.year > as_of.year)
    return used, ignored


def growth_rule(
    history: tuple[RevenueYear, ...], params: Parameters, *, label: str = "revenue"
) -> tuple[Decimal, str, Decimal | None]:
    """(g, the rule in words, the observed CAGR or None) for a history of at least one year."""
    default = params.growth_rate
    if len(history) < 2:
        return default, f"one year of {label}: the default growth rate {number_str(default)} is used", None
    return _observed_growth_rule(
        history[0], history[-1], default, params.growth_floor, label, decimal.getcontext().prec
    )


@functools.lru_cache(maxsize=4096)
def _observed_growth_rule(
    first: RevenueYear, last: RevenueYear, default: Decimal, floor: Decimal, label: str, _precision: int
) -> tuple[Decimal, str, Decimal | None]:
    """``growth_rule`` for two years or more: it reads the first and last only. Cached (a pure function of its
    arguments and the decimal precision): relief from royalty and the income approach ask it the same question."""
    if first.amount <= 0:
        return (
            default,
            f"the observed growth is undefined ({label} {first.year} is zero): the default growth "
            f"rate {number_str(default)} is used",
            None,
        )
    span = last.year - first.year
    cagr = quantize_rate((last.amount / first.amount) ** (ONE / span) - ONE)
    growth = max(floor, min(default, cagr))
    rule = (
        f"g = min(default {number_str(default)}, observed {label} CAGR {first.year}-{last.year} "
        f"{number_str(cagr)}), not below {number_str(floor)}: {number_str(growth)}"
    )
    return growth, rule, cagr


# --- discounting ------------------------------------------------------------------------------------------


def discounted_point(base: Decimal, growth: Decimal, rate: Decimal, life: Decimal) -> Decimal:
    """``sum_{t=1..ceil(n)} F_0 (1 + g)^t x s_t / (1 + i)^(t - 1 + s_t)`` in Decimal (unrounded)."""
    return _discounted_point(base, growth, rate, life, decimal.getcontext().prec)


@functools.lru_cache(maxsize=4096)
def _discounted_point(base: Decimal, growth: Decimal, rate: Decimal, life: Decimal, _precision: int) -> Decimal:
    """Cached: relief from royalty and the income approach of an asset discount the same flows."""
    total, flow = ZERO, base
    for t in range(1, math.ceil(life) + 1):
        flow *= ONE + growth
        share = min(ONE, life - (t - 1))
        total += flow * share / (ONE + rate) ** ((t - 1) + share)
    return total


def discounted_paths(base: np.ndarray, growth: np.ndarray, rate: np.ndarray, life: np.ndarray) -> np.ndarray:
    """The same sum for every asset (row) and path (column), vectorised over both.

    ``base`` has shape ``(assets,)``; the others ``(assets, paths)``. Each year's term is
    ``F_0 x s_t x exp(t ln(1 + g) - (t - 1 + s_t) ln(1 + i))``: one exponential a year, and monotone in g, i
    and the life, path by path. The rows are ordered by their longest path life, so that year t is computed
    for the rows that still live in it only (a contiguous slice); a row's values never depend on the other
    rows of its batch.
    """
    longest = life.max(axis=1, initial=0.0)
    order = np.argsort(-longest, kind="stable")
    ranked_longest = longest[order]
    log_growth = np.log1p(growth[order])  # growth >= -1: -inf at -1, whose flows are then 0
    log_rate = np.log1p(rate[order])
    ranked_life = life[order]
    ranked_base = base[order][:, None]
    ranked = np.zeros_like(ranked_life)
    # Scratch arrays reused year after year (numpy's out=): the same operations in the same order as
    # ``share = clip(life - (t - 1), 0, 1)``, ``term = F_0 x share x exp(t lg - ((t - 1) + share) li)``,
    # ``ranked += where(share > 0, term, 0)``, so the same values bit for bit, without a temporary per step.
    share_buf, term_buf, scratch_buf = (np.empty_like(ranked_life) for _ in range(3))
    live_buf = np.empty(ranked_life.shape, dtype=bool)
    with np.errstate(invalid="ignore"):  # -inf x 0 at growth -1 in a year past the life: masked below
        for t in range(1, math.ceil(float(ranked_longest[0]) if len(order) else 0.0) + 1):
            rows = int(np.count_nonzero(ranked_longest > t - 1.0))
            share, term, scratch, live = share_buf[:rows], term_buf[:rows], scratch_buf[:rows], live_buf[:rows]
            np.subtract(ranked_life[:rows], t - 1.0, out=share)
            np.clip(share, 0.0, 1.0, out=share)
            np.multiply(float(t), log_growth[:rows], out=term)
            np.add(t - 1.0, share, out=scratch)
            np.multiply(scratch, log_rate[:rows], out=scratch)
            np.subtract(term, scratch, out=term)
            np.exp(term, out=term)
            np.multiply(ranked_base[:rows], share, out=scratch)
            np.multiply(scratch, term, out=term)
            np.greater(share, 0.0, out=live)
            np.add(ranked[:rows], term, out=ranked[:rows], where=live)
    present = np.empty_like(ranked)
    present[order] = ranked
    return present


def column(values: list[float]) -> np.ndarray:
    return np.asarray(values, dtype=float)


def growth_paths(growth: np.ndarray, z: np.ndarray, params: Parameters) -> np.ndarray:
    return np.maximum(growth[:, None] + float(params.growth_sd) * z, -1.0)


def discount_paths(rate: np.ndarray, u: np.ndarray, params: Parameters) -> np.ndarray:
    spread = float(params.discount_rate_spread)
    return np.maximum(rate[:, None] - spread + 2.0 * spread * u, float(params.discount_rate_floor))


def life_paths(economic: np.ndarray, legal: np.ndarray, u: np.ndarray, params: Parameters) -> np.ndarray:
    """``min(E + w (2u - 1), legal)`` with ``w = min(spread, E / 2)``; ``legal`` may be ``inf``."""
    half_width = np.minimum(float(params.economic_life_spread_years), economic / 2.0)
    drawn = economic[:, None] + half_width[:, None] * (2.0 * u - 1.0)
    return np.minimum(drawn, legal[:, None])


def life_simulation_rule(params: Parameters) -> str:
    return (
        f"E_path ~ Uniform(E - w, E + w), w = min({params.economic_life_spread_years}, E / 2); "
        f"n_path = min(E_path, remaining legal life)"
    )


def growth_and_rate_rule(growth: Decimal, params: Parameters) -> str:
    spread = number_str(params.discount_rate_spread)
    return (
        f"g ~ Normal({number_str(growth)}, {number_str(params.growth_sd)}); i ~ Uniform(i - {spread}, "
        f"i + {spread}) floored at {number_str(params.discount_rate_floor)}"
    )


# --- the calculators' plumbing ------------------------------------------------------------------------------

BasisT = TypeVar("BasisT")


class BasisCalculator(Generic[BasisT]):
    """A ``types.BatchCalculator`` built on a basis: everything the method uses for one asset, or a reason.

    A subclass gives ``method``, ``formula``, ``detail_fields``, ``used_details`` and three hooks: ``basis``
    (the basis, or a string saying why the method cannot apply; malformed data raises), ``simulate_basis_batch``
    (the values of each basis (row) and path (column)) and ``figure``. A basis has a ``point_value`` and may have
    a ``zero_reason``: set, the asset is worth zero and nothing is simulated (see ``zero_figure``).
    """

    method: ValuationMethod
    formula: str
    detail_fields: tuple[str, ...]

    def basis(self, inp: ValuationInput, params: Parameters) -> BasisT | str:
        raise NotImplementedError

    def simulate_basis_batch(self, bases: Sequence[BasisT], params: Parameters, variates: Variates) -> np.ndarray:
        raise NotImplementedError

    def figure(self, basis: BasisT, params: Parameters, low: Decimal, value: Decimal, high: Decimal) -> MethodFigure:
        raise NotImplementedError

    def applicable(self, inp: ValuationInput, params: Parameters) -> str | None:
        basis = self.basis(inp, params)
        return basis if isinstance(basis, str) else None

    def point_value(self, inp: ValuationInput, params: Parameters) -> Decimal:
        """The deterministic value with the central inputs (unrounded)."""
        basis = self.basis(inp, params)
        if isinstance(basis, str):
            raise ValueError(basis)
        return basis.point_value  # type: ignore[attr-defined]

    # --- batch interface (see types.BatchCalculator) ---

    def prepare(self, inp: ValuationInput, params: Parameters) -> BasisT | str:
        return self.basis(inp, params)

    def simulate_batch(self, bases: Sequence[BasisT], params: Parameters, variates: Variates) -> np.ndarray:
        return self.simulate_basis_batch(bases, params, variates)

    def simulate(self, basis: BasisT, params: Parameters, rng: np.random.Generator) -> np.ndarray:
        """One asset's simulated values (shape ``(paths,)``), from ``rng``'s variates."""
        return self.simulate_batch([basis], params, Variates.draw(rng, params.mc_paths))[0]

    def compute(self, inp: ValuationInput, params: Parameters, rng: np.random.Generator) -> MethodFigure:
        basis = self.basis(inp, params)
        if isinstance(basis, str):
            raise ValueError(basis)
        if getattr(basis, "zero_reason", None) is not None:
            return self.figure(basis, params, ZERO, ZERO, ZERO)
        return self.figure(basis, params, *percentiles(self.simulate(basis, params, rng)))

    # --- figure helpers ---

    def zero_figure(self, drivers: dict[str, str], zero_reason: str) -> MethodFigure:
        """The figure of an asset worth zero: ``drivers`` (the legal ones) plus why, nothing simulated."""
        drivers.update({"point_value": money_str(quantize(ZERO)), "zero_value_reason": zero_reason, "mc_paths": "0"})
        return self.method_figure(drivers, ("zero_value_reason",), ZERO, ZERO, ZERO)

    def method_figure(
        self, drivers: dict[str, str], key_drivers: tuple[str, ...], low: Decimal, value: Decimal, high: Decimal
    ) -> MethodFigure:
        return MethodFigure(
            method=self.method,
            value=value,
            low=low,
            high=high,
            weight=ONE,
            drivers=drivers,
            key_drivers=key_drivers,
        )
