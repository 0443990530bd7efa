#!/usr/bin/env python
"""List-endpoint benchmark (issue 8): queries per request and time per request at page 1 and at page 1,000.

It builds a fresh PostgreSQL database (softasset_bench_lists, dropped and recreated), seeds with bulk inserts
enough rows that page --pages (default 1,000) of the default page size (50) exists for each main list endpoint,
adds --crowd (default 4) times as many newer rows owned by other firms and banks (the caller's rows are the oldest,
as a long-registered firm's are among the province's), runs VACUUM ANALYZE, then, for each endpoint, in this
process through the Django test client (the real URL stack, middleware and authentication, config.settings.bench:
DEBUG off):
  * walks the cursor from page 1 to page --pages by following `next`;
  * counts the SQL queries of the page-1 and the last-page request (CaptureQueriesContext) and re-runs their
    SELECTs under EXPLAIN ANALYZE (the database's share of the request, free of Python and machine noise);
  * times --repeat requests of each page (after one warm-up request) and takes the median.
It prints both figures and the ratio last page / page 1. For contrast it then runs EXPLAIN ANALYZE on the
page-1,000 query of two lists written both ways: the keyset query the cursor sends (WHERE id < last seen id)
and the LIMIT/OFFSET query an offset paginator would send.

    .venv/bin/python bench/list_pages.py                       # page 1 vs page 1,000, 20 timed requests each
    .venv/bin/python bench/list_pages.py --pages 20 --repeat 5  # quicker
Results are printed as a table and appended to bench/RESULTS.md with the machine, the date and the command.
Only 127.0.0.1 is used; the database is left in place for inspection.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shlex
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import service_env  # bench/service_env.py: this script's directory is on sys.path

ROOT, PY = service_env.ROOT, service_env.PY
PG = os.environ.get("BENCH_LISTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/softasset_bench_lists")
HOST = "127.0.0.1"
SETTINGS = service_env.SETTINGS


env = partial(service_env.service_env, PG)
manage = partial(service_env.manage, PG)
psql = partial(service_env.psql, PG)


# --- database ---------------------------------------------------------------------------------------------------


def fresh_database(rows: int) -> None:
    """Migrated, with 2 x rows approved assets over two firms (seed_bulk alternates them: firm A, firm B, ...)."""
    name = PG.rsplit("/", 1)[1]
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{name}"')
    manage("migrate", "--noinput")
    manage("seed_bulk", "--assets", str(2 * rows), "--firms", "2", "--allow-production")


def _django() -> None:
    import django

    warnings.filterwarnings("ignore", "No directory at")  # whitenoise: no collected static files, none needed
    os.environ.update(env())
    django.setup()


@dataclass(frozen=True)
class Principals:
    firm_token: str
    reviewer_token: str
    bank_key: str
    webhook_id: int


def seed(rows: int, crowd: int) -> Principals:
    """Every main list gets ``rows`` rows for one caller, written with bulk inserts. Firm A's assets stay approved
    and get a valuation each; firm B's assets go to the review queue (submitted). Then ``crowd`` times as many
    newer rows of other firms and banks (seed_crowd)."""
    from django.db import connection, transaction
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from common.audit import system_actor
    from common.models import AuditEvent
    from credit.models import (
        CreditLine,
        CreditProduct,
        Pledge,
        WebhookAttempt,
        WebhookDelivery,
        WebhookEvent,
        WebhookSubscription,
    )
    from credit.webhooks import EVENT_TYPES
    from registry.identifiers import uscc_build
    from registry.models import Asset, Bank, BankApiKey, Consent, Firm, ImportJob, Industry, User
    from valuation.models import Valuation, ValuationJob

    now = timezone.now()
    actor = system_actor("bench/list_pages.py")
    firm_a, firm_b = Firm.objects.order_by("pk")[:2]
    with transaction.atomic():
        Asset.objects.filter(firm=firm_b).update(status="submitted", approved_version=None, submitted_at=now)
        firm_user = User.objects.create_user(username="bench-firm", role=User.Role.FIRM_ADMIN, firm=firm_a)
        reviewer = User.objects.create_user(username="bench-reviewer", role=User.Role.REVIEWER, is_staff=True)
        bank = Bank.objects.create(code="BENCH_BANK", name="Benchmark bank")
        _key_obj, bank_key = BankApiKey.objects.create_key(bank=bank, name="bench")

        assets = list(Asset.objects.filter(firm=firm_a).order_by("pk").values_list("pk", flat=True))
        Valuation.objects.bulk_create(
            [
                Valuation(
                    asset_id=pk,
                    firm_id=firm_a.pk,
                    asset_version=1,
                    status=Valuation.Status.APPROVED,
                    value=Decimal("1000000.00"),
                    low=Decimal("800000.00"),
                    high=Decimal("1200000.00"),
                    method="bench",
                    parameter_set="bench",
                    engine_version="bench",
                    seed=pk,
                    inputs={},
                    explanation={},
                    fingerprint=f"bench-{pk}",
                    as_of=now.date(),
                    reviewed_at=now,
                )
                for pk in assets
            ],
            batch_size=5000,
        )
        valuation_of = dict(Valuation.objects.values_list("asset_id", "pk"))

        industry = Industry.objects.values_list("code", flat=True).first()
        Firm.objects.bulk_create(
            [
                Firm(
                    uscc=uscc_build(f"91420100MC{i:07d}"),
                    name=f"Consenting firm {i}",
                    region_code="420100",
                    industry_id=industry,
                )
                for i in range(rows)
            ],
            batch_size=5000,
        )
        consenting = list(Firm.objects.filter(name__startswith="Consenting firm ").order_by("pk").values_list("pk"))
        Consent.objects.bulk_create(
            [
                Consent(firm_id=pk, bank=bank, scopes=[s.value for s in Consent.Scope], expires_at=now + timedelta(365))
                for (pk,) in consenting
            ],
            batch_size=5000,
        )

        product = CreditProduct.objects.create(bank=bank, code="BENCH_PLEDGE", name="Benchmark pledge product")
        CreditLine.objects.bulk_create(
            [
                CreditLine(
                    bank=bank,
                    firm_id=pk,
                    product=product,
                    amount=Decimal("500000.00"),
                    term_months=12,
                    matures_on=(now + timedelta(365)).date(),
                    issued_by="bench",
                )
                for (pk,) in consenting
            ],
            batch_size=5000,
        )
        lines = list(CreditLine.objects.filter(bank=bank).order_by("pk").values_list("pk", flat=True))
        Pledge.objects.bulk_create(
            [
                Pledge(
                    credit_line_id=line,
                    asset_id=asset,
                    valuation_id=valuation_of[asset],
                    collateral_value=Decimal("800000.00"),
                    pledge_rate=Decimal("0.25"),
                    secured_amount=Decimal("200000.00"),
                )
                for line, asset in zip(lines, assets, strict=False)
            ],
            batch_size=5000,
        )

        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    occurred_at=now,
                    actor_type="system",
                    actor_id="bench",
                    actor_label="system:bench",
                    action="bench.seeded",
                    object_type="asset",
                    object_id=str(i),
                    data={"i": i},
                    hash=f"{i:064x}",  # not a valid chain: nothing here verifies it
                )
                for i in range(rows)
            ],
            batch_size=5000,
        )
        ImportJob.objects.bulk_create(
            [
                ImportJob(
                    firm=firm_a,
                    created_by=firm_user,
                    kind="patent",
                    format="csv",
                    original_name=f"bench-{i}.csv",
                    sha256=f"{i:064x}",
                    file="imports/bench.csv",
                )
                for i in range(rows)
            ],
            batch_size=5000,
        )
        ValuationJob.objects.bulk_create(
            [ValuationJob(scope=ValuationJob.Scope.FIRM, firm=firm_a, requested_by=firm_user) for _ in range(rows)],
            batch_size=5000,
        )

        subscription = WebhookSubscription.objects.create(
            bank=bank,
            url="https://bank.example/hooks",
            events=[EVENT_TYPES[0]],
            secret=secrets.token_hex(32),
            created_by=actor.label,
        )
        WebhookEvent.objects.bulk_create(
            [WebhookEvent(bank=bank, type=EVENT_TYPES[0], payload={"i": i}) for i in range(rows)],
            batch_size=5000,
        )
        events = WebhookEvent.objects.filter(bank=bank).order_by("pk").values_list("pk", flat=True)
        WebhookDelivery.objects.bulk_create(
            [WebhookDelivery(event_id=pk, subscription=subscription) for pk in events], batch_size=5000
        )
        deliveries = WebhookDelivery.objects.filter(subscription=subscription).values_list("pk", flat=True)
        WebhookAttempt.objects.bulk_create(
            [WebhookAttempt(delivery_id=pk, number=1, status_code=500, duration_ms=20) for pk in deliveries],
            batch_size=5000,
        )

        firm_token = Token.objects.create(user=firm_user).key
        reviewer_token = Token.objects.create(user=reviewer).key
        if crowd:
            seed_crowd(crowd=crowd, firm_a=firm_a, bank=bank, subscription=subscription, actor=actor)
    # Planner statistics, as a production database has them (autovacuum may be off; bulk inserts leave none).
    connection.close()
    psql("VACUUM ANALYZE", PG.rsplit("/", 1)[1])
    return Principals(firm_token, reviewer_token, bank_key, subscription.pk)


def _copy_rows(model: Any, *, where: str, times: int, overrides: dict[str, str]) -> None:
    """INSERT ... SELECT: every row of ``model`` matching ``where`` copied ``times`` times (copy number ``g``, from
    1), with the columns in ``overrides`` set to SQL expressions."""
    from django.db import connection

    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    exprs = ", ".join(overrides.get(c, "t." + connection.ops.quote_name(c)) for c in columns)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} ({names}) SELECT {exprs} "  # noqa: S608 - names from the models, numbers from here
            f"FROM {table} t, generate_series(1, {int(times)}) g WHERE {where} ORDER BY g, t.id"
        )


def seed_crowd(*, crowd: int, firm_a: Any, bank: Any, subscription: Any, actor: Any) -> None:
    """The callers' rows are the oldest: ``crowd`` copies of them, spread over many other firms and banks, are
    inserted after them (a long-registered firm among the province's). A list that filters by owner and orders by
    id alone walks down the primary key past every newer row of the others; an index on (owner, id) goes straight
    to the owner's rows, when the planner expects the owner's share to be small."""
    from credit.models import CreditLine, WebhookDelivery, WebhookSubscription
    from registry.models import Asset, Bank, Consent, Firm, ImportJob
    from valuation.models import Valuation, ValuationJob

    others = Firm.objects.filter(name__startswith="Consenting firm ").order_by("pk").values_list("pk", flat=True)
    first_other, n_others = others[0], others.count()
    n_banks = max(crowd, 20)
    banks = Bank.objects.bulk_create([Bank(code=f"CROWD{g}", name=f"Crowd bank {g}") for g in range(n_banks)])
    first_bank = min(b.pk for b in banks)
    subscriptions = WebhookSubscription.objects.bulk_create(
        [
            WebhookSubscription(
                bank=b, url=subscription.url, events=subscription.events, secret="0" * 64, created_by=actor.label
            )
            for b in banks
        ]
    )
    first_subscription = min(s.pk for s in subscriptions)
    other_firm = f"{first_other} + (t.id * {crowd} + g) % {n_others}"
    other_bank = f"{first_bank} + (t.id + g) % {n_banks}"  # distinct banks for one row's copies: (firm, bank) unique
    _copy_rows(
        Asset, where=f"t.firm_id = {firm_a.pk}", times=crowd, overrides={"firm_id": other_firm, "identifier": "NULL"}
    )
    # Other firms' valuations: on firm B's assets (one id above firm A's, seed_bulk alternates), not approved.
    _copy_rows(
        Valuation,
        where="t.status = 'approved'",
        times=crowd,
        overrides={
            "asset_id": "t.asset_id + 1",
            "firm_id": "(SELECT a.firm_id FROM registry_asset a WHERE a.id = t.asset_id + 1)",
            "status": "'rejected'",
        },
    )
    _copy_rows(ValuationJob, where=f"t.firm_id = {firm_a.pk}", times=crowd, overrides={"firm_id": other_firm})
    _copy_rows(ImportJob, where=f"t.firm_id = {firm_a.pk}", times=crowd, overrides={"firm_id": other_firm})
    _copy_rows(Consent, where=f"t.bank_id = {bank.pk}", times=crowd, overrides={"bank_id": other_bank})
    _copy_rows(CreditLine, where=f"t.bank_id = {bank.pk}", times=crowd, overrides={"bank_id": other_bank})
    _copy_rows(
        WebhookDelivery,
        where=f"t.subscription_id = {subscription.pk}",
        times=crowd,
        overrides={"subscription_id": f"{first_subscription} + (t.id + g) % {n_banks}"},
    )


# --- measurement --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    caller: str  # firm | reviewer | bank


def endpoints(p: Principals) -> list[Endpoint]:
    return [
        Endpoint("assets of a firm", "/api/v1/assets/", "firm"),
        Endpoint("assets for a reviewer", "/api/v1/assets/", "reviewer"),
        Endpoint("review queue", "/api/v1/review/assets/", "reviewer"),
        Endpoint("valuations of a firm", "/api/v1/valuations/", "firm"),
        Endpoint("valuation jobs of a firm", "/api/v1/valuation-jobs/", "firm"),
        Endpoint("import jobs of a firm", "/api/v1/imports/", "firm"),
        Endpoint("consents (reviewer)", "/api/v1/consents/", "reviewer"),
        Endpoint("consenting firms of a bank", "/api/v1/consenting-firms/", "bank"),
        Endpoint("credit lines of a bank", "/api/v1/credit-lines/", "bank"),
        Endpoint("pledges of a bank", "/api/v1/pledges/", "bank"),
        Endpoint("audit events", "/api/v1/audit/", "reviewer"),
        Endpoint("webhook deliveries", f"/api/v1/webhooks/{p.webhook_id}/deliveries/", "bank"),
    ]


def headers_for(caller: str, p: Principals) -> dict[str, str]:
    if caller == "bank":
        return {"Authorization": f"Api-Key {p.bank_key}"}
    return {"Authorization": f"Token {p.firm_token if caller == 'firm' else p.reviewer_token}"}


@dataclass(frozen=True)
class PageFigures:
    queries: int
    db_ms: float
    median_ms: float
    rows: int


def measure_page(get: Callable[[str], Any], url: str, repeat: int) -> PageFigures:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    get(url)  # warm-up
    statements: list[tuple[str, Any]] = []

    def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(record):
        body = get(url)
    queries = len(ctx.captured_queries)  # read now: the next request's request_started signal empties the log
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        get(url)
        times.append(time.perf_counter() - start)
    # The database's share, free of Python and of the noise of a shared machine: the request's reads re-run under
    # EXPLAIN ANALYZE (median of 3 per statement), summed.
    db_ms = sum(
        statistics.median(explain_ms(sql, params) for _ in range(3))
        for sql, params in statements
        if sql.lstrip().upper().startswith("SELECT")
    )
    return PageFigures(queries, db_ms, statistics.median(times) * 1000, len(body["results"]))


def run_endpoint(endpoint: Endpoint, p: Principals, pages: int, repeat: int) -> tuple[PageFigures, PageFigures]:
    from django.test import Client

    client = Client(SERVER_NAME=HOST)
    headers = headers_for(endpoint.caller, p)

    def get(url: str) -> Any:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (endpoint.name, url, response.status_code, response.content[:500])
        return response.json()

    first = endpoint.path
    url = first
    for page in range(1, pages):
        url = get(url)["next"]
        assert url, f"{endpoint.name}: no page {page + 1}; seed more rows"
    return measure_page(get, first, repeat), measure_page(get, url, repeat)


# --- keyset vs OFFSET -------------------------------------------------------------------------------------------


def explain_ms(sql: str, params: Any) -> float:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cur.fetchone()[0]
    plan = plan[0] if isinstance(plan, list) else plan
    return float(plan["Execution Time"])


def keyset_vs_offset(qs: Any, pages: int, page_size: int) -> tuple[float, float]:
    """EXPLAIN ANALYZE time (median of 5) of page ``pages`` of ``qs`` (ordered newest first by id) fetched as
    the cursor does (id below the last id seen, LIMIT page_size + 1) and with LIMIT/OFFSET."""
    qs = qs.order_by("-id")
    offset = (pages - 1) * page_size
    last_seen = qs.values_list("id", flat=True)[offset - 1]
    keyset = qs.filter(id__lt=last_seen)[: page_size + 1].query.sql_with_params()
    offset_q = qs[offset : offset + page_size + 1].query.sql_with_params()
    return (
        statistics.median(explain_ms(*keyset) for _ in range(5)),
        statistics.median(explain_ms(*offset_q) for _ in range(5)),
    )


def contrast(p: Principals, pages: int, page_size: int) -> list[tuple[str, float, float]]:
    from common.models import AuditEvent
    from registry.models import User
    from registry.selectors import asset_list_for_user

    firm_user = User.objects.get(username="bench-firm")
    return [
        ("audit events", *keyset_vs_offset(AuditEvent.objects.all(), pages, page_size)),
        ("assets of a firm", *keyset_vs_offset(asset_list_for_user(user=firm_user), pages, page_size)),
    ]


# --- main -------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1000, help="the deep page measured (default 1000)")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per page (default 20)")
    parser.add_argument(
        "--crowd",
        type=int,
        default=4,
        help="newer rows of other firms and banks, as a multiple of each list's rows (default 4; 0 for none)",
    )
    parser.add_argument(
        "--random-page-cost",
        type=float,
        default=None,
        help="the planner's random_page_cost for this run's connections (sets DATABASE_RANDOM_PAGE_COST; default: "
        "the service's own setting, 1.1; 4 is PostgreSQL's default, which makes page 1 of the crowded lists slow)",
    )
    parser.add_argument("--no-results", action="store_true", help="do not append to bench/RESULTS.md")
    args = parser.parse_args()
    if args.pages < 2:
        parser.error("--pages must be at least 2")

    if args.random_page_cost is not None:
        os.environ["DATABASE_RANDOM_PAGE_COST"] = str(args.random_page_cost)
    _django()  # no connection yet: the database is created next
    from django.conf import settings

    planner = settings.DATABASES["default"].get("OPTIONS", {}).get("options", "the server's random_page_cost")
    from common.api.pagination import CursorPagination

    page_size = CursorPagination.page_size
    rows = args.pages * page_size + 1  # one row past the deep page, so it is full and has a `next`
    print(f"== seeding {rows:,} rows per list (page size {page_size})", flush=True)
    start = time.perf_counter()
    fresh_database(rows)
    principals = seed(rows, args.crowd)
    print(f"   seeded in {time.perf_counter() - start:.0f} s", flush=True)

    results = []
    for endpoint in endpoints(principals):
        start = time.perf_counter()
        first, deep = run_endpoint(endpoint, principals, args.pages, args.repeat)
        results.append((endpoint, first, deep))
        print(
            f"   {endpoint.name}: {first.queries}/{deep.queries} queries, {first.median_ms:.1f}/{deep.median_ms:.1f} ms"
            f" ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    offsets = contrast(principals, args.pages, page_size)

    header = [
        "list",
        "caller",
        "queries p1",
        f"queries p{args.pages:,}",
        "queries ratio",
        "ms p1",
        f"ms p{args.pages:,}",
        "time ratio",
        "DB ms p1",
        f"DB ms p{args.pages:,}",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for endpoint, first, deep in results:
        assert first.rows == deep.rows == page_size, (endpoint.name, first.rows, deep.rows)
        cells = [
            f"{endpoint.name} `{endpoint.path}`",
            endpoint.caller,
            str(first.queries),
            str(deep.queries),
            f"{deep.queries / first.queries:.2f}",
            f"{first.median_ms:.1f}",
            f"{deep.median_ms:.1f}",
            f"{deep.median_ms / first.median_ms:.2f}",
            f"{first.db_ms:.2f}",
            f"{deep.db_ms:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    offset_lines = [
        f"| list | keyset page {args.pages:,} ms | OFFSET page {args.pages:,} ms | OFFSET / keyset |",
        "|---|---|---|---|",
    ]
    offset_lines += [f"| {name} | {k:.2f} | {o:.2f} | {o / k:.0f}x |" for name, k, o in offsets]
    offset_table = "\n".join(offset_lines)
    same = all(first.queries == deep.queries for _e, first, deep in results)
    worst = max(deep.median_ms / first.median_ms for _e, first, deep in results)
    page_one_heavier = [e.name for e, first, deep in results if first.db_ms > 3 * max(deep.db_ms, 0.1)]
    summary = (
        f"- Queries per request equal at page 1 and page {args.pages:,} on every list: {'yes' if same else 'NO'}.\n"
        f"- Largest time ratio page {args.pages:,} / page 1: {worst:.2f}.\n"
        f"- Lists whose page 1 costs the database over 3x their page {args.pages:,}: "
        f"{', '.join(page_one_heavier) or 'none'}. (With --crowd, the caller's rows are the oldest: a plan that walks "
        "down the primary key filtering on the owner passes every newer row of the others before the first match.)"
    )
    print(table)
    print()
    print(offset_table)
    print(summary)
    if args.no_results:
        return
    machine = f"{platform.node()} ({os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()})"
    command = " ".join(["bench/list_pages.py", *map(shlex.quote, sys.argv[1:])])
    with (ROOT / "bench" / "RESULTS.md").open("a") as f:
        f.write(
            f"\n## List endpoints, page 1 vs page {args.pages:,}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
            f"Machine: {machine}. PostgreSQL on the same machine"
            f"; planner setting of the connections: {planner}.\n"
            f"Command: `.venv/bin/python {command}`\n"
            f"Setup: {rows:,} rows per list for one caller, then {args.crowd} times as many newer rows of other "
            f"firms and banks (bulk inserts, then VACUUM ANALYZE); page size "
            f"{page_size} (the default); in-process Django test client through the whole URL stack, middleware and "
            f"authentication, DEBUG off (config.settings.bench); the cursor walked from page 1 to page "
            f"{args.pages:,} by following `next`; queries counted with CaptureQueriesContext; time = median of "
            f"{args.repeat} requests after one warm-up; DB ms = the request's SELECTs re-run under EXPLAIN ANALYZE "
            f"(execution time, median of 3 each), summed.\n\n"
            f"{table}\n\n"
            f"Keyset vs OFFSET (EXPLAIN ANALYZE execution time of the page-{args.pages:,} query, median of 5):\n\n"
            f"{offset_table}\n\n{summary}\n"
        )


if __name__ == "__main__":
    main()
