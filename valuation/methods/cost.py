"""Cost approach for data assets (domain.md 1.2, 1.3): ``V = C x delta``.

C is the sum of the cost components in ``details["cost"]`` (absent components count as zero); delta, the
value adjustment coefficient, is ``Q / 100`` where Q is the equal-weight mean of the GB/T 36344 quality
dimensions present in ``details["quality"]`` (``params.default_quality_score`` when none is given).

Uncertainty: delta is an estimate, so each path draws ``delta_path = clip(delta x (1 + e), 0, 1)`` with
``e = params.cost_quality_sd x z`` (z the asset's standard-normal ``quality`` variate, shared with the market
approach's X_quality) and values ``C x delta_path``. Vectorised over assets and paths (``simulate_batch``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from common.money import quantize, quantize_rate
from valuation.methods.parameters import Parameters
from valuation.methods.shared import BasisCalculator
from valuation.methods.types import (
    MethodFigure,
    ValuationInput,
    ValuationMethod,
    Variates,
    money_str,
    number_str,
    read_mapping,
    read_money,
    read_score,
)

COST_COMPONENTS = ("acquisition", "processing", "storage", "labor", "other")
QUALITY_DIMENSIONS = ("normativity", "completeness", "accuracy", "consistency", "timeliness", "accessibility")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class CostBasis:
    components: dict[str, Decimal]  # the components given, in COST_COMPONENTS order
    total: Decimal  # C
    scores: dict[str, Decimal]  # the quality dimensions given
    quality_score: Decimal  # Q, 0..100 (to 6 places)
    quality_from_details: bool
    coefficient: Decimal  # delta = Q / 100 (to 6 places)

    @property
    def point_value(self) -> Decimal:
        return self.total * self.coefficient


def read_cost(details: Mapping[str, Any]) -> dict[str, Decimal]:
    raw = details.get("cost")
    if raw is None:
        return {}
    cost = read_mapping(raw, "cost")
    given = [name for name in COST_COMPONENTS if cost.get(name) is not None]
    return {name: read_money(cost[name], f"cost.{name}") for name in given}


def read_quality(details: Mapping[str, Any]) -> dict[str, Decimal]:
    raw = details.get("quality")
    if raw is None:
        return {}
    quality = read_mapping(raw, "quality")
    return {
        name: read_score(quality[name], f"quality.{name}")
        for name in QUALITY_DIMENSIONS
        if quality.get(name) is not None
    }


def cost_basis(inp: ValuationInput, params: Parameters) -> CostBasis | str:
    """Everything the cost approach uses, or the reason it cannot be applied."""
    components = read_cost(inp.details)
    if not components:
        return "details.cost is missing: the cost approach needs at least one of " + ", ".join(
            f"details.cost.{name}" for name in COST_COMPONENTS
        )
    total = sum(components.values(), Decimal(0))
    if total == 0:
        return "details.cost components sum to zero, so the cost approach has nothing to adjust"
    scores = read_quality(inp.details)
    quality = params.default_quality_score
    if scores:
        quality = quantize_rate(sum(scores.values(), Decimal(0)) / len(scores))
    return CostBasis(
        components=components,
        total=total,
        scores=scores,
        quality_score=quality,
        quality_from_details=bool(scores),
        coefficient=quantize_rate(quality / HUNDRED),
    )


def _kind_reason(inp: ValuationInput) -> str | None:
    return None if inp.kind == "data" else f"the cost approach is for data assets, not {inp.kind}"


class CostCalculator(BasisCalculator[CostBasis]):
    method = ValuationMethod.COST
    detail_fields = ("cost", "quality")
    formula = (
        "V = C x delta: C is the sum of the data asset's cost components (acquisition, processing, "
        "storage, labor, other); delta = Q / 100, Q being the equal-weight mean of the GB/T 36344 quality "
        "scores (normativity, completeness, accuracy, consistency, timeliness, accessibility). "
        "Simulation: delta varies by a normal relative error and is kept within [0, 1]."
    )

    def basis(self, inp: ValuationInput, params: Parameters) -> CostBasis | str:
        return cost_basis(inp, params)

    def applicable(self, inp: ValuationInput, params: Parameters) -> str | None:
        reason = _kind_reason(inp)
        return reason if reason is not None else super().applicable(inp, params)

    def prepare(self, inp: ValuationInput, params: Parameters) -> CostBasis | str:
        reason = _kind_reason(inp)
        return reason if reason is not None else super().prepare(inp, params)

    def simulate_basis_batch(self, bases: Sequence[CostBasis], params: Parameters, variates: Variates) -> np.ndarray:
        coefficient = np.asarray([float(basis.coefficient) for basis in bases], dtype=float)
        total = np.asarray([float(basis.total) for basis in bases], dtype=float)
        errors = variates.quality * float(params.cost_quality_sd)
        coefficients = np.clip(coefficient[:, None] * (1.0 + errors), 0.0, 1.0)
        return total[:, None] * coefficients

    def figure(self, basis: CostBasis, params: Parameters, low: Decimal, value: Decimal, high: Decimal) -> MethodFigure:
        if basis.quality_from_details:
            missing = [name for name in QUALITY_DIMENSIONS if name not in basis.scores]
            quality_source = f"details.quality: mean of {len(basis.scores)} of 6 GB/T 36344 dimensions" + (
                f" (not given: {', '.join(missing)})" if missing else ""
            )
        else:
            quality_source = (
                f"default: details.quality gives no score, so the parameter set's default quality "
                f"score {number_str(params.default_quality_score)} is used"
            )
        drivers = {
            "point_value": money_str(quantize(basis.point_value)),
            "cost_total": money_str(basis.total),
            **{f"cost_{name}": money_str(amount) for name, amount in basis.components.items()},
            "quality_score": number_str(basis.quality_score),
            "quality_source": quality_source,
            **{f"quality_{name}": number_str(score) for name, score in basis.scores.items()},
            "value_adjustment_coefficient": number_str(basis.coefficient),
            "quality_sd": number_str(params.cost_quality_sd),
            "mc_paths": str(params.mc_paths),
            "simulation": (
                f"delta_path = clip(delta x (1 + e), 0, 1), e ~ Normal(0, "
                f"{number_str(params.cost_quality_sd)}); V_path = C x delta_path"
            ),
        }
        key_drivers = ("cost_total", "quality_score", "value_adjustment_coefficient")
        return self.method_figure(drivers, key_drivers, low, value, high)

    def used_details(self, details: Mapping[str, Any]) -> dict[str, Any]:
        """The fields this method reads, normalised and JSON-ready."""
        used: dict[str, Any] = {}
        components = read_cost(details)
        if components:
            used["cost"] = {name: money_str(amount) for name, amount in components.items()}
        scores = read_quality(details)
        if scores:
            used["quality"] = {name: number_str(score) for name, score in scores.items()}
        return used
