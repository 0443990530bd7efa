"""What the benchmarks that run the service itself share (bench/limit_query.py, bench/list_pages.py): the
environment of config.settings.bench against one PostgreSQL database, `manage.py` in that environment, and psql
against the same server. Each script binds these to its own database URL."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SETTINGS = "config.settings.bench"
# One signing key for every process of a run (sessions and signing are not measured); never stored.
RUN_SECRET = secrets.token_urlsafe(50)
# Taken from the caller's environment by nothing: each benchmark sets its own database and connection mode.
DROPPED = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DATABASE_POOL", "CONN_MAX_AGE", "DEBUG")


def service_env(database_url: str, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in DROPPED}
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": RUN_SECRET,
        **extra,
    }


def manage(database_url: str, *args: str) -> str:
    env = service_env(database_url)
    out = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return out.stdout


def psql(database_url: str, sql: str, database: str = "postgres") -> None:
    """Run ``sql`` on ``database`` of the server of ``database_url`` (default: the maintenance database)."""
    url = database_url.rsplit("/", 1)[0] + "/" + database
    subprocess.run(["psql", url, "-q", "-c", sql], check=True, capture_output=True)
