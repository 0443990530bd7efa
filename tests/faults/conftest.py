"""Fixtures of the fault tests (marker ``faults``): private PostgreSQL and Redis instances started for this run
(tests/faults/services.py), the Django test database on that PostgreSQL, Celery workers and gunicorn on top, and the
figures each test reports.

The ordinary suite never runs these tests: they are deselected unless the run names tests/faults (``make
test-faults``, or ``pytest tests/faults``), and they refuse to share a run with other tests (the Django test
database of the whole session is moved to the private PostgreSQL). A missing redis-server or initdb skips them with
the reason, unless REQUIRE_SERVICES=1, which makes it a failure.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.services import (
    ROOT,
    AppProcess,
    PrivatePostgres,
    PrivateRedis,
    ServiceFailed,
    ServiceMissing,
    celery_worker,
)

FAULTS_DIR = Path(__file__).resolve().parent
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
BUILD = ROOT / "build" / "faults"
RESULTS = BUILD / "results.json"
QUEUE = "softasset-faults"
DB_NAME = "softasset_faults"

# Timings of the fault run, passed to every worker and web process (seconds). Production keeps the defaults of
# config/settings/base.py; docs/operations.md ("Failure modes") explains each.
VISIBILITY_TIMEOUT = 10
RESTORE_INTERVAL = 2
STALE_AFTER = 5

FIGURES: dict[str, dict[str, object]] = {}


# --- selection ---------------------------------------------------------------------------------------------


def _names_faults(config: pytest.Config) -> bool:
    base = Path(config.invocation_params.dir)
    for arg in config.args:
        path = (base / str(arg).split("::", 1)[0]).resolve()
        if path == FAULTS_DIR or FAULTS_DIR in path.parents:
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    faults = [item for item in items if item.get_closest_marker("faults")]
    if not faults:
        return
    if not _names_faults(config):
        config.hook.pytest_deselected(items=faults)
        items[:] = [item for item in items if not item.get_closest_marker("faults")]
        return
    if len(faults) != len(items):
        raise pytest.UsageError("Run the fault tests on their own: `make test-faults` or `pytest tests/faults`.")


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if not FIGURES:
        return
    terminalreporter.section("fault figures")
    for name, figures in FIGURES.items():
        terminalreporter.write_line(f"{name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    terminalreporter.write_line(f"(also in {RESULTS.relative_to(ROOT)})")


@pytest.fixture
def record_figures(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Keep a test's figures for the run's summary and build/faults/results.json."""

    def record(**figures: object) -> None:
        FIGURES[request.node.name] = figures
        BUILD.mkdir(parents=True, exist_ok=True)
        previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        previous[request.node.name] = {**figures, "recorded_at": time.strftime("%Y-%m-%d %H:%M:%S")}
        RESULTS.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")

    return record


# --- the private services ----------------------------------------------------------------------------------


@dataclass
class Services:
    workdir: Path
    redis: PrivateRedis
    postgres: PrivatePostgres

    @property
    def pid_dir(self) -> Path:
        return self.workdir / "pids"

    def app_env(self, **extra: str) -> dict[str, str]:
        """The environment of a worker or web process on the private services and the fault-run timings."""
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_POOL")}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings.test",
            DATABASE_URL=self.postgres.url(f"test_{DB_NAME}"),
            CELERY_BROKER_URL=self.redis.url(),
            CELERY_TASK_ALWAYS_EAGER="false",
            CELERY_TASK_DEFAULT_QUEUE=QUEUE,
            CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
            CELERY_UNACKED_RESTORE_INTERVAL=str(RESTORE_INTERVAL),
            VALUATION_JOB_STALE_AFTER_SECONDS=str(STALE_AFTER),
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env


def _unavailable(reason: str) -> None:
    message = f"fault tests need a private redis-server and PostgreSQL server binaries: {reason}"
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def private_services() -> Iterator[Services]:
    """Start a private Redis and a throwaway PostgreSQL cluster; stop and delete them at the end, whatever happens.

    FAULTS_WORKDIR (set by scripts/test-faults.sh, whose trap cleans up after a crash) names the directory to use;
    otherwise a temporary one is made."""
    given = os.environ.get("FAULTS_WORKDIR")
    workdir = Path(given) if given else Path(tempfile.mkdtemp(prefix="softasset-faults-"))
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o755)  # the postgres OS user must reach its data directory inside
    redis = postgres = None
    try:
        try:
            redis = PrivateRedis(workdir / "redis")
            PrivateRedis.binary()
            postgres = PrivatePostgres(workdir / "pg")
        except ServiceMissing as exc:
            _unavailable(str(exc))
        assert redis is not None
        assert postgres is not None
        redis.start()
        postgres.init()
        postgres.start()
        yield Services(workdir=workdir, redis=redis, postgres=postgres)
    finally:
        if redis is not None:
            redis.stop()
        if postgres is not None and postgres.is_running():
            with contextlib.suppress(ServiceFailed):
                postgres.stop("immediate")
        if not given:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(private_services: Services) -> None:
    """Point the session's database at the private cluster before pytest-django creates the test database."""
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    with contextlib.suppress(AttributeError):
        del connections["default"]  # a wrapper made from the old settings, if any
    db = settings.DATABASES["default"]
    db.update(
        ENGINE="django.db.backends.postgresql",
        NAME=DB_NAME,
        USER="postgres",
        PASSWORD="",
        HOST="127.0.0.1",
        PORT=str(private_services.postgres.port),
        OPTIONS={},
        CONN_MAX_AGE=0,
        CONN_HEALTH_CHECKS=True,
    )
    db.setdefault("TEST", {})["NAME"] = f"test_{DB_NAME}"


@pytest.fixture
def broker(private_services: Services) -> Iterator[PrivateRedis]:
    """This test process queues tasks on the private Redis (as the web process would), not in-process."""
    from config.celery import app

    previous = (app.conf.task_always_eager, app.conf.task_default_queue, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = QUEUE
    app.conf.broker_url = private_services.redis.url()
    try:
        yield private_services.redis
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue, app.conf.broker_url = previous


_worker_numbers = itertools.count(1)


@pytest.fixture
def start_worker(private_services: Services, broker: PrivateRedis) -> Iterator[Callable[..., AppProcess]]:
    """Start Celery workers (prefork, 2 children) on the private services; every one is stopped after the test."""
    started: list[AppProcess] = []

    def start(**env: str) -> AppProcess:
        worker = celery_worker(
            env=private_services.app_env(**env),
            queue=QUEUE,
            log_path=BUILD / f"worker-{next(_worker_numbers)}.log",
            pid_dir=private_services.pid_dir,
        )
        if worker.log_path.exists():
            worker.log_path.unlink()
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()
