"""The engine: method registry, reconciliation, seeds, fingerprints, parameters. No Django, no database."""

from __future__ import annotations

import json
import pickle
from dataclasses import FrozenInstanceError, replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valuation.methods import (
    CALCULATORS,
    DEFAULT_PARAMETERS,
    ENGINE_VERSION,
    MethodFigure,
    Parameters,
    ValuationInput,
    ValuationMethod,
    ValuationNotPossible,
    derive_seed,
    fingerprint,
    normalise_inputs,
    value_asset,
)

AS_OF = date(2026, 6, 30)
FAST = replace(DEFAULT_PARAMETERS, mc_paths=400)
ROYALTY_ONLY = replace(
    FAST, method_weights_by_kind={**FAST.method_weights_by_kind, "patent": {"relief_from_royalty": Decimal(1)}}
)
NO_NOISE = replace(DEFAULT_PARAMETERS, cost_quality_sd=Decimal("0"))
DATA = ValuationInput(
    kind="data",
    details={
        "description": "Grid sensor readings",
        "category": "energy",
        "source": "self_generated",
        "record_count": 5_000_000,
        "update_frequency": "daily",
        "security_level": "general",
        "rights": ["holding"],
        "cost": {
            "acquisition": "300000.00",
            "processing": "120000.00",
            "storage": "30000.00",
            "labor": "50000.00",
        },
        "quality": {
            "normativity": "80",
            "completeness": "90",
            "accuracy": "85",
            "consistency": "75",
            "timeliness": "70",
            "accessibility": "80",
        },
    },
    industry="MODERN_CHEM",
    as_of=AS_OF,
)
HISTORY = [{"year": 2024, "amount": "2000000.00"}, {"year": 2025, "amount": "2100000.00"}]
PATENT = ValuationInput(
    kind="patent",
    details={
        "number": "202110123456.7",
        "patent_type": "invention",
        "filing_date": "2021-01-10",
        "legal_status": "valid",
        "grant_date": "2023-03-01",
        "revenue_history": HISTORY,
    },
    industry="OPTO_ELEC",
    as_of=AS_OF,
)


def outcome_fingerprint(outcome) -> str:
    return fingerprint(
        inputs=outcome.inputs,
        parameter_set=outcome.parameter_set,
        engine_version=outcome.engine_version,
        seed=outcome.seed,
        value=outcome.value,
        low=outcome.low,
        high=outcome.high,
    )


class FixedMarket:
    """A stand-in second method, as the later market approach will plug in."""

    method = ValuationMethod.MARKET
    detail_fields = ()
    formula = "fixed figure for the test"

    def applicable(self, inp, params):
        return None

    def compute(self, inp, params, rng):
        return MethodFigure(
            method=self.method,
            value=Decimal("100000"),
            low=Decimal("90000"),
            high=Decimal("110000"),
            weight=Decimal(1),
            drivers={"point_value": "100000.00"},
        )

    def used_details(self, details):
        return {}


# --- registry and reconciliation --------------------------------------------------------------------------


def test_registry_holds_the_four_methods():
    assert set(CALCULATORS) == set(ValuationMethod)
    assert all(CALCULATORS[method].method == method for method in CALCULATORS)


def test_one_method_has_weight_one_and_is_the_main_method():
    outcome = value_asset(PATENT, seed=4, params=ROYALTY_ONLY)

    assert outcome.method == "relief_from_royalty"
    assert [figure.weight for figure in outcome.figures] == [Decimal(1)]
    assert (outcome.value, outcome.low, outcome.high) == (
        outcome.figures[0].value,
        outcome.figures[0].low,
        outcome.figures[0].high,
    )
    assert outcome.skipped == {}


def test_a_second_method_is_reconciled_by_the_kind_weights(monkeypatch):
    # cost: 400000.00 (no noise), market: 100000 / 90000 / 110000; weights 3 : 1 -> 0.75 : 0.25
    # value = 0.75 x 400000 + 0.25 x 100000 = 325000.00
    # low   = 0.75 x 400000 + 0.25 x 90000  = 322500.00; high = 300000 + 27500 = 327500.00
    monkeypatch.setitem(CALCULATORS, ValuationMethod.MARKET, FixedMarket())
    params = replace(
        NO_NOISE,
        method_weights_by_kind={
            **NO_NOISE.method_weights_by_kind,
            "data": {"cost": Decimal("3"), "market": Decimal("1")},
        },
    )

    outcome = value_asset(DATA, seed=1, params=params)
    assert (outcome.value, outcome.low, outcome.high) == (
        Decimal("325000.00"),
        Decimal("322500.00"),
        Decimal("327500.00"),
    )
    assert outcome.method == "cost"
    weights = {figure.method.value: figure.weight for figure in outcome.figures}
    assert weights == {"cost": Decimal("0.75"), "market": Decimal("0.25")}
    assert outcome.explanation["reconciliation"]["weights"] == {"cost": "0.75", "market": "0.25"}


def test_a_candidate_without_a_calculator_is_skipped_and_the_weights_renormalised(monkeypatch):
    monkeypatch.delitem(CALCULATORS, ValuationMethod.MARKET)
    params = replace(
        NO_NOISE,
        method_weights_by_kind={
            **NO_NOISE.method_weights_by_kind,
            "data": {"cost": Decimal("1"), "market": Decimal("1")},
        },
    )

    outcome = value_asset(DATA, seed=1, params=params)
    assert outcome.value == Decimal("400000.00")
    assert [figure.weight for figure in outcome.figures] == [Decimal(1)]
    assert "no calculator" in outcome.skipped["market"]
    assert outcome.explanation["skipped"] == outcome.skipped


def test_an_unknown_kind_is_not_possible():
    with pytest.raises(ValuationNotPossible) as caught:
        value_asset(replace(DATA, kind="domain_name"), seed=1)

    assert caught.value.code == "unsupported_kind"


def test_when_no_method_applies_the_message_names_the_missing_data():
    bare = replace(DATA, details={"description": "x", "category": "y"})

    with pytest.raises(ValuationNotPossible) as caught:
        value_asset(bare, seed=1)
    assert caught.value.code == "insufficient_data"
    assert "details.cost" in str(caught.value)
    assert set(caught.value.reasons) == {"cost", "income", "market"}
    assert "details.income" in caught.value.reasons["income"]
    assert "details.comparables" in caught.value.reasons["market"]


@pytest.mark.parametrize("seed", [-1, 2**63, True, "7"])
def test_a_seed_out_of_range_is_refused(seed):
    with pytest.raises(ValueError, match="seed"):
        value_asset(DATA, seed=seed)


# --- outcome shape ----------------------------------------------------------------------------------


@pytest.mark.parametrize("inp", [DATA, PATENT], ids=["data", "patent"])
def test_outcome_is_rounded_versioned_and_json_ready(inp):
    outcome = value_asset(inp, seed=12345, params=FAST)

    assert {amount.as_tuple().exponent for amount in (outcome.value, outcome.low, outcome.high)} == {-2}
    assert (outcome.currency, outcome.seed) == ("CNY", 12345)
    assert (outcome.parameter_set, outcome.engine_version) == ("2026.2", ENGINE_VERSION)
    assert ENGINE_VERSION == "1.1.0"
    json.dumps(outcome.inputs)
    json.dumps(outcome.explanation)
    explanation = outcome.explanation
    assert explanation["monte_carlo"]["paths"] == 400
    assert set(explanation["percentiles"]) == {"low", "value", "high"}
    assert "P10" in explanation["percentiles"]["low"]
    assert "P90" in explanation["percentiles"]["high"]
    method = explanation["methods"][outcome.method]
    assert method["formula"] == CALCULATORS[ValuationMethod(outcome.method)].formula
    main = next(figure for figure in outcome.figures if figure.method.value == outcome.method)
    assert method["value"] == f"{main.value:f}"
    assert method["mc_paths"] == 400
    assert method["point_value"]
    assert 2 <= len(method["main_drivers"]) <= 4
    assert explanation["methods_run"] == [figure.method.value for figure in outcome.figures]


def test_inputs_hold_only_the_normalised_fields_the_methods_use():
    inputs = value_asset(PATENT, seed=1, params=FAST).inputs

    assert inputs == {
        "kind": "patent",
        "industry": "OPTO_ELEC",
        "as_of": "2026-06-30",
        "currency": "CNY",
        "details": {
            "patent_type": "invention",
            "legal_status": "valid",
            "filing_date": "2021-01-10",
            "revenue_history": HISTORY,
        },
    }
    assert normalise_inputs(DATA)["details"]["cost"]["labor"] == "50000.00"
    assert "description" not in normalise_inputs(DATA)["details"]


# --- reproducibility --------------------------------------------------------------------------------


def test_same_inputs_and_seed_give_the_same_outcome_and_fingerprint():
    first, again = value_asset(PATENT, seed=99, params=FAST), value_asset(PATENT, seed=99, params=FAST)

    assert first == again
    assert outcome_fingerprint(first) == outcome_fingerprint(again)
    assert len(outcome_fingerprint(first)) == 64


def test_another_seed_draws_other_paths():
    first, other = value_asset(DATA, seed=1), value_asset(DATA, seed=2)

    assert (first.low, first.high) != (other.low, other.high)
    assert first.figures[0].drivers["point_value"] == other.figures[0].drivers["point_value"]


def test_fingerprint_changes_with_any_part_of_the_result():
    outcome = value_asset(DATA, seed=1, params=FAST)
    base = outcome_fingerprint(outcome)

    assert outcome_fingerprint(replace(outcome, value=outcome.value + Decimal("0.01"))) != base
    assert outcome_fingerprint(replace(outcome, seed=2)) != base
    assert outcome_fingerprint(replace(outcome, parameter_set="2026.3")) != base


def test_derive_seed_is_stable_across_key_order_and_types():
    inputs = {"kind": "patent", "details": {"filing_date": date(2021, 1, 10), "amount": Decimal("1.50")}}
    reordered = {"details": {"amount": Decimal("1.50"), "filing_date": date(2021, 1, 10)}, "kind": "patent"}

    seed = derive_seed(asset_key="asset:1:v1", inputs=inputs, parameter_set="2026.1")
    assert seed == derive_seed(asset_key="asset:1:v1", inputs=reordered, parameter_set="2026.1")
    assert 0 <= seed < 2**63
    assert seed != derive_seed(asset_key="asset:2:v1", inputs=inputs, parameter_set="2026.1")
    assert seed != derive_seed(asset_key="asset:1:v1", inputs=inputs, parameter_set="2026.2")
    value_asset(DATA, seed=seed)  # any derived seed is a valid seed


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=4),
    max_leaves=12,
)


@settings(max_examples=50, deadline=None)
@given(inputs=st.dictionaries(st.text(max_size=6), json_values, max_size=6), key=st.text(max_size=10))
def test_derive_seed_ignores_key_order(inputs, key):
    reversed_inputs = dict(reversed(list(inputs.items())))

    assert derive_seed(asset_key=key, inputs=inputs, parameter_set="p") == derive_seed(
        asset_key=key, inputs=reversed_inputs, parameter_set="p"
    )


# --- parameters ------------------------------------------------------------------------------------------


def test_default_parameters_follow_the_domain_defaults():
    p = DEFAULT_PARAMETERS
    assert p.version == "2026.2"
    assert p.discount_rate_by_kind == {
        "data": Decimal("0.12"),
        "patent": Decimal("0.14"),
        "trademark": Decimal("0.13"),
        "software": Decimal("0.14"),
    }
    assert p.royalty_range_by_industry["OPTO_ELEC"] == (Decimal("0.07"), Decimal("0.10"))
    assert p.default_royalty_range == (Decimal("0.03"), Decimal("0.05"))
    assert p.legal_term_years_by_patent_type == {"invention": 20, "utility_model": 10, "design": 15}
    assert (p.tax_rate, p.mc_paths, p.software_term_years) == (Decimal("0.25"), 2000, 50)
    assert p.method_weights_by_kind["data"] == {
        "cost": Decimal("0.4"),
        "income": Decimal("0.4"),
        "market": Decimal("0.2"),
    }
    assert p.method_weights_by_kind["patent"] == {
        "relief_from_royalty": Decimal("0.6"),
        "income": Decimal("0.3"),
        "market": Decimal("0.1"),
    }
    assert (p.market_min_comparables, p.market_price_index_at_valuation) == (2, Decimal("100"))
    assert p.ip_profit_share_range == (Decimal("0.25"), Decimal("0.33"))


def test_parameters_round_trip_through_json_and_pickle():
    stored = json.loads(json.dumps(DEFAULT_PARAMETERS.as_dict()))

    assert stored["discount_rate_by_kind"]["patent"] == "0.14"
    assert Parameters.from_dict(stored) == DEFAULT_PARAMETERS
    restored = pickle.loads(pickle.dumps(DEFAULT_PARAMETERS))  # noqa: S301, RUF100 - our own bytes
    assert restored == DEFAULT_PARAMETERS
    assert stored["ip_profit_share_range"] == ["0.25", "0.33"]
    assert stored["market_min_comparables"] == 2


def test_a_parameter_set_stored_before_the_new_fields_still_loads():
    # a 2026.1 set was stored without the market / income fields: they take their defaults
    new_fields = {
        "market_min_comparables",
        "market_price_index_at_valuation",
        "market_dispersion_floor",
        "ip_profit_share_range",
        "ip_profit_margin",
        "share_rate_spread",
    }
    old = {k: v for k, v in DEFAULT_PARAMETERS.as_dict().items() if k not in new_fields} | {"version": "2026.1"}

    restored = Parameters.from_dict(json.loads(json.dumps(old)))
    assert restored == replace(DEFAULT_PARAMETERS, version="2026.1")


def test_parameters_are_immutable_and_refuse_floats():
    with pytest.raises(FrozenInstanceError):
        DEFAULT_PARAMETERS.tax_rate = Decimal("0.2")  # type: ignore[misc]
    with pytest.raises(TypeError):
        DEFAULT_PARAMETERS.discount_rate_by_kind["patent"] = Decimal("0.2")  # type: ignore[index]
    with pytest.raises(TypeError, match="tax_rate"):
        replace(DEFAULT_PARAMETERS, tax_rate=0.25)
    with pytest.raises(ValueError, match="unknown methods"):
        replace(DEFAULT_PARAMETERS, method_weights_by_kind={"data": {"guesswork": Decimal(1)}})
