"""The valuation engine: runs the registered methods that apply to an asset and reconciles their figures.

``CALCULATORS`` is the only extension point: a new method is a class with ``applicable``/``compute`` (see
``types.Calculator``) registered here under its ``ValuationMethod`` and given a weight per asset kind in
``Parameters.method_weights_by_kind``. The kind's candidate methods are the keys of those weights, in order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from common.money import DEFAULT_CURRENCY, quantize, quantize_rate
from valuation.methods.cost import CostCalculator
from valuation.methods.parameters import DEFAULT_PARAMETERS, Parameters
from valuation.methods.royalty import ReliefFromRoyaltyCalculator
from valuation.methods.types import (
    PERCENTILE_METHOD,
    PERCENTILES,
    Calculator,
    MethodFigure,
    ValuationInput,
    ValuationMethod,
    ValuationNotPossible,
    ValuationOutcome,
    money_str,
    number_str,
)

ENGINE_VERSION = "1.0.0"
CURRENCY = DEFAULT_CURRENCY
SEED_BITS = 63
ZERO = Decimal(0)

CALCULATORS: dict[ValuationMethod, Calculator] = {
    ValuationMethod.COST: CostCalculator(),
    ValuationMethod.RELIEF_FROM_ROYALTY: ReliefFromRoyaltyCalculator(),
}


# --- canonical JSON, seeds and fingerprints ------------------------------------------------------------


def _json_default(value: object) -> Any:
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, date):  # also datetime
        return value.isoformat()
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON-ready")


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, decimals as plain strings, dates ISO; NaN and unknown types refused."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def _sha256(value: Any) -> bytes:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).digest()


def derive_seed(*, asset_key: str, inputs: Mapping[str, Any], parameter_set: str) -> int:
    """A seed from what is valued: sha256 of the canonical JSON, first 8 bytes, masked to 63 bits."""
    digest = _sha256({"asset_key": asset_key, "inputs": inputs, "parameter_set": parameter_set})
    return int.from_bytes(digest[:8], "big", signed=False) & ((1 << SEED_BITS) - 1)


def fingerprint(
    *,
    inputs: Mapping[str, Any],
    parameter_set: str,
    engine_version: str,
    seed: int,
    value: Decimal,
    low: Decimal,
    high: Decimal,
) -> str:
    """Hex sha256 over the canonical JSON of a result and everything that determined it."""
    return _sha256(
        {
            "inputs": inputs,
            "parameter_set": parameter_set,
            "engine_version": engine_version,
            "seed": seed,
            "value": value,
            "low": low,
            "high": high,
        }
    ).hex()


# --- the engine --------------------------------------------------------------------------------------------


def candidate_methods(kind: str, params: Parameters = DEFAULT_PARAMETERS) -> tuple[ValuationMethod, ...]:
    weights = params.method_weights_by_kind.get(kind)
    if not weights:
        raise ValuationNotPossible(
            f"no valuation method is configured for {kind!r} assets (parameter set {params.version})",
            code="unsupported_kind",
            reasons={"kind": f"{kind!r} has no methods"},
        )
    return tuple(ValuationMethod(method) for method in weights)


def normalise_inputs(inp: ValuationInput, params: Parameters = DEFAULT_PARAMETERS) -> dict[str, Any]:
    """The inputs the kind's methods read, normalised and JSON-ready. Malformed fields raise invalid_data."""
    if not isinstance(inp.details, Mapping):
        raise ValuationNotPossible(
            "details: must be an object", code="invalid_data", reasons={"details": "must be an object"}
        )
    details: dict[str, Any] = {}
    for method in candidate_methods(inp.kind, params):
        calculator = CALCULATORS.get(method)
        if calculator is not None:
            details.update(calculator.used_details(inp.details))
    return {
        "kind": inp.kind,
        "industry": inp.industry,
        "as_of": inp.as_of.isoformat(),
        "currency": CURRENCY,
        "details": details,
    }


def _check(inp: ValuationInput, seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < (1 << SEED_BITS):
        raise ValueError(f"seed must be an int in [0, 2^{SEED_BITS}), not {seed!r}")
    if not isinstance(inp.as_of, date):
        raise TypeError(f"as_of must be a date, not {type(inp.as_of).__name__}")


def _reconcile(figures: list[MethodFigure], kind: str, params: Parameters) -> list[MethodFigure]:
    """The figures with their weights: the kind's weights renormalised over the methods that applied."""
    configured = params.method_weights_by_kind[kind]
    raw = [configured[figure.method.value] for figure in figures]
    total = sum(raw, ZERO)
    if total == 0:
        raw, total = [Decimal(1)] * len(figures), Decimal(len(figures))
    return [replace(figure, weight=weight / total) for figure, weight in zip(figures, raw, strict=True)]


def _rounded(figure: MethodFigure) -> MethodFigure:
    return replace(figure, value=quantize(figure.value), low=quantize(figure.low), high=quantize(figure.high))


def _weighted(figures: list[MethodFigure], attr: str) -> Decimal:
    return sum((figure.weight * getattr(figure, attr) for figure in figures), ZERO)


def value_asset(
    inp: ValuationInput,
    *,
    seed: int,
    params: Parameters = DEFAULT_PARAMETERS,
) -> ValuationOutcome:
    """Value one asset: every applicable method of its kind, reconciled by weight, rounded at the end."""
    _check(inp, seed)
    candidates = candidate_methods(inp.kind, params)
    inputs = normalise_inputs(inp, params)
    figures: list[MethodFigure] = []
    skipped: dict[str, str] = {}
    for method in candidates:
        calculator = CALCULATORS.get(method)
        if calculator is None:
            skipped[method.value] = f"engine {ENGINE_VERSION} has no calculator for the {method.value} method"
            continue
        reason = calculator.applicable(inp, params)
        if reason is not None:
            skipped[method.value] = reason
            continue
        # Each method draws from its own fresh generator, so its figure does not depend on the others.
        figures.append(calculator.compute(inp, params, np.random.default_rng(seed)))
    if not figures:
        raise ValuationNotPossible(
            f"no valuation method applies to this {inp.kind} asset: "
            + "; ".join(f"{method}: {reason}" for method, reason in skipped.items()),
            code="insufficient_data",
            reasons=skipped,
        )

    figures = _reconcile(figures, inp.kind, params)
    value = quantize(max(ZERO, _weighted(figures, "value")))
    low = min(value, quantize(max(ZERO, _weighted(figures, "low"))))
    high = max(value, quantize(max(ZERO, _weighted(figures, "high"))))
    main = max(figures, key=lambda figure: figure.weight).method  # the first of equal weights
    rounded = tuple(_rounded(figure) for figure in figures)
    explanation = _explain(
        rounded, skipped=skipped, main=main, seed=seed, params=params, value=value, low=low, high=high
    )
    return ValuationOutcome(
        value=value,
        low=low,
        high=high,
        currency=CURRENCY,
        method=main.value,
        figures=rounded,
        skipped=skipped,
        inputs=inputs,
        explanation=explanation,
        seed=seed,
        parameter_set=params.version,
        engine_version=ENGINE_VERSION,
    )


def _explain(
    figures: tuple[MethodFigure, ...],
    *,
    skipped: dict[str, str],
    main: ValuationMethod,
    seed: int,
    params: Parameters,
    value: Decimal,
    low: Decimal,
    high: Decimal,
) -> dict[str, Any]:
    methods: dict[str, Any] = {}
    for figure in figures:
        methods[figure.method.value] = {
            "value": money_str(figure.value),
            "low": money_str(figure.low),
            "high": money_str(figure.high),
            "weight": number_str(quantize_rate(figure.weight)),
            "point_value": figure.drivers.get("point_value", ""),
            "formula": CALCULATORS[figure.method].formula,
            "mc_paths": int(figure.drivers.get("mc_paths", params.mc_paths)),
            "drivers": dict(figure.drivers),
        }
    explanation: dict[str, Any] = {
        "summary": (
            f"{money_str(value)} {CURRENCY} by the {main.value} method "
            f"(P{PERCENTILES['value']} of {params.mc_paths} simulated paths), range "
            f"{money_str(low)} to {money_str(high)} (P{PERCENTILES['low']} to P{PERCENTILES['high']})"
        ),
        "method": main.value,
        "methods": methods,
        "skipped": dict(skipped),
        "reconciliation": {
            "rule": (
                "value, low and high are the weighted sums of each applicable method's P50, P10 and P90, "
                "with the parameter set's weights for the asset kind renormalised over the methods "
                "that applied; the main method is the one with the largest weight"
            ),
            "weights": {figure.method.value: number_str(quantize_rate(figure.weight)) for figure in figures},
        },
        "monte_carlo": {
            "paths": params.mc_paths,
            "seed": seed,
            "generator": "numpy.random.default_rng(seed) (PCG64), a fresh generator for each method",
        },
        "percentiles": {
            name: (
                f"P{p}: the {p}th percentile of the simulated values "
                f"(numpy.percentile, method '{PERCENTILE_METHOD}'), floored at zero"
            )
            for name, p in PERCENTILES.items()
        },
        "rounding": "amounts are rounded to the cent, half up, once, after reconciliation",
        "currency": CURRENCY,
        "parameter_set": params.version,
        "engine_version": ENGINE_VERSION,
    }
    zero_reasons = [f.drivers["zero_value_reason"] for f in figures if "zero_value_reason" in f.drivers]
    if zero_reasons and len(zero_reasons) == len(figures):
        explanation["zero_value_reason"] = "; ".join(zero_reasons)
    return explanation
