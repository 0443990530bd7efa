"""Cost approach for data assets: V = C x delta, delta = Q / 100 (domain.md 1.2, 1.3).

No Django, no database.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from valuation.methods import (
    CALCULATORS,
    DEFAULT_PARAMETERS,
    ValuationInput,
    ValuationMethod,
    ValuationNotPossible,
    value_asset,
)
from valuation.methods.cost import cost_basis

AS_OF = date(2026, 6, 30)
COST = CALCULATORS[ValuationMethod.COST]
FAST = replace(DEFAULT_PARAMETERS, mc_paths=400)
NO_NOISE = replace(DEFAULT_PARAMETERS, cost_quality_sd=Decimal("0"))
QUALITY_80 = {
    "normativity": 80,
    "completeness": 90,
    "accuracy": 85,
    "consistency": 75,
    "timeliness": 70,
    "accessibility": 80,
}
COSTS_500K = {
    "acquisition": "300000.00",
    "processing": "120000.00",
    "storage": "30000.00",
    "labor": "50000.00",
}


def data_asset(cost: dict | None = None, quality: dict | None = None, **extra: object) -> ValuationInput:
    details: dict[str, object] = {
        "description": "Freight telematics",
        "category": "logistics",
        "source": "self_generated",
        "record_count": 1_000_000,
        **extra,
    }
    if cost is not None:
        details["cost"] = cost
    if quality is not None:
        details["quality"] = quality
    return ValuationInput(kind="data", details=details, industry="NEV_ICV", as_of=AS_OF)


def test_hand_worked_example_is_exact():
    # C = 300000.00 + 120000.00 + 30000.00 + 50000.00 = 500000.00
    # Q = (80 + 90 + 85 + 75 + 70 + 80) / 6 = 480 / 6 = 80, so delta = 0.80
    # V = 500000.00 x 0.80 = 400000.00
    inp = data_asset(COSTS_500K, QUALITY_80)

    assert COST.point_value(inp, DEFAULT_PARAMETERS) == Decimal("400000.00")
    outcome = value_asset(inp, seed=7)
    drivers = outcome.figures[0].drivers
    assert drivers["point_value"] == "400000.00"
    assert drivers["cost_total"] == "500000.00"
    assert drivers["quality_score"] == "80"
    assert drivers["value_adjustment_coefficient"] == "0.8"
    assert outcome.explanation["methods"]["cost"]["point_value"] == "400000.00"


def test_without_quality_noise_the_range_collapses_on_the_point_value():
    outcome = value_asset(data_asset(COSTS_500K, QUALITY_80), seed=7, params=NO_NOISE)

    assert (outcome.low, outcome.value, outcome.high) == (Decimal("400000.00"),) * 3
    assert outcome.method == "cost"
    assert outcome.currency == "CNY"


def test_absent_components_count_as_zero_and_only_given_dimensions_are_averaged():
    # C = 100000.00 (only acquisition); Q = (90 + 70) / 2 = 80; V = 100000.00 x 0.8 = 80000.00
    inp = data_asset({"acquisition": "100000.00"}, {"accuracy": "90", "completeness": "70"})

    assert COST.point_value(inp, DEFAULT_PARAMETERS) == Decimal("80000.00")
    source = value_asset(inp, seed=1, params=FAST).figures[0].drivers["quality_source"]
    assert "2 of 6" in source
    assert "normativity" in source  # names the dimensions that were not given


def test_repeating_quality_mean_uses_the_coefficient_to_six_places():
    # Q = (81 + 80 + 80) / 3 = 80.333333..., delta = 0.803333 (six places, half up)
    # V = 300000.00 x 0.803333 = 240999.90
    inp = data_asset({"other": "300000.00"}, {"accuracy": 81, "consistency": 80, "timeliness": 80})

    assert COST.point_value(inp, DEFAULT_PARAMETERS) == Decimal("240999.900000")
    assert value_asset(inp, seed=3, params=NO_NOISE).value == Decimal("240999.90")


def test_missing_quality_uses_the_default_score_and_says_so():
    # Q = 60 (params.default_quality_score), V = 500000.00 x 0.6 = 300000.00
    inp = data_asset(COSTS_500K)

    outcome = value_asset(inp, seed=5, params=NO_NOISE)
    assert outcome.value == Decimal("300000.00")
    drivers = outcome.figures[0].drivers
    assert drivers["quality_score"] == "60"
    assert drivers["quality_source"].startswith("default")


def test_simulated_coefficient_stays_within_zero_and_one():
    basis_inp = data_asset({"acquisition": "1000.00"}, dict.fromkeys(QUALITY_80, 100))
    noisy = replace(DEFAULT_PARAMETERS, cost_quality_sd=Decimal("0.5"), mc_paths=1000)
    basis = cost_basis(basis_inp, noisy)
    values = COST.simulate(basis, noisy, np.random.default_rng(11))
    assert values.min() >= 0.0
    assert values.max() <= 1000.0
    outcome = value_asset(basis_inp, seed=11, params=noisy)
    assert outcome.high <= Decimal("1000.00")


@pytest.mark.parametrize(
    ("cost", "expected"),
    [
        (None, "details.cost is missing"),
        ({}, "details.cost is missing"),
        ({"acquisition": "0.00", "labor": "0"}, "sum to zero"),
    ],
)
def test_without_costs_the_cost_approach_does_not_apply(cost, expected):
    with pytest.raises(ValuationNotPossible) as caught:
        value_asset(data_asset(cost, QUALITY_80), seed=1)

    assert caught.value.code == "insufficient_data"
    assert expected in str(caught.value)
    assert "cost" in caught.value.reasons


@pytest.mark.parametrize(
    ("cost", "quality", "field"),
    [
        ({"acquisition": "12,000"}, None, "details.cost.acquisition"),
        ({"acquisition": "-1.00"}, None, "details.cost.acquisition"),
        ({"acquisition": "1.00"}, {"accuracy": 101}, "details.quality.accuracy"),
        ("1000", None, "details.cost"),
    ],
)
def test_malformed_details_are_invalid_data(cost, quality, field):
    with pytest.raises(ValuationNotPossible) as caught:
        value_asset(data_asset(cost, quality), seed=1)

    assert caught.value.code == "invalid_data"
    assert field in caught.value.reasons


cents = st.integers(min_value=0, max_value=10**10).map(lambda c: f"{Decimal(c).scaleb(-2):f}")
scores = st.integers(min_value=0, max_value=10000).map(lambda s: Decimal(s).scaleb(-2))


@settings(max_examples=50, deadline=None)
@given(acquisition=cents, labor=cents, high=scores, drop=scores, seed=st.integers(0, 2**63 - 1))
def test_lower_quality_never_raises_the_cost_value(acquisition, labor, high, drop, seed):
    lower = max(Decimal(0), high - drop)
    costs = {"acquisition": acquisition, "labor": labor}
    better = data_asset(costs, dict.fromkeys(QUALITY_80, str(high)))
    worse = data_asset(costs, dict.fromkeys(QUALITY_80, str(lower)))
    assume(Decimal(acquisition) + Decimal(labor) > 0)

    assert COST.point_value(worse, FAST) <= COST.point_value(better, FAST)
    good, bad = value_asset(better, seed=seed, params=FAST), value_asset(worse, seed=seed, params=FAST)
    assert bad.value <= good.value
    assert bad.low <= good.low
    assert bad.high <= good.high


@settings(max_examples=50, deadline=None)
@given(
    components=st.dictionaries(
        st.sampled_from(["acquisition", "processing", "storage", "labor", "other"]), cents, min_size=1
    ),
    quality=st.dictionaries(st.sampled_from(sorted(QUALITY_80)), scores.map(str)),
    seed=st.integers(0, 2**63 - 1),
)
def test_range_is_ordered_and_never_negative(components, quality, seed):
    inp = data_asset(components, quality or None)
    assume(sum(Decimal(v) for v in components.values()) > 0)

    outcome = value_asset(inp, seed=seed, params=FAST)
    assert Decimal(0) <= outcome.low <= outcome.value <= outcome.high
    assert {amount.as_tuple().exponent for amount in (outcome.low, outcome.value, outcome.high)} == {-2}
