"""Explained credit limits, credit lines and pledges, and the banks' products, through the API."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from common.models import AuditEvent, IdempotencyRecord
from credit.models import CreditLine, CreditProduct, Pledge
from registry.models import Asset
from registry.services import asset_update
from tests.factories.credit import CreditLineFactory, CreditProductFactory, PledgeFactory
from tests.factories.registry import (
    AssetFactory,
    BankFactory,
    ConsentFactory,
    UserFactory,
    api_key_for,
    data_details,
    next_patent_number,
    patent_details,
    software_details,
    trademark_details,
)
from tests.factories.valuation import ValuationFactory
from valuation.models import Valuation

pytestmark = pytest.mark.django_db

LINES = "/api/v1/credit-lines/"
PLEDGES = "/api/v1/pledges/"
PRODUCTS = "/api/v1/credit/products/"
CENT = Decimal("0.01")
RATES = {"patent": "0.25", "trademark": "0.30", "software": "0.20", "data": "0.30"}
DETAILS = {"patent": patent_details, "trademark": trademark_details, "software": software_details, "data": data_details}


def collateral(firm, kind: str, low: str, *, details=None, asset_status=Asset.Status.APPROVED, **valuation):
    """An asset of ``firm`` with an approved valuation whose conservative end is ``low``."""
    asset = AssetFactory(
        firm=firm,
        kind=kind,
        details=details or DETAILS[kind](),
        status=asset_status,
        approved_version=1 if asset_status == Asset.Status.APPROVED else None,
    )
    amount = Decimal(low)
    return ValuationFactory(asset=asset, low=amount, value=amount, high=amount * 2, **valuation)


@pytest.fixture
def firm(firm_user, bank):
    ConsentFactory(firm=firm_user.firm, bank=bank)
    return firm_user.firm


@pytest.fixture
def product(bank):
    return CreditProductFactory(bank=bank, code="IP", pledge_rates=RATES, max_amount=None, max_valuation_age_days=30)


@pytest.fixture
def bank_api(client_for, bank_key):
    return client_for(api_key=bank_key)


def limit_of(client, firm, product_code: str | None = "IP"):
    query = f"?product={product_code}" if product_code else ""
    return client.get(f"/api/v1/credit/limits/{firm.uscc}/{query}")


def issue(client, firm, assets, amount, key="line-1", product_code="IP"):
    body = {"firm": firm.uscc, "product": product_code, "amount": amount, "assets": [a.pk for a in assets]}
    return client.post(LINES, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def down(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_DOWN)


def nothing_issued() -> bool:
    return (
        not CreditLine.objects.exists()
        and not Pledge.objects.exists()
        and not AuditEvent.objects.filter(action="credit_line.issued").exists()
        and not IdempotencyRecord.objects.exists()
    )


# --- the explained limit --------------------------------------------------------------------------


def test_limit_is_the_sum_of_low_times_rate_rounded_down_per_asset(bank_api, firm, product):
    # given four approved assets of different kinds whose low x rate all have fractions of a cent
    valuations = [
        collateral(firm, "patent", "123456.79"),  # x 0.25 = 30864.1975
        collateral(firm, "trademark", "333333.33"),  # x 0.30 = 99999.999
        collateral(firm, "software", "777777.77"),  # x 0.20 = 155555.554
        collateral(firm, "data", "100000.01"),  # x 0.30 = 30000.003
    ]

    r = limit_of(bank_api, firm)

    # then each line is rounded down on its own and the limit is their sum
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["explanation"] == [
        {
            "asset": v.asset_id,
            "kind": v.asset.kind,
            "valuation": v.pk,
            "collateral_value": str(v.low),
            "pledge_rate": f"{Decimal(RATES[v.asset.kind]):.6f}",
            "amount": str(down(v.low * Decimal(RATES[v.asset.kind]))),
        }
        for v in valuations
    ]
    amounts = [Decimal(line["amount"]) for line in body["explanation"]]
    assert amounts == [Decimal("30864.19"), Decimal("99999.99"), Decimal("155555.55"), Decimal("30000.00")]
    assert Decimal(body["limit"]) == sum(amounts) == Decimal("316419.73")
    assert (body["limit"], body["secured"], body["unsecured"], body["currency"]) == (
        "316419.73",
        "316419.73",
        "0.00",
        "CNY",
    )
    assert (body["firm"], body["product"], body["caps_applied"], body["excluded"]) == (firm.uscc, "IP", [], [])
    assert parse_datetime(body["valid_until"]) > timezone.now()


def test_a_utility_model_patent_gets_at_most_15_percent(bank_api, firm, product):
    v = collateral(
        firm,
        "patent",
        "200000.00",
        details=patent_details(number=next_patent_number(kind_digit="2"), patent_type="utility_model"),
    )
    [line] = limit_of(bank_api, firm).json()["explanation"]
    assert (line["asset"], line["pledge_rate"], line["amount"]) == (v.asset_id, "0.150000", "30000.00")


def test_an_already_pledged_asset_is_excluded_and_named(bank_api, firm, product):
    free = collateral(firm, "patent", "400000.00")
    pledged = collateral(firm, "trademark", "400000.00")
    PledgeFactory(valuation=pledged)  # under some other line, to anyone

    body = limit_of(bank_api, firm).json()

    assert [line["asset"] for line in body["explanation"]] == [free.asset_id]
    assert body["excluded"] == [{"asset": pledged.asset_id, "reason": "already_pledged"}]
    assert body["limit"] == "100000.00"


def test_a_released_pledge_frees_the_asset_again(bank_api, firm, product):
    v = collateral(firm, "patent", "400000.00")
    PledgeFactory(valuation=v, status=Pledge.Status.RELEASED, released_at=timezone.now())
    body = limit_of(bank_api, firm).json()
    assert ([line["asset"] for line in body["explanation"]], body["excluded"]) == ([v.asset_id], [])


def test_a_kind_the_product_does_not_take_is_excluded(bank_api, bank, firm):
    CreditProductFactory(bank=bank, code="PAT", pledge_rates={"patent": "0.25"}, max_amount=None)
    patent = collateral(firm, "patent", "400000.00")
    data = collateral(firm, "data", "400000.00")
    body = limit_of(bank_api, firm, "PAT").json()
    assert [line["asset"] for line in body["explanation"]] == [patent.asset_id]
    assert body["excluded"] == [{"asset": data.asset_id, "reason": "kind_not_eligible"}]


def test_a_valuation_older_than_the_product_allows_is_not_used(bank_api, firm, product):
    fresh = collateral(firm, "patent", "400000.00")
    old = collateral(firm, "trademark", "400000.00")
    just_in_time = collateral(firm, "software", "400000.00")
    Valuation.objects.filter(pk=old.pk).update(computed_at=timezone.now() - timedelta(days=31))
    Valuation.objects.filter(pk=just_in_time.pk).update(computed_at=timezone.now() - timedelta(days=29))

    body = limit_of(bank_api, firm).json()

    assert [line["asset"] for line in body["explanation"]] == [fresh.asset_id, just_in_time.asset_id]
    assert body["limit"] == "180000.00"  # 100,000 + 80,000; nothing for the stale trademark valuation


@pytest.mark.parametrize(
    "status", [Valuation.Status.PENDING_REVIEW, Valuation.Status.REJECTED, Valuation.Status.SUPERSEDED]
)
def test_only_approved_valuations_count(bank_api, firm, product, status):
    collateral(firm, "patent", "400000.00", status=status)
    body = limit_of(bank_api, firm).json()
    assert (body["limit"], body["explanation"], body["excluded"]) == ("0.00", [], [])


@pytest.mark.parametrize("asset_status", [Asset.Status.SUBMITTED, Asset.Status.REJECTED, Asset.Status.RETIRED])
def test_only_approved_assets_count(bank_api, firm, product, asset_status):
    collateral(firm, "patent", "400000.00", asset_status=asset_status)
    assert limit_of(bank_api, firm).json()["limit"] == "0.00"


def test_another_firms_assets_never_count(bank_api, firm, product):
    collateral(UserFactory().firm, "patent", "400000.00")
    assert limit_of(bank_api, firm).json()["limit"] == "0.00"


def test_an_approved_asset_under_re_review_still_counts_with_its_approved_version(bank_api, firm, firm_user, product):
    v = collateral(firm, "patent", "400000.00")
    asset_update(asset=v.asset, actor=firm_user.as_actor, user=firm_user, title="Renamed")
    assert Asset.objects.get(pk=v.asset_id).approved_version == 1

    assert limit_of(bank_api, firm).json()["limit"] == "100000.00"


def test_max_amount_caps_the_limit_and_is_named(bank_api, bank, firm):
    CreditProductFactory(bank=bank, code="CAP", pledge_rates=RATES, max_amount=Decimal("150000.00"))
    collateral(firm, "patent", "400000.00")
    collateral(firm, "trademark", "400000.00")

    body = limit_of(bank_api, firm, "CAP").json()

    assert [line["amount"] for line in body["explanation"]] == ["100000.00", "120000.00"]
    assert (body["secured"], body["limit"], body["caps_applied"]) == ("220000.00", "150000.00", ["max_amount"])


def test_max_amount_that_does_not_bind_is_not_named(bank_api, bank, firm):
    CreditProductFactory(bank=bank, code="CAP", pledge_rates=RATES, max_amount=Decimal("100000.00"))
    collateral(firm, "patent", "400000.00")
    body = limit_of(bank_api, firm, "CAP").json()
    assert (body["limit"], body["caps_applied"]) == ("100000.00", [])


def test_unknown_product_is_404(bank_api, firm, product):
    r = limit_of(bank_api, firm, "NOPE")
    assert (r.status_code, r.json()["code"]) == (404, "not_found")


def test_another_banks_product_is_404(bank_api, firm, product):
    CreditProductFactory(bank=BankFactory(code="OTHER"), code="THEIRS")
    r = limit_of(bank_api, firm, "THEIRS")
    assert (r.status_code, r.json()["code"]) == (404, "not_found")


def test_an_inactive_product_is_404(bank_api, bank, firm):
    CreditProductFactory(bank=bank, code="OLD", is_active=False)
    assert limit_of(bank_api, firm, "OLD").status_code == 404


def test_the_product_may_be_omitted_when_the_bank_has_only_one(bank_api, firm, product):
    r = limit_of(bank_api, firm, None)
    assert (r.status_code, r.json()["product"]) == (200, "IP")


def test_the_product_is_required_when_the_bank_has_two(bank_api, bank, firm, product):
    CreditProductFactory(bank=bank, code="OTHER")

    r = limit_of(bank_api, firm, None)

    assert (r.status_code, r.json()["code"], list(r.json()["errors"])) == (400, "product_required", ["product"])
    assert not AuditEvent.objects.filter(action="credit_limit.queried").exists()


def test_the_limit_endpoint_is_for_banks(client_for, firm_user, firm, product):
    r = limit_of(client_for(firm_user), firm)
    assert (r.status_code, r.json()["code"]) == (403, "permission_denied")


def test_every_limit_query_is_audited_with_bank_firm_and_product(bank_api, bank, firm, product):
    v = collateral(firm, "patent", "400000.00")

    for _ in range(2):
        assert bank_api.get(f"/api/v1/credit/limits/{firm.uscc}/?product=IP&purpose=working+capital").status_code == 200

    events = list(AuditEvent.objects.filter(action="credit_limit.queried").order_by("id"))
    assert len(events) == 2
    for event in events:
        assert (event.object_type, event.object_id, event.actor_type) == ("firm", str(firm.pk), "api_key")
        assert event.actor_label.startswith(f"api_key:{bank.code}/")
        assert (event.data["bank"], event.data["firm"], event.data["product"]) == (bank.code, firm.uscc, "IP")
        assert event.data["purpose"] == "working capital"
        assert (event.data["result"]["limit"], event.data["result"]["assets"]) == ("100000.00", [v.asset_id])


# --- issuing credit lines -------------------------------------------------------------------------


def test_a_bank_issues_a_line_that_pledges_the_assets(bank_api, bank, firm, product):
    v1 = collateral(firm, "patent", "400000.00")
    v2 = collateral(firm, "data", "100000.00")

    r = issue(bank_api, firm, [v1.asset, v2.asset], "130000.00")

    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["firm"], body["bank"], body["product"], body["amount"], body["drawn"]) == (
        firm.uscc,
        bank.code,
        "IP",
        "130000.00",
        "0.00",
    )
    assert (body["secured_amount"], body["unsecured_amount"], body["status"]) == ("130000.00", "0.00", "active")
    assert sorted((p["asset"], p["secured_amount"], p["status"]) for p in body["pledges"]) == [
        (v1.asset_id, "100000.00", "active"),
        (v2.asset_id, "30000.00", "active"),
    ]
    assert Pledge.objects.filter(status="active").count() == 2


def test_issuing_above_the_limit_is_422_and_writes_nothing(bank_api, firm, product):
    v = collateral(firm, "patent", "400000.00")  # limit 100,000.00

    r = issue(bank_api, firm, [v.asset], "100000.01")

    assert r.status_code == 422, r.content
    body = r.json()
    assert (body["code"], list(body["errors"]), body["limit"]) == ("credit_limit_exceeded", ["amount"], "100000.00")
    assert nothing_issued()


def test_issuing_exactly_the_limit_is_allowed(bank_api, firm, product):
    v = collateral(firm, "patent", "400000.00")
    assert issue(bank_api, firm, [v.asset], "100000.00").status_code == 201


def test_the_limit_for_a_line_counts_only_the_assets_it_pledges(bank_api, firm, product):
    v1 = collateral(firm, "patent", "400000.00")
    collateral(firm, "patent", "400000.00")  # not named in the request

    r = issue(bank_api, firm, [v1.asset], "150000.00")

    assert (r.status_code, r.json()["code"]) == (422, "credit_limit_exceeded")
    assert nothing_issued()


def test_an_asset_of_another_firm_is_not_eligible(bank_api, firm, product):
    mine = collateral(firm, "patent", "400000.00")
    theirs = collateral(UserFactory().firm, "patent", "400000.00")

    r = issue(bank_api, firm, [mine.asset, theirs.asset], "1000.00")

    assert r.status_code == 422, r.content
    assert (r.json()["code"], r.json()["assets"]) == ("asset_not_eligible", [theirs.asset_id])
    assert nothing_issued()


@pytest.mark.parametrize("asset_status", [Asset.Status.DRAFT, Asset.Status.SUBMITTED, Asset.Status.RETIRED])
def test_an_asset_that_is_not_approved_is_not_eligible(bank_api, firm, product, asset_status):
    v = collateral(firm, "patent", "400000.00", asset_status=asset_status)
    r = issue(bank_api, firm, [v.asset], "1000.00")
    assert (r.status_code, r.json()["code"]) == (422, "asset_not_eligible")
    assert nothing_issued()


def test_an_asset_without_an_approved_valuation_is_not_eligible(bank_api, firm, product):
    v = collateral(firm, "patent", "400000.00", status=Valuation.Status.PENDING_REVIEW)
    r = issue(bank_api, firm, [v.asset], "1000.00")
    assert (r.status_code, r.json()["code"]) == (422, "asset_not_eligible")
    assert nothing_issued()


def test_an_already_pledged_asset_is_409(bank_api, firm, product):
    v = collateral(firm, "patent", "400000.00")
    existing = PledgeFactory(valuation=v)

    r = issue(bank_api, firm, [v.asset], "1000.00")

    assert (r.status_code, r.json()["code"], r.json()["assets"]) == (409, "asset_already_pledged", [v.asset_id])
    assert list(Pledge.objects.values_list("pk", flat=True)) == [existing.pk]
    assert CreditLine.objects.count() == 1  # the other line only


def test_a_term_longer_than_the_product_allows_is_422(bank_api, firm, product):
    v = collateral(firm, "patent", "400000.00")
    body = {"firm": firm.uscc, "product": "IP", "amount": "1000.00", "assets": [v.asset_id], "term_months": 37}

    r = bank_api.post(LINES, body, format="json", HTTP_IDEMPOTENCY_KEY="long")

    assert (r.status_code, r.json()["code"], list(r.json()["errors"])) == (422, "term_too_long", ["term_months"])
    assert nothing_issued()


def test_issuing_without_consent_is_404(bank_api, bank, firm_user, product):
    v = collateral(firm_user.firm, "patent", "400000.00")  # no consent for this bank
    r = issue(bank_api, firm_user.firm, [v.asset], "1000.00")
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    assert nothing_issued()


def test_a_firm_user_cannot_issue_a_line(client_for, firm_user, firm, product):
    v = collateral(firm, "patent", "400000.00")
    r = issue(client_for(firm_user), firm, [v.asset], "1000.00")
    assert (r.status_code, r.json()["code"]) == (403, "permission_denied")
    assert nothing_issued()


def test_a_reviewer_cannot_issue_a_line(client_for, reviewer, firm, product):
    v = collateral(firm, "patent", "400000.00")
    r = issue(client_for(reviewer), firm, [v.asset], "1000.00")
    assert (r.status_code, r.json()["code"]) == (403, "permission_denied")
    assert nothing_issued()


# --- who sees which lines and pledges -------------------------------------------------------------


@pytest.fixture
def issued(bank_api, firm, product):
    v = collateral(firm, "patent", "400000.00")
    r = issue(bank_api, firm, [v.asset], "50000.00")
    assert r.status_code == 201, r.content
    return r.json()


def test_the_firm_sees_its_own_lines_and_pledges(client_for, firm_user, issued):
    client = client_for(firm_user)

    lines = client.get(LINES).json()["results"]
    pledges = client.get(PLEDGES).json()["results"]

    assert [line["id"] for line in lines] == [issued["id"]]
    assert client.get(f"{LINES}{issued['id']}/").json()["amount"] == "50000.00"
    assert [(p["credit_line"], p["asset"], p["firm"], p["status"]) for p in pledges] == [
        (issued["id"], issued["pledges"][0]["asset"], firm_user.firm.uscc, "active")
    ]


def test_another_firm_sees_none_of_them(client_for, issued):
    client = client_for(UserFactory())
    assert client.get(LINES).json()["results"] == []
    assert client.get(PLEDGES).json()["results"] == []
    assert (client.get(f"{LINES}{issued['id']}/").status_code) == 404


def test_another_bank_sees_none_of_them(client_for, issued):
    other = client_for(api_key=api_key_for(BankFactory(code="OTHER")))

    assert other.get(LINES).json()["results"] == []
    assert other.get(PLEDGES).json()["results"] == []
    r = other.get(f"{LINES}{issued['id']}/")
    assert (r.status_code, r.json()["code"]) == (404, "not_found")


def test_the_issuing_bank_sees_its_line(bank_api, issued):
    assert [line["id"] for line in bank_api.get(LINES).json()["results"]] == [issued["id"]]
    assert bank_api.get(f"{LINES}{issued['id']}/").json() == issued
    assert len(bank_api.get(PLEDGES).json()["results"]) == 1


def test_pledges_filter_by_status(bank_api, issued):
    assert bank_api.get(f"{PLEDGES}?status=released").json()["results"] == []
    assert len(bank_api.get(f"{PLEDGES}?status=active").json()["results"]) == 1


def _lines(bank, n):
    for _ in range(n):
        line = CreditLineFactory(product=CreditProductFactory(bank=bank))
        PledgeFactory(credit_line=line, valuation=ValuationFactory(asset=AssetFactory(firm=line.firm)))
        PledgeFactory(
            credit_line=line,
            valuation=ValuationFactory(asset=AssetFactory(firm=line.firm)),
            status=Pledge.Status.RELEASED,
        )


# API key look-up (1) + the page of lines with firm, bank and product (1) + their pledges (1).
CREDIT_LINE_LIST_QUERIES = 3
# API key look-up (1) + the page of pledges with line, bank, firm and asset (1).
PLEDGE_LIST_QUERIES = 2


@pytest.mark.parametrize("n", [2, 10])
def test_the_credit_line_list_costs_a_fixed_number_of_queries(bank, bank_api, django_assert_num_queries, n):
    _lines(bank, n)
    _lines(BankFactory(code="OTHER"), 1)  # not listed

    with django_assert_num_queries(CREDIT_LINE_LIST_QUERIES):
        r = bank_api.get(LINES)

    assert len(r.json()["results"]) == n
    assert all(len(line["pledges"]) == 2 for line in r.json()["results"])


@pytest.mark.parametrize("n", [2, 10])
def test_the_pledge_list_costs_a_fixed_number_of_queries(bank, bank_api, django_assert_num_queries, n):
    _lines(bank, n)

    with django_assert_num_queries(PLEDGE_LIST_QUERIES):
        r = bank_api.get(PLEDGES)

    assert len(r.json()["results"]) == 2 * n


# --- products -------------------------------------------------------------------------------------


def test_a_bank_creates_a_product(bank_api, bank):
    r = bank_api.post(
        PRODUCTS,
        {"code": "IP_PLEDGE", "name": "IP pledge loan", "pledge_rates": {"patent": "0.25"}, "max_amount": "5000000"},
        format="json",
    )
    assert r.status_code == 201, r.content
    assert (r.json()["code"], r.json()["pledge_rates"], r.json()["max_amount"]) == (
        "IP_PLEDGE",
        {"patent": "0.25"},
        "5000000.00",
    )
    assert CreditProduct.objects.get().bank == bank


@pytest.mark.parametrize(
    ("rates", "error_path"),
    [
        ({"patent": "0.6"}, "pledge_rates.patent"),
        ({"patent": "0"}, "pledge_rates.patent"),
        ({"vehicle": "0.2"}, "pledge_rates.vehicle"),
        ({"patent": "abc"}, "pledge_rates.patent"),
        ({}, "pledge_rates"),
    ],
)
def test_product_with_an_invalid_rate_is_400(bank_api, rates, error_path):
    r = bank_api.post(PRODUCTS, {"code": "BAD", "name": "Bad", "pledge_rates": rates}, format="json")

    assert r.status_code == 400, r.content
    assert (r.json()["code"], list(r.json()["errors"])) == ("product_invalid", [error_path])
    assert CreditProduct.objects.count() == 0


def test_a_duplicate_product_code_is_409(bank_api, bank, product):
    r = bank_api.post(PRODUCTS, {"code": "IP", "name": "Again", "pledge_rates": {"data": "0.3"}}, format="json")

    assert (r.status_code, r.json()["code"], list(r.json()["errors"])) == (409, "product_code_taken", ["code"])
    assert list(CreditProduct.objects.values_list("name", flat=True)) == [product.name]


def test_banks_list_only_their_own_products(bank_api, product):
    CreditProductFactory(bank=BankFactory(code="OTHER"), code="THEIRS")
    assert [p["code"] for p in bank_api.get(PRODUCTS).json()["results"]] == ["IP"]
