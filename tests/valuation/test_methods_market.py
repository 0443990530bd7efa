"""Market approach (domain.md 1.2): V = mean of P_j x Xq x Xsd x Xdate x Xcap x Xother.

No Django, no database.
"""

from __future__ import annotations

import statistics
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from valuation.methods import (
    CALCULATORS,
    DEFAULT_PARAMETERS,
    ValuationInput,
    ValuationMethod,
    ValuationNotPossible,
    value_asset,
)
from valuation.methods.market import market_basis

AS_OF = date(2026, 6, 30)
MARKET = CALCULATORS[ValuationMethod.MARKET]
KINDS = ("data", "patent", "trademark", "software")
# the market approach alone, without the quality error or a dispersion floor: identical comparables give
# every path the point value (different comparables still spread the paths by their dispersion)
ALONE = replace(
    DEFAULT_PARAMETERS,
    method_weights_by_kind={key: {"market": Decimal(1)} for key in KINDS},
    market_dispersion_floor=Decimal("0"),
    cost_quality_sd=Decimal("0"),
    mc_paths=200,
)
QUALITY_80 = dict.fromkeys(
    ("normativity", "completeness", "accuracy", "consistency", "timeliness", "accessibility"), "80"
)
THREE = [
    {
        "price": "1000000.00",
        "quality_score": "80",
        "supply_demand_factor": "1.05",
        "trade_date": "2025-06-30",
        "price_index_at_trade": "100",
        "capacity_factor": "0.9",
        "other_factor": "1.0",
    },
    {
        "price": "800000.00",
        "quality_score": "64",
        "trade_date": "2024-12-31",
        "price_index_at_trade": "80",
        "other_factor": "0.95",
    },
    {"price": "500000.00"},
]


def data_asset(comparables, quality=QUALITY_80, **extra) -> ValuationInput:
    details = {"description": "Retail footfall", "category": "retail", "comparables": comparables, **extra}
    if quality is not None:
        details["quality"] = quality
    return ValuationInput(kind="data", details=details, industry="OPTO_ELEC", as_of=AS_OF)


def market_figure(inp, params=ALONE):
    outcome = value_asset(inp, seed=11, params=params)
    return next(f for f in outcome.figures if f.method == ValuationMethod.MARKET)


def test_hand_worked_three_comparables():
    # Q_subject = 80 (all six dimensions 80); index at valuation 100
    # V_1 = 1,000,000 x (80/80) x 1.05 x (100/100) x 0.9 x 1.0           =   945,000
    # V_2 =   800,000 x (80/64) x 1    x (100/80)  x 1   x 0.95           = 1,187,500
    # V_3 =   500,000 x (80/60: no quality_score, the default 60) x 1...  =   666,666.666667
    # V = (945000 + 1187500 + 666666.666667) / 3 = 933055.555556 -> 933055.56
    inp = data_asset(THREE)

    assert abs(MARKET.point_value(inp, ALONE) - Decimal("933055.555556")) < Decimal("0.000001")
    figure = market_figure(inp)
    drivers = figure.drivers
    assert drivers["point_value"] == "933055.56"
    assert figure.low < figure.value < figure.high  # the comparables disagree: the mean is uncertain
    assert drivers["comparables_used"] == "3"
    assert drivers["mean_adjusted_price"] == "933055.56"
    assert drivers["comparable_1"].endswith("= 945000.00")
    assert drivers["comparable_2"].endswith("= 1187500.00")
    assert drivers["comparable_3"].endswith("= 666666.67")
    assert drivers["subject_quality_score"] == "80"
    assert set(figure.key_drivers) == {"comparables_used", "mean_adjusted_price", "subject_quality_score", "dispersion"}


def test_dispersion_is_the_relative_sample_deviation_of_the_adjusted_prices():
    values = [945000, 1187500, Decimal(2000000) / 3]
    expected = statistics.stdev(float(v) for v in values) / statistics.mean(float(v) for v in values)

    basis = market_basis(data_asset(THREE), DEFAULT_PARAMETERS)
    assert abs(float(basis.observed_dispersion) - expected) < 1e-6
    assert basis.dispersion == basis.observed_dispersion  # above the 0.10 floor

    outcome = value_asset(data_asset(THREE), seed=11, params=replace(ALONE, market_dispersion_floor=Decimal("0.1")))
    assert outcome.low < outcome.value < outcome.high


def test_identical_comparables_still_carry_the_dispersion_floor():
    same = [{"price": "100000.00", "quality_score": "80"}] * 2

    basis = market_basis(data_asset(same), DEFAULT_PARAMETERS)
    assert basis.observed_dispersion == 0
    assert basis.dispersion == Decimal("0.10")
    outcome = value_asset(data_asset(same), seed=2, params=replace(ALONE, market_dispersion_floor=Decimal("0.1")))
    assert outcome.low < Decimal("100000.00") < outcome.high


def test_the_valuation_price_index_comes_from_the_parameters():
    # index at valuation 110, at trade 100: Xdate = 1.1 for both; V = 100,000 x 1.1 = 110,000
    comps = [{"price": "100000.00", "quality_score": "80", "price_index_at_trade": "100"}] * 2
    params = replace(ALONE, market_price_index_at_valuation=Decimal("110"))

    assert market_figure(data_asset(comps), params).value == Decimal("110000.00")


def test_a_subject_without_quality_scores_uses_the_default():
    # Q_subject = 60 (default), Q_comparable = 80: V = 100,000 x 60/80 = 75,000
    comps = [{"price": "100000.00", "quality_score": "80"}] * 2

    figure = market_figure(data_asset(comps, quality=None))
    assert figure.value == Decimal("75000.00")
    assert figure.drivers["quality_source"].startswith("default")


def test_one_comparable_is_not_enough_by_default():
    inp = data_asset(THREE[:1], cost={"acquisition": "1000.00"})

    outcome = value_asset(inp, seed=1)
    assert "at least 2" in outcome.skipped["market"]
    assert "market" not in outcome.explanation["methods_run"]
    # a parameter set asking for one comparable accepts it: 1,000,000 x 1.05 x 0.9 = 945,000
    one = replace(ALONE, market_min_comparables=1)
    assert market_figure(inp, one).value == Decimal("945000.00")


def test_comparables_traded_after_the_valuation_date_are_ignored():
    later = {"price": "9000000.00", "trade_date": "2026-07-01"}
    inp = data_asset([*THREE, later])

    figure = market_figure(inp)
    assert figure.drivers["point_value"] == "933055.56"
    assert "details.comparables[3]" in figure.drivers["ignored_comparables"]
    only_later = value_asset(data_asset([THREE[0], later], cost={"other": "1.00"}), seed=1)
    assert "1 more traded after" in only_later.skipped["market"]


def patent(**changes) -> ValuationInput:
    details = {
        "number": "202110123456.7",
        "patent_type": "invention",
        "filing_date": "2021-01-10",
        "legal_status": "valid",
        "comparables": [
            {"price": "600000.00", "quality_score": "50", "other_factor": "1.1"},
            {"price": "400000.00", "quality_score": "90"},
        ],
        **changes,
    }
    return ValuationInput(kind="patent", details=details, industry="OPTO_ELEC", as_of=AS_OF)


def test_intellectual_property_ignores_quality_scores():
    # X_quality = 1 for patents: V = (600,000 x 1.1 + 400,000) / 2 = 530,000
    figure = market_figure(patent())

    assert figure.drivers["point_value"] == "530000.00"
    assert "no quality score" in figure.drivers["quality_rule"]


@pytest.mark.parametrize("status", ["lapsed", "expired", "invalidated"])
def test_a_terminated_patent_has_no_market_value(status):
    outcome = value_asset(patent(legal_status=status), seed=1)

    assert (outcome.value, outcome.low, outcome.high) == (Decimal("0.00"),) * 3
    assert outcome.explanation["methods"]["market"]["value"] == "0.00"
    assert status in outcome.explanation["zero_value_reason"]


def test_a_pending_patent_market_value_is_multiplied_by_the_pending_factor():
    valid, pending = market_figure(patent()), market_figure(patent(legal_status="pending"))

    assert pending.drivers["point_value"] == "265000.00"
    assert abs(valid.value / 2 - pending.value) <= Decimal("0.01")


@pytest.mark.parametrize(
    ("comparables", "field"),
    [
        ("many", "details.comparables"),
        ([{"quality_score": "80"}], "details.comparables[0].price"),
        ([{"price": "-1.00"}], "details.comparables[0].price"),
        ([{"price": "1.00", "quality_score": "0"}], "details.comparables[0].quality_score"),
        ([{"price": "1.00", "quality_score": "120"}], "details.comparables[0].quality_score"),
        ([{"price": "1.00", "capacity_factor": "0"}], "details.comparables[0].capacity_factor"),
        ([{"price": "1.00", "price_index_at_trade": "-5"}], "details.comparables[0].price_index_at_trade"),
        ([{"price": "1.00", "trade_date": "30/06/2025"}], "details.comparables[0].trade_date"),
        (["1.00"], "details.comparables[0]"),
    ],
)
def test_malformed_comparables_are_invalid_data(comparables, field):
    with pytest.raises(ValuationNotPossible) as caught:
        value_asset(data_asset(comparables, cost={"acquisition": "1.00"}), seed=1)

    assert caught.value.code == "invalid_data"
    assert field in caught.value.reasons


def test_inputs_record_the_normalised_comparables():
    inp = data_asset([{"price": "100000", "quality_score": 80, "trade_date": date(2025, 1, 2)}] * 2)

    comps = value_asset(inp, seed=1, params=ALONE).inputs["details"]["comparables"]
    assert comps[0] == {
        "price": "100000.00",
        "quality_score": "80",
        "trade_date": "2025-01-02",
        "supply_demand_factor": "1",
        "capacity_factor": "1",
        "other_factor": "1",
    }
