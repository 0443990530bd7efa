"""A deep page of a list costs the queries page 1 costs, and neither grows with the rows on the page.

Each list gets 67 rows whose relations vary from row to row (documents, reviews, pledges, attempts, firms, banks),
is walked with ``page_size=2`` by following ``next`` to page 30, and the queries of four requests are compared:
page 1 and page 30 with 2 rows, and the same two positions with 7 rows (the cursor keeps its position whatever
the page size). A query only deep pages make fails the first comparison; a query per row (N+1) the second."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from common.models import AuditEvent
from credit.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
from registry.models import AssetReview, Document, ImportJob
from tests.factories.credit import CreditLineFactory, CreditProductFactory, PledgeFactory
from tests.factories.registry import (
    AssetFactory,
    BankFactory,
    ConsentFactory,
    FirmFactory,
    ReviewerFactory,
    UserFactory,
    api_key_for,
)
from tests.factories.valuation import ValuationFactory
from valuation.models import ValuationJob, ValuationJobItem

pytestmark = pytest.mark.django_db

DEEP_PAGE = 30
ROWS = 2 * DEEP_PAGE + 7  # page 30 of 2 rows is full, and 7 rows from its position exist


@dataclass(frozen=True)
class World:
    firm_user: Any
    reviewer: Any
    bank: Any
    bank_key: str


@pytest.fixture
def world() -> World:
    bank = BankFactory()
    return World(UserFactory(), ReviewerFactory(), bank, api_key_for(bank))


def _assets(w: World) -> None:
    """The firm's assets, every third with a document, every fourth with a review, some in other firms."""
    for i in range(ROWS):
        asset = AssetFactory(firm=w.firm_user.firm if i % 5 else FirmFactory(), status="submitted")
        if i % 3 == 0:
            Document.objects.create(
                asset=asset,
                kind="other",
                file=f"documents/{i}.pdf",
                original_name=f"{i}.pdf",
                content_type="application/pdf",
                size=10,
                sha256=f"{i:064d}",
            )
        if i % 4 == 0:
            AssetReview.objects.create(asset=asset, version=1, reviewer=w.reviewer, decision="approved")
    # The firm's own list needs ROWS rows too.
    for _ in range(ROWS - sum(1 for i in range(ROWS) if i % 5)):
        AssetFactory(firm=w.firm_user.firm)


def _valuations(w: World) -> None:
    assets = [AssetFactory(firm=w.firm_user.firm) for _ in range(ROWS // 2 + 1)]
    for i in range(ROWS):
        ValuationFactory(asset=assets[i // 2], status="approved" if i % 2 == 0 else "rejected")


def _valuation_jobs(w: World) -> None:
    asset = AssetFactory(firm=w.firm_user.firm)
    for i in range(ROWS):
        job = ValuationJob.objects.create(scope="firm", firm=w.firm_user.firm, requested_by=w.firm_user)
        if i % 3 == 0:
            ValuationJobItem.objects.create(job=job, asset=asset, status="failed", error="boom")


def _imports(w: World) -> None:
    other = UserFactory(firm=w.firm_user.firm, role="firm_member")
    for i in range(ROWS):
        ImportJob.objects.create(
            firm=w.firm_user.firm,
            created_by=w.firm_user if i % 2 else other,
            kind="patent",
            format="csv",
            original_name=f"{i}.csv",
            sha256=f"{i:064d}",
            file="imports/a.csv",
        )


def _consents(w: World) -> None:
    for i in range(ROWS):
        ConsentFactory(bank=w.bank if i % 2 else BankFactory(), firm=FirmFactory())


def _bank_consents(w: World) -> None:
    for _ in range(ROWS):
        ConsentFactory(bank=w.bank)


def _credit_lines(w: World) -> None:
    product = CreditProductFactory(bank=w.bank)
    for i in range(ROWS):
        line = CreditLineFactory(product=product)
        for _ in range(i % 3):  # 0, 1 or 2 pledges
            PledgeFactory(credit_line=line, valuation=ValuationFactory(asset=AssetFactory(firm=line.firm)))


def _pledges(w: World) -> None:
    product = CreditProductFactory(bank=w.bank)
    lines = [CreditLineFactory(product=product) for _ in range(5)]
    for i in range(ROWS):
        line = lines[i % len(lines)]
        valuation = ValuationFactory(asset=AssetFactory(firm=line.firm))
        PledgeFactory(credit_line=line, valuation=valuation)


def _audit(w: World) -> None:
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        AuditEvent(
            occurred_at=now - timedelta(seconds=i),
            actor_type="system",
            actor_id="tests",
            actor_label="system:tests",
            action="tests.listed",
            object_type="asset",
            object_id=str(i),
            data={"i": i},
        )
        for i in range(ROWS)
    )


def _deliveries(w: World) -> int:
    subscription = WebhookSubscription.objects.create(
        bank=w.bank, url="https://bank.example/hooks", events=["credit_line.issued"], secret="s" * 64, created_by="t"
    )
    for i in range(ROWS):
        event = WebhookEvent.objects.create(bank=w.bank, type="credit_line.issued", payload={"i": i})
        delivery = WebhookDelivery.objects.create(event=event, subscription=subscription)
        for n in range(i % 3):  # 0, 1 or 2 attempts
            WebhookAttempt.objects.create(delivery=delivery, number=n + 1, status_code=500, duration_ms=5)
    return subscription.pk


# name: (caller, path, make); make may return a webhook id for the path
CASES: dict[str, tuple[str, str, Callable[[World], Any]]] = {
    "assets of a firm": ("firm", "/api/v1/assets/", _assets),
    "assets for a reviewer": ("reviewer", "/api/v1/assets/", _assets),
    "review queue": ("reviewer", "/api/v1/review/assets/", _assets),
    "valuations": ("firm", "/api/v1/valuations/", _valuations),
    "valuation jobs": ("firm", "/api/v1/valuation-jobs/", _valuation_jobs),
    "import jobs": ("firm", "/api/v1/imports/", _imports),
    "consents": ("reviewer", "/api/v1/consents/", _consents),
    "consenting firms": ("bank", "/api/v1/consenting-firms/", _bank_consents),
    "credit lines": ("bank", "/api/v1/credit-lines/", _credit_lines),
    "pledges": ("bank", "/api/v1/pledges/", _pledges),
    "audit events": ("reviewer", "/api/v1/audit/", _audit),
    "webhook deliveries": ("bank", "/api/v1/webhooks/{webhook}/deliveries/", _deliveries),
}


def _get(client, url: str) -> tuple[int, dict[str, Any]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx), response.json()


def _with_page_size(url: str, size: int) -> str:
    return url.replace("page_size=2", f"page_size={size}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_deep_page_costs_the_queries_of_page_one(case, world, client_for):
    caller, path, make = CASES[case]
    webhook = make(world)
    client = (
        client_for(api_key=world.bank_key)
        if caller == "bank"
        else client_for(world.firm_user if caller == "firm" else world.reviewer)
    )
    first = path.format(webhook=webhook) + "?page_size=2"

    first_queries, body = _get(client, first)
    url = first
    for _ in range(DEEP_PAGE - 1):
        url = body["next"]
        assert url, f"{case}: fewer than {DEEP_PAGE} pages"
        _count, body = _get(client, url)
    deep_queries, deep_body = _get(client, url)
    assert len(deep_body["results"]) == 2
    wide_first_queries, wide_first = _get(client, _with_page_size(first, 7))
    wide_deep_queries, wide_deep = _get(client, _with_page_size(url, 7))
    assert len(wide_first["results"]) == len(wide_deep["results"]) == 7

    assert deep_queries == first_queries, f"{case}: page {DEEP_PAGE} makes {deep_queries}, page 1 {first_queries}"
    assert wide_first_queries == wide_deep_queries == first_queries, (
        f"{case}: 7 rows make {wide_first_queries} (page 1) and {wide_deep_queries} (page {DEEP_PAGE}) queries, "
        f"2 rows {first_queries}: a query per row"
    )


def test_deep_page_walk_sees_every_row_once(world, client_for):
    """Following ``next`` from page 1 returns every row once, newest first (the cursor skips and repeats none)."""
    _audit(world)
    client = client_for(world.reviewer)
    url, seen = "/api/v1/audit/?page_size=2", []
    while url:
        _count, body = _get(client, url)
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == sorted(AuditEvent.objects.values_list("id", flat=True), reverse=True)
    assert len(seen) == ROWS


IS_POSTGRES = connection.vendor == "postgresql"
postgres_only = pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL only (runs in the service pass)")
OWN_ROWS, CROWD_ROWS = 120, 6000


def _plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("Plans", []) for n in _plan_nodes(child))]


@postgres_only
def test_page_one_of_a_firms_assets_reads_the_firm_index_not_the_newer_rows_of_others(world, client_for):
    """A firm registered long ago: its assets are the oldest, thousands of another firm's are newer. Page 1 of its
    list is read in id order from the (firm, id) index, a page's worth of rows and no more: not a walk down the
    primary key filtering out the other firm's newer rows, and not every one of the firm's assets read through a
    narrower firm index and sorted (what the planner chose while the single-column index existed), which grows
    with the firm's assets."""
    from registry.models import Asset

    firm, other = world.firm_user.firm, FirmFactory()
    template = AssetFactory.build()

    def rows(owner: Any, n: int) -> list[Asset]:
        return [
            Asset(firm=owner, kind=template.kind, title=f"Asset {i}", status="approved", details=template.details)
            for i in range(n)
        ]

    Asset.objects.bulk_create(rows(firm, OWN_ROWS))
    Asset.objects.bulk_create(rows(other, CROWD_ROWS), batch_size=1000)
    with connection.cursor() as cur:
        cur.execute("ANALYZE registry_asset")
        cur.execute("ANALYZE registry_assetreview")

    with CaptureQueriesContext(connection) as ctx:
        response = client_for(world.firm_user).get("/api/v1/assets/")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 50
    [page_sql] = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "registry_asset"."id"')]
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + page_sql)
        plan = cur.fetchone()[0]
    nodes = _plan_nodes((plan[0] if isinstance(plan, list) else plan)["Plan"])
    asset_scans = [n for n in nodes if n.get("Relation Name") == "registry_asset"]
    [scan] = asset_scans
    # Read in id order from the (firm, id) index: a page's rows and the one that tells whether there is a next page,
    # none of the other firm's filtered out and none of the firm's older rows read and sorted away.
    assert scan.get("Index Name") == "asset_firm_id_idx", scan
    assert scan.get("Rows Removed by Filter", 0) == 0, scan
    assert scan["Actual Rows"] <= 52, scan  # 51, or 52 where a merge join reads one row ahead


@postgres_only
def test_page_one_of_a_firms_valuations_reads_the_firm_index_not_the_newer_rows_of_others(world, client_for):
    """The same for valuations: the firm column copied onto each valuation (valuation 0005/0006) gives a (firm, id)
    index. Before it, the list filtered through the asset and PostgreSQL walked the primary key past every newer
    valuation of the other firm (324 ms for 200,000 of them in bench/list_pages.py)."""
    from decimal import Decimal

    from valuation.models import Valuation

    firm, other = world.firm_user.firm, FirmFactory()
    own_asset, other_asset = AssetFactory(firm=firm), AssetFactory(firm=other)

    def rows(asset: Any, n: int) -> list[Valuation]:
        return [
            Valuation(
                asset=asset,
                firm_id=asset.firm_id,
                asset_version=1,
                value=Decimal("100.00"),
                low=Decimal("80.00"),
                high=Decimal("120.00"),
                method="income",
                parameter_set="t",
                engine_version="t",
                seed=i,
                inputs={},
                explanation={},
                fingerprint=f"f{i}",
            )
            for i in range(n)
        ]

    Valuation.objects.bulk_create(rows(own_asset, OWN_ROWS))
    Valuation.objects.bulk_create(rows(other_asset, CROWD_ROWS), batch_size=1000)
    with connection.cursor() as cur:
        cur.execute("ANALYZE valuation_valuation")

    with CaptureQueriesContext(connection) as ctx:
        response = client_for(world.firm_user).get("/api/v1/valuations/")
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 50
    assert {row["asset"] for row in body["results"]} == {own_asset.pk}
    [page_sql] = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "valuation_valuation"."id"')]
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + page_sql)
        plan = cur.fetchone()[0]
    nodes = _plan_nodes((plan[0] if isinstance(plan, list) else plan)["Plan"])
    [scan] = [n for n in nodes if n.get("Relation Name") == "valuation_valuation"]
    assert scan.get("Index Name") == "valuation_firm_id_idx", scan
    assert scan.get("Rows Removed by Filter", 0) == 0, scan
    assert scan["Actual Rows"] <= 52, scan
