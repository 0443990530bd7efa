"""Relief from royalty (domain.md 2.1, 2.2): V = sum Rev_t x k x (1 - tax) / (1 + i)^t.

No Django, no database.
"""

from __future__ import annotations

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
    ValuationInput,
    ValuationMethod,
    ValuationNotPossible,
    value_asset,
)
from valuation.methods.royalty import royalty_basis, simulate, years_between

AS_OF = date(2026, 6, 30)
ROYALTY = CALCULATORS[ValuationMethod.RELIEF_FROM_ROYALTY]
FAST = replace(DEFAULT_PARAMETERS, mc_paths=400)
KINDS = ("data", "patent", "trademark", "software")


def simple_params(*, life_cap: int = 10, discount: str = "0.10", **changes: object):
    """g = 0 with no spread, k = 0.05 (mid of 4-6 %), tax 0.25, i = ``discount`` for every kind."""
    simple: dict[str, object] = {
        "growth_rate": Decimal("0"),
        "growth_sd": Decimal("0"),
        "default_royalty_range": (Decimal("0.04"), Decimal("0.06")),
        "discount_rate_by_kind": dict.fromkeys(KINDS, Decimal(discount)),
        "economic_life_cap_years_by_kind": dict.fromkeys(KINDS, life_cap),
    }
    return replace(DEFAULT_PARAMETERS, **{**simple, **changes})


def revenue(*pairs: tuple[int, str]) -> list[dict[str, object]]:
    return [{"year": year, "amount": amount} for year, amount in pairs]


def patent(
    *,
    status: str = "valid",
    patent_type: str = "invention",
    filed: str = "2020-01-01",
    history: list | None = None,
    industry: str = "UNLISTED",
    as_of: date = AS_OF,
) -> ValuationInput:
    details: dict[str, object] = {
        "number": "202010123456.7",
        "patent_type": patent_type,
        "filing_date": filed,
        "legal_status": status,
    }
    if history is not None:
        details["revenue_history"] = history
    return ValuationInput(kind="patent", details=details, industry=industry, as_of=as_of)


ONE_MILLION = revenue((2025, "1000000.00"))


def test_hand_worked_three_year_example():
    # Rev_t = 1,000,000 (g = 0); after-tax royalty = 1,000,000 x 0.05 x (1 - 0.25) = 37,500 a year
    # V = 37500/1.1 + 37500/1.1^2 + 37500/1.1^3
    #   = 34090.909091 + 30991.735537 + 28174.305034 = 93256.949662 -> 93256.95
    params = simple_params(life_cap=3)
    inp = patent(history=ONE_MILLION)

    point = ROYALTY.point_value(inp, params)
    assert abs(point - Decimal("93256.949662")) < Decimal("0.000001")
    outcome = value_asset(inp, seed=1, params=params)
    drivers = outcome.figures[0].drivers
    assert drivers["point_value"] == "93256.95"
    assert (drivers["royalty_rate"], drivers["discount_rate"], drivers["life_years"]) == ("0.05", "0.1", "3")
    assert outcome.explanation["methods"]["relief_from_royalty"]["point_value"] == "93256.95"


def test_a_fractional_final_year_counts_proportionally():
    # Utility model filed 2018-07-01: 10-year term ends 2028-07-01. From 2026-01-01 that is 2 whole years
    # plus 182 of the 366 days of 2028-01-01..2029-01-01: 2 + 0.497268 = 2.497268 years (< cap 10).
    # V = 37500/1.1 + 37500/1.1^2 + 37500 x 0.497268 / 1.1^2.497268
    #   = 34090.909091 + 30991.735537 + 14697.827711 = 79780.472339 -> 79780.47
    inp = patent(patent_type="utility_model", filed="2018-07-01", history=ONE_MILLION, as_of=date(2026, 1, 1))

    outcome = value_asset(inp, seed=1, params=simple_params())
    drivers = outcome.figures[0].drivers
    assert drivers["remaining_legal_life_years"] == "2.497268"
    assert drivers["legal_end_date"] == "2028-07-01"
    assert drivers["point_value"] == "79780.47"


def test_growth_is_capped_by_the_observed_cagr():
    # CAGR 2023-2025 = (1,040,400 / 1,000,000)^(1/2) - 1 = 0.02 < default 0.05, so g = 0.02
    # Rev_1 = 1,040,400 x 1.02 = 1,061,208; Rev_2 = 1,082,432.16; n = 2 (cap)
    # V = 1061208 x 0.0375 / 1.1 + 1082432.16 x 0.0375 / 1.21 = 36177.545455 + 33546.451240 = 69723.996694
    params = simple_params(life_cap=2, growth_rate=Decimal("0.05"))
    inp = patent(history=revenue((2023, "1000000.00"), (2025, "1040400.00")))

    outcome = value_asset(inp, seed=1, params=params)
    drivers = outcome.figures[0].drivers
    assert (drivers["growth_rate"], drivers["observed_cagr"]) == ("0.02", "0.02")
    assert drivers["point_value"] == "69724.00"


def test_growth_above_the_default_is_not_extrapolated():
    # CAGR 2024-2025 = 1.2 - 1 = 0.2, above the default 0.05: g stays 0.05
    params = simple_params(growth_rate=Decimal("0.05"))
    basis = royalty_basis(patent(history=revenue((2024, "1000000.00"), (2025, "1200000.00"))), params)

    assert basis.growth_rate == Decimal("0.05")
    assert basis.observed_cagr == Decimal("0.2")


def test_the_latest_year_up_to_the_valuation_date_is_the_base():
    inp = patent(history=revenue((2025, "1000000.00"), (2027, "9000000.00")))

    drivers = value_asset(inp, seed=1, params=FAST).figures[0].drivers
    assert drivers["base_year"] == "2025"
    assert drivers["ignored_revenue_years"] == "2027"


@pytest.mark.parametrize("status", ["lapsed", "expired", "invalidated"])
def test_a_terminated_patent_is_worth_zero(status):
    outcome = value_asset(patent(status=status, history=ONE_MILLION), seed=1)

    assert (outcome.value, outcome.low, outcome.high) == (Decimal("0.00"),) * 3
    assert status in outcome.explanation["zero_value_reason"]


def test_a_terminated_patent_is_worth_zero_even_without_revenue():
    outcome = value_asset(patent(status="lapsed"), seed=1)

    assert outcome.value == Decimal("0.00")


def test_a_patent_past_its_legal_term_is_worth_zero():
    # utility model filed 2015-01-01: term ended 2025-01-01
    inp = patent(patent_type="utility_model", filed="2015-01-01", history=ONE_MILLION)

    outcome = value_asset(inp, seed=1)

    assert (outcome.value, outcome.low, outcome.high) == (Decimal("0.00"),) * 3
    assert "2025-01-01" in outcome.explanation["zero_value_reason"]


def test_an_expired_trademark_registration_is_worth_zero():
    inp = ValuationInput(
        kind="trademark",
        details={
            "number": "12345678",
            "nice_classes": [9],
            "valid_until": "2026-06-29",
            "revenue_history": ONE_MILLION,
        },
        industry="OPTO_ELEC",
        as_of=AS_OF,
    )

    assert value_asset(inp, seed=1).value == Decimal("0.00")


def test_pending_patent_factor_is_applied():
    valid, pending = patent(history=ONE_MILLION), patent(status="pending", history=ONE_MILLION)

    assert ROYALTY.point_value(pending, FAST) == ROYALTY.point_value(valid, FAST) * Decimal("0.5")
    full, half = value_asset(valid, seed=9, params=FAST), value_asset(pending, seed=9, params=FAST)
    for whole, part in ((full.value, half.value), (full.low, half.low), (full.high, half.high)):
        assert abs(whole / 2 - part) <= Decimal("0.01")
    assert half.figures[0].drivers["pending_patent_factor"] == "0.5"
    assert "pending" in half.figures[0].drivers["pending_rule"]


@pytest.mark.parametrize(
    ("patent_type", "filed", "end"),
    [
        ("invention", "2016-03-15", date(2036, 3, 15)),
        ("utility_model", "2020-02-29", date(2030, 2, 28)),
        ("design", "2021-06-01", date(2036, 6, 1)),  # 15 years since the 2021 amendment
        ("design", "2021-05-31", date(2031, 5, 31)),  # filed before it: 10 years
    ],
)
def test_patent_legal_term_by_type(patent_type, filed, end):
    inp = patent(patent_type=patent_type, filed=filed, history=ONE_MILLION)

    basis = royalty_basis(inp, DEFAULT_PARAMETERS)

    assert basis.legal.end == end


def test_trademark_runs_to_valid_until_without_renewal():
    # 2026-06-30 -> 2028-06-30 = 2 years exactly, below the 10-year cap: n = 2
    inp = ValuationInput(
        kind="trademark",
        details={
            "number": "12345678",
            "nice_classes": [9],
            "valid_until": "2028-06-30",
            "revenue_history": ONE_MILLION,
        },
        industry="OPTO_ELEC",
        as_of=AS_OF,
    )

    drivers = value_asset(inp, seed=1, params=FAST).figures[0].drivers
    assert drivers["life_years"] == "2"
    assert "not assumed" in drivers["legal_life_rule"]
    assert drivers["royalty_range"] == "0.07-0.1"  # OPTO_ELEC: UNIDO optical/electronic 7-10 %
    assert drivers["discount_rate"] == "0.13"


@pytest.mark.parametrize(
    ("details", "end"),
    [
        ({"completed_on": "2019-11-20", "first_published_on": "2020-05-01"}, date(2070, 12, 31)),
        ({"completed_on": "2019-11-20"}, date(2069, 12, 31)),
    ],
)
def test_software_term_runs_to_the_end_of_the_fiftieth_year(details, end):
    inp = ValuationInput(
        kind="software",
        details={"registration_number": "2020SR123456", **details, "revenue_history": ONE_MILLION},
        industry="SOFTWARE",
        as_of=AS_OF,
    )

    basis = royalty_basis(inp, DEFAULT_PARAMETERS)
    assert basis.legal.end == end
    assert basis.life_years == Decimal(5)  # the software economic-life cap


def test_years_between_counts_anniversaries_then_days():
    assert years_between(date(2026, 6, 30), date(2036, 6, 30)) == Decimal(10)
    assert years_between(date(2026, 1, 1), date(2026, 7, 1)) == Decimal("0.495890")  # 181 / 365 days
    assert years_between(date(2027, 6, 30), date(2027, 12, 30)) == Decimal("0.5")  # 183 / 366 (Feb 2028)
    assert years_between(date(2026, 6, 30), date(2026, 6, 1)) < 0


def test_simulated_lives_never_exceed_the_remaining_legal_life():
    # 1.5 years left: every path has life 1.5 (no shortening below one year), so years beyond are never valued
    inp = patent(patent_type="utility_model", filed="2017-12-30", history=ONE_MILLION)
    params = simple_params(
        discount="0.0", discount_rate_floor=Decimal("0"), discount_rate_spread=Decimal("0"), mc_paths=200
    )
    basis = royalty_basis(inp, params)

    values = simulate(basis, params, np.random.default_rng(3))
    # undiscounted, g = 0, k within 4-6 %: at most 1.5 x 1,000,000 x 0.06 x 0.75
    assert basis.life_years == Decimal("1.5")
    assert values.max() <= 1.5 * 1_000_000 * 0.06 * 0.75 + 1e-6
    assert values.min() >= 1.5 * 1_000_000 * 0.04 * 0.75 - 1e-6


VALID = {"patent_type": "invention", "filing_date": "2020-01-01", "legal_status": "valid"}


def without(details: dict, name: str) -> dict:
    return {key: value for key, value in details.items() if key != name}


@pytest.mark.parametrize(
    ("details", "missing"),
    [
        (VALID, "details.revenue_history"),
        ({**VALID, "revenue_history": []}, "details.revenue_history"),
        ({**VALID, "revenue_history": revenue((2030, "5.00"))}, "details.revenue_history"),
        ({**without(VALID, "legal_status"), "revenue_history": ONE_MILLION}, "details.legal_status"),
        ({**without(VALID, "filing_date"), "revenue_history": ONE_MILLION}, "details.filing_date"),
    ],
)
def test_patent_without_needed_data_cannot_be_valued(details, missing):
    inp = ValuationInput(kind="patent", details=details, industry="OPTO_ELEC", as_of=AS_OF)

    with pytest.raises(ValuationNotPossible) as caught:
        value_asset(inp, seed=1)
    assert caught.value.code == "insufficient_data"
    assert missing in str(caught.value)
    assert missing in caught.value.reasons["relief_from_royalty"]


@pytest.mark.parametrize(
    ("kind", "details", "missing"),
    [
        ("trademark", {"nice_classes": [9], "revenue_history": ONE_MILLION}, "details.valid_until"),
        ("software", {"version": "1", "revenue_history": ONE_MILLION}, "details.completed_on"),
        ("software", {"completed_on": "2020-01-01"}, "details.revenue_history"),
    ],
)
def test_trademark_and_software_without_needed_data_cannot_be_valued(kind, details, missing):
    with pytest.raises(ValuationNotPossible) as caught:
        value_asset(ValuationInput(kind=kind, details=details, industry="SOFTWARE", as_of=AS_OF), seed=1)

    assert caught.value.code == "insufficient_data"
    assert missing in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"revenue_history": revenue((2025, "lots"))}, "details.revenue_history[0].amount"),
        ({"revenue_history": revenue((2025, "-5.00"))}, "details.revenue_history[0].amount"),
        ({"revenue_history": revenue((2025, "1.00"), (2025, "2.00"))}, "details.revenue_history"),
        ({"filing_date": "01/02/2020"}, "details.filing_date"),
        ({"legal_status": "dormant"}, "details.legal_status"),
        ({"patent_type": "plant"}, "details.patent_type"),
    ],
)
def test_malformed_patent_details_are_invalid_data(changes, field):
    details = {
        "patent_type": "invention",
        "filing_date": "2020-01-01",
        "legal_status": "valid",
        "revenue_history": ONE_MILLION,
        **changes,
    }

    with pytest.raises(ValuationNotPossible) as caught:
        value_asset(ValuationInput(kind="patent", details=details, industry="X", as_of=AS_OF), seed=1)
    assert caught.value.code == "invalid_data"
    assert field in caught.value.reasons


# --- properties -------------------------------------------------------------------------------------------

amounts = st.integers(min_value=0, max_value=10**11).map(lambda c: Decimal(c).scaleb(-2))
histories = st.lists(amounts, min_size=1, max_size=5).map(
    lambda values: revenue(*((2025 - len(values) + 1 + n, f"{v:f}") for n, v in enumerate(values)))
)
industries = st.sampled_from(
    [
        "OPTO_ELEC",
        "NEV_ICV",
        "LIFE_HEALTH",
        "HIGH_END_EQUIP",
        "BEIDOU",
        "AUTO_SERVICE",
        "MODERN_CHEM",
        "SOFTWARE",
        "UNKNOWN",
    ]
)
filing_dates = st.dates(min_value=date(2005, 1, 1), max_value=date(2026, 6, 30))
seeds = st.integers(min_value=0, max_value=2**63 - 1)


@st.composite
def royalty_assets(draw: st.DrawFn) -> ValuationInput:
    kind = draw(st.sampled_from(["patent", "trademark", "software"]))
    history = draw(histories)
    industry = draw(industries)
    if kind == "patent":
        return patent(
            status=draw(st.sampled_from(["pending", "valid"])),
            patent_type=draw(st.sampled_from(["invention", "utility_model", "design"])),
            filed=draw(filing_dates).isoformat(),
            history=history,
            industry=industry,
        )
    if kind == "trademark":
        valid_until = AS_OF + timedelta(days=draw(st.integers(-400, 4000)))
        details = {"number": "1", "nice_classes": [9], "valid_until": valid_until.isoformat()}
    else:
        details = {
            "registration_number": "2020SR1234567",
            "version": "1",
            "completed_on": draw(st.dates(date(1975, 1, 1), date(2026, 6, 30))).isoformat(),
        }
    return ValuationInput(
        kind=kind,
        details={**details, "revenue_history": history},
        industry=industry,
        as_of=AS_OF,
    )


@settings(max_examples=50, deadline=None)
@given(inp=royalty_assets(), seed=seeds)
def test_range_is_ordered_never_negative_and_reproducible(inp, seed):
    first, again = value_asset(inp, seed=seed, params=FAST), value_asset(inp, seed=seed, params=FAST)

    assert Decimal(0) <= first.low <= first.value <= first.high
    assert first == again


@settings(max_examples=50, deadline=None)
@given(inp=royalty_assets(), scale=st.integers(100, 1000), seed=seeds)
def test_more_revenue_never_lowers_the_value(inp, scale, seed):
    # every year's revenue scaled by scale/100 >= 1 (same growth), and the latest year raised alone
    history = inp.details["revenue_history"]
    scaled = [{"year": e["year"], "amount": f"{Decimal(e['amount']) * scale / 100:f}"} for e in history]
    raised = [
        *history[:-1],
        {"year": history[-1]["year"], "amount": f"{Decimal(history[-1]['amount']) * scale / 100:f}"},
    ]
    base = value_asset(inp, seed=seed, params=FAST)
    for more in (scaled, raised):
        richer = replace(inp, details={**inp.details, "revenue_history": more})
        assert ROYALTY.point_value(richer, FAST) >= ROYALTY.point_value(inp, FAST)
        assert value_asset(richer, seed=seed, params=FAST).value >= base.value


@settings(max_examples=50, deadline=None)
@given(inp=royalty_assets(), low_rate=st.integers(5, 30), step=st.integers(0, 20))
def test_a_higher_discount_rate_never_raises_the_point_value(inp, low_rate, step):
    def at(rate: int):
        return replace(FAST, discount_rate_by_kind=dict.fromkeys(KINDS, Decimal(rate) / 100))

    assert ROYALTY.point_value(inp, at(low_rate + step)) <= ROYALTY.point_value(inp, at(low_rate))


@settings(max_examples=50, deadline=None)
@given(
    history=histories,
    filed=filing_dates,
    days_later=st.integers(0, 4000),
    patent_type=st.sampled_from(["invention", "utility_model", "design"]),
)
def test_a_shorter_remaining_life_never_raises_the_point_value(history, filed, days_later, patent_type):
    # the same patent valued later (less legal life left); revenue years all precede both dates
    early = patent(patent_type=patent_type, filed=filed.isoformat(), history=history, as_of=AS_OF)
    late = replace(early, as_of=AS_OF + timedelta(days=days_later))
    earlier = (filed - timedelta(days=days_later)).isoformat()
    filed_earlier = patent(patent_type=patent_type, filed=earlier, history=history, as_of=AS_OF)

    assert ROYALTY.point_value(late, FAST) <= ROYALTY.point_value(early, FAST)
    assert ROYALTY.point_value(filed_earlier, FAST) <= ROYALTY.point_value(early, FAST)
