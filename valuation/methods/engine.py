"""The valuation engine: runs the registered methods that apply to an asset and reconciles their figures.

``CALCULATORS`` is the only extension point: a new method is a class with ``applicable``/``compute`` (see
``types.Calculator``) registered here under its ``ValuationMethod`` and given a weight per asset kind in
``Parameters.method_weights_by_kind``. The kind's candidate methods are the keys of those weights, in order.

``value_assets`` values a batch: each asset's generator (``numpy.random.default_rng(seed)``) draws its
variates (``types.Variates``, always the same draws whatever the asset's data), then each method simulates
all the assets it applies to in one numpy computation of shape ``(assets, paths)``
(``types.BatchCalculator``). An asset's reconciled paths are the weighted sum of its methods' paths, path
by path, and its low / value / high are their P10 / P50 / P90, so ``low <= value <= high`` by construction.
``value_asset`` is a batch of one: a batch gives every asset exactly what a single valuation gives.
A calculator with only ``compute`` (no batch interface) still runs, asset by asset; an asset one of whose
figures comes from such a calculator is reconciled by the weighted sums of the figures' P10 / P50 / P90.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from common.money import DEFAULT_CURRENCY, quantize, quantize_rate
from valuation.methods.cost import CostCalculator
from valuation.methods.income import IncomeCalculator
from valuation.methods.market import MarketCalculator
from valuation.methods.parameters import DEFAULT_PARAMETERS, Parameters
from valuation.methods.royalty import ReliefFromRoyaltyCalculator
from valuation.methods.types import (
    PERCENTILE_METHOD,
    PERCENTILES,
    VARIATE_ORDER,
    Calculator,
    MethodFigure,
    ValuationInput,
    ValuationMethod,
    ValuationNotPossible,
    ValuationOutcome,
    Variates,
    money_str,
    number_str,
    percentiles_rows,
)

ENGINE_VERSION = "1.1.0"
CURRENCY = DEFAULT_CURRENCY
SEED_BITS = 63
ZERO = Decimal(0)

CALCULATORS: dict[ValuationMethod, Calculator] = {
    ValuationMethod.COST: CostCalculator(),
    ValuationMethod.INCOME: IncomeCalculator(),
    ValuationMethod.MARKET: MarketCalculator(),
    ValuationMethod.RELIEF_FROM_ROYALTY: ReliefFromRoyaltyCalculator(),
}
BATCH_INTERFACE = ("prepare", "simulate_batch", "figure")
# A batch is simulated in blocks of about this many (asset, path) cells, so that its arrays stay in the
# processor's caches and its memory bounded: one numpy computation per method and block, never per asset.
BLOCK_ELEMENTS = 1 << 20


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


def _batch_capable(calculator: Calculator) -> bool:
    return all(callable(getattr(calculator, name, None)) for name in BATCH_INTERFACE)


def _weights(methods: list[ValuationMethod], kind: str, params: Parameters) -> dict[ValuationMethod, Decimal]:
    """The kind's weights renormalised over the methods that applied (equal weights when they sum to zero)."""
    configured = params.method_weights_by_kind[kind]
    raw = [configured[method.value] for method in methods]
    total = sum(raw, ZERO)
    if total == 0:
        raw, total = [Decimal(1)] * len(methods), Decimal(len(methods))
    return {method: weight / total for method, weight in zip(methods, raw, strict=True)}


@dataclass
class _Asset:
    """One asset of a batch between its preparation and its outcome."""

    position: int
    inp: ValuationInput
    seed: int
    inputs: dict[str, Any]
    applied: list[ValuationMethod]  # in the kind's candidate order
    skipped: dict[str, str]
    bases: dict[ValuationMethod, Any]  # batch calculators: what they simulate
    figures: dict[ValuationMethod, MethodFigure] = field(default_factory=dict)
    weights: dict[ValuationMethod, Decimal] = field(default_factory=dict)
    legacy: bool = False  # a figure came from a calculator without the batch interface
    row: int = -1  # the asset's row in the batch's variates


def _prepare(position: int, inp: ValuationInput, seed: int, params: Parameters) -> _Asset:
    candidates = candidate_methods(inp.kind, params)
    asset = _Asset(
        position=position,
        inp=inp,
        seed=seed,
        inputs=normalise_inputs(inp, params),
        applied=[],
        skipped={},
        bases={},
    )
    for method in candidates:
        calculator = CALCULATORS.get(method)
        if calculator is None:
            asset.skipped[method.value] = f"engine {ENGINE_VERSION} has no calculator for the {method.value} method"
            continue
        if _batch_capable(calculator):
            basis = calculator.prepare(inp, params)  # type: ignore[attr-defined]
            if isinstance(basis, str):
                asset.skipped[method.value] = basis
                continue
            asset.bases[method] = basis
        else:
            reason = calculator.applicable(inp, params)
            if reason is not None:
                asset.skipped[method.value] = reason
                continue
            # A calculator without the batch interface draws from its own fresh generator.
            asset.figures[method] = calculator.compute(inp, params, np.random.default_rng(seed))
            asset.legacy = True
        asset.applied.append(method)
    if not asset.applied:
        raise ValuationNotPossible(
            f"no valuation method applies to this {inp.kind} asset: "
            + "; ".join(f"{method}: {reason}" for method, reason in asset.skipped.items()),
            code="insufficient_data",
            reasons=asset.skipped,
        )
    asset.weights = _weights(asset.applied, inp.kind, params)
    return asset


def value_assets(
    inputs: Sequence[ValuationInput],
    *,
    seeds: Sequence[int],
    params: Parameters = DEFAULT_PARAMETERS,
) -> list[ValuationOutcome | ValuationNotPossible]:
    """Value a batch: one outcome per input, in order, or the ``ValuationNotPossible`` that asset met.

    The Monte Carlo is one numpy computation per method over all the assets it applies to (shape
    ``(assets, paths)``); each asset's variates come from its own ``default_rng(seed)``, so every asset gets
    exactly what ``value_asset(inp, seed=seed, params=params)`` gives. A bad seed or date raises for the batch.
    """
    inputs, seeds = list(inputs), list(seeds)
    if len(inputs) != len(seeds):
        raise ValueError(f"value_assets needs one seed per input: {len(inputs)} inputs, {len(seeds)} seeds")
    for inp, seed in zip(inputs, seeds, strict=True):
        _check(inp, seed)

    results: list[ValuationOutcome | ValuationNotPossible | None] = [None] * len(inputs)
    assets: list[_Asset] = []
    for position, (inp, seed) in enumerate(zip(inputs, seeds, strict=True)):
        try:
            assets.append(_prepare(position, inp, seed, params))
        except ValuationNotPossible as exc:
            results[position] = exc

    simulated = [asset for asset in assets if asset.bases]
    reconciled: list[tuple[Decimal, Decimal, Decimal]] = []
    block = max(1, BLOCK_ELEMENTS // params.mc_paths)
    for start in range(0, len(simulated), block):
        reconciled += _simulate_block(simulated[start : start + block], params)
    for row, asset in enumerate(simulated):
        asset.row = row

    for asset in assets:
        pathwise = None if asset.legacy or not asset.bases else reconciled[asset.row]
        results[asset.position] = _outcome(asset, params, pathwise)
    return [result for result in results if result is not None]


def _simulate_block(block: list[_Asset], params: Parameters) -> list[tuple[Decimal, Decimal, Decimal]]:
    """Each method's Monte Carlo for the assets of ``block`` at once, shape ``(assets, paths)``; sets the
    assets' figures and returns the P10 / P50 / P90 of each asset's weighted sum of paths."""
    paths = params.mc_paths
    variates = Variates.for_seeds([asset.seed for asset in block], paths)
    combined = np.zeros((len(block), paths))
    for method in ValuationMethod:  # a fixed order: the sum of an asset's paths never depends on its batch
        rows = [row for row, asset in enumerate(block) if method in asset.bases]
        if not rows:
            continue
        group = [block[row] for row in rows]
        calculator: Any = CALCULATORS[method]
        values = np.asarray(
            calculator.simulate_batch([asset.bases[method] for asset in group], params, variates.take(rows)),
            dtype=float,
        )
        if values.shape != (len(group), paths):
            raise ValueError(f"{method.value}: simulate_batch gave shape {values.shape}, not {(len(group), paths)}")
        values = np.maximum(values, 0.0)  # a value is never negative, path by path
        for asset, (low, value, high) in zip(group, percentiles_rows(values), strict=True):
            asset.figures[method] = calculator.figure(asset.bases[method], params, low, value, high)
        weights = np.asarray([float(asset.weights[method]) for asset in group], dtype=float)
        combined[rows] += weights[:, None] * values
    return percentiles_rows(combined)


def value_asset(
    inp: ValuationInput,
    *,
    seed: int,
    params: Parameters = DEFAULT_PARAMETERS,
) -> ValuationOutcome:
    """Value one asset (a batch of one): every applicable method of its kind, reconciled by weight."""
    [result] = value_assets([inp], seeds=[seed], params=params)
    if isinstance(result, ValuationNotPossible):
        raise result
    return result


def _figure_with(figure: MethodFigure, **changes: Any) -> MethodFigure:
    """``dataclasses.replace`` for a ``MethodFigure``, without its per-call field inspection (hot path)."""
    return MethodFigure(**{**figure.__dict__, **changes})


def _rounded(figure: MethodFigure) -> MethodFigure:
    return _figure_with(figure, value=quantize(figure.value), low=quantize(figure.low), high=quantize(figure.high))


def _weighted(figures: list[MethodFigure], attr: str) -> Decimal:
    return sum((figure.weight * getattr(figure, attr) for figure in figures), ZERO)


def _outcome(asset: _Asset, params: Parameters, pathwise: tuple[Decimal, Decimal, Decimal] | None) -> ValuationOutcome:
    figures = [_figure_with(asset.figures[method], weight=asset.weights[method]) for method in asset.applied]
    if pathwise is not None:
        p_low, p_value, p_high = pathwise
    else:
        p_low, p_value, p_high = (_weighted(figures, name) for name in ("low", "value", "high"))
    value = quantize(max(ZERO, p_value))
    low = min(value, quantize(max(ZERO, p_low)))
    high = max(value, quantize(max(ZERO, p_high)))
    main = max(figures, key=lambda figure: figure.weight).method  # the first of equal weights
    rounded = tuple(_rounded(figure) for figure in figures)
    explanation = _explain(
        rounded,
        skipped=asset.skipped,
        main=main,
        seed=asset.seed,
        params=params,
        value=value,
        low=low,
        high=high,
        pathwise=pathwise is not None,
    )
    return ValuationOutcome(
        value=value,
        low=low,
        high=high,
        currency=CURRENCY,
        method=main.value,
        figures=rounded,
        skipped=dict(asset.skipped),
        inputs=asset.inputs,
        explanation=explanation,
        seed=asset.seed,
        parameter_set=params.version,
        engine_version=ENGINE_VERSION,
    )


PATHWISE_RULE = (
    "each path's value is the weighted sum of the applicable methods' values on that path (the same "
    "variates: growth, discount rate, rate, life, quality, market), with the parameter set's weights for the "
    "asset kind renormalised over the methods that applied; value, low and high are the P50, P10 and P90 of "
    "those sums, so low <= value <= high; the main method is the one with the largest weight"
)
PERCENTILE_RULE = (
    "value, low and high are the weighted sums of each applicable method's P50, P10 and P90, "
    "with the parameter set's weights for the asset kind renormalised over the methods "
    "that applied; the main method is the one with the largest weight"
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
    pathwise: bool = False,
) -> dict[str, Any]:
    methods: dict[str, Any] = {}
    for figure in figures:
        methods[figure.method.value] = {
            "value": money_str(figure.value),
            "low": money_str(figure.low),
            "high": money_str(figure.high),
            "weight": number_str(quantize_rate(figure.weight)),
            "point_value": figure.drivers.get("point_value", ""),
            "main_drivers": {name: figure.drivers[name] for name in figure.key_drivers if name in figure.drivers},
            "formula": CALCULATORS[figure.method].formula if figure.method in CALCULATORS else "",
            "mc_paths": int(figure.drivers.get("mc_paths", params.mc_paths)),
            "drivers": dict(figure.drivers),
        }
    weights = {figure.method.value: number_str(quantize_rate(figure.weight)) for figure in figures}
    range_text = f"range {money_str(low)} to {money_str(high)} (P{PERCENTILES['low']} to P{PERCENTILES['high']})"
    if len(figures) == 1:
        how = f"by the {main.value} method (P{PERCENTILES['value']} of {params.mc_paths} simulated paths)"
    else:
        parts = ", ".join(f"{name} {weight}" for name, weight in weights.items())
        how = (
            f"reconciled from {parts} (P{PERCENTILES['value']} of the weighted sum of {params.mc_paths} "
            f"simulated paths); main method {main.value}"
        )
    explanation: dict[str, Any] = {
        "summary": f"{money_str(value)} {CURRENCY} {how}, {range_text}",
        "method": main.value,
        "methods_run": [figure.method.value for figure in figures],
        "methods": methods,
        "skipped": dict(skipped),
        "reconciliation": {
            "rule": PATHWISE_RULE if pathwise else PERCENTILE_RULE,
            "weights": weights,
        },
        "monte_carlo": {
            "paths": params.mc_paths,
            "seed": seed,
            "generator": (
                "numpy.random.default_rng(seed) (PCG64), one generator per asset drawing "
                f"{params.mc_paths} variates of each of {', '.join(VARIATE_ORDER)} in that order, whatever "
                "methods apply; the methods share them"
            ),
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
        explanation["zero_value_reason"] = "; ".join(dict.fromkeys(zero_reasons))
    return explanation
