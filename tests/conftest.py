"""Shared fixtures. The live-worker fixture starts a real Celery worker against Redis and the PostgreSQL test
database; those tests run in the service pass of `make test` and skip (saying why) elsewhere, unless
REQUIRE_SERVICES=1 makes a missing service a failure."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from rest_framework.test import APIClient

from tests.factories.registry import BankFactory, ReviewerFactory, UserFactory, api_key_for

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _broker_problem() -> str | None:
    url = settings.LIVE_BROKER_URL
    if not url:
        return "no REDIS_URL or CELERY_BROKER_URL set"
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:
        return f"Redis not reachable at {url} ({type(exc).__name__})"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    live = [item for item in items if "live_services" in item.keywords]
    if not live:
        return
    if not _is_postgres():
        reason = "needs PostgreSQL + Redis + a live worker: runs in the service pass of `make test`"
    else:
        problem = _broker_problem()
        if problem is None:
            return
        if REQUIRE_SERVICES:
            raise pytest.UsageError(f"REQUIRE_SERVICES=1 but {problem}")
        reason = f"service pass without a broker: {problem}"
    for item in live:
        item.add_marker(pytest.mark.skip(reason=reason))


@contextmanager
def audit_triggers_suspended(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Lift the audit table's append-only triggers inside one transaction, the way only the table's owner can:
    ``ALTER TABLE ... DISABLE TRIGGER`` on PostgreSQL (DDL, so the table stays locked for everyone else until
    the transaction ends), drop and re-create them on SQLite. Tests only: flush and simulated tampering."""
    from common.models import AuditEvent

    conn = connections[using]
    table = AuditEvent._meta.db_table
    with transaction.atomic(using=using):
        with conn.cursor() as cursor:
            if conn.vendor == "postgresql":
                cursor.execute(f"ALTER TABLE {conn.ops.quote_name(table)} DISABLE TRIGGER USER")
                restore = [f"ALTER TABLE {conn.ops.quote_name(table)} ENABLE TRIGGER USER"]
            else:
                cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table])
                saved = cursor.fetchall()
                for name, _sql in saved:
                    cursor.execute(f"DROP TRIGGER {conn.ops.quote_name(name)}")
                restore = [sql for _name, sql in saved]
        yield
        with conn.cursor() as cursor:
            for sql in restore:
                cursor.execute(sql)


@pytest.fixture(scope="session", autouse=True)
def _flush_lifts_audit_triggers() -> Iterator[None]:
    """Tests that commit (``transactional_db``) are cleaned up by ``flush`` (TRUNCATE on PostgreSQL, DELETE on
    SQLite), which the audit table's triggers refuse, as they must in production. In the suite only, flush runs
    with the triggers lifted for its own transaction."""
    from django.core.management.commands import flush

    original = flush.Command.handle

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        with audit_triggers_suspended(options.get("database") or DEFAULT_DB_ALIAS):
            return original(self, *args, **options)

    flush.Command.handle = handle
    try:
        yield
    finally:
        flush.Command.handle = original


@pytest.fixture
def audit_triggers_off() -> Callable[..., AbstractContextManager[None]]:
    """A context manager lifting the audit triggers (simulates someone with the table owner's rights)."""
    return audit_triggers_suspended


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def firm_user(db):  # type: ignore[no-untyped-def]
    return UserFactory()


@pytest.fixture
def reviewer(db):  # type: ignore[no-untyped-def]
    return ReviewerFactory(username="reviewer-a")


@pytest.fixture
def reviewer2(db):  # type: ignore[no-untyped-def]
    return ReviewerFactory(username="reviewer-b")


@pytest.fixture
def bank(db):  # type: ignore[no-untyped-def]
    return BankFactory(code="HBTEST", name="Hubei test bank")


@pytest.fixture
def bank_key(bank) -> str:  # type: ignore[no-untyped-def]
    return api_key_for(bank)


@pytest.fixture
def client_for() -> Callable[..., APIClient]:
    """A client authenticated as a person (token) or as a bank system (API key)."""

    def make(user=None, *, api_key: str | None = None) -> APIClient:  # type: ignore[no-untyped-def]
        client = APIClient()
        if api_key:
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
        elif user is not None:
            from rest_framework.authtoken.models import Token

            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@dataclass(frozen=True)
class LiveWorker:
    queue: str
    pid: int
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text()


@pytest.fixture(scope="session")
def live_worker(django_db_setup, django_db_blocker) -> Iterator[LiveWorker]:  # type: ignore[no-untyped-def]
    """A real Celery worker process (prefork, 2 children) over Redis, on the PostgreSQL test database."""
    from config.celery import app

    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    queue = f"softasset-test-{uuid.uuid4().hex[:8]}"
    db = settings.DATABASES["default"]
    url = (
        f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db_name}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": settings.LIVE_BROKER_URL,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "false",  # the worker enqueues chunks for its children, as in production
    }
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = url.replace("@", f":{db['PASSWORD']}@", 1)
    log_path = ROOT / "build" / f"worker-{queue}.log"
    log_path.parent.mkdir(exist_ok=True)
    log = log_path.open("w")
    proc = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            "-c",
            "2",
            "--pool",
            "prefork",
            "-n",
            f"{queue}@%h",
            "-l",
            "info",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while "ready." not in log_path.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the Celery worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)

    previous = (app.conf.task_always_eager, app.conf.task_default_queue, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    app.conf.broker_url = settings.LIVE_BROKER_URL
    try:
        yield LiveWorker(queue=queue, pid=proc.pid, log_path=log_path)
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue, app.conf.broker_url = previous
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
