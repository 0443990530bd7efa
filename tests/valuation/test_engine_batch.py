"""Reconciliation of several methods, the vectorised batch, and the properties of the reconciled value.

No Django, no database.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valuation.methods import (
    CALCULATORS,
    DEFAULT_PARAMETERS,
    MethodFigure,
    ValuationInput,
    ValuationMethod,
    ValuationNotPossible,
    ValuationOutcome,
    Variates,
    value_asset,
    value_assets,
)
from valuation.methods.royalty import royalty_basis
from valuation.methods.shared import life_paths

AS_OF = date(2026, 6, 30)
KINDS = ("data", "patent", "trademark", "software")
FAST = replace(DEFAULT_PARAMETERS, mc_paths=300)
QUALITY_DIMENSIONS = ("normativity", "completeness", "accuracy", "consistency", "timeliness", "accessibility")
# nothing uncertain: every path of every method is its point value
STILL = replace(
    DEFAULT_PARAMETERS,
    growth_rate=Decimal("0"),
    growth_sd=Decimal("0"),
    discount_rate_by_kind=dict.fromkeys(KINDS, Decimal("0.10")),
    discount_rate_spread=Decimal("0"),
    economic_life_spread_years=0,
    share_rate_spread=Decimal("0"),
    cost_quality_sd=Decimal("0"),
    market_dispersion_floor=Decimal("0"),
    mc_paths=100,
)


def history(*pairs: tuple[int, str]) -> list[dict[str, object]]:
    return [{"year": year, "amount": amount} for year, amount in pairs]


DATA = ValuationInput(
    kind="data",
    details={
        "description": "Cold-chain sensor data",
        "category": "logistics",
        "cost": {"acquisition": "300000.00", "processing": "120000.00", "storage": "30000.00", "labor": "50000.00"},
        "quality": dict.fromkeys(QUALITY_DIMENSIONS, "80"),
        "income": {"variant": "direct", "ebit_history": history((2024, "800000.00"), (2025, "1000000.00"))},
        "economic_life_years": 3,
        "comparables": [{"price": "500000.00", "quality_score": "80"}, {"price": "500000.00", "quality_score": "80"}],
    },
    industry="MODERN_CHEM",
    as_of=AS_OF,
)
PATENT = ValuationInput(
    kind="patent",
    details={
        "number": "202110123456.7",
        "patent_type": "invention",
        "filing_date": "2021-01-10",
        "legal_status": "valid",
        "grant_date": "2023-03-01",
        "revenue_history": history((2024, "2000000.00"), (2025, "2100000.00")),
    },
    industry="OPTO_ELEC",
    as_of=AS_OF,
)


# --- reconciliation -----------------------------------------------------------------------------------------


def test_three_methods_are_reconciled_by_the_data_weights():
    # cost:   C 500,000 x delta 0.8                                  =   400,000
    # income: 1,000,000 x (1/1.1 + 1/1.1^2 + 1/1.1^3) (direct, n 3)  = 2,486,851.990984
    # market: two comparables at 500,000 with the subject's quality  =   500,000
    # every path is the point value, so the reconciled P50 is the weighted sum:
    # V = 0.4 x 400000 + 0.4 x 2486851.990984 + 0.2 x 500000 = 1254740.796394 -> 1254740.80
    outcome = value_asset(DATA, seed=1, params=STILL)

    assert (outcome.low, outcome.value, outcome.high) == (Decimal("1254740.80"),) * 3
    weights = {figure.method.value: figure.weight for figure in outcome.figures}
    assert weights == {"cost": Decimal("0.4"), "income": Decimal("0.4"), "market": Decimal("0.2")}
    assert outcome.skipped == {}
    assert outcome.method == "cost"  # the first of the equal largest weights
    explanation = outcome.explanation
    assert explanation["methods_run"] == ["cost", "income", "market"]
    assert explanation["reconciliation"]["weights"] == {"cost": "0.4", "income": "0.4", "market": "0.2"}
    assert "weighted sum" in explanation["reconciliation"]["rule"]
    for name, point in (("cost", "400000.00"), ("income", "2486851.99"), ("market", "500000.00")):
        method = explanation["methods"][name]
        assert method["point_value"] == point
        assert method["value"] == method["low"] == method["high"] == point
        assert 2 <= len(method["main_drivers"]) <= 4
        assert all(method["drivers"][key] == value for key, value in method["main_drivers"].items())
    assert explanation["methods"]["income"]["main_drivers"] == {
        "base_amount": "1000000.00",
        "discount_rate": "0.1",
        "life_years": "3",
    }
    assert "cost 0.4, income 0.4, market 0.2" in explanation["summary"]


def test_weights_are_renormalised_over_the_methods_that_apply_and_the_others_say_why():
    # without comparables: cost 0.4 and income 0.4 -> 0.5 each
    # V = 0.5 x 400000 + 0.5 x 2486851.990984 = 1443425.995492 -> 1443426.00
    details = {k: v for k, v in DATA.details.items() if k != "comparables"}
    outcome = value_asset(replace(DATA, details=details), seed=1, params=STILL)

    assert outcome.value == Decimal("1443426.00")
    assert [(f.method.value, f.weight) for f in outcome.figures] == [
        ("cost", Decimal("0.5")),
        ("income", Decimal("0.5")),
    ]
    assert set(outcome.skipped) == {"market"}
    assert "details.comparables gives 0 usable" in outcome.skipped["market"]
    assert outcome.explanation["skipped"] == outcome.skipped


def test_a_patent_with_revenue_is_valued_by_royalty_and_income():
    outcome = value_asset(PATENT, seed=3, params=FAST)

    weights = {figure.method.value: figure.weight for figure in outcome.figures}
    assert weights == {
        "relief_from_royalty": Decimal("0.6") / Decimal("0.9"),
        "income": Decimal("0.3") / Decimal("0.9"),
    }
    assert outcome.explanation["reconciliation"]["weights"] == {"relief_from_royalty": "0.666667", "income": "0.333333"}
    assert outcome.method == "relief_from_royalty"
    assert "details.comparables" in outcome.skipped["market"]
    low_ends = sorted(figure.low for figure in outcome.figures)
    high_ends = sorted(figure.high for figure in outcome.figures)
    assert low_ends[0] <= outcome.low <= outcome.value <= outcome.high <= high_ends[-1]


def test_the_reconciled_paths_are_the_weighted_sum_of_the_method_paths():
    # one generator per asset; every method reads the same variates, so combining path by path is coherent
    params = FAST
    variates = Variates.draw(np.random.default_rng(3), params.mc_paths)
    royalty = CALCULATORS[ValuationMethod.RELIEF_FROM_ROYALTY]
    income = CALCULATORS[ValuationMethod.INCOME]
    paths_r = royalty.simulate_batch([royalty.prepare(PATENT, params)], params, variates)[0]
    paths_i = income.simulate_batch([income.prepare(PATENT, params)], params, variates)[0]
    combined = float(Decimal("0.6") / Decimal("0.9")) * paths_r + float(Decimal("0.3") / Decimal("0.9")) * paths_i
    low, mid, high = np.percentile(combined, [10, 50, 90])

    outcome = value_asset(PATENT, seed=3, params=params)
    assert outcome.value == Decimal(repr(float(mid))).quantize(Decimal("0.01"))
    assert outcome.low == Decimal(repr(float(low))).quantize(Decimal("0.01"))
    assert outcome.high == Decimal(repr(float(high))).quantize(Decimal("0.01"))


def test_a_lapsed_patent_is_worth_zero_by_every_method():
    details = {
        **PATENT.details,
        "legal_status": "lapsed",
        "comparables": [{"price": "900000.00"}, {"price": "800000.00"}],
    }

    outcome = value_asset(replace(PATENT, details=details), seed=1)
    assert (outcome.value, outcome.low, outcome.high) == (Decimal("0.00"),) * 3
    assert outcome.explanation["methods_run"] == ["relief_from_royalty", "income", "market"]
    assert "lapsed" in outcome.explanation["zero_value_reason"]


# --- economic life --------------------------------------------------------------------------------------------


def test_simulated_life_is_symmetric_around_the_estimate_and_never_beyond_the_legal_end():
    u = np.random.default_rng(5).random((1, 20000))
    economic, spread = np.array([10.0]), DEFAULT_PARAMETERS
    free = life_paths(economic, np.array([np.inf]), u, spread)[0]  # legal end far away
    bound = life_paths(economic, np.array([11.0]), u, spread)[0]  # 11 years left
    short = life_paths(economic, np.array([3.0]), u, spread)[0]  # 3 years left

    assert (free.min(), free.max()) == pytest.approx((8.0, 12.0), abs=0.01)
    assert np.median(free) == pytest.approx(10.0, abs=0.05)
    assert bound.max() <= 11.0
    assert np.median(bound) == pytest.approx(10.0, abs=0.05)
    assert (short == 3.0).all()
    tiny = life_paths(np.array([1.0]), np.array([np.inf]), u, spread)[0]  # w = min(2, 1/2)
    assert (tiny.min(), tiny.max()) == pytest.approx((0.5, 1.5), abs=0.01)


def test_the_royalty_median_now_sits_near_the_point_value():
    # g, i and k vary symmetrically and the life too: P50 within 2 % of the point value
    # (engine 1.0 drew the life from [n - 2, n] only, which put P50 well below it)
    figure = next(f for f in value_asset(PATENT, seed=8).figures if f.method == ValuationMethod.RELIEF_FROM_ROYALTY)
    point = royalty_basis(PATENT, DEFAULT_PARAMETERS).point_value

    assert abs(figure.value / point - 1) < Decimal("0.02")


# --- the batch -------------------------------------------------------------------------------------------------


def mixed_assets(count: int, seed: int = 7) -> list[ValuationInput]:
    """Assets of every kind with every combination of optional data, a few malformed or insufficient."""
    rnd = random.Random(seed)

    def money() -> str:
        return f"{rnd.randint(0, 5_000_000_00) / 100:.2f}"

    def revenue(years: int = 3) -> list[dict[str, object]]:
        return history(*((2025 - years + 1 + n, money()) for n in range(years)))

    def comparables() -> list[dict[str, object]]:
        comps = []
        for _ in range(rnd.randint(0, 4)):
            comp: dict[str, object] = {"price": money()}
            if rnd.random() < 0.7:
                comp["quality_score"] = str(rnd.randint(20, 100))
            if rnd.random() < 0.5:
                comp["supply_demand_factor"] = str(rnd.choice(["0.9", "1", "1.1"]))
            if rnd.random() < 0.5:
                comp["trade_date"] = (AS_OF - timedelta(days=rnd.randint(-30, 900))).isoformat()
                comp["price_index_at_trade"] = str(rnd.randint(80, 120))
            comps.append(comp)
        return comps

    assets = []
    for number in range(count):
        kind = KINDS[number % 4]
        details: dict[str, object] = {}
        if rnd.random() < 0.8:
            details["revenue_history"] = revenue(rnd.randint(1, 4))
        if rnd.random() < 0.6:
            details["comparables"] = comparables()
        if kind == "data":
            if rnd.random() < 0.8:
                details["cost"] = {"acquisition": money(), "labor": money()}
            if rnd.random() < 0.7:
                details["quality"] = {
                    name: str(rnd.randint(30, 100)) for name in QUALITY_DIMENSIONS[: rnd.randint(1, 6)]
                }
            if rnd.random() < 0.5:
                details["economic_life_years"] = rnd.randint(1, 8)
            variant = rnd.choice(["direct", "share", "excess_earnings", "incremental", None])
            if variant is not None:
                income: dict[str, object] = {"variant": variant}
                if variant == "direct":
                    income["ebit_history"] = revenue(2)
                elif variant == "share":
                    income["share_rate"] = str(rnd.randint(5, 60) / 100)
                elif variant == "excess_earnings":
                    income["contributory_charges"] = revenue(4)
                elif rnd.random() < 0.5:
                    income["revenue_without_history"] = revenue(4)
                else:
                    income["cost_savings"] = revenue(1)
                details["income"] = income
        elif kind == "patent":
            details |= {
                "patent_type": rnd.choice(["invention", "utility_model", "design"]),
                "filing_date": (AS_OF - timedelta(days=rnd.randint(100, 8000))).isoformat(),
                "legal_status": rnd.choice(["valid", "valid", "pending", "lapsed"]),
            }
        elif kind == "trademark":
            details["valid_until"] = (AS_OF + timedelta(days=rnd.randint(-200, 4000))).isoformat()
        else:
            details["completed_on"] = (AS_OF - timedelta(days=rnd.randint(100, 9000))).isoformat()
        if number == 13:
            details["comparables"] = [{"price": "lots"}]  # invalid_data
        assets.append(ValuationInput(kind=kind, details=details, industry=rnd.choice(["OPTO_ELEC", "X"]), as_of=AS_OF))
    assets.append(replace(assets[0], kind="domain_name"))  # unsupported_kind
    return assets


def same_result(batch: ValuationOutcome | ValuationNotPossible, single: ValuationOutcome | ValuationNotPossible):
    if isinstance(single, ValuationNotPossible):
        assert isinstance(batch, ValuationNotPossible)
        assert (batch.code, batch.reasons, batch.message) == (single.code, single.reasons, single.message)
    else:
        assert batch == single  # every figure, driver and explanation, to the cent


def single(inp: ValuationInput, seed: int, params=FAST) -> ValuationOutcome | ValuationNotPossible:
    try:
        return value_asset(inp, seed=seed, params=params)
    except ValuationNotPossible as exc:
        return exc


def test_a_mixed_batch_gives_what_single_valuations_give():
    assets = mixed_assets(50)
    seeds = list(range(1000, 1000 + len(assets)))

    results = value_assets(assets, seeds=seeds, params=FAST)

    assert len(results) == len(assets)
    outcomes = [r for r in results if isinstance(r, ValuationOutcome)]
    assert len(outcomes) >= 30
    assert {len(o.figures) for o in outcomes} >= {1, 2, 3}
    assert {r.code for r in results if isinstance(r, ValuationNotPossible)} >= {"invalid_data", "unsupported_kind"}
    for inp, seed, result in zip(assets, seeds, results, strict=True):
        same_result(result, single(inp, seed))
    # and in another order
    order = list(reversed(range(len(assets))))
    shuffled = value_assets([assets[i] for i in order], seeds=[seeds[i] for i in order], params=FAST)
    for i, result in zip(order, shuffled, strict=True):
        same_result(result, results[i])


def test_a_batch_is_one_numpy_computation_per_method(monkeypatch):
    calls: dict[str, list[int]] = {}
    for method, calculator in list(CALCULATORS.items()):

        def spy(bases, params, variates, _inner=calculator.simulate_batch, _name=method.value):
            calls.setdefault(_name, []).append(len(bases))
            assert variates.assets == len(bases)
            return _inner(bases, params, variates)

        monkeypatch.setattr(calculator, "simulate_batch", spy)
    assets = mixed_assets(50)

    value_assets(assets, seeds=list(range(len(assets))), params=FAST)
    assert set(calls) == {"cost", "income", "market", "relief_from_royalty"}
    assert all(len(sizes) == 1 and sizes[0] > 1 for sizes in calls.values()), calls


def test_batch_arguments_are_checked():
    with pytest.raises(ValueError, match="one seed per input"):
        value_assets([DATA, PATENT], seeds=[1])
    with pytest.raises(ValueError, match="seed"):
        value_assets([DATA], seeds=[-1])
    assert value_assets([], seeds=[]) == []


class Fixed:
    """A calculator without the batch interface (only ``compute``): still runs, asset by asset."""

    method = ValuationMethod.MARKET
    detail_fields = ()
    formula = "fixed"

    def applicable(self, inp, params):
        return None

    def compute(self, inp, params, rng):
        return MethodFigure(self.method, Decimal(100000), Decimal(90000), Decimal(110000), Decimal(1), {})

    def used_details(self, details):
        return {}


def test_a_calculator_without_the_batch_interface_is_reconciled_by_its_percentiles(monkeypatch):
    # income and cost still, market fixed at 90,000 / 100,000 / 110,000: weights 0.4, 0.4, 0.2
    # value = 0.4 x 400000 + 0.4 x 2486851.990984 + 0.2 x 100000 = 1174740.80; low 1172740.80; high 1176740.80
    monkeypatch.setitem(CALCULATORS, ValuationMethod.MARKET, Fixed())

    [outcome, _] = value_assets([DATA, PATENT], seeds=[1, 2], params=STILL)
    assert (outcome.low, outcome.value, outcome.high) == (
        Decimal("1172740.80"),
        Decimal("1174740.80"),
        Decimal("1176740.80"),
    )
    assert "P50, P10 and P90" in outcome.explanation["reconciliation"]["rule"]


# --- properties of the reconciled value --------------------------------------------------------------------

amounts = st.integers(min_value=0, max_value=10**10).map(lambda c: Decimal(c).scaleb(-2))
seeds = st.integers(min_value=0, max_value=2**63 - 1)
scores = st.integers(min_value=0, max_value=10000).map(lambda s: Decimal(s).scaleb(-2))


@st.composite
def histories(draw: st.DrawFn, size: int | None = None) -> list[dict[str, object]]:
    values = draw(st.lists(amounts, min_size=size or 1, max_size=size or 4))
    return history(*((2025 - len(values) + 1 + n, f"{v:f}") for n, v in enumerate(values)))


@st.composite
def comparable_lists(draw: st.DrawFn) -> list[dict[str, object]]:
    comps = []
    for _ in range(draw(st.integers(0, 3))):
        comp: dict[str, object] = {"price": f"{draw(amounts):f}"}
        if draw(st.booleans()):
            comp["quality_score"] = str(draw(st.integers(1, 100)))
        if draw(st.booleans()):
            comp["other_factor"] = str(draw(st.sampled_from(["0.8", "1", "1.25"])))
        if draw(st.booleans()):
            comp["trade_date"] = (AS_OF - timedelta(days=draw(st.integers(0, 1500)))).isoformat()
            comp["price_index_at_trade"] = str(draw(st.integers(50, 150)))
        comps.append(comp)
    return comps


@st.composite
def data_assets(draw: st.DrawFn, *, revenue_variants: bool = False) -> ValuationInput:
    """A data asset that cost values (so a value exists), with any income variant and comparables."""
    revenue = draw(histories())
    years = len(revenue)
    details: dict[str, object] = {
        "cost": {"acquisition": f"{draw(amounts) + Decimal('0.01'):f}", "labor": f"{draw(amounts):f}"},
        "revenue_history": revenue,
        "comparables": draw(comparable_lists()),
        "economic_life_years": draw(st.integers(1, 8)),
    }
    if draw(st.booleans()):
        details["quality"] = {name: f"{draw(scores):f}" for name in QUALITY_DIMENSIONS}
    variants = ["share", "excess_earnings", "incremental"] + ([] if revenue_variants else ["direct", None])
    variant = draw(st.sampled_from(variants))
    if variant == "direct":
        details["income"] = {"variant": variant, "ebit_history": draw(histories())}
    elif variant == "share":
        details["income"] = {"variant": variant, "share_rate": str(Decimal(draw(st.integers(1, 100))) / 100)}
    elif variant == "excess_earnings":
        details["income"] = {"variant": variant, "contributory_charges": draw(histories(years))}
    elif variant == "incremental":
        details["income"] = {"variant": variant, "revenue_without_history": draw(histories(years))}
    return ValuationInput(kind="data", details=details, industry="OPTO_ELEC", as_of=AS_OF)


@st.composite
def ip_assets(draw: st.DrawFn) -> ValuationInput:
    kind = draw(st.sampled_from(["patent", "trademark", "software"]))
    details: dict[str, object] = {"revenue_history": draw(histories()), "comparables": draw(comparable_lists())}
    if kind == "patent":
        details |= {
            "patent_type": draw(st.sampled_from(["invention", "utility_model", "design"])),
            "filing_date": draw(st.dates(date(2005, 1, 1), AS_OF)).isoformat(),
            "legal_status": draw(st.sampled_from(["pending", "valid"])),
        }
    elif kind == "trademark":
        details["valid_until"] = (AS_OF + timedelta(days=draw(st.integers(-400, 4000)))).isoformat()
    else:
        details["completed_on"] = draw(st.dates(date(1975, 1, 1), AS_OF)).isoformat()
    industry = draw(st.sampled_from(["OPTO_ELEC", "LIFE_HEALTH", "UNKNOWN"]))
    return ValuationInput(kind=kind, details=details, industry=industry, as_of=AS_OF)


any_assets = st.one_of(data_assets(), ip_assets())


@settings(max_examples=40, deadline=None)
@given(inp=any_assets, seed=seeds)
def test_the_range_is_ordered_never_negative_and_reproducible_to_the_cent(inp, seed):
    first, again = value_asset(inp, seed=seed, params=FAST), value_asset(inp, seed=seed, params=FAST)

    assert Decimal(0) <= first.low <= first.value <= first.high
    assert first == again
    assert {amount.as_tuple().exponent for amount in (first.low, first.value, first.high)} == {-2}


@settings(max_examples=40, deadline=None)
@given(inp=st.one_of(data_assets(revenue_variants=True), ip_assets()), scale=st.integers(100, 1000), seed=seeds)
def test_more_revenue_never_lowers_the_reconciled_value(inp, scale, seed):
    # every year's revenue scaled by scale/100 >= 1, or the latest year raised alone
    revenue = inp.details["revenue_history"]
    scaled = [{"year": e["year"], "amount": f"{Decimal(e['amount']) * scale / 100:f}"} for e in revenue]
    latest = revenue[-1]
    raised = [*revenue[:-1], {"year": latest["year"], "amount": f"{Decimal(latest['amount']) * scale / 100:f}"}]
    base = value_asset(inp, seed=seed, params=FAST)

    for more in (scaled, raised):
        richer = value_asset(replace(inp, details={**inp.details, "revenue_history": more}), seed=seed, params=FAST)
        assert richer.value >= base.value
        assert richer.low >= base.low
        assert richer.high >= base.high


@settings(max_examples=40, deadline=None)
@given(inp=any_assets, low_rate=st.integers(3, 30), step=st.integers(0, 20), seed=seeds)
def test_a_higher_discount_rate_never_raises_the_reconciled_value(inp, low_rate, step, seed):
    def at(rate: int):
        return replace(FAST, discount_rate_by_kind=dict.fromkeys(KINDS, Decimal(rate) / 100))

    cheap, dear = (
        value_asset(inp, seed=seed, params=at(low_rate)),
        value_asset(inp, seed=seed, params=at(low_rate + step)),
    )
    assert dear.value <= cheap.value
    assert dear.low <= cheap.low
    assert dear.high <= cheap.high


@settings(max_examples=40, deadline=None)
@given(inp=data_assets(), drops=st.lists(scores, min_size=6, max_size=6), seed=seeds)
def test_lower_quality_never_raises_the_reconciled_value(inp, drops, seed):
    better = dict(inp.details.get("quality") or dict.fromkeys(QUALITY_DIMENSIONS, "90"))
    pairs = zip(better.items(), drops, strict=True)
    worse = {name: f"{max(Decimal(0), Decimal(score) - drop):f}" for (name, score), drop in pairs}
    good = value_asset(replace(inp, details={**inp.details, "quality": better}), seed=seed, params=FAST)
    bad = value_asset(replace(inp, details={**inp.details, "quality": worse}), seed=seed, params=FAST)

    assert bad.value <= good.value
    assert bad.low <= good.low
    assert bad.high <= good.high


@settings(max_examples=40, deadline=None)
@given(inp=data_assets(), shorter_by=st.integers(0, 7), seed=seeds)
def test_a_shorter_data_life_never_raises_the_reconciled_value(inp, shorter_by, seed):
    life = inp.details["economic_life_years"]
    short = replace(inp, details={**inp.details, "economic_life_years": max(1, life - shorter_by)})

    long_outcome, short_outcome = value_asset(inp, seed=seed, params=FAST), value_asset(short, seed=seed, params=FAST)
    assert short_outcome.value <= long_outcome.value
    assert short_outcome.low <= long_outcome.low
    assert short_outcome.high <= long_outcome.high


@settings(max_examples=40, deadline=None)
@given(inp=ip_assets(), days=st.integers(0, 4000), seed=seeds)
def test_a_shorter_remaining_legal_life_never_raises_the_reconciled_value(inp, days, seed):
    # the same right valued later (less legal life left); its revenue years and trades precede both dates
    later = replace(inp, as_of=AS_OF + timedelta(days=days))
    candidates = [later]
    if inp.kind == "patent":
        filed = date.fromisoformat(inp.details["filing_date"]) - timedelta(days=days)
        candidates.append(replace(inp, details={**inp.details, "filing_date": filed.isoformat()}))
    base = value_asset(inp, seed=seed, params=FAST)

    for shorter in candidates:
        outcome = value_asset(shorter, seed=seed, params=FAST)
        assert outcome.value <= base.value
        assert outcome.low <= base.low
        assert outcome.high <= base.high


@settings(max_examples=25, deadline=None)
@given(inputs=st.lists(any_assets, max_size=6), seed=seeds)
def test_a_batch_equals_single_valuations(inputs, seed):
    batch_seeds = [(seed + n) % 2**63 for n in range(len(inputs))]

    results = value_assets(inputs, seeds=batch_seeds, params=FAST)
    for inp, batch_seed, result in zip(inputs, batch_seeds, results, strict=True):
        same_result(result, single(inp, batch_seed))
