#!/usr/bin/env python
"""Limit-query benchmark (issue 8): GET /api/v1/credit/limits/{uscc}/ under gunicorn on PostgreSQL, side by side
with a bare Django view that reads one Firm row by primary key and returns it as JSON (the framework's floor).

It builds a fresh PostgreSQL database (softasset_bench_limit, dropped and recreated), seeds N firms with
`manage.py seed_bulk` (approved assets), then adds in this process, with bulk inserts: one approved valuation per
asset, one bank with one pledge product, a live consent of every firm to that bank and one API key, and runs
VACUUM ANALYZE (a production database has planner statistics; bulk inserts leave none). It counts the
SQL queries of one limit request in-process, then starts gunicorn with config.settings.bench (DEBUG off, throttles
out of reach, ROOT_URLCONF config.bench_urls which adds /bench/bare/<pk>/) and, for each connection mode and each
concurrency, loads (a) the bare view with random primary keys and (b) the limit endpoint with random USCCs and the
API key header, for a fixed duration each, one after the other.

gunicorn: gthread workers (keep-alive works, unlike the sync worker, which closes every connection), --workers
(default 2 x cores) x --threads (default 4) handlers; database connections either persistent (CONN_MAX_AGE=60,
one per thread) or from psycopg's pool (DATABASE_POOL, min = max = threads per worker process).

The load generator is Python in this script: --client-procs processes, each with threads holding one keep-alive
http.client connection apiece (clients split evenly). It runs on the same machine and competes for the same
cores as gunicorn and PostgreSQL, so every figure is a floor for both views alike. Requests per second and
p50/p99 latency count 2xx answers within the measured window; errors (non-2xx answers and exceptions) are counted
over the warm-up too. Both views pass through the same middleware stack; gunicorn's log goes to the temporary
directory (bench-limit-gunicorn-<mode>.log).

    .venv/bin/python bench/limit_query.py                           # 2,000 firms, 10 s per point, both modes
    .venv/bin/python bench/limit_query.py --duration 3 --modes persistent   # quicker
Results are printed as a table and appended to bench/RESULTS.md with the machine, the date and the command.
Only 127.0.0.1 is used; gunicorn is stopped at the end; the database is left in place for inspection.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import platform
import random
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import service_env  # bench/service_env.py: this script's directory is on sys.path

ROOT, PY = service_env.ROOT, service_env.PY
PG = os.environ.get("BENCH_LIMIT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/softasset_bench_limit")
HOST = "127.0.0.1"
SETTINGS = service_env.SETTINGS
BANK_CODE = "BENCH_BANK"
PRODUCT_CODE = "BENCH_PLEDGE"
MODES = ("persistent", "pool")


env = partial(service_env.service_env, PG)
manage = partial(service_env.manage, PG)
psql = partial(service_env.psql, PG)


# --- database ---------------------------------------------------------------------------------------------------


def fresh_database(firms: int, assets_per_firm: int) -> None:
    name = PG.rsplit("/", 1)[1]
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{name}"')
    manage("migrate", "--noinput")
    # seed_bulk spreads assets round-robin over the firms: every firm gets assets_per_firm approved assets.
    manage("seed_bulk", "--assets", str(firms * assets_per_firm), "--firms", str(firms), "--allow-production")


def _django() -> None:
    import django

    warnings.filterwarnings("ignore", "No directory at")  # whitenoise: no collected static files, none needed
    os.environ.update(env())
    django.setup()


def seed_credit() -> tuple[list[int], list[str], str]:
    """Valuations, bank, product, consents and API key. Returns firm pks, firm USCCs and the plain API key."""
    from django.db import transaction
    from django.utils import timezone

    from common.audit import system_actor
    from credit.services import product_create
    from registry.models import Asset, Consent, Firm
    from registry.services import bank_api_key_create, bank_create
    from valuation.models import Valuation

    actor = system_actor("bench/limit_query.py")
    rng = random.Random(11)
    now = timezone.now()
    with transaction.atomic():
        assets = list(Asset.objects.filter(status="approved").values_list("pk", "firm_id"))
        valuations = []
        for pk, firm_id in assets:
            value = Decimal(rng.randrange(200_000, 20_000_000))
            valuations.append(
                Valuation(
                    asset_id=pk,
                    firm_id=firm_id,
                    asset_version=1,
                    status=Valuation.Status.APPROVED,
                    value=value,
                    low=(value * Decimal("0.8")).quantize(Decimal("0.01")),
                    high=(value * Decimal("1.2")).quantize(Decimal("0.01")),
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
            )
        Valuation.objects.bulk_create(valuations, batch_size=5000)
        bank = bank_create(code=BANK_CODE, name="Benchmark bank", actor=actor)
        product_create(
            bank=bank,
            actor=actor,
            code=PRODUCT_CODE,
            name="Benchmark pledge product",
            kind="pledge",
            pledge_rates={"patent": "0.25", "trademark": "0.30", "software": "0.20", "data": "0.30"},
            unsecured_by_tier={},
            max_amount=Decimal("10000000.00"),
            max_term_months=36,
            max_valuation_age_days=365,
        )
        firms = list(Firm.objects.order_by("pk").values_list("pk", "uscc"))
        Consent.objects.bulk_create(
            [
                Consent(
                    firm_id=pk,
                    bank=bank,
                    scopes=[s.value for s in Consent.Scope],
                    expires_at=now + timedelta(days=365),
                )
                for pk, _uscc in firms
            ],
            batch_size=5000,
        )
        _api_key, key = bank_api_key_create(bank=bank, name="bench", actor=actor)
    return [pk for pk, _ in firms], [uscc for _, uscc in firms], key


def limit_path(uscc: str) -> str:
    return f"/api/v1/credit/limits/{uscc}/?product={PRODUCT_CODE}"


def count_queries(uscc: str, key: str) -> tuple[int, list[str], dict[str, Any]]:
    """One limit request in-process through the whole stack (middleware, DRF, service, audit): its queries."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME=HOST)
    headers = {"Authorization": f"Api-Key {key}"}
    client.get(limit_path(uscc), headers=headers)  # warm once (content types, translations, first connection)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(limit_path(uscc), headers=headers)
    assert response.status_code == 200, (response.status_code, response.content[:500])
    connection.close()
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries], response.json()


def audit_count() -> int:
    from django.db import connection

    from common.models import AuditEvent

    n = AuditEvent.objects.filter(action="credit_limit.queried").count()
    connection.close()
    return n


# --- gunicorn ---------------------------------------------------------------------------------------------------


def gunicorn_start(mode: str, port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    extra = {"DATABASE_POOL": "false", "CONN_MAX_AGE": "60"}
    if mode == "pool":
        extra = {
            "DATABASE_POOL": "true",
            "DATABASE_POOL_MIN_SIZE": str(threads),
            "DATABASE_POOL_MAX_SIZE": str(threads),
        }
    cmd = [
        PY,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--keep-alive",
        "5",
        "--log-level",
        "warning",
    ]
    log = (Path(tempfile.gettempdir()) / f"bench-limit-gunicorn-{mode}.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env(**extra), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log.name}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/health/")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    gunicorn_stop(proc)
    raise RuntimeError("gunicorn did not answer /health/ within 30 s")


def gunicorn_stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()  # SIGTERM: graceful shutdown of the arbiter and its workers
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# --- load generator ---------------------------------------------------------------------------------------------


def _client_thread(
    port: int,
    paths: list[str],
    headers: dict[str, str],
    t0: float,
    measure_from: float,
    end: float,
    seed: int,
    out: list,
) -> None:
    rng = random.Random(seed)
    latencies: list[float] = []
    errors = 0
    total_ok = 0
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    while time.monotonic() < t0:
        time.sleep(0.001)
    while True:  # bounded: stops at `end`
        start = time.monotonic()
        if start >= end:
            break
        ok = False
        try:
            conn.request("GET", rng.choice(paths), headers=headers)
            response = conn.getresponse()
            response.read()
            ok = 200 <= response.status < 300
            if response.will_close:
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=10)
        finished = time.monotonic()
        total_ok += ok
        errors += not ok  # counted over warm-up too: an error at any time is an error
        if ok and start >= measure_from and finished <= end:
            latencies.append(finished - start)
    conn.close()
    out.append((latencies, errors, total_ok))


def _client_process(args: tuple) -> tuple[list[float], int, int]:
    port, paths, headers, threads, t0, measure_from, end, seed = args
    out: list = []
    pool = [
        threading.Thread(
            target=_client_thread, args=(port, paths, headers, t0, measure_from, end, seed * 1000 + i, out)
        )
        for i in range(threads)
    ]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    latencies = [x for lat, _, _ in out for x in lat]
    return latencies, sum(e for _, e, _ in out), sum(n for _, _, n in out)


def load(
    port: int, paths: list[str], headers: dict[str, str], clients: int, procs: int, warmup: float, duration: float
) -> dict[str, float]:
    procs = max(1, min(procs, clients))
    split = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    t0 = time.monotonic() + 1.0  # time for the processes and threads to start
    measure_from = t0 + warmup
    end = measure_from + duration
    jobs = [(port, paths, headers, n, t0, measure_from, end, i + 1) for i, n in enumerate(split)]
    with multiprocessing.get_context("fork").Pool(procs) as pool:
        results = pool.map(_client_process, jobs)
    latencies = sorted(x for lat, _, _ in results for x in lat)
    errors = sum(e for _, e, _ in results)
    total_ok = sum(n for _, _, n in results)

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, max(0, round(p / 100 * len(latencies)) - 1))] * 1000

    return {
        "rps": len(latencies) / duration,
        "p50": pct(50),
        "p99": pct(99),
        "errors": errors,
        "n": len(latencies),
        "total_ok": total_ok,
    }


# --- report -----------------------------------------------------------------------------------------------------


def table(rows: list[dict[str, Any]]) -> str:
    header = [
        "DB connections",
        "clients",
        "bare req/s",
        "bare p50 ms",
        "bare p99 ms",
        "bare errors",
        "limit req/s",
        "limit p50 ms",
        "limit p99 ms",
        "limit errors",
        "limit/bare req/s",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        b, li = r["bare"], r["limit"]
        cells = [
            r["mode"],
            str(r["clients"]),
            f"{b['rps']:.0f}",
            f"{b['p50']:.1f}",
            f"{b['p99']:.1f}",
            str(b["errors"]),
            f"{li['rps']:.0f}",
            f"{li['p50']:.1f}",
            f"{li['p99']:.1f}",
            str(li["errors"]),
            f"{li['rps'] / b['rps']:.2f}" if b["rps"] else "n/a",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdicts(rows: list[dict[str, Any]]) -> list[str]:
    notes = []
    for mode in dict.fromkeys(r["mode"] for r in rows):
        mine = [r for r in rows if r["mode"] == mode]
        ratios = ", ".join(
            f"{r['clients']}: {r['limit']['rps'] / r['bare']['rps']:.2f}" for r in mine if r["bare"]["rps"]
        )
        ratio_ok = all(r["bare"]["rps"] and r["limit"]["rps"] / r["bare"]["rps"] >= 0.8 for r in mine)
        notes.append(
            f"- {mode}: throughput limit/bare by clients ({ratios}): target >= 0.8 "
            f"{'met' if ratio_ok else 'NOT met'} at every concurrency measured."
        )
        for r in mine:
            if r["clients"] == 16:
                p99 = r["limit"]["p99"]
                notes.append(
                    f"- {mode}: limit p99 at 16 clients {p99:.1f} ms: "
                    f"target < 25 ms {'met' if p99 < 25 else 'NOT met'}."
                )
            if r["clients"] == 64:
                e = r["limit"]["errors"] + r["bare"]["errors"]
                notes.append(
                    f"- {mode}: errors at 64 clients (both views) {e}: target 0 {'met' if e == 0 else 'NOT met'}."
                )
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firms", type=int, default=2000, help="consenting firms (default 2000)")
    parser.add_argument("--assets-per-firm", type=int, default=4, help="approved, valued assets per firm")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64], help="concurrent clients")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per point")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each point")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), help="database connection modes")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1), help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (gthread)")
    parser.add_argument("--client-procs", type=int, default=2, help="load generator processes")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--no-results", action="store_true", help="do not append to bench/RESULTS.md")
    args = parser.parse_args()
    if args.duration > 600 or args.warmup > 60:
        parser.error("--duration is at most 600 s and --warmup at most 60 s")

    print(f"== seeding {args.firms} consenting firms x {args.assets_per_firm} valued assets", flush=True)
    started = time.monotonic()
    fresh_database(args.firms, args.assets_per_firm)
    _django()
    firm_pks, usccs, key = seed_credit()
    # Planner statistics: bulk inserts leave none until autovacuum analyzes the tables, and autovacuum may be off
    # (it is on the benchmark machine); without them the consent and collateral queries scan every row of the bank.
    subprocess.run(["psql", PG, "-q", "-c", "VACUUM ANALYZE"], check=True, capture_output=True)
    print(f"   seeded in {time.monotonic() - started:.0f} s", flush=True)

    n_queries, sqls, sample = count_queries(usccs[0], key)
    print(f"== one limit request, in-process: {n_queries} SQL queries (audit insert included)")
    for i, sql in enumerate(sqls, 1):
        print(f"   {i:2}. {sql[:150]}")
    print(f"   sample answer: limit {sample['limit']} {sample['currency']} from {len(sample['explanation'])} assets")

    bare_paths = [f"/bench/bare/{pk}/" for pk in firm_pks]
    limit_paths = [limit_path(u) for u in usccs]
    auth = {"Authorization": f"Api-Key {key}"}
    rows = []
    audit_before = audit_count()
    limit_ok = 0
    for mode in args.modes:
        print(f"== gunicorn gthread {args.workers} workers x {args.threads} threads, {mode} connections", flush=True)
        proc = gunicorn_start(mode, args.port, args.workers, args.threads)
        try:
            for clients in args.clients:
                bare = load(args.port, bare_paths, {}, clients, args.client_procs, args.warmup, args.duration)
                limit = load(args.port, limit_paths, auth, clients, args.client_procs, args.warmup, args.duration)
                limit_ok += limit["total_ok"]
                rows.append({"mode": mode, "clients": clients, "bare": bare, "limit": limit})
                print(
                    f"   {clients:3} clients: bare {bare['rps']:.0f}/s p50 {bare['p50']:.1f} p99 {bare['p99']:.1f} ms "
                    f"err {bare['errors']} | limit {limit['rps']:.0f}/s p50 {limit['p50']:.1f} "
                    f"p99 {limit['p99']:.1f} ms err {limit['errors']}",
                    flush=True,
                )
        finally:
            gunicorn_stop(proc)
    audited = audit_count() - audit_before

    result = table(rows)
    notes = verdicts(rows)
    notes.append(
        f"- Queries per limit request (in-process, CaptureQueriesContext): {n_queries}, the audit append "
        f"included (see the list printed by the script). Audit rows written under load: {audited} for "
        f"{limit_ok} successful limit requests (warm-up included)."
    )
    print(result)
    print("\n".join(notes))
    if args.no_results:
        return
    machine = f"{platform.node()} ({os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()})"
    command = ".venv/bin/python bench/limit_query.py " + shlex.join(sys.argv[1:])
    with (ROOT / "bench" / "RESULTS.md").open("a") as f:
        f.write(
            f"\n## Limit query vs bare view, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
            f"Machine: {machine}. gunicorn, PostgreSQL and the Python load generator on the same machine.\n"
            f"Command: `{command.strip()}`\n"
            f"Setup: {args.firms} consenting firms x {args.assets_per_firm} approved valued assets; gunicorn "
            f"gthread, {args.workers} workers x {args.threads} threads, DEBUG off (config.settings.bench); "
            f"{args.duration:g} s measured after {args.warmup:g} s warm-up per point; load generator "
            f"{args.client_procs} processes of threads with keep-alive connections. Bare view: one Firm row "
            f"by primary key as JsonResponse. Limit: API key, consent check, collateral, audit.\n\n"
            f"{result}\n\n" + "\n".join(notes) + "\n"
        )


if __name__ == "__main__":
    main()
