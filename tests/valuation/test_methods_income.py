"""Income approach (domain.md 1.2, 2.2): V = sum F_t / (1 + i)^t, its four data variants and the IP share.

No Django, no database.
"""

from __future__ import annotations

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
from valuation.methods.income import income_basis

AS_OF = date(2026, 6, 30)
INCOME = CALCULATORS[ValuationMethod.INCOME]
KINDS = ("data", "patent", "trademark", "software")
TINY = Decimal("0.000001")


def no_noise(**changes: object):
    """g = 0 and i = 0.10 for every kind, and nothing uncertain: every simulated path is the point value."""
    simple: dict[str, object] = {
        "growth_rate": Decimal("0"),
        "growth_sd": Decimal("0"),
        "discount_rate_by_kind": dict.fromkeys(KINDS, Decimal("0.10")),
        "discount_rate_spread": Decimal("0"),
        "economic_life_spread_years": 0,
        "share_rate_spread": Decimal("0"),
        "ip_profit_share_range": (Decimal("0.29"), Decimal("0.29")),
        "mc_paths": 50,
        # the income approach alone
        "method_weights_by_kind": {key: {"income": Decimal(1)} for key in KINDS},
    }
    return replace(DEFAULT_PARAMETERS, **{**simple, **changes})


NO_NOISE = no_noise()


def history(*pairs: tuple[int, str]) -> list[dict[str, object]]:
    return [{"year": year, "amount": amount} for year, amount in pairs]


def data_asset(income: dict | None = None, *, life: int | None = 3, **extra: object) -> ValuationInput:
    details: dict[str, object] = {"description": "Port logistics events", "category": "logistics", **extra}
    if income is not None:
        details["income"] = income
    if life is not None:
        details.setdefault("economic_life_years", life)
    return ValuationInput(kind="data", details=details, industry="NEV_ICV", as_of=AS_OF)


def income_figure(inp: ValuationInput, params=NO_NOISE):
    outcome = value_asset(inp, seed=3, params=params)
    return next(f for f in outcome.figures if f.method == ValuationMethod.INCOME)


# --- the four data variants, worked by hand ------------------------------------------------------------------


def test_direct_variant_discounts_the_latest_ebit():
    # F_0 = EBIT 2025 = 1,000,000 (the 2024 figure only feeds the growth rule: g = min(0, CAGR 0.25) = 0)
    # V = 1000000/1.1 + 1000000/1.1^2 + 1000000/1.1^3
    #   = 909090.909091 + 826446.280992 + 751314.800902 = 2486851.990984 -> 2486851.99
    inp = data_asset({"variant": "direct", "ebit_history": history((2024, "800000.00"), (2025, "1000000.00"))}, life=3)

    assert abs(INCOME.point_value(inp, NO_NOISE) - Decimal("2486851.990984")) < TINY
    figure = income_figure(inp)
    assert figure.value == Decimal("2486851.99")
    assert (figure.low, figure.high) == (figure.value, figure.value)
    drivers = figure.drivers
    assert (drivers["variant"], drivers["base_amount"], drivers["life_years"]) == ("direct", "1000000.00", "3")
    assert drivers["point_value"] == "2486851.99"


def test_direct_variant_grows_by_the_capped_history_growth():
    # EBIT CAGR 2023-2025 = (1,102,500 / 1,000,000)^(1/2) - 1 = 0.05 = the default 0.05: g = 0.05
    # F_1 = 1,102,500 x 1.05 = 1,157,625; F_2 = 1,215,506.25
    # V = 1157625/1.1 + 1215506.25/1.21 = 1052386.363636 + 1004550.619835 = 2056936.983471 -> 2056936.98
    params = no_noise(growth_rate=Decimal("0.05"))
    inp = data_asset({"variant": "direct", "ebit_history": history((2023, "1000000.00"), (2025, "1102500.00"))}, life=2)

    assert abs(INCOME.point_value(inp, params) - Decimal("2056936.983471")) < TINY
    figure = income_figure(inp, params)
    assert figure.value == Decimal("2056936.98")
    assert (figure.drivers["growth_rate"], figure.drivers["observed_cagr"]) == ("0.05", "0.05")


def test_share_variant_applies_the_share_rate_to_revenue():
    # F_0 = revenue 2025 5,000,000 x K 0.2 = 1,000,000; n = 2
    # V = 1000000/1.1 + 1000000/1.21 = 909090.909091 + 826446.280992 = 1735537.190083 -> 1735537.19
    inp = data_asset({"variant": "share", "share_rate": "0.2"}, life=2, revenue_history=history((2025, "5000000.00")))

    assert abs(INCOME.point_value(inp, NO_NOISE) - Decimal("1735537.190083")) < TINY
    figure = income_figure(inp)
    assert figure.value == Decimal("1735537.19")
    assert (figure.drivers["base_amount"], figure.drivers["rate"]) == ("5000000.00", "0.2")
    assert set(figure.key_drivers) == {"base_amount", "rate", "discount_rate", "life_years"}


def test_share_rate_is_simulated_symmetrically_within_zero_and_one():
    # K = 0.9, spread 0.2: K x 1.2 = 1.08 is above 1, so the range is (0.8, 1.0), still centred on 0.9
    params = no_noise(share_rate_spread=Decimal("0.2"))
    inp = data_asset({"variant": "share", "share_rate": "0.9"}, revenue_history=history((2025, "100.00")))

    basis = income_basis(inp, params)
    assert basis.rate_range == (Decimal("0.8"), Decimal("1.0"))
    assert basis.rate == Decimal("0.9")


def test_excess_earnings_variant_deducts_the_contributory_charges():
    # F_0 = revenue 2025 3,000,000 - contributory charges 2025 2,500,000 = 500,000; n = 3
    # V = 500000 x (1/1.1 + 1/1.21 + 1/1.331) = 500000 x 2.486851990984 = 1243425.995492 -> 1243426.00
    inp = data_asset(
        {
            "variant": "excess_earnings",
            "contributory_charges": history((2024, "2000000.00"), (2025, "2500000.00")),
        },
        revenue_history=history((2024, "2800000.00"), (2025, "3000000.00")),
    )

    assert abs(INCOME.point_value(inp, NO_NOISE) - Decimal("1243425.995492")) < TINY
    figure = income_figure(inp)
    assert figure.value == Decimal("1243426.00")
    assert "3000000.00" in figure.drivers["base_rule"]
    assert "2500000.00" in figure.drivers["base_rule"]


def test_excess_charges_above_revenue_leave_nothing():
    inp = data_asset(
        {"variant": "excess_earnings", "contributory_charges": history((2025, "4000000.00"))},
        revenue_history=history((2025, "3000000.00")),
    )

    assert INCOME.point_value(inp, NO_NOISE) == 0
    assert income_figure(inp).value == Decimal("0.00")


def test_incremental_variant_with_and_without_the_data():
    # F_0 = revenue with 2,000,000 - revenue without 1,800,000 = 200,000; n = 3
    # V = 200000 x 2.486851990984 = 497370.398197 -> 497370.40
    inp = data_asset(
        {"variant": "incremental", "revenue_without_history": history((2025, "1800000.00"))},
        revenue_history=history((2025, "2000000.00")),
    )

    assert abs(INCOME.point_value(inp, NO_NOISE) - Decimal("497370.398197")) < TINY
    assert income_figure(inp).value == Decimal("497370.40")


def test_incremental_variant_by_cost_savings():
    # F_0 = cost saving 2025 300,000; n = 1: V = 300000 / 1.1 = 272727.272727 -> 272727.27
    inp = data_asset({"variant": "incremental", "cost_savings": history((2025, "300000.00"))}, life=1)

    assert abs(INCOME.point_value(inp, NO_NOISE) - Decimal("272727.272727")) < TINY
    figure = income_figure(inp)
    assert figure.value == Decimal("272727.27")
    assert "cost saving" in figure.drivers["base_rule"]


def test_incremental_prefers_the_revenue_increment_and_says_the_savings_are_ignored():
    inp = data_asset(
        {
            "variant": "incremental",
            "revenue_without_history": history((2025, "1800000.00")),
            "cost_savings": history((2025, "999999.00")),
        },
        revenue_history=history((2025, "2000000.00")),
    )

    figure = income_figure(inp)
    assert figure.value == Decimal("497370.40")
    assert "ignored" in figure.drivers["note_1"]


def test_data_life_defaults_to_the_kind_and_is_capped_by_it():
    with_default = income_basis(
        data_asset({"variant": "incremental", "cost_savings": history((2025, "1"))}, life=None), NO_NOISE
    )
    too_long = income_basis(
        data_asset({"variant": "incremental", "cost_savings": history((2025, "1"))}, life=9), NO_NOISE
    )

    assert with_default.life_years == Decimal(5)  # data: 5 years (economic_life_cap_years_by_kind)
    assert too_long.life_years == Decimal(5)
    assert "capped" in too_long.life_rule


# --- patents, trademarks, software ---------------------------------------------------------------------------


def patent(**changes: object) -> ValuationInput:
    details = {
        "number": "201810123456.7",
        "patent_type": "utility_model",
        "filing_date": "2018-07-01",
        "legal_status": "valid",
        "revenue_history": history((2025, "1000000.00")),
        **changes,
    }
    return ValuationInput(kind="patent", details=details, industry="OPTO_ELEC", as_of=date(2026, 1, 1))


def test_ip_income_is_a_profit_share_times_a_margin_after_tax():
    # k = K_profit 0.29 x margin 0.15 = 0.0435; F = 1,000,000 x 0.0435 x (1 - 0.25) = 32,625 a year
    # life: the utility model's term ends 2028-07-01, 2.497268 years after 2026-01-01 (below the cap 10)
    # V = 32625/1.1 + 32625/1.1^2 + 32625 x 0.497268 / 1.1^2.497268
    #   = 29659.090909 + 26962.809917 + 12787.110108 = 69409.010935 -> 69409.01
    inp = patent()

    assert abs(INCOME.point_value(inp, NO_NOISE) - Decimal("69409.010935")) < TINY
    figure = income_figure(inp)
    assert figure.value == Decimal("69409.01")
    assert figure.drivers["variant"] == "profit_share"
    assert figure.drivers["rate"] == "0.0435"
    assert figure.drivers["remaining_legal_life_years"] == "2.497268"


def test_ip_income_profit_share_varies_in_the_simulation():
    params = no_noise(ip_profit_share_range=(Decimal("0.25"), Decimal("0.33")), mc_paths=400)

    figure = income_figure(patent(), params)
    assert figure.low < figure.value < figure.high
    assert figure.drivers["rate"] == "0.0435"  # the middle of 0.25-0.33, times 0.15


@pytest.mark.parametrize("status", ["lapsed", "expired", "invalidated"])
def test_a_terminated_patent_has_no_income_value(status):
    figure = income_figure(patent(legal_status=status))

    assert (figure.value, figure.low, figure.high) == (Decimal(0), Decimal(0), Decimal(0))
    assert status in figure.drivers["zero_value_reason"]


def test_a_pending_patent_income_is_multiplied_by_the_pending_factor():
    valid, pending = patent(), patent(legal_status="pending")

    assert INCOME.point_value(pending, NO_NOISE) == INCOME.point_value(valid, NO_NOISE) * Decimal("0.5")


# --- when it does not apply, and malformed data ----------------------------------------------------------


@pytest.mark.parametrize(
    ("income", "extra", "missing"),
    [
        (None, {}, "details.income is missing"),
        ({}, {}, "details.income.variant is missing"),
        ({"variant": "direct"}, {}, "details.income.ebit_history"),
        ({"variant": "direct", "ebit_history": history((2030, "5.00"))}, {}, "no year up to 2026"),
        ({"variant": "share"}, {"revenue_history": history((2025, "5.00"))}, "details.income.share_rate"),
        ({"variant": "share", "share_rate": "0.3"}, {}, "details.revenue_history"),
        (
            {"variant": "excess_earnings", "contributory_charges": history((2024, "1.00"))},
            {"revenue_history": history((2025, "5.00"))},
            "no amount for 2025",
        ),
        ({"variant": "incremental"}, {"revenue_history": history((2025, "5.00"))}, "details.income.cost_savings"),
    ],
)
def test_income_is_skipped_with_the_reason(income, extra, missing):
    inp = data_asset(income, cost={"acquisition": "1000.00"}, **extra)

    outcome = value_asset(inp, seed=1, params=DEFAULT_PARAMETERS)
    assert missing in outcome.skipped["income"]
    assert [f.method for f in outcome.figures] == [ValuationMethod.COST]


@pytest.mark.parametrize(
    ("income", "extra", "field"),
    [
        ({"variant": "royalty"}, {}, "details.income.variant"),
        ({"variant": "share", "share_rate": "1.5"}, {}, "details.income.share_rate"),
        ({"variant": "share", "share_rate": "lots"}, {}, "details.income.share_rate"),
        ({"variant": "direct", "ebit_history": history((2025, "-1.00"))}, {}, "details.income.ebit_history[0].amount"),
        ("direct", {}, "details.income"),
        ({"variant": "direct"}, {"economic_life_years": 0}, "details.economic_life_years"),
    ],
)
def test_malformed_income_details_are_invalid_data(income, extra, field):
    inp = data_asset(income, cost={"acquisition": "1000.00"}, **extra)

    with pytest.raises(ValuationNotPossible) as caught:
        value_asset(inp, seed=1)
    assert caught.value.code == "invalid_data"
    assert field in caught.value.reasons


def test_inputs_record_the_normalised_income_details():
    inp = data_asset(
        {"variant": "share", "share_rate": "0.250", "ebit_history": history((2025, 7))},
        life=4,
        revenue_history=history((2025, "5000000")),
    )

    details = value_asset(inp, seed=1, params=NO_NOISE).inputs["details"]
    assert details["income"] == {
        "variant": "share",
        "share_rate": "0.25",
        "ebit_history": [{"year": 2025, "amount": "7.00"}],
    }
    assert details["economic_life_years"] == 4
    assert details["revenue_history"] == [{"year": 2025, "amount": "5000000.00"}]
