#!/usr/bin/env python
"""Bulk-import benchmark (issue 8, benchmark 3): rows per second and peak memory of an import job.

For each database, format and size it builds a fresh database (PostgreSQL: softasset_bench_import, dropped and
recreated; SQLite: a file in a temporary directory), then, each step in a fresh process:
  * prepare - writes a patent file of N data rows (the cheapest valid row: title, application number with a valid
              check character, type, filing date, legal status; 1 row in 100 has a wrong check character, so the
              error path is measured too), creates a firm and its user, and creates the job through
              registry.imports.services.import_job_create as the API does (the on-commit task is not run);
  * run     - runs registry.imports.services.import_job_run (what the Celery task calls) and reports its wall
              time, the SQL statements it sent and the process's peak resident memory (ru_maxrss) before and
              after the run; with --tracemalloc also the peak of the Python heap during the run (which slows
              the run: its rows/s are then not comparable).
Memory must not grow with the file: the table ends with the peak at the largest size against the smallest.

    .venv/bin/python bench/import_rows.py                                # 10,000 and 100,000 rows, CSV and XLSX
    .venv/bin/python bench/import_rows.py --sizes 2000 --formats csv     # quicker
    .venv/bin/python bench/import_rows.py --databases postgres sqlite --tracemalloc
Results are printed as a table and appended to bench/RESULTS.md with the machine, the date and the command. The
settings are config.settings.base with DEBUG off (no query log). The PostgreSQL database is dropped at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
PG = os.environ.get("BENCH_IMPORT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/softasset_bench_import")
SETTINGS = "config.settings.base"
HEADER = ["title", "number", "patent_type", "filing_date", "legal_status"]
INVALID_EVERY = 100  # one row in 100 has a wrong check character


def env(database_url: str, media_root: str) -> dict[str, str]:
    drop = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DATABASE_POOL", "CONN_MAX_AGE", "DEBUG")
    base = {k: v for k, v in os.environ.items() if k not in drop}
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": media_root,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }


def psql(sql: str) -> None:
    admin = PG.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-q", "-c", sql], check=True, capture_output=True)


def fresh_database(database: str, workdir: Path) -> str:
    if database == "postgres":
        name = PG.rsplit("/", 1)[1]
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        psql(f'CREATE DATABASE "{name}"')
        url = PG
    else:
        path = workdir / "bench.sqlite3"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    subprocess.run(
        [PY, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env(url, str(workdir / "media")),
        capture_output=True,
        check=True,
    )
    return url


def child(step: str, database_url: str, workdir: Path, **options: Any) -> dict[str, Any]:
    """Run one step of this script in a fresh process; it prints one JSON line last."""
    out = subprocess.run(
        [PY, __file__, "--child", step, "--options", json.dumps(options)],
        cwd=ROOT,
        env=env(database_url, str(workdir / "media")),
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stdout + out.stderr)
        raise SystemExit(f"{step} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- child steps (run in their own process) ---------------------------------------------------------------


def _patent_row(serial: int) -> list[str]:
    from registry.identifiers import patent_number_build

    number = patent_number_build(f"20192{serial:07d}")  # a utility model: pending needs no grant date
    if serial % INVALID_EVERY == 0:
        digits, check = number.split(".")
        number = f"{digits}.{'0' if check != '0' else '1'}"  # wrong check character: a row error
    return [f"高效散热结构 {serial}", number, "utility_model", "2019-03-15", "pending"]


def _write_file(path: Path, file_format: str, rows: int) -> None:
    if file_format == "csv":
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(HEADER)
            for serial in range(1, rows + 1):
                writer.writerow(_patent_row(serial))
        return
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("patent")
    sheet.append(HEADER)
    for serial in range(1, rows + 1):
        sheet.append(_patent_row(serial))
    workbook.save(path)


def step_prepare(rows: int, file_format: str, folder: str) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.files import File

    from common.audit import system_actor
    from config.celery import app
    from registry.identifiers import uscc_build
    from registry.imports.services import import_job_create
    from registry.models import User
    from registry.services import firm_create

    app.conf.task_always_eager = False  # create the job without running it on commit (the run step does)
    path = Path(folder) / f"patents-{rows}.{file_format}"
    _write_file(path, file_format, rows)
    actor = system_actor("bench")
    uscc = uscc_build("91420100MA4K00001")
    firm = firm_create(uscc=uscc, name="基准测试企业", industry_code="OPTO_ELEC", actor=actor)
    user = User.objects.create(username="bench-importer", role=User.Role.FIRM_ADMIN, firm=firm)
    with path.open("rb") as fileobj:
        job = import_job_create(
            firm=firm, user=user, actor=user.as_actor, kind="patent", uploaded_file=File(fileobj, name=path.name)
        )
    return {"job_id": job.pk, "file_bytes": path.stat().st_size}


def step_run(job_id: int, trace: bool, profile: str) -> dict[str, Any]:
    import django

    django.setup()
    import tracemalloc

    from django.conf import settings
    from django.db import connection

    from registry.imports import services
    from registry.models import ImportJob

    if settings.DEBUG:
        raise SystemExit("the benchmark must run with DEBUG off (DEBUG keeps every query in memory)")
    connection.ensure_connection()
    queries = 0

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    with connection.execute_wrapper(count):
        services.import_job_run(job_id=job_id)
    elapsed = time.perf_counter() - start
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    heap_peak = tracemalloc.get_traced_memory()[1] if trace else None
    if trace:
        tracemalloc.stop()
    job = ImportJob.objects.get(pk=job_id)
    return {
        "seconds": elapsed,
        "rss_before_kib": rss_before,
        "rss_peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "heap_peak_bytes": heap_peak,
        "queries": queries,
        "status": job.status,
        "total": job.total,
        "created": job.created_count,
        "unchanged": job.unchanged_count,
        "failed": job.failed_count,
        "message": job.message,
    }


# --- parent -----------------------------------------------------------------------------------------------


def measure(database: str, file_format: str, rows: int, *, trace: bool, profile: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        workdir = Path(tmp)
        url = fresh_database(database, workdir)
        prepared = child("prepare", url, workdir, rows=rows, file_format=file_format, folder=tmp)
        result = child("run", url, workdir, job_id=prepared["job_id"], trace=trace, profile=profile)
    expected_failed = rows // INVALID_EVERY
    if (result["status"], result["total"], result["failed"], result["created"]) != (
        "succeeded",
        rows,
        expected_failed,
        rows - expected_failed,
    ):
        raise SystemExit(f"unexpected outcome: {result}")
    return {"database": database, "format": file_format, "rows": rows, **prepared, **result}


def table(results: list[dict[str, Any]], *, trace: bool) -> str:
    header = ["database", "format", "rows", "file MiB", "s", "rows/s", "queries/row", "RSS before MiB", "RSS peak MiB"]
    if trace:
        header.append("heap peak MiB (tracemalloc)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in results:
        cells = [
            r["database"],
            r["format"],
            f"{r['rows']:,}",
            f"{r['file_bytes'] / 2**20:.1f}",
            f"{r['seconds']:.1f}",
            f"{r['rows'] / r['seconds']:.0f}",
            f"{r['queries'] / r['rows']:.2f}",
            f"{r['rss_before_kib'] / 1024:.0f}",
            f"{r['rss_peak_kib'] / 1024:.0f}",
        ]
        if trace:
            cells.append(f"{r['heap_peak_bytes'] / 2**20:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdicts(results: list[dict[str, Any]], *, trace: bool) -> list[str]:
    """Per database and format: the peak at the largest size against the smallest (flat means streaming)."""
    out = []
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["database"], r["format"]), []).append(r)
    for (database, file_format), rs in groups.items():
        if len(rs) < 2:
            continue
        small, large = min(rs, key=lambda r: r["rows"]), max(rs, key=lambda r: r["rows"])
        growth = (large["rss_peak_kib"] - large["rss_before_kib"]) - (small["rss_peak_kib"] - small["rss_before_kib"])
        line = (
            f"- {database} {file_format}: RSS peak {large['rss_peak_kib'] / 1024:.0f} MiB at {large['rows']:,} rows "
            f"against {small['rss_peak_kib'] / 1024:.0f} MiB at {small['rows']:,} "
            f"({large['rss_peak_kib'] / small['rss_peak_kib']:.2f}x for {large['rows'] / small['rows']:.0f}x the rows; "
            f"growth during the run {growth / 1024:+.1f} MiB, "
            f"{growth * 1024 / (large['rows'] - small['rows']):+.0f} bytes per extra row)"
        )
        if trace:
            line += (
                f"; heap peak {large['heap_peak_bytes'] / 2**20:.1f} against {small['heap_peak_bytes'] / 2**20:.1f} MiB"
            )
        out.append(line + ".")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--formats", nargs="+", choices=["csv", "xlsx"], default=["csv", "xlsx"])
    parser.add_argument("--databases", nargs="+", choices=["postgres", "sqlite"], default=["postgres"])
    parser.add_argument("--tracemalloc", action="store_true", help="also the Python heap peak (slows the run)")
    parser.add_argument("--profile", default="", help="write a cProfile of the first run to this file")
    parser.add_argument("--no-results", action="store_true", help="do not append to bench/RESULTS.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--options", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        step = {"prepare": step_prepare, "run": step_run}[args.child]
        print(json.dumps(step(**json.loads(args.options))))
        return

    results = []
    profile = args.profile and str(Path(args.profile).resolve())
    try:
        for database in args.databases:
            for file_format in args.formats:
                for rows in args.sizes:
                    print(f"== {database} {file_format} {rows:,} rows", flush=True)
                    r = measure(database, file_format, rows, trace=args.tracemalloc, profile=profile)
                    profile = ""
                    print(
                        f"   {r['seconds']:.1f} s, {r['rows'] / r['seconds']:.0f} rows/s, "
                        f"RSS peak {r['rss_peak_kib'] / 1024:.0f} MiB",
                        flush=True,
                    )
                    results.append(r)
    finally:
        if "postgres" in args.databases:
            psql(f'DROP DATABASE IF EXISTS "{PG.rsplit("/", 1)[1]}" WITH (FORCE)')

    text = table(results, trace=args.tracemalloc)
    notes = verdicts(results, trace=args.tracemalloc)
    print(text)
    print("\n".join(notes))
    if args.no_results:
        return
    machine = f"{platform.node()} ({os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()})"
    command = shlex.join([".venv/bin/python", "bench/import_rows.py", *sys.argv[1:]])
    with (ROOT / "bench" / "RESULTS.md").open("a") as f:
        f.write(
            f"\n## Bulk import, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
            f"Machine: {machine}. PostgreSQL on the same machine; DEBUG off; one fresh process per run.\n"
            f"Command: `{command}`\n\n"
            f"Patent rows, {100 // INVALID_EVERY}% with a wrong check character (row errors). RSS is ru_maxrss of "
            f"the process running import_job_run, before the run (Django loaded) and at its end.\n\n"
            f"{text}\n\n" + "\n".join(notes) + "\n"
        )


if __name__ == "__main__":
    main()
