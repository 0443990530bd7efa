"""Pure valuation engine (no Django): ``Decimal`` in, ``Decimal`` out.

``value_asset`` runs the methods registered in ``CALCULATORS`` that apply to an asset's kind, each with a
seeded Monte Carlo range, and reconciles them by the weights of the parameter set.
"""

from valuation.methods.engine import (
    CALCULATORS,
    ENGINE_VERSION,
    candidate_methods,
    canonical_json,
    derive_seed,
    fingerprint,
    normalise_inputs,
    value_asset,
)
from valuation.methods.parameters import DEFAULT_PARAMETERS, Parameters
from valuation.methods.types import (
    Calculator,
    MethodFigure,
    ValuationInput,
    ValuationMethod,
    ValuationNotPossible,
    ValuationOutcome,
)

__all__ = [
    "CALCULATORS",
    "DEFAULT_PARAMETERS",
    "ENGINE_VERSION",
    "Calculator",
    "MethodFigure",
    "Parameters",
    "ValuationInput",
    "ValuationMethod",
    "ValuationNotPossible",
    "ValuationOutcome",
    "candidate_methods",
    "canonical_json",
    "derive_seed",
    "fingerprint",
    "normalise_inputs",
    "value_asset",
]
