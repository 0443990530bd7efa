"""The limit query's fast path (issue 8): a fixed, small number of queries per request, the same answers and
refusals as the per-entity selectors, authorisation read live on every request, and an intact audit chain."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from common.audit import audit_record, system_actor
from common.audit_chain import chain_hash, chain_verify, event_fields
from common.exceptions import ApplicationError
from common.models import AuditEvent
from credit.models import CreditProduct, Pledge
from credit.policies import credit_limit_compute
from credit.selectors import collateral_for_firm, credit_limit_inputs_get, product_get_for_bank, product_rules
from registry.models import Asset, BankApiKey, Consent
from registry.selectors import firm_get_for_bank
from tests.concurrency import run_in_threads
from tests.factories.credit import CreditProductFactory, PledgeFactory
from tests.factories.registry import (
    AssetFactory,
    BankFactory,
    ConsentFactory,
    FirmFactory,
    api_key_for,
    data_details,
    next_patent_number,
    patent_details,
    software_details,
    trademark_details,
)
from tests.factories.valuation import ValuationFactory
from valuation.innovation import firm_tier, innovation_parameters_active
from valuation.models import InnovationScore, Valuation

IS_POSTGRES = connection.vendor == "postgresql"
postgres_only = pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL only (runs in the service pass)")
DETAILS = {"patent": patent_details, "trademark": trademark_details, "software": software_details, "data": data_details}


def limit_path(firm, product_code: str | None = "IP") -> str:  # type: ignore[no-untyped-def]
    return f"/api/v1/credit/limits/{firm.uscc}/" + (f"?product={product_code}" if product_code else "")


def collateral(firm, kind: str, low: str, *, details=None, asset_status=Asset.Status.APPROVED, **valuation):  # type: ignore[no-untyped-def]
    asset = AssetFactory(
        firm=firm,
        kind=kind,
        details=details or DETAILS[kind](),
        status=asset_status,
        approved_version=1 if asset_status in (Asset.Status.APPROVED, Asset.Status.RETIRED) else None,
    )
    amount = Decimal(low)
    return ValuationFactory(asset=asset, low=amount, value=amount, high=amount * 2, **valuation)


def score(firm, tier: str, year: int = 2025) -> InnovationScore:  # type: ignore[no-untyped-def]
    return InnovationScore.objects.create(
        firm=firm,
        year=year,
        parameter_set=innovation_parameters_active(),
        stage="growth",
        base_points=Decimal("72.00"),
        bonus_points=Decimal("0.00"),
        total_points=Decimal("72.00"),
        tier=tier,
        cohort_size=10,
        breakdown={},
    )


@pytest.fixture
def bank():  # type: ignore[no-untyped-def]
    return BankFactory(code="FASTBANK")


@pytest.fixture
def firm(bank):  # type: ignore[no-untyped-def]
    firm = FirmFactory()
    ConsentFactory(firm=firm, bank=bank)
    return firm


@pytest.fixture
def product(bank):  # type: ignore[no-untyped-def]
    return CreditProductFactory(
        bank=bank,
        code="IP",
        kind=CreditProduct.Kind.BOTH,
        pledge_rates={"patent": "0.25", "trademark": "0.30", "software": "0.20"},  # data: not taken
        unsecured_by_tier={"A": "900000.00", "B": "500000.00"},
        max_amount=Decimal("2000000.00"),
        max_valuation_age_days=30,
    )


@pytest.fixture
def varied_firm(firm, product):  # type: ignore[no-untyped-def]
    """Every kind, an excluded kind, pledged and released assets, a worthless right, stale and unapproved
    valuations, a retired asset, a re-reviewed asset, an older and a newer innovation score."""
    collateral(firm, "patent", "400000.00")
    collateral(
        firm,
        "patent",
        "300000.00",
        details=patent_details(number=next_patent_number(kind_digit="2"), patent_type="utility_model"),
    )
    collateral(firm, "patent", "700000.00", details=patent_details(legal_status="lapsed"))  # worth 0
    collateral(firm, "trademark", "500000.00")
    collateral(firm, "software", "250000.00")
    collateral(firm, "data", "900000.00")  # kind_not_eligible
    PledgeFactory(valuation=collateral(firm, "trademark", "600000.00"))  # already_pledged
    released = collateral(firm, "software", "100000.00")
    PledgeFactory(valuation=released, status=Pledge.Status.RELEASED, released_at=timezone.now())
    stale = collateral(firm, "patent", "800000.00")
    Valuation.objects.filter(pk=stale.pk).update(computed_at=timezone.now() - timedelta(days=31))
    collateral(firm, "patent", "800000.00", status=Valuation.Status.PENDING_REVIEW)
    collateral(firm, "patent", "800000.00", asset_status=Asset.Status.RETIRED)
    collateral(firm, "patent", "800000.00", asset_status=Asset.Status.SUBMITTED)
    rereviewed = collateral(firm, "software", "120000.00")
    Asset.objects.filter(pk=rereviewed.asset_id).update(status=Asset.Status.SUBMITTED, version=2)
    collateral(FirmFactory(), "patent", "999999.00")  # another firm's
    score(firm, "C", year=2024)
    score(firm, "B", year=2025)
    return firm


def slow_path(*, bank, uscc, product_code, scope=Consent.Scope.CREDIT_LIMIT):  # type: ignore[no-untyped-def]
    """What credit_limit_query read before the fast path: four selectors, five queries."""
    firm = firm_get_for_bank(bank=bank, uscc=uscc, scope=scope)
    product = product_get_for_bank(bank=bank, code=product_code)
    return firm, product, collateral_for_firm(firm=firm, product=product), firm_tier(firm=firm)


def refusal(call) -> tuple[type, str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ApplicationError) as info:
        call()
    return type(info.value), info.value.code, str(info.value)


# --- queries per request -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_limit_request_costs_a_fixed_number_of_queries(client_for, bank, varied_firm):
    client = client_for(api_key=api_key_for(bank))
    client.get(limit_path(varied_firm))  # warm: content types, translations
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(limit_path(varied_firm))

    assert response.status_code == 200
    # 1. the API key and its bank (registry.authentication.bank_api_key_get_usable)
    # 2. consent + firm + product + collateral + tier (credit.selectors.credit_limit_inputs_get)
    # 3. PostgreSQL: the audit append, one call of common_auditevent_append (lock, head, hash, insert);
    #    SQLite (inside the test's transaction): 3. the chain head, 4. the insert
    assert len(ctx.captured_queries) == (3 if IS_POSTGRES else 4), [q["sql"][:80] for q in ctx.captured_queries]


@pytest.mark.django_db
def test_the_query_count_does_not_grow_with_the_collateral(client_for, bank, firm, product):
    client = client_for(api_key=api_key_for(bank))
    client.get(limit_path(firm))
    counts = []
    for _ in range(2):
        for kind in ("patent", "trademark", "software"):
            collateral(firm, kind, "100000.00")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(limit_path(firm)).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


# --- same answers as the per-entity selectors ------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("product_code", ["IP", None])
def test_the_fast_path_reads_what_the_selectors_read(bank, varied_firm, product, product_code):
    firm, product_then, collateral_then, tier_then = slow_path(
        bank=bank, uscc=varied_firm.uscc, product_code=product_code
    )
    fast = credit_limit_inputs_get(bank=bank, uscc=f" {varied_firm.uscc.lower()} ", product_code=product_code)

    assert fast.firm == firm
    assert {f.attname: getattr(fast.firm, f.attname) for f in firm._meta.concrete_fields} == {
        f.attname: getattr(firm, f.attname) for f in firm._meta.concrete_fields
    }
    assert {f.attname: getattr(fast.product, f.attname) for f in product._meta.concrete_fields} == {
        f.attname: getattr(product_then, f.attname) for f in product._meta.concrete_fields
    }
    assert fast.collateral == collateral_then
    assert fast.tier == tier_then == "B"
    assert len(fast.collateral) == 9  # the eligible rows, pledged and worthless and excluded kinds included
    result = credit_limit_compute(rules=product_rules(fast.product), collateral=fast.collateral, tier=fast.tier)
    assert result == credit_limit_compute(rules=product_rules(product_then), collateral=collateral_then, tier="B")
    assert {e["reason"] for e in result.excluded} == {"kind_not_eligible", "already_pledged"}
    assert result.unsecured == Decimal("500000.00")


@pytest.mark.django_db
def test_a_firm_without_collateral_or_score(bank, firm, product):
    fast = credit_limit_inputs_get(bank=bank, uscc=firm.uscc, product_code="IP")
    assert (fast.firm, fast.product, fast.collateral, fast.tier) == (firm, product, [], None)


def _other_bank_product(bank, firm):  # type: ignore[no-untyped-def]
    CreditProduct.objects.filter(bank=bank).delete()
    CreditProductFactory(bank=BankFactory(), code="IP")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "product_code"),
    [
        pytest.param(lambda bank, firm: Consent.objects.update(revoked_at=timezone.now()), "IP", id="revoked"),
        pytest.param(
            lambda bank, firm: Consent.objects.update(expires_at=timezone.now() - timedelta(seconds=1)),
            "IP",
            id="expired",
        ),
        pytest.param(lambda bank, firm: Consent.objects.update(scopes=["credit_line"]), "IP", id="scope"),
        pytest.param(lambda bank, firm: type(firm).objects.update(is_active=False), "IP", id="inactive-firm"),
        pytest.param(lambda bank, firm: Consent.objects.update(bank=BankFactory()), "IP", id="another-bank"),
        pytest.param(lambda bank, firm: None, "NOPE", id="unknown-product"),
        pytest.param(lambda bank, firm: CreditProduct.objects.update(is_active=False), "IP", id="inactive-product"),
        pytest.param(lambda bank, firm: CreditProduct.objects.update(is_active=False), None, id="no-product"),
        pytest.param(lambda bank, firm: CreditProductFactory(bank=bank, code="IP2"), None, id="two-products"),
        pytest.param(_other_bank_product, "IP", id="only-another-banks-product"),
    ],
)
def test_refusals_are_the_selectors_refusals(bank, firm, product, change, product_code):
    change(bank, firm)

    slow = refusal(lambda: slow_path(bank=bank, uscc=firm.uscc, product_code=product_code))
    fast = refusal(lambda: credit_limit_inputs_get(bank=bank, uscc=firm.uscc, product_code=product_code))
    assert fast == slow


@pytest.mark.django_db
def test_an_unknown_firm_is_refused_like_a_firm_without_consent(bank, product):
    slow = refusal(lambda: slow_path(bank=bank, uscc="91420100MA4K00000X", product_code="IP"))
    fast = refusal(lambda: credit_limit_inputs_get(bank=bank, uscc="91420100MA4K00000X", product_code="IP"))
    assert fast == slow


# --- authorisation is read live: the very next request is refused ------------------------------------------


def _revoke_key(bank, firm):  # type: ignore[no-untyped-def]
    BankApiKey.objects.update(revoked=True)


def _expire_key(bank, firm):  # type: ignore[no-untyped-def]
    BankApiKey.objects.update(expiry_date=timezone.now() - timedelta(seconds=1))


def _deactivate_bank(bank, firm):  # type: ignore[no-untyped-def]
    type(bank).objects.filter(pk=bank.pk).update(is_active=False)


def _revoke_consent(bank, firm):  # type: ignore[no-untyped-def]
    Consent.objects.filter(firm=firm, bank=bank).update(revoked_at=timezone.now())


def _expire_consent(bank, firm):  # type: ignore[no-untyped-def]
    Consent.objects.filter(firm=firm, bank=bank).update(expires_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        (_revoke_key, 401, "authentication_failed"),
        (_expire_key, 401, "authentication_failed"),
        (_deactivate_bank, 401, "authentication_failed"),
        (_revoke_consent, 404, "not_found"),
        (_expire_consent, 404, "not_found"),
    ],
)
def test_a_withdrawn_authorisation_refuses_the_very_next_request(client_for, bank, firm, product, change, status, code):
    collateral(firm, "patent", "400000.00")
    client = client_for(api_key=api_key_for(bank))
    assert client.get(limit_path(firm)).status_code == 200

    change(bank, firm)
    response = client.get(limit_path(firm))

    assert (response.status_code, response.json()["code"]) == (status, code)


@pytest.mark.django_db
def test_a_refused_query_is_audited_as_before(client_for, bank, firm, product):
    client = client_for(api_key=api_key_for(bank))
    _revoke_consent(bank, firm)
    client.get(limit_path(firm) + "&purpose=loan")

    event = AuditEvent.objects.get(action="credit_limit.refused")
    assert (event.result, event.object_type, event.object_id) == (AuditEvent.Result.REFUSED, "uscc", firm.uscc)
    assert event.data == {"bank": bank.code, "firm": firm.uscc, "product": "IP", "purpose": "loan", "code": "not_found"}


# --- the audit append -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_audit_append_links_and_hashes_as_the_chain_says():
    first = audit_record(actor=system_actor("tests"), action="thing.changed", object_type="t", object_id=1)
    with CaptureQueriesContext(connection) as ctx:
        second = audit_record(
            actor=system_actor("tests"),
            action="thing.changed",
            object_type="t",
            object_id=2,
            after={"n": Decimal("1.50"), "名称": "光谷"},
        )

    assert len(ctx.captured_queries) == (1 if IS_POSTGRES else 2)
    stored = AuditEvent.objects.get(pk=second.pk)
    assert (stored.prev_hash, stored.hash, stored.occurred_at) == (first.hash, second.hash, second.occurred_at)
    assert stored.hash == chain_hash(first.hash, event_fields(stored))
    assert chain_verify().intact


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_burst_of_limit_queries_leaves_one_unbroken_chain(client_for):
    bank = BankFactory(code="BURST")
    product = CreditProductFactory(bank=bank, code="IP")
    firms = []
    for _ in range(4):
        firm = FirmFactory()
        ConsentFactory(firm=firm, bank=bank)
        collateral(firm, "patent", "400000.00")
        firms.append(firm)
    key = api_key_for(bank)
    per_thread = 5

    def work(i: int) -> list[int]:
        client = client_for(api_key=key)
        return [client.get(limit_path(firms[(i + n) % 4], product.code)).status_code for n in range(per_thread)]

    statuses = run_in_threads(8, work)

    assert statuses == [[200] * per_thread] * 8
    assert AuditEvent.objects.filter(action="credit_limit.queried").count() == 8 * per_thread
    report = chain_verify()
    assert (report.intact, report.count) == (True, AuditEvent.objects.count())
    prev_hashes = list(AuditEvent.objects.values_list("prev_hash", flat=True))
    assert len(set(prev_hashes)) == len(prev_hashes)  # no fork


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_revocation_by_another_connection_applies_to_the_next_request(client_for):
    bank = BankFactory(code="ELSEWHERE")
    CreditProductFactory(bank=bank, code="IP")
    firm = FirmFactory()
    ConsentFactory(firm=firm, bank=bank)
    client = client_for(api_key=api_key_for(bank))
    assert client.get(limit_path(firm)).status_code == 200

    run_in_threads(1, lambda i: _revoke_consent(bank, firm))  # another connection, as another process would
    assert client.get(limit_path(firm)).status_code == 404
    run_in_threads(1, lambda i: _revoke_key(bank, firm))
    assert client.get(limit_path(firm)).status_code == 401
