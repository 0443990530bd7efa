#!/usr/bin/env python
"""Revaluation benchmark: approved assets valued end to end (read inputs, Monte Carlo, write valuations).

For each size it builds a fresh PostgreSQL database, creates the assets with `seed_bulk`, then times:
  * inline   - the whole job in one process (`manage.py revalue --inline`), the single-process baseline;
  * workers  - a province job shared by 1 and by 2 Celery worker processes (solo pool) over Redis.
  * floor    - in the same run and database, what the job cannot go below on this machine, in one process:
               (a) read: one SQL query returning the inputs of every approved asset (approved version's
               details, kind, firm industry); (b) numpy: the same Monte Carlo arithmetic (the engine's
               vectorised kernels, same assets x paths x methods) on arrays drawn at once, no per-asset Python;
               (c) write: COPY of as many valuation rows (every column, JSON copied from the inline run's rows)
               into a scratch copy of the valuation table (CREATE TEMP TABLE ... LIKE, with its indexes).
               Floor = a + b + c.
Figures are assets per second, the ratio to the smallest size's time (linear growth means 10x for 10x) and
each end-to-end time over the floor.

    .venv/bin/python bench/revaluation.py                    # 10,000 and 100,000 assets
    .venv/bin/python bench/revaluation.py --sizes 2000 20000 # quicker
Results are printed as a table and appended to bench/RESULTS.md with the machine, the date and the command
(``--no-record``: print only).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
PG = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/softasset_bench")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": PG,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def manage(*args: str, **extra: str) -> str:
    out = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env(**extra), capture_output=True, text=True, check=True
    )
    return out.stdout


def psql(sql: str) -> None:
    admin = PG.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-q", "-c", sql], check=True, capture_output=True)


def fresh_database(size: int) -> None:
    name = PG.rsplit("/", 1)[1]
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{name}"')
    manage("migrate", "--noinput")
    manage("seed_bulk", "--assets", str(size))


def _django() -> None:
    """Set up Django in this process (after the database exists), on the bench database and broker."""
    import django

    os.environ.update(env(REDIS_URL=REDIS))
    django.setup()


def reset_valuations() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE valuation_valuationreview, valuation_valuation, valuation_valuationjobitem, "
            "valuation_valuationjob CASCADE"
        )


def time_inline() -> float:
    from common.audit import system_actor
    from config.celery import app
    from valuation.services import valuation_job_create, valuation_job_run_inline

    app.conf.task_always_eager = False  # create the job without running it on commit
    start = time.perf_counter()
    job = valuation_job_create(everything=True, user=None, actor=system_actor("bench"), trigger="bench")
    job = valuation_job_run_inline(job_id=job.pk)
    elapsed = time.perf_counter() - start
    assert job.status == "succeeded" and job.failed_count == 0, (job.status, job.failed_count)
    return elapsed


def time_workers(n: int) -> float:
    from common.audit import system_actor
    from config.celery import app
    from valuation.models import ValuationJob
    from valuation.services import valuation_job_create

    queue = f"bench-{uuid.uuid4().hex[:6]}"
    app.conf.task_default_queue = queue
    app.conf.broker_url = REDIS
    app.conf.task_always_eager = False
    worker_env = env(REDIS_URL=REDIS, CELERY_TASK_DEFAULT_QUEUE=queue)
    workers = [
        subprocess.Popen(
            [
                PY,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "solo",
                "-Q",
                queue,
                "-n",
                f"{queue}-{i}@%h",
                "-l",
                "warning",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=worker_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(n)
    ]
    try:
        time.sleep(5)  # let the workers connect
        start = time.perf_counter()
        job = valuation_job_create(everything=True, user=None, actor=system_actor("bench"), trigger="bench")
        while True:
            job.refresh_from_db()
            if job.status in (ValuationJob.Status.SUCCEEDED, ValuationJob.Status.FAILED):
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - start
        assert job.status == "succeeded" and job.failed_count == 0, (job.status, job.failed_count)
        return elapsed
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=30)


# --- the floor ---------------------------------------------------------------------------------------------

INPUTS_SQL = """
    SELECT a.id, a.kind, f.industry_id, v.details::text
    FROM registry_asset a
    JOIN registry_firm f ON f.id = a.firm_id
    JOIN registry_assetversion v ON v.asset_id = a.id AND v.number = a.approved_version
    WHERE a.approved_version IS NOT NULL AND a.status <> 'retired'
"""
# How many assets each method simulates: relief from royalty and the income approach for every patent,
# trademark and software right; the cost approach for data; the income approach for data with details.income;
# the market approach wherever comparables are given (what the engine's methods apply to).
METHOD_COUNTS_SQL = """
    SELECT
        count(*) FILTER (WHERE a.kind <> 'data'),
        count(*) FILTER (WHERE a.kind <> 'data' OR v.details ? 'income'),
        count(*) FILTER (WHERE a.kind = 'data'),
        count(*) FILTER (WHERE v.details ? 'comparables'),
        count(*) FILTER (WHERE a.kind = 'software')
    FROM registry_asset a
    JOIN registry_assetversion v ON v.asset_id = a.id AND v.number = a.approved_version
    WHERE a.approved_version IS NOT NULL AND a.status <> 'retired'
"""


def floor_read() -> tuple[float, int]:
    from django.db import connection

    start = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(INPUTS_SQL)
        rows = cur.fetchall()
    return time.perf_counter() - start, len(rows)


def floor_numpy() -> float:
    """The engine's Monte Carlo arithmetic for the same assets, paths and methods, without per-asset Python:
    variates drawn by one generator for a whole block, then each method's vectorised kernel and the P10 / P50 /
    P90 of each method's and of the reconciled paths, block by block as the engine does."""
    import numpy as np
    from django.db import connection

    from valuation.methods import DEFAULT_PARAMETERS
    from valuation.methods.engine import BLOCK_ELEMENTS
    from valuation.methods.shared import discount_paths, discounted_paths, growth_paths, life_paths
    from valuation.methods.types import PERCENTILE_METHOD

    with connection.cursor() as cur:
        cur.execute(METHOD_COUNTS_SQL)
        royalty, income, cost, market, software = cur.fetchone()
    params = DEFAULT_PARAMETERS
    paths = params.mc_paths
    block = max(1, BLOCK_ELEMENTS // paths)
    rng = np.random.default_rng(0)

    def pct(values: np.ndarray) -> np.ndarray:
        return np.percentile(np.maximum(values, 0.0), [10, 50, 90], axis=1, method=PERCENTILE_METHOD)

    caps = params.economic_life_cap_years_by_kind

    def discounted(n: int, v: dict[str, np.ndarray]) -> np.ndarray:
        # economic life: the kind's cap (software's 50-year term never binds; patents and trademarks: a
        # remaining legal life of 0 to 20 years); each path's life decides how many years are discounted
        software_rows = round(n * software / max(1, royalty))
        economic = np.where(np.arange(n) < software_rows, float(caps["software"]), float(caps["patent"]))
        legal = np.where(np.arange(n) < software_rows, 50.0, rng.uniform(0.0, 20.0, n))
        base = rng.uniform(5e5, 5e7, n)
        growth = growth_paths(np.full(n, 0.05), v["growth"], params)
        rate = discount_paths(np.full(n, 0.14), v["discount"], params)
        life = life_paths(economic, legal, v["life"], params)
        share = 0.05 + 0.03 * v["rate"]
        return np.maximum(discounted_paths(base, growth, rate, life) * share * 0.75, 0.0)

    def cost_paths(n: int, v: dict[str, np.ndarray]) -> np.ndarray:
        coefficient = np.clip(0.8 * (1.0 + 0.1 * v["quality"]), 0.0, 1.0)
        return np.maximum(rng.uniform(1e5, 5e6, n)[:, None] * coefficient, 0.0)

    def market_paths(n: int, v: dict[str, np.ndarray]) -> np.ndarray:
        return np.maximum(rng.uniform(1e5, 5e6, n)[:, None] * np.maximum(0.0, 1.0 + 0.1 * v["market"]), 0.0)

    kernels = [(royalty, discounted), (income, discounted), (cost, cost_paths), (market, market_paths)]
    assets = max(royalty, cost)  # every asset has relief from royalty (IP) or the cost approach (data)
    start = time.perf_counter()
    for first in range(0, assets, block):
        n = min(block, assets - first)
        v = {name: rng.standard_normal((n, paths)) for name in ("growth", "quality", "market")}
        v |= {name: rng.random((n, paths)) for name in ("discount", "rate", "life")}
        combined = np.zeros((n, paths))
        for count, kernel in kernels:
            rows = min(n, max(0, count - first))  # this block's share of the method's assets
            if rows:
                values = kernel(rows, {name: array[:rows] for name, array in v.items()})
                pct(values)
                combined[:rows] += 0.5 * values
        pct(combined)
    return time.perf_counter() - start


def floor_write(size: int) -> float:
    """COPY ``size`` valuation rows into a scratch table: every column, the values and JSON of the inline run's
    first 1,000 rows over and over (asset ids renumbered for the unique indexes)."""
    from django.db import connection, transaction

    from valuation.models import Valuation

    fields = [f for f in Valuation._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    with connection.cursor() as cur:
        cur.execute(f"SELECT {columns} FROM valuation_valuation ORDER BY id LIMIT 1000")  # noqa: S608 - model names
        sample = cur.fetchall()
    asset = next(i for i, f in enumerate(fields) if f.name == "asset")  # the scratch table has no foreign keys
    rows = [(*sample[i % len(sample)][:asset], i + 1, *sample[i % len(sample)][asset + 1 :]) for i in range(size)]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE bench_valuation_copy (LIKE valuation_valuation INCLUDING ALL) ON COMMIT DROP")
        start = time.perf_counter()
        with cur.cursor.copy(f"COPY bench_valuation_copy ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        elapsed = time.perf_counter() - start
    return elapsed


def measure_floor(size: int) -> dict[str, float]:
    read, count = floor_read()
    assert count == size, (count, size)
    floor = {"read": read, "numpy": floor_numpy(), "write": floor_write(size)}
    floor["floor"] = floor["read"] + floor["numpy"] + floor["write"]
    return floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-record", action="store_true", help="print the table without appending it to RESULTS.md")
    args = parser.parse_args()

    rows = []
    for size in args.sizes:
        print(f"== {size} assets: seeding", flush=True)
        fresh_database(size)
        if size == args.sizes[0]:
            _django()
        from django.db import connection

        connection.close()  # the database was recreated
        inline = time_inline()
        print(f"   inline {inline:.1f} s", flush=True)
        row = {"size": size, "inline": inline}
        row |= measure_floor(size)
        print(
            f"   floor {row['floor']:.1f} s (read {row['read']:.2f} + numpy {row['numpy']:.1f} + "
            f"COPY {row['write']:.2f})",
            flush=True,
        )
        for n in args.workers:
            reset_valuations()
            row[f"w{n}"] = time_workers(n)
            print(f"   {n} worker(s) {row[f'w{n}']:.1f} s", flush=True)
        rows.append(row)

    base = rows[0]
    header = (
        ["assets", "inline s", "inline assets/s"]
        + [f"{n} worker(s) s" for n in args.workers]
        + [f"{n} worker(s) assets/s" for n in args.workers]
        + ["inline time vs smallest", "floor s (read + numpy + COPY)", "inline / floor"]
        + [f"{n} worker(s) / floor" for n in args.workers]
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [f"{r['size']:,}", f"{r['inline']:.1f}", f"{r['size'] / r['inline']:.0f}"]
        cells += [f"{r[f'w{n}']:.1f}" for n in args.workers]
        cells += [f"{r['size'] / r[f'w{n}']:.0f}" for n in args.workers]
        cells.append(f"{r['inline'] / base['inline']:.2f}x for {r['size'] / base['size']:.0f}x the assets")
        cells.append(f"{r['floor']:.1f} ({r['read']:.2f} + {r['numpy']:.1f} + {r['write']:.2f})")
        cells += [f"{r['inline'] / r['floor']:.1f}x"] + [f"{r[f'w{n}'] / r['floor']:.1f}x" for n in args.workers]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    if args.no_record:
        return
    machine = f"{platform.node()} ({os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()})"
    with (ROOT / "bench" / "RESULTS.md").open("a") as f:
        f.write(
            f"\n## Revaluation, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
            f"Machine: {machine}. PostgreSQL + Redis on the same machine.\n"
            f"Command: `.venv/bin/python bench/revaluation.py --sizes {' '.join(map(str, args.sizes))} "
            f"--workers {' '.join(map(str, args.workers))}`\n\n{table}\n"
        )


if __name__ == "__main__":
    main()
