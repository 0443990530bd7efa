#!/usr/bin/env python
"""Revaluation benchmark: approved assets valued end to end (read inputs, Monte Carlo, write valuations).

For each size it builds a fresh PostgreSQL database, creates the assets with `seed_bulk`, then times:
  * inline   - the whole job in one process (`manage.py revalue --inline`), the single-process baseline;
  * workers  - a province job shared by 1 and by 2 Celery worker processes (solo pool) over Redis.
Figures are assets per second and the ratio to the 10,000-asset time (linear growth means 10x for 10x).

    .venv/bin/python bench/revaluation.py                    # 10,000 and 100,000 assets
    .venv/bin/python bench/revaluation.py --sizes 2000 20000 # quicker
Results are printed as a table and appended to bench/RESULTS.md with the machine, the date and the command.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
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
        + ["inline time vs smallest"]
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [f"{r['size']:,}", f"{r['inline']:.1f}", f"{r['size'] / r['inline']:.0f}"]
        cells += [f"{r[f'w{n}']:.1f}" for n in args.workers]
        cells += [f"{r['size'] / r[f'w{n}']:.0f}" for n in args.workers]
        cells.append(f"{r['inline'] / base['inline']:.2f}x for {r['size'] / base['size']:.0f}x the assets")
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
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
