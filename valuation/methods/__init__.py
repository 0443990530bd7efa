"""Pure valuation engine (no Django): ``Decimal`` in, ``Decimal`` out.

``value_asset`` runs the methods registered in ``CALCULATORS`` that apply to an asset's kind, each with a
seeded Monte Carlo range, and reconciles them by the weights of the parameter set; ``value_assets`` does the
same for a batch, each method's Monte Carlo being one numpy computation over all the batch's assets.
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
    value_assets,
)
from valuation.methods.parameters import DEFAULT_PARAMETERS, Parameters
from valuation.methods.types import (
    BatchCalculator,
    Calculator,
    MethodFigure,
    ValuationInput,
    ValuationMethod,
    ValuationNotPossible,
    ValuationOutcome,
    Variates,
)

__all__ = [
    "CALCULATORS",
    "DEFAULT_PARAMETERS",
    "ENGINE_VERSION",
    "BatchCalculator",
    "Calculator",
    "MethodFigure",
    "Parameters",
    "ValuationInput",
    "ValuationMethod",
    "ValuationNotPossible",
    "ValuationOutcome",
    "Variates",
    "candidate_methods",
    "canonical_json",
    "derive_seed",
    "fingerprint",
    "normalise_inputs",
    "value_asset",
    "value_assets",
]
