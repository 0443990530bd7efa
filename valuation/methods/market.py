"""Market approach (domain.md 1.2): comparable transactions, adjusted, then averaged.

For each comparable j of ``details["comparables"]`` (traded up to the valuation date; later trades are
ignored, as are revenue years not yet earned):

``V_j = P_j x X_quality x X_supply_demand x X_date x X_capacity x X_other`` and ``V = mean_j V_j``.

* ``X_quality = Q_subject / Q_j`` for data assets: Q_subject is the mean of the GB/T 36344 scores in
  ``details["quality"]`` (as the cost approach), Q_j the comparable's ``quality_score``; either missing is the
  parameter set's ``default_quality_score``. Patents, trademarks and software have no quality score, so
  X_quality = 1 for them (a comparable's ``quality_score`` is ignored; express differences in ``other_factor``).
* ``X_date = params.market_price_index_at_valuation / price_index_at_trade`` (1 without an index).
* ``supply_demand_factor``, ``capacity_factor``, ``other_factor``: as given, 1 when absent.
* At least ``params.market_min_comparables`` usable comparables (default 2, so one transaction never sets the
  value alone), otherwise the method is skipped and says so.
* A patent, trademark or software right follows ``shared.ip_protection``: a terminated right is worth zero,
  a pending patent's value is multiplied by the pending factor.

Simulation (vectorised over assets and paths): the mean is uncertain by the comparables' dispersion,
``V_path = V x max(0, 1 + d / sqrt(m) x z)`` with d the relative sample standard deviation of the V_j
(never below ``params.market_dispersion_floor``) and z the asset's ``market`` variate; for data, Q_subject
also varies on each path exactly as in the cost approach (``Q x (1 + cost_quality_sd x z_quality)`` within
[0, 100]), so the two methods move together.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from common.money import quantize, quantize_rate
from valuation.methods.cost import read_quality
from valuation.methods.parameters import Parameters
from valuation.methods.shared import (
    IP_KINDS,
    BasisCalculator,
    Protection,
    column,
    ip_protection,
    legal_drivers,
    used_legal_details,
)
from valuation.methods.types import (
    MethodFigure,
    ValuationInput,
    ValuationMethod,
    Variates,
    invalid,
    money_str,
    number_str,
    read_date,
    read_list,
    read_mapping,
    read_money,
    read_positive,
    read_score,
)

FACTORS = ("supply_demand_factor", "capacity_factor", "other_factor")
ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Comparable:
    price: Decimal
    quality_score: Decimal | None = None
    supply_demand_factor: Decimal = ONE
    trade_date: date | None = None
    price_index_at_trade: Decimal | None = None
    capacity_factor: Decimal = ONE
    other_factor: Decimal = ONE

    def as_json(self) -> dict[str, str]:
        out = {"price": money_str(self.price)}
        if self.quality_score is not None:
            out["quality_score"] = number_str(self.quality_score)
        if self.trade_date is not None:
            out["trade_date"] = self.trade_date.isoformat()
        if self.price_index_at_trade is not None:
            out["price_index_at_trade"] = number_str(self.price_index_at_trade)
        for name in FACTORS:
            out[name] = number_str(getattr(self, name))
        return out


def read_comparables(details: Mapping[str, Any]) -> tuple[Comparable, ...]:
    raw = details.get("comparables")
    if raw is None:
        return ()
    items = read_list(raw, "comparables", "comparable transactions")
    comparables = []
    for index, item in enumerate(items):
        path = f"comparables[{index}]"
        entry = read_mapping(item, path)
        if entry.get("price") in (None, ""):
            raise invalid(f"{path}.price", "is missing")
        quality = None
        if entry.get("quality_score") not in (None, ""):
            quality = read_score(entry["quality_score"], f"{path}.quality_score")
            if quality == 0:
                raise invalid(f"{path}.quality_score", "must be above zero (it divides the subject's score)")
        index_at_trade = None
        if entry.get("price_index_at_trade") not in (None, ""):
            index_at_trade = read_positive(entry["price_index_at_trade"], f"{path}.price_index_at_trade")
        traded = None
        if entry.get("trade_date") not in (None, ""):
            traded = read_date(entry["trade_date"], f"{path}.trade_date")
        factors = {
            name: read_positive(entry[name], f"{path}.{name}") for name in FACTORS if entry.get(name) not in (None, "")
        }
        comparables.append(
            Comparable(
                price=read_money(entry["price"], f"{path}.price"),
                quality_score=quality,
                trade_date=traded,
                price_index_at_trade=index_at_trade,
                **factors,
            )
        )
    return tuple(comparables)


@dataclass(frozen=True)
class MarketBasis:
    kind: str
    zero_reason: str | None = None
    protection: Protection | None = None
    used: tuple[Comparable, ...] = ()
    ignored: tuple[int, ...] = ()  # positions in details.comparables traded after the valuation date
    subject_quality: Decimal | None = None  # data only
    quality_source: str = ""
    adjusted: tuple[Decimal, ...] = ()  # V_j
    explained: tuple[str, ...] = ()  # V_j in words
    per_quality: Decimal = ZERO  # data: mean of V_j / Q_subject (the part that does not depend on Q_subject)
    mean: Decimal = ZERO
    observed_dispersion: Decimal | None = None
    dispersion: Decimal = ZERO
    factor: Decimal = ONE

    @property
    def point_value(self) -> Decimal:
        return ZERO if self.zero_reason is not None else self.mean * self.factor


def _subject_quality(inp: ValuationInput, params: Parameters) -> tuple[Decimal, str]:
    scores = read_quality(inp.details)
    if scores:
        quality = quantize_rate(sum(scores.values(), ZERO) / len(scores))
        return quality, f"details.quality: mean of {len(scores)} of 6 GB/T 36344 dimensions"
    return params.default_quality_score, (
        f"default: details.quality gives no score, so the parameter set's default quality score "
        f"{number_str(params.default_quality_score)} is used"
    )


def market_basis(inp: ValuationInput, params: Parameters) -> MarketBasis | str:
    """Everything the method uses, or the reason it cannot be applied. Malformed data raises."""
    protection: Protection | None = None
    if inp.kind in IP_KINDS:
        found = ip_protection(inp, params)
        if isinstance(found, str):
            return found
        protection = found
        if protection.zero_reason is not None:
            return MarketBasis(kind=inp.kind, zero_reason=protection.zero_reason, protection=protection)
    elif inp.kind != "data":
        return f"the market approach applies to data, {', '.join(IP_KINDS)} assets, not {inp.kind}"
    comparables = read_comparables(inp.details)
    used = tuple(c for c in comparables if c.trade_date is None or c.trade_date <= inp.as_of)
    ignored = tuple(i for i, c in enumerate(comparables) if c.trade_date is not None and c.trade_date > inp.as_of)
    minimum = params.market_min_comparables
    if len(used) < minimum:
        later = f" ({len(ignored)} more traded after the valuation date {inp.as_of.isoformat()})" if ignored else ""
        return (
            f"details.comparables gives {len(used)} usable comparable transaction(s){later}; the parameter set "
            f"{params.version} asks for at least {minimum}, so that no single transaction sets the value alone"
        )

    is_data = inp.kind == "data"
    subject, source = _subject_quality(inp, params) if is_data else (None, "")
    index_now = params.market_price_index_at_valuation
    adjusted, explained, per_quality = [], [], []
    for comp in used:
        x_date = index_now / comp.price_index_at_trade if comp.price_index_at_trade is not None else ONE
        rest = comp.price * comp.supply_demand_factor * x_date * comp.capacity_factor * comp.other_factor
        if is_data:
            q_comp = comp.quality_score if comp.quality_score is not None else params.default_quality_score
            assert subject is not None  # noqa: S101 - set for data above
            x_quality = subject / q_comp
            per_quality.append(rest / q_comp)
        else:
            x_quality = ONE
        value = rest * x_quality
        adjusted.append(value)
        explained.append(
            f"{money_str(comp.price)} x Xq {number_str(quantize_rate(x_quality))} x Xsd "
            f"{number_str(comp.supply_demand_factor)} x Xdate {number_str(quantize_rate(x_date))} x Xcap "
            f"{number_str(comp.capacity_factor)} x Xother {number_str(comp.other_factor)} = "
            f"{money_str(quantize(value))}"
        )
    count = Decimal(len(adjusted))
    mean = sum(adjusted, ZERO) / count
    observed = None
    if len(adjusted) >= 2 and mean > 0:
        variance = sum(((v - mean) ** 2 for v in adjusted), ZERO) / (count - ONE)
        observed = quantize_rate(variance.sqrt() / mean)
    dispersion = max(params.market_dispersion_floor, observed if observed is not None else ZERO)
    return MarketBasis(
        kind=inp.kind,
        protection=protection,
        used=used,
        ignored=ignored,
        subject_quality=subject,
        quality_source=source,
        adjusted=tuple(adjusted),
        explained=tuple(explained),
        per_quality=sum(per_quality, ZERO) / count if is_data else ZERO,
        mean=mean,
        observed_dispersion=observed,
        dispersion=dispersion,
        factor=protection.factor if protection is not None else ONE,
    )


def simulate_batch(bases: Sequence[MarketBasis], params: Parameters, variates: Variates) -> np.ndarray:
    """The value of each asset (row) and path (column), one numpy computation for the whole batch."""
    live = [basis.zero_reason is None for basis in bases]
    data = [basis.subject_quality is not None for basis in bases]
    scale = column(
        [
            0.0 if not ok else float(b.per_quality) if is_data else float(b.mean)
            for b, ok, is_data in zip(bases, live, data, strict=True)
        ]
    )
    quality = column([float(b.subject_quality) if is_data else 1.0 for b, is_data in zip(bases, data, strict=True)])
    quality_sd = column([float(params.cost_quality_sd) if is_data else 0.0 for is_data in data])
    ceiling = column([100.0 if is_data else math.inf for is_data in data])
    path_quality = np.clip(quality[:, None] * (1.0 + quality_sd[:, None] * variates.quality), 0.0, ceiling[:, None])
    error = column([float(b.dispersion) / math.sqrt(max(1, len(b.used))) for b in bases])
    noise = np.maximum(1.0 + error[:, None] * variates.market, 0.0)
    factor = column([float(b.factor) if ok else 0.0 for b, ok in zip(bases, live, strict=True)])
    return scale[:, None] * path_quality * noise * factor[:, None]


class MarketCalculator(BasisCalculator[MarketBasis]):
    method = ValuationMethod.MARKET
    detail_fields = (
        "comparables",
        "quality",
        "patent_type",
        "filing_date",
        "legal_status",
        "valid_until",
        "completed_on",
        "first_published_on",
    )
    formula = (
        "V = mean over comparables j of P_j x X_quality x X_supply_demand x X_date x X_capacity x X_other: "
        "X_quality = Q_subject / Q_comparable (data assets; 1 for patents, trademarks, software), X_date = "
        "price index at valuation / at trade; at least the parameter set's minimum number of comparables. "
        "Simulation: the mean varies by the comparables' dispersion / sqrt(m), and Q_subject as in the cost "
        "approach."
    )

    def basis(self, inp: ValuationInput, params: Parameters) -> MarketBasis | str:
        return market_basis(inp, params)

    def simulate_basis_batch(self, bases: Sequence[MarketBasis], params: Parameters, variates: Variates) -> np.ndarray:
        return simulate_batch(bases, params, variates)

    def figure(
        self, basis: MarketBasis, params: Parameters, low: Decimal, value: Decimal, high: Decimal
    ) -> MethodFigure:
        drivers = legal_drivers(basis.protection)
        if basis.zero_reason is not None:
            return self.zero_figure(drivers, basis.zero_reason)
        m = len(basis.used)
        drivers.update(
            {
                "point_value": money_str(quantize(basis.point_value)),
                "comparables_used": str(m),
                "mean_adjusted_price": money_str(quantize(basis.mean)),
                **{f"comparable_{n}": text for n, text in enumerate(basis.explained, start=1)},
                "price_index_at_valuation": number_str(params.market_price_index_at_valuation),
                "dispersion": number_str(basis.dispersion),
                "dispersion_rule": (
                    "relative sample standard deviation of the adjusted prices"
                    + (f" ({number_str(basis.observed_dispersion)})" if basis.observed_dispersion is not None else "")
                    + f", not below {number_str(params.market_dispersion_floor)}"
                ),
                "mc_paths": str(params.mc_paths),
                "simulation": (
                    f"V_path = V x max(0, 1 + {number_str(basis.dispersion)} / sqrt({m}) x z), z ~ Normal(0, 1)"
                )
                + (
                    f"; Q_subject x (1 + {number_str(params.cost_quality_sd)} x z_quality) within [0, 100]"
                    if basis.subject_quality is not None
                    else ""
                ),
            }
        )
        keys = ["comparables_used", "mean_adjusted_price"]
        if basis.subject_quality is not None:
            drivers["subject_quality_score"] = number_str(basis.subject_quality)
            drivers["quality_source"] = basis.quality_source
            keys.append("subject_quality_score")
        else:
            drivers["quality_rule"] = (
                f"X_quality = 1: a {basis.kind} has no quality score (comparables' quality_score ignored)"
            )
        keys.append("dispersion")
        if basis.ignored:
            drivers["ignored_comparables"] = (
                ", ".join(f"details.comparables[{i}]" for i in basis.ignored) + " (traded after the valuation date)"
            )
        if basis.protection is not None and basis.protection.factor_rule:
            drivers["pending_patent_factor"] = number_str(basis.protection.factor)
            drivers["pending_rule"] = basis.protection.factor_rule
        return self.method_figure(drivers, tuple(keys), low, value, high)

    def used_details(self, details: Mapping[str, Any]) -> dict[str, Any]:
        """The fields this method reads, normalised and JSON-ready."""
        used = used_legal_details(details)
        comparables = read_comparables(details)
        if comparables:
            used["comparables"] = [comp.as_json() for comp in comparables]
        scores = read_quality(details)
        if scores:
            used["quality"] = {name: number_str(score) for name, score in scores.items()}
        return used
