"""Innovation points, the pure maths (valuation.points): no database, hand-worked numbers."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.money import quantize
from valuation.models import InnovationScore
from valuation.points import (
    DEFAULT_INNOVATION_PARAMETERS,
    GROWTH,
    INDICATOR_CODES,
    MATURE,
    STAGES,
    STARTUP,
    Credentials,
    IndicatorRow,
    InnovationParameters,
    firm_stage,
    percentile_ranks,
    score_cohort,
    tier_for,
)

D = Decimal
M = D(1_000_000)
DEFAULTS = DEFAULT_INNOVATION_PARAMETERS

# Three indicators only, so that the hand arithmetic stays short. Same weights in every stage.
HAND = replace(
    DEFAULTS,
    version="test.hand",
    weights_by_stage={
        stage: {"rd_expense": "0.5", "invention_applications": "0.3", "revenue": "0.2"} for stage in STAGES
    },
)


def row(firm_id: int = 1, **overrides: object) -> IndicatorRow:
    values: dict[str, object] = {
        "firm_id": firm_id,
        "year": 2025,
        "revenue": 50 * M,
        "rd_expense": 3 * M,
        "staff_count": 100,
        "rd_staff_count": 20,
        "founded_on": date(2020, 3, 1),  # 5 years old at the end of 2025
    }
    values.update(overrides)
    return IndicatorRow(**values)  # type: ignore[arg-type]


def indicator(result, code):  # type: ignore[no-untyped-def]
    return next(item for item in result.indicators if item.code == code)


# --- a hand-worked cohort ---------------------------------------------------------------------------------


def hand_cohort() -> list[IndicatorRow]:
    # Five growth-stage firms (5 years old, revenue between CNY 20 m and 200 m).
    return [
        row(
            1,
            revenue=30 * M,
            rd_expense=1 * M,
            invention_applications=0,
            credentials=Credentials(specialised_level="provincial"),
        ),
        row(
            2,
            revenue=50 * M,
            rd_expense=3 * M,
            invention_applications=0,
            credentials=Credentials(tech_sme_number="202542010100001"),
        ),
        row(
            3,
            revenue=40 * M,
            rd_expense=3 * M,
            invention_applications=2,
            credentials=Credentials(
                high_tech_certificate_number="GR202342000001", high_tech_certificate_expires_on=date(2026, 6, 30)
            ),
        ),
        row(
            4,
            revenue=100 * M,
            rd_expense=8 * M,
            invention_applications=5,
            # expired in the middle of the year: not valid on 31 December, no bonus
            credentials=Credentials(
                high_tech_certificate_number="GR202242000002", high_tech_certificate_expires_on=date(2025, 6, 30)
            ),
        ),
        row(
            5,
            revenue=150 * M,
            rd_expense=5 * M,
            invention_applications=10,
            credentials=Credentials(specialised_level="national"),
        ),
    ]


def test_hand_worked_cohort_of_five():
    results = {r.firm_id: r for r in score_cohort(hand_cohort(), HAND)}
    assert {r.stage for r in results.values()} == {GROWTH}
    assert {r.cohort_size for r in results.values()} == {5}
    # s = 100 x (firms below + (ties - 1) / 2) / (n - 1), n = 5, so n - 1 = 4.
    # R&D expense (m): 1 | 3, 3 | 5 | 8
    #   firm 1: 0 below            -> 0/4            = 0
    #   firms 2, 3: 1 below, tied  -> (1 + 1/2) / 4  = 37.5
    #   firm 5: 3 below            -> 3/4            = 75
    #   firm 4: 4 below            -> 4/4            = 100
    # invention applications: 0, 0 | 2 | 5 | 10
    #   firms 1, 2 rank (0 + 1/2)/4 = 12.5 but have 0 applications -> 0
    #   firm 3: 2/4 = 50, firm 4: 3/4 = 75, firm 5: 4/4 = 100
    # revenue (m): 30 | 40 | 50 | 100 | 150 -> firm 1: 0, firm 3: 25, firm 2: 50, firm 4: 75, firm 5: 100
    expected_percentiles = {
        1: ("0.00", "0.00", "0.00"),
        2: ("37.50", "0.00", "50.00"),
        3: ("37.50", "50.00", "25.00"),
        4: ("100.00", "75.00", "75.00"),
        5: ("75.00", "100.00", "100.00"),
    }
    for firm_id, (rd, inv, rev) in expected_percentiles.items():
        got = results[firm_id]
        assert (
            str(indicator(got, "rd_expense").percentile),
            str(indicator(got, "invention_applications").percentile),
            str(indicator(got, "revenue").percentile),
        ) == (rd, inv, rev), firm_id
    # base = 0.5 rd + 0.3 inv + 0.2 rev
    #   firm 1: 0                                  = 0.00
    #   firm 2: 0.5 x 37.5 + 0.3 x 0   + 0.2 x 50  = 18.75 + 0  + 10 = 28.75
    #   firm 3: 0.5 x 37.5 + 0.3 x 50  + 0.2 x 25  = 18.75 + 15 + 5  = 38.75
    #   firm 4: 0.5 x 100  + 0.3 x 75  + 0.2 x 75  = 50 + 22.5 + 15  = 87.50
    #   firm 5: 0.5 x 75   + 0.3 x 100 + 0.2 x 100 = 37.5 + 30 + 20  = 87.50
    # bonus: 1 provincial +5, 2 tech-SME +5, 3 high-tech valid at year end +10, 4 expired 0, 5 national +10
    expected = {
        1: ("0.00", "5.00", "5.00", "E"),
        2: ("28.75", "5.00", "33.75", "E"),
        3: ("38.75", "10.00", "48.75", "D"),
        4: ("87.50", "0.00", "87.50", "A"),
        5: ("87.50", "10.00", "97.50", "A"),
    }
    got = {
        firm_id: (str(r.base_points), str(r.bonus_points), str(r.total_points), r.tier)
        for firm_id, r in results.items()
    }
    assert got == expected
    assert [item.code for item in results[3].bonus_items] == ["high_tech_enterprise"]
    assert results[4].bonus_items == ()
    # weighted points are shown per indicator: firm 3's inventions 0.3 x 50 = 15.00
    assert str(indicator(results[3], "invention_applications").points) == "15.00"
    # firms 1 and 2 have no inventions: ranked, but scored 0 and told why
    assert indicator(results[2], "invention_applications").status == "not_positive"
    # winsorising: R&D sorted 1, 3, 3, 5, 8 (m). p99 at position 0.99 x 4 = 3.96: 5 + 0.96 x (8 - 5) = 7.88;
    # p1 at position 0.04: 1 + 0.04 x (3 - 1) = 1.08. The extremes are clipped, ranks unchanged.
    assert str(indicator(results[4], "rd_expense").winsorised) == "7880000.00"
    assert str(indicator(results[1], "rd_expense").winsorised) == "1080000.00"
    assert str(indicator(results[2], "rd_expense").winsorised) == "3000000.00"
    # indicators weighing 0 are still explained; growth is missing without a previous year
    growth = indicator(results[1], "rd_growth")
    assert (growth.status, growth.points, growth.note) == (
        "missing",
        D("0.00"),
        "no previous-year R&D expense: scores 0",
    )


def test_breakdown_is_json_and_lists_every_indicator():
    result = score_cohort(hand_cohort(), HAND)[0]
    breakdown = json.loads(json.dumps(result.breakdown()))
    assert [item["code"] for item in breakdown["indicators"]] == list(INDICATOR_CODES)
    assert breakdown["stage"] == {
        "stage": "growth",
        "age_years": 5,
        "revenue": "30000000.00",
        "reason": "neither start-up nor mature",
    }
    assert breakdown["bonus"] == [
        {"code": "specialised_provincial", "points": "5.00", "note": "provincial specialised and sophisticated SME"}
    ]
    assert breakdown["parameter_set"] == "test.hand"


# --- percentile ranks -------------------------------------------------------------------------------------


def test_ties_share_the_average_rank():
    _w, scores = percentile_ranks([1.0, 2.0, 2.0, 3.0])
    # n - 1 = 3: 0/3, (1 + 1/2)/3 twice, 3/3
    assert scores == [D(0), D(50), D(50), D(100)]
    _w, scores = percentile_ranks([7.0, 7.0, 7.0])
    assert scores == [D(50)] * 3  # all equal: (0 + 2/2) / 2


def test_a_cohort_of_one_scores_50_on_present_indicators():
    # One mature firm (founded 2010, revenue 300 m) with every indicator it can have, growth included.
    alone = row(
        1,
        revenue=300 * M,
        rd_expense=20 * M,
        founded_on=date(2010, 1, 1),
        invention_applications=4,
        pct_applications=1,
        tech_contract_turnover=2 * M,
        hightech_product_revenue=100 * M,
        previous_revenue=250 * M,
        previous_rd_expense=15 * M,
    )
    (result,) = score_cohort([alone])
    assert (result.stage, result.cohort_size) == (MATURE, 1)
    scored = [item for item in result.indicators if item.status == "scored"]
    assert {item.percentile for item in scored} == {D("50.00")}
    # Every weighted indicator is present (return on net assets weighs 0): base = 50 x sum of weights = 50.
    assert result.base_points == D("50.00")
    assert indicator(result, "return_on_net_assets").status == "missing"

    # Without a previous year the growth indicators are missing: base = 50 x (1 - 0.06 - 0.08) = 43.00
    (result,) = score_cohort([replace(alone, previous_revenue=None, previous_rd_expense=None)])
    assert result.base_points == D("43.00")


def test_zero_or_less_scores_zero_even_when_it_ranks():
    rows = [row(1, pct_applications=0), row(2, pct_applications=0), row(3, pct_applications=1)]
    results = score_cohort(rows)
    assert [indicator(r, "pct_applications").percentile for r in results] == [D("0.00"), D("0.00"), D("100.00")]
    # a fall in revenue is a negative growth: 0
    (result,) = score_cohort([row(1, previous_revenue=60 * M)])
    assert (indicator(result, "revenue_growth").status, indicator(result, "revenue_growth").raw) == (
        "not_positive",
        D("-0.166667"),
    )


def test_winsorising_ties_an_outlier_with_the_firm_below_p99():
    # 200 firms: R&D 1 .. 199 and one outlier at 1e9. Sorted positions 0 .. 199.
    values = [float(v) for v in range(1, 200)] + [1e9]
    winsorised, scores = percentile_ranks(values)
    # p99 at position 0.99 x 199 = 197.01: 198 + 0.01 x (199 - 198) = 198.01, so 199 and the outlier become 198.01
    # p1 at position 0.01 x 199 = 1.99:    2 + 0.99 x (3 - 2)       = 2.99,   so 1 and 2 become 2.99
    assert list(winsorised[-2:]) == pytest.approx([198.01, 198.01])
    assert list(winsorised[:2]) == pytest.approx([2.99, 2.99])
    # the top two tie: 100 x (198 below + 1/2) / 199 = 99.748..; the bottom two: 100 x (0 + 1/2) / 199 = 0.251..
    assert scores[-1] == scores[-2]
    assert quantize(scores[-1]) == D("99.75")
    assert scores[0] == scores[1]
    assert quantize(scores[0]) == D("0.25")
    # without winsorising the outlier alone would reach 100 and the runner-up 198/199
    no_clip = replace(DEFAULTS, winsorise_lower_percentile=D(0), winsorise_upper_percentile=D(100))
    _w, raw_scores = percentile_ranks(values, no_clip)
    assert raw_scores[-1] == D(100)
    assert quantize(raw_scores[-2]) == D("99.50")  # 100 x 198 / 199 = 99.497..


def test_winsorising_through_score_cohort_shows_the_clipped_value():
    rows = [row(i, rd_expense=D(i) * M) for i in range(1, 200)] + [row(200, rd_expense=D(1000) * M)]
    results = {r.firm_id: r for r in score_cohort(rows)}
    top, runner_up = indicator(results[200], "rd_expense"), indicator(results[199], "rd_expense")
    assert top.raw == D("1000000000.00")
    assert top.winsorised == runner_up.winsorised == D("198010000.00")
    assert top.percentile == runner_up.percentile == D("99.75")  # 100 x 397 / 398 = 99.748...


# --- stages, bonus, tiers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("founded_on", "revenue", "stage"),
    [
        (date(2023, 1, 1), 500 * M, STARTUP),  # 2 years old at the end of 2025
        (date(2022, 12, 31), 20 * M, GROWTH),  # 3 years old, revenue exactly 20 m
        (date(2022, 1, 1), D("19999999.99"), STARTUP),  # revenue just below 20 m
        (date(2015, 6, 1), 200 * M, MATURE),  # 10 years old, revenue exactly 200 m
        (date(2016, 1, 1), 300 * M, GROWTH),  # 9 years old
        (date(2015, 1, 1), D("199999999.99"), GROWTH),  # old enough, revenue just below 200 m
        (None, 500 * M, GROWTH),  # no founding date: never mature
        (None, 1 * M, STARTUP),  # no founding date, small revenue
        (date(2030, 1, 1), 50 * M, STARTUP),  # founded after the year: age 0
    ],
)
def test_stage_thresholds(founded_on, revenue, stage):
    assert firm_stage(row(founded_on=founded_on, revenue=revenue)).stage == stage


def test_firms_are_ranked_only_within_their_stage():
    startup = row(1, revenue=10 * M, rd_expense=1 * M)
    growth_small = row(2, revenue=50 * M, rd_expense=2 * M)
    growth_big = row(3, revenue=60 * M, rd_expense=9 * M)
    results = {r.firm_id: r for r in score_cohort([startup, growth_small, growth_big])}
    assert (results[1].stage, results[1].cohort_size) == (STARTUP, 1)
    assert indicator(results[1], "rd_expense").percentile == D("50.00")  # alone in its cohort
    assert indicator(results[2], "rd_expense").percentile == D("0.00")
    assert indicator(results[3], "rd_expense").percentile == D("100.00")


def test_bonus_is_capped_at_30():
    all_credentials = Credentials(
        high_tech_certificate_number="GR202442000009",
        high_tech_certificate_expires_on=date(2027, 12, 31),
        specialised_level="national",
        tech_sme_number="202542010100009",
    )
    (default_result,) = score_cohort([row(credentials=all_credentials)])
    assert (default_result.bonus_points, default_result.bonus_uncapped) == (D("25.00"), D(25))  # 10 + 10 + 5
    generous = replace(DEFAULTS, bonus_points={**DEFAULTS.bonus_points, "high_tech_enterprise": D(20)})
    (capped,) = score_cohort([row(credentials=all_credentials)], generous)
    assert (capped.bonus_points, capped.bonus_uncapped) == (D("30.00"), D(35))  # 20 + 10 + 5 = 35 -> 30
    assert capped.total_points == capped.base_points + D(30)
    assert capped.breakdown()["bonus_uncapped"] == "35.00"


def test_a_certificate_valid_on_31_december_counts():
    valid = Credentials(high_tech_certificate_number="GR1", high_tech_certificate_expires_on=date(2025, 12, 31))
    expired = Credentials(high_tech_certificate_number="GR1", high_tech_certificate_expires_on=date(2025, 12, 30))
    no_date = Credentials(high_tech_certificate_number="GR1")
    bonuses = [
        r.bonus_points
        for r in score_cohort([row(1, credentials=valid), row(2, credentials=expired), row(3, credentials=no_date)])
    ]
    assert bonuses == [D("10.00"), D("0.00"), D("0.00")]


@pytest.mark.parametrize(
    ("total", "tier"),
    [
        ("130.00", "A"),
        ("85.00", "A"),
        ("84.99", "B"),
        ("70.00", "B"),
        ("69.99", "C"),
        ("55.00", "C"),
        ("54.99", "D"),
        ("40.00", "D"),
        ("39.99", "E"),
        ("0.00", "E"),
    ],
)
def test_tier_cut_offs(total, tier):
    assert tier_for(D(total)) == tier


def test_tier_uses_the_total_with_bonus():
    # A lone firm in its cohort with only R&D expense weighted: base 50; +10 +10 +5 = 75 -> B.
    only_rd = replace(DEFAULTS, weights_by_stage={stage: {"rd_expense": "1"} for stage in STAGES})
    creds = Credentials(
        high_tech_certificate_number="GR2",
        high_tech_certificate_expires_on=date(2026, 1, 1),
        specialised_level="national",
        tech_sme_number="X",
    )
    (result,) = score_cohort([row(credentials=creds)], only_rd)
    assert (result.base_points, result.bonus_points, result.total_points, result.tier) == (
        D("50.00"),
        D("25.00"),
        D("75.00"),
        "B",
    )


# --- determinism and parameters ---------------------------------------------------------------------------


def test_deterministic_whatever_the_order_of_rows():
    rows = hand_cohort() + [row(10 + i, revenue=D(25 + 7 * i) * M, rd_expense=D(i) * M) for i in range(20)]
    first = score_cohort(rows)
    shuffled = list(rows)
    random.Random(7).shuffle(shuffled)
    second = score_cohort(shuffled)
    assert [r.firm_id for r in first] == sorted(r.firm_id for r in rows)
    assert first == second
    assert [r.breakdown() for r in first] == [r.breakdown() for r in second]


def test_default_parameters_round_trip_and_are_valid():
    data = DEFAULTS.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert InnovationParameters.from_dict(data) == DEFAULTS
    assert DEFAULTS.version == "2026.1"
    for stage in STAGES:
        assert sum(DEFAULTS.weights_by_stage[stage].values(), D(0)) == D(1)
    assert data["tier_cutoffs"] == [["A", "85"], ["B", "70"], ["C", "55"], ["D", "40"]]
    assert data["bonus_points"] == {
        "high_tech_enterprise": "10",
        "specialised_provincial": "5",
        "specialised_national": "10",
        "tech_sme": "5",
    }
    assert (data["startup_revenue_below"], data["mature_revenue_from"]) == ("20000000", "200000000")
    assert {value for value, _label in InnovationScore.Stage.choices} == set(STAGES)


@pytest.mark.parametrize(
    "change",
    [
        {"weights_by_stage": {stage: {"rd_expense": "0.9"} for stage in STAGES}},  # sums to 0.9
        {"weights_by_stage": {"startup": {"rd_expense": "1"}}},  # stages missing
        {"weights_by_stage": {stage: {"nonsense": "1"} for stage in STAGES}},
        {"bonus_cap": "31"},
        {"tier_cutoffs": [["A", "70"], ["B", "85"]]},
        {"winsorise_lower_percentile": "99", "winsorise_upper_percentile": "1"},
        {"bonus_points": {"unknown": "5"}},
    ],
)
def test_invalid_parameters_are_refused(change):
    with pytest.raises(ValueError, match="parameter"):
        InnovationParameters.from_dict({**DEFAULTS.as_dict(), **change})


def test_a_cohort_is_one_year_with_each_firm_once():
    with pytest.raises(ValueError, match="one year"):
        score_cohort([row(1), row(2, year=2024)])
    with pytest.raises(ValueError, match="twice"):
        score_cohort([row(1), row(1)])
    assert score_cohort([]) == []


# --- properties -------------------------------------------------------------------------------------------

CAPPED = replace(
    DEFAULTS,
    version="test.capped",
    bonus_points={
        "high_tech_enterprise": "20",
        "specialised_national": "10",
        "specialised_provincial": "5",
        "tech_sme": "5",
    },
)

money = st.one_of(
    st.sampled_from([D(0), 5 * M, 20 * M, 200 * M]),  # shared values make ties
    st.integers(min_value=0, max_value=10**12).map(lambda cents: D(cents).scaleb(-2)),
)


@st.composite
def rows_strategy(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(min_value=1, max_value=9))
    out = []
    for firm_id in range(1, n + 1):
        staff = draw(st.integers(min_value=0, max_value=3000))
        out.append(
            IndicatorRow(
                firm_id=firm_id,
                year=2025,
                revenue=draw(money),
                rd_expense=draw(money),
                staff_count=staff,
                rd_staff_count=draw(st.integers(min_value=0, max_value=staff)),
                invention_applications=draw(st.integers(min_value=0, max_value=50)),
                pct_applications=draw(st.integers(min_value=0, max_value=5)),
                tech_contract_turnover=draw(money),
                hightech_product_revenue=draw(money),
                net_assets=draw(st.none() | money),
                previous_revenue=draw(st.none() | money),
                previous_rd_expense=draw(st.none() | money),
                founded_on=draw(st.none() | st.dates(min_value=date(1980, 1, 1), max_value=date(2025, 12, 31))),
                credentials=Credentials(
                    high_tech_certificate_number=draw(st.sampled_from(["", "GR1"])),
                    high_tech_certificate_expires_on=draw(
                        st.none() | st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31))
                    ),
                    specialised_level=draw(st.sampled_from(["none", "provincial", "national"])),
                    tech_sme_number=draw(st.sampled_from(["", "T1"])),
                ),
            )
        )
    return out


@settings(max_examples=150, deadline=None)
@given(rows=rows_strategy(), params=st.sampled_from([DEFAULTS, CAPPED]))
def test_points_stay_in_range(rows, params):
    for result in score_cohort(rows, params):
        assert D(0) <= result.base_points <= D(100)
        assert D(0) <= result.bonus_points <= D(30)
        assert result.total_points == result.base_points + result.bonus_points
        assert result.tier == tier_for(result.total_points, params)
        assert all(D(0) <= item.percentile <= D(100) for item in result.indicators)


@settings(max_examples=150, deadline=None)
@given(rows=rows_strategy(), pick=st.integers(min_value=0), raise_by=st.integers(min_value=1, max_value=10**11))
def test_raising_rd_expense_never_lowers_the_firms_own_score(rows, pick, raise_by):
    j = pick % len(rows)
    before = score_cohort(rows)[j]
    raised = list(rows)
    raised[j] = replace(rows[j], rd_expense=rows[j].rd_expense + D(raise_by).scaleb(-2))
    after = score_cohort(raised)[j]
    assert after.firm_id == before.firm_id
    assert after.stage == before.stage
    assert after.base_points >= before.base_points
    assert after.total_points >= before.total_points
