"""credit.policies: the pure credit-limit policy. No Django, no database.

Hand-worked examples show the arithmetic in the test; Hypothesis checks the invariants of any limit.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit.policies import (
    DEFAULT_PLEDGE_RATES,
    DEFAULT_UNSECURED_BY_TIER,
    PLEDGE_RATE_HARD_CAP,
    TIERS,
    UTILITY_MODEL_PLEDGE_RATE,
    Collateral,
    ExplanationLine,
    LimitResult,
    PolicyError,
    ProductRules,
    credit_limit_compute,
    validate_pledge_rates,
)

CENT = Decimal("0.01")


def rules_for(
    *,
    pledge_rates: dict[str, object] | None = None,
    unsecured_by_tier: dict[str, Decimal] | None = None,
    max_amount: Decimal | None = None,
    max_secured_per_asset: Decimal | None = None,
    currency: str = "CNY",
) -> ProductRules:
    return ProductRules(
        code="HB-IP-1",
        currency=currency,
        pledge_rates=DEFAULT_PLEDGE_RATES if pledge_rates is None else pledge_rates,
        unsecured_by_tier=DEFAULT_UNSECURED_BY_TIER if unsecured_by_tier is None else unsecured_by_tier,
        max_amount=max_amount,
        max_secured_per_asset=max_secured_per_asset,
    )


def asset(asset_id: int, kind: str, low: str, **kwargs: object) -> Collateral:
    fields: dict = {"valuation_id": 1000 + asset_id, "currency": "CNY", **kwargs}
    return Collateral(asset_id=asset_id, kind=kind, low=Decimal(low), **fields)


# --- constants ---------------------------------------------------------------------------------------


def test_defaults_follow_the_domain_cheatsheet():
    assert dict(DEFAULT_PLEDGE_RATES) == {
        "patent": Decimal("0.25"),
        "trademark": Decimal("0.30"),
        "software": Decimal("0.20"),
        "data": Decimal("0.30"),
    }
    assert str(UTILITY_MODEL_PLEDGE_RATE) == "0.15"
    assert str(PLEDGE_RATE_HARD_CAP) == "0.50"
    assert dict(DEFAULT_UNSECURED_BY_TIER) == {
        "A": Decimal("10000000.00"),
        "B": Decimal("7000000.00"),
        "C": Decimal("5000000.00"),
        "D": Decimal("3000000.00"),
        "E": Decimal("1000000.00"),
    }
    assert all(amount.as_tuple().exponent == -2 for amount in DEFAULT_UNSECURED_BY_TIER.values())


# --- hand-worked limits ------------------------------------------------------------------------------


def test_lines_round_down_and_tier_b_adds_its_unsecured_amount():
    # given a patent valued low at 1,234,567.89 and a data asset valued low at 999.99
    rules = rules_for()
    collateral = [asset(7, "patent", "1234567.89"), asset(3, "data", "999.99")]

    # when
    result = credit_limit_compute(rules=rules, collateral=collateral, tier="B")

    # then: 1,234,567.89 x 0.25 = 308,641.9725 -> 308,641.97 and 999.99 x 0.30 = 299.997 -> 299.99
    assert Decimal("1234567.89") * Decimal("0.25") == Decimal("308641.9725")
    assert Decimal("999.99") * Decimal("0.30") == Decimal("299.9970")
    assert result.lines == (
        ExplanationLine(
            asset=3,
            kind="data",
            valuation=1003,
            collateral_value=Decimal("999.99"),
            pledge_rate=Decimal("0.30"),
            amount=Decimal("299.99"),
        ),
        ExplanationLine(
            asset=7,
            kind="patent",
            valuation=1007,
            collateral_value=Decimal("1234567.89"),
            pledge_rate=Decimal("0.25"),
            amount=Decimal("308641.97"),
        ),
    )
    # 308,641.97 + 299.99 = 308,941.96 secured; + 7,000,000.00 (tier B) = 7,308,941.96
    assert result == LimitResult(
        limit=Decimal("7308941.96"),
        secured=Decimal("308941.96"),
        unsecured=Decimal("7000000.00"),
        currency="CNY",
        lines=result.lines,
        caps_applied=(),
        excluded=(),
        tier="B",
    )
    assert str(result.limit) == "7308941.96"


def test_max_amount_binds_and_is_named():
    # given the same collateral and tier B (uncapped limit 7,308,941.96) under a 5,000,000 product cap
    rules = rules_for(max_amount=Decimal("5000000"))
    collateral = [asset(7, "patent", "1234567.89"), asset(3, "data", "999.99")]

    result = credit_limit_compute(rules=rules, collateral=collateral, tier="B")

    assert result.limit == Decimal("5000000.00")
    assert str(result.limit) == "5000000.00"  # the cap is reported in money shape
    assert result.caps_applied == ("max_amount",)
    # secured and unsecured stay as computed; their sum is what the cap cut
    assert result.secured == Decimal("308941.96")
    assert result.unsecured == Decimal("7000000.00")
    assert result.secured + result.unsecured == Decimal("7308941.96") > result.limit


def test_max_amount_that_does_not_bind_is_not_named():
    rules = rules_for(max_amount=Decimal("7308941.96"))  # exactly the uncapped limit
    collateral = [asset(7, "patent", "1234567.89"), asset(3, "data", "999.99")]

    result = credit_limit_compute(rules=rules, collateral=collateral, tier="B")

    assert result.limit == Decimal("7308941.96")
    assert result.caps_applied == ()


def test_single_asset_cap_cuts_lines_and_is_named_once():
    # given two patents whose lines exceed a 10,000,000.00 single-asset cap and a trademark below it
    rules = rules_for(max_secured_per_asset=Decimal("10000000.00"))
    collateral = [
        asset(1, "patent", "50000000.00"),  # x 0.25 = 12,500,000.00 -> cut to 10,000,000.00
        asset(2, "patent", "40000000.04"),  # x 0.25 = 10,000,000.01 -> cut to 10,000,000.00
        asset(3, "trademark", "2000000.00"),  # x 0.30 = 600,000.00, under the cap
    ]

    result = credit_limit_compute(rules=rules, collateral=collateral, tier=None)

    assert [line.amount for line in result.lines] == [
        Decimal("10000000.00"),
        Decimal("10000000.00"),
        Decimal("600000.00"),
    ]
    assert [line.collateral_value for line in result.lines] == [
        Decimal("50000000.00"),
        Decimal("40000000.04"),
        Decimal("2000000.00"),
    ]
    assert result.caps_applied == ("max_secured_per_asset",)
    # 10,000,000.00 + 10,000,000.00 + 600,000.00; no tier, so no unsecured part
    assert result.secured == Decimal("20600000.00")
    assert result.unsecured == Decimal("0.00")
    assert result.limit == Decimal("20600000.00")


def test_both_caps_are_named_in_the_order_applied():
    rules = rules_for(max_secured_per_asset=Decimal("1000.00"), max_amount=Decimal("1500.00"))
    collateral = [asset(1, "data", "10000.00"), asset(2, "data", "10000.00")]  # 3,000.00 each -> 1,000.00

    result = credit_limit_compute(rules=rules, collateral=collateral, tier="E")

    assert result.secured == Decimal("2000.00")
    assert result.unsecured == Decimal("1000000.00")
    assert result.limit == Decimal("1500.00")
    assert result.caps_applied == ("max_secured_per_asset", "max_amount")


def test_excluded_assets_are_reported_by_asset_id_and_add_nothing():
    # given a product lending on patents and data only, in CNY
    rules = rules_for(pledge_rates={"patent": "0.25", "data": "0.30"})
    collateral = [
        asset(9, "data", "1000.00", currency="USD"),  # no FX: excluded
        asset(4, "patent", "1000.00", is_pledged=True),  # pledged to someone already
        asset(6, "software", "1000.00"),  # the product takes no software
        asset(2, "trademark", "1000.00", is_pledged=True),  # pledged wins over ineligible
        asset(5, "patent", "1000.00"),  # the only eligible one: 1,000.00 x 0.25 = 250.00
    ]

    result = credit_limit_compute(rules=rules, collateral=collateral, tier=None)

    assert result.excluded == (
        {"asset": 2, "reason": "already_pledged"},
        {"asset": 4, "reason": "already_pledged"},
        {"asset": 6, "reason": "kind_not_eligible"},
        {"asset": 9, "reason": "currency_mismatch"},
    )
    assert [line.asset for line in result.lines] == [5]
    assert result.limit == result.secured == Decimal("250.00")


def test_utility_model_patent_uses_the_lower_utility_rate():
    collateral = [
        asset(1, "patent", "1000000.00", patent_type="utility_model"),
        asset(2, "patent", "1000000.00", patent_type="invention"),
    ]

    result = credit_limit_compute(rules=rules_for(), collateral=collateral, tier=None)

    # 1,000,000.00 x 0.15 = 150,000.00 and 1,000,000.00 x 0.25 = 250,000.00
    assert [(line.pledge_rate, line.amount) for line in result.lines] == [
        (Decimal("0.15"), Decimal("150000.00")),
        (Decimal("0.25"), Decimal("250000.00")),
    ]
    # a product whose patent rate is already below 0.15 keeps its own rate
    low_rate = rules_for(pledge_rates={"patent": "0.10"})
    result = credit_limit_compute(rules=low_rate, collateral=collateral[:1], tier=None)
    assert result.lines[0].pledge_rate == Decimal("0.10")
    assert result.lines[0].amount == Decimal("100000.00")


@pytest.mark.parametrize("tier", [None, "Z", "a"])
def test_no_or_unknown_tier_gives_no_unsecured_part(tier):
    result = credit_limit_compute(rules=rules_for(), collateral=[asset(1, "data", "100.00")], tier=tier)

    assert result.unsecured == Decimal("0.00")
    assert result.limit == Decimal("30.00")  # 100.00 x 0.30
    assert result.tier == tier


def test_empty_tier_table_and_no_collateral_give_a_zero_limit_in_money_shape():
    rules = rules_for(unsecured_by_tier={})

    result = credit_limit_compute(rules=rules, collateral=[], tier="A")

    assert result.limit == result.secured == result.unsecured == Decimal("0")
    assert str(result.limit) == str(result.secured) == str(result.unsecured) == "0.00"
    assert result.lines == result.excluded == result.caps_applied == ()


def test_unsecured_only_product_with_no_pledge_rates():
    rules = rules_for(pledge_rates={})

    result = credit_limit_compute(rules=rules, collateral=[asset(1, "patent", "5000.00")], tier="A")

    assert result.limit == Decimal("10000000.00")
    assert result.excluded == ({"asset": 1, "reason": "kind_not_eligible"},)


def test_zero_valuation_gives_a_zero_line():
    result = credit_limit_compute(rules=rules_for(), collateral=[asset(1, "data", "0.00")], tier=None)

    assert result.lines[0].amount == Decimal("0.00")
    assert result.limit == Decimal("0.00")


def test_a_line_below_one_cent_rounds_down_to_zero():
    # 0.03 x 0.25 = 0.0075 -> 0.00; never rounded up to 0.01
    result = credit_limit_compute(rules=rules_for(), collateral=[asset(1, "patent", "0.03")], tier=None)

    assert result.lines[0].amount == Decimal("0.00")


def test_input_order_does_not_change_the_result():
    collateral = [
        asset(3, "data", "999.99"),
        asset(1, "patent", "1234567.89"),
        asset(2, "software", "10.00", is_pledged=True),
    ]

    forward = credit_limit_compute(rules=rules_for(), collateral=collateral, tier="C")
    backward = credit_limit_compute(rules=rules_for(), collateral=collateral[::-1], tier="C")

    assert forward == backward


def test_credit_line_check_uses_only_the_named_assets():
    # the credit-line issue service passes just the assets named in the line
    portfolio = [asset(1, "patent", "1000000.00"), asset(2, "data", "2000000.00"), asset(3, "data", "1.00")]
    named = {2, 3}

    result = credit_limit_compute(
        rules=rules_for(), collateral=[c for c in portfolio if c.asset_id in named], tier=None
    )

    # 2,000,000.00 x 0.30 = 600,000.00 and 1.00 x 0.30 = 0.30
    assert [line.asset for line in result.lines] == [2, 3]
    assert result.limit == Decimal("600000.30")


def test_the_same_asset_twice_is_refused():
    with pytest.raises(PolicyError, match="listed twice") as caught:
        credit_limit_compute(
            rules=rules_for(),
            collateral=[asset(1, "data", "1.00"), asset(1, "data", "2.00")],
            tier=None,
        )

    assert caught.value.code == "duplicate_asset"
    assert caught.value.field == "collateral"


@pytest.mark.parametrize("low", [Decimal("-0.01"), Decimal("NaN"), Decimal("Infinity"), 1.5, "1.00"])
def test_unusable_valuation_low_is_refused(low):
    item = Collateral(asset_id=1, kind="data", valuation_id=2, low=low, currency="CNY")

    with pytest.raises(PolicyError, match="no usable low value") as caught:
        credit_limit_compute(rules=rules_for(), collateral=[item], tier=None)

    assert caught.value.code == "invalid_valuation"


def test_unusable_low_on_an_excluded_asset_does_not_matter():
    item = Collateral(asset_id=1, kind="data", valuation_id=2, low=Decimal("-5"), currency="CNY", is_pledged=True)

    result = credit_limit_compute(rules=rules_for(), collateral=[item], tier=None)

    assert result.excluded == ({"asset": 1, "reason": "already_pledged"},)


def test_sub_cent_caps_and_tier_amounts_round_down():
    rules = rules_for(
        unsecured_by_tier={"A": Decimal("100.009")},
        max_amount=Decimal("50.019"),
        max_secured_per_asset=Decimal("10.009"),
    )

    result = credit_limit_compute(rules=rules, collateral=[asset(1, "data", "100.00")], tier="A")

    assert result.lines[0].amount == Decimal("10.00")  # 30.00 cut to the cap 10.009 -> 10.00
    assert result.unsecured == Decimal("100.00")
    assert result.limit == Decimal("50.01")
    assert result.caps_applied == ("max_secured_per_asset", "max_amount")


# --- product rules -----------------------------------------------------------------------------------


def test_product_rules_parse_rate_strings_and_are_read_only():
    rules = rules_for(pledge_rates={"patent": "0.25", "data": " 0.3 "}, unsecured_by_tier={"A": "100.00"})

    assert dict(rules.pledge_rates) == {"data": Decimal("0.3"), "patent": Decimal("0.25")}
    assert dict(rules.unsecured_by_tier) == {"A": Decimal("100.00")}
    with pytest.raises(TypeError):
        rules.pledge_rates["software"] = Decimal("0.2")  # type: ignore[index]


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"pledge_rates": {"patent": "0.6"}}, "out_of_range", "pledge_rates.patent"),
        ({"unsecured_by_tier": {"A": Decimal("-1")}}, "negative_amount", "unsecured_by_tier.A"),
        ({"max_amount": Decimal("-0.01")}, "negative_amount", "max_amount"),
        ({"max_amount": 1e6}, "invalid", "max_amount"),
        ({"max_secured_per_asset": Decimal("-1")}, "negative_amount", "max_secured_per_asset"),
        ({"currency": "yuan"}, "invalid", "currency"),
    ],
)
def test_invalid_product_rules_are_refused(kwargs, code, field):
    with pytest.raises(PolicyError) as caught:
        rules_for(**kwargs)

    assert (caught.value.code, caught.value.field) == (code, field)


# --- validate_pledge_rates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rates", "expected"),
    [
        ({"patent": "0.5"}, {"patent": Decimal("0.5")}),
        ({"data": Decimal("0.50")}, {"data": Decimal("0.50")}),
        ({"trademark": " 0.30 "}, {"trademark": Decimal("0.30")}),
        ({"software": "0.000001"}, {"software": Decimal("0.000001")}),
        ({"patent": "0.25", "data": "0.3"}, {"data": Decimal("0.3"), "patent": Decimal("0.25")}),
        ({}, {}),
    ],
)
def test_valid_pledge_rates_are_parsed(rates, expected):
    parsed = validate_pledge_rates(rates)

    assert parsed == expected
    assert all(isinstance(rate, Decimal) for rate in parsed.values())
    assert list(parsed) == sorted(parsed)


@pytest.mark.parametrize(
    ("rates", "code", "field"),
    [
        ({"patent": "0.5000001"}, "out_of_range", "pledge_rates.patent"),
        ({"patent": "0"}, "out_of_range", "pledge_rates.patent"),
        ({"patent": 0}, "out_of_range", "pledge_rates.patent"),
        ({"data": "-0.1"}, "out_of_range", "pledge_rates.data"),
        ({"data": "1"}, "out_of_range", "pledge_rates.data"),
        ({"data": "abc"}, "invalid", "pledge_rates.data"),
        ({"data": ""}, "invalid", "pledge_rates.data"),
        ({"data": "NaN"}, "invalid", "pledge_rates.data"),
        ({"data": "Infinity"}, "invalid", "pledge_rates.data"),
        ({"data": 0.25}, "invalid", "pledge_rates.data"),
        ({"data": True}, "invalid", "pledge_rates.data"),
        ({"data": None}, "invalid", "pledge_rates.data"),
        ({"data": "0.1234567"}, "too_many_decimal_places", "pledge_rates.data"),
        ({"vehicle": "0.1"}, "unknown_kind", "pledge_rates.vehicle"),
        ({"Patent": "0.1"}, "unknown_kind", "pledge_rates.Patent"),
        ([("patent", "0.25")], "invalid", "pledge_rates"),
    ],
)
def test_invalid_pledge_rates_are_refused_with_codes(rates, code, field):
    with pytest.raises(PolicyError) as caught:
        validate_pledge_rates(rates)

    assert isinstance(caught.value, ValueError)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert str(caught.value)


# --- properties --------------------------------------------------------------------------------------

KINDS = ("data", "patent", "trademark", "software")
RATES = ("0.05", "0.15", "0.2", "0.25", "0.30", "0.333333", "0.5")


def cents_up_to(max_cents: int) -> st.SearchStrategy[Decimal]:
    return st.integers(min_value=0, max_value=max_cents).map(lambda cents: Decimal(cents).scaleb(-2))


lows = cents_up_to(10**14)  # 0 .. 1e12 with two decimals
money_caps = st.none() | cents_up_to(10**13)
tiers = st.none() | st.sampled_from((*TIERS, "Z"))


@st.composite
def product_rules(draw) -> ProductRules:
    rates = draw(st.dictionaries(st.sampled_from(KINDS), st.sampled_from(RATES).map(Decimal), max_size=4))
    unsecured = draw(
        st.sampled_from([DEFAULT_UNSECURED_BY_TIER, {}]) | st.dictionaries(st.sampled_from(TIERS), lows, max_size=5)
    )
    return ProductRules(
        code="P",
        currency="CNY",
        pledge_rates=rates,
        unsecured_by_tier=unsecured,
        max_amount=draw(money_caps),
        max_secured_per_asset=draw(money_caps),
    )


def collateral_item(asset_id: int) -> st.SearchStrategy[Collateral]:
    return st.builds(
        Collateral,
        asset_id=st.just(asset_id),
        kind=st.sampled_from(KINDS),
        valuation_id=st.integers(min_value=1, max_value=10**6),
        low=lows,
        currency=st.sampled_from(("CNY", "CNY", "CNY", "USD")),
        is_pledged=st.booleans(),
        patent_type=st.sampled_from((None, "invention", "utility_model", "design")),
    )


@st.composite
def collateral_lists(draw) -> list[Collateral]:
    ids = draw(st.lists(st.integers(min_value=1, max_value=10**6), unique=True, max_size=12))
    return [draw(collateral_item(asset_id)) for asset_id in ids]


def money_shaped(value: Decimal) -> bool:
    return isinstance(value, Decimal) and value.as_tuple().exponent == -2


@settings(max_examples=300)
@given(rules=product_rules(), collateral=collateral_lists(), tier=tiers)
def test_limit_invariants(rules, collateral, tier):
    result = credit_limit_compute(rules=rules, collateral=collateral, tier=tier)

    assert result.limit >= 0
    assert result.secured >= 0
    assert result.unsecured >= 0
    if rules.max_amount is not None:
        assert result.limit <= rules.max_amount

    total = sum((line.amount for line in result.lines), Decimal(0)) + result.unsecured
    assert result.secured + result.unsecured == total
    if "max_amount" in result.caps_applied:
        assert total > result.limit
        assert result.limit == rules.max_amount
    else:
        assert total == result.limit
    assert set(result.caps_applied) <= {"max_secured_per_asset", "max_amount"}
    assert len(set(result.caps_applied)) == len(result.caps_applied)

    cap = rules.max_secured_per_asset
    for line in result.lines:
        exact = line.collateral_value * line.pledge_rate
        assert 0 <= line.amount <= exact
        assert line.pledge_rate <= rules.pledge_rates[line.kind]
        if cap is None or exact <= cap or "max_secured_per_asset" not in result.caps_applied:
            assert line.amount > exact - CENT  # rounded down, by less than a cent
        if cap is not None:
            assert line.amount <= cap
            if exact - CENT >= cap:  # rounding alone cannot reach the cap: the cap cut this line
                assert line.amount == cap
                assert "max_secured_per_asset" in result.caps_applied

    for value in (result.limit, result.secured, result.unsecured):
        assert money_shaped(value)
    for line in result.lines:
        assert money_shaped(line.amount)
        assert money_shaped(line.collateral_value)

    # every candidate is either a line or an exclusion, once, ordered by asset id
    line_ids = [line.asset for line in result.lines]
    excluded_ids = [entry["asset"] for entry in result.excluded]
    assert line_ids == sorted(line_ids)
    assert excluded_ids == sorted(excluded_ids)
    assert sorted(line_ids + excluded_ids) == sorted(item.asset_id for item in collateral)
    by_id = {item.asset_id: item for item in collateral}
    for line in result.lines:
        assert line.collateral_value == by_id[line.asset].low
        assert line.valuation == by_id[line.asset].valuation_id
        if line.kind == "patent" and by_id[line.asset].patent_type == "utility_model":
            assert line.pledge_rate <= UTILITY_MODEL_PLEDGE_RATE


@settings(max_examples=300)
@given(
    rules=product_rules(),
    collateral=collateral_lists(),
    tier=tiers,
    extra_low=lows,
    extra_kind=st.sampled_from(KINDS),
    data=st.data(),
)
def test_adding_an_eligible_unpledged_asset_never_lowers_the_limit(
    rules, collateral, tier, extra_low, extra_kind, data
):
    eligible_kinds = sorted(rules.pledge_rates)
    kind = extra_kind if extra_kind in rules.pledge_rates else (eligible_kinds or [extra_kind])[0]
    extra = Collateral(
        asset_id=max((item.asset_id for item in collateral), default=0) + 1,
        kind=kind,
        valuation_id=1,
        low=extra_low,
        currency="CNY",
        patent_type=data.draw(st.sampled_from((None, "utility_model"))),
    )

    before = credit_limit_compute(rules=rules, collateral=collateral, tier=tier)
    after = credit_limit_compute(rules=rules, collateral=[*collateral, extra], tier=tier)

    assert after.limit >= before.limit
    assert after.secured >= before.secured
    assert after.unsecured == before.unsecured


@given(rules=product_rules(), collateral=collateral_lists(), tier=tiers, data=st.data())
def test_the_result_does_not_depend_on_input_order(rules, collateral, tier, data):
    shuffled = data.draw(st.permutations(collateral))

    assert credit_limit_compute(rules=rules, collateral=shuffled, tier=tier) == credit_limit_compute(
        rules=rules, collateral=collateral, tier=tier
    )
