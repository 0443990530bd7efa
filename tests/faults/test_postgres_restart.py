"""PostgreSQL stopped and started again under load, with the application served by gunicorn (2 workers) and a Celery
worker running: requests fail only while the database is away, the first ones after it is back succeed, and neither
gunicorn nor the worker is restarted (same process ids). A task queued after the restart is processed.

The load is one client in a loop: a read (GET /api/v1/assets/ as a firm user) and an audited write (POST
/api/v1/assets/), over real HTTP. Recovery rests on CONN_HEALTH_CHECKS (config/settings/base.py): a persistent
connection is checked before its first use in each request, a pooled one when it is taken from the pool, and
replaced when the server has gone away; the Celery worker opens a fresh connection for every task. (Without the
check, the psycopg pool handed out dead connections after the restart: 500s once the database was back.)
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

import pytest
from django.db import connections
from rest_framework.authtoken.models import Token

from registry.models import Asset
from tests.factories.bulk import approved_patents
from tests.factories.registry import UserFactory, next_patent_number, patent_details
from tests.faults.conftest import BUILD, Services
from tests.faults.jobs import FINISHED, wait_job
from tests.faults.services import free_port, gunicorn, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

OUTAGE = 3.0  # seconds between the stop and the start of PostgreSQL
GRACE = 1.0  # requests that start this long after the server is back must all succeed
AFTER = 6.0  # seconds of load after the restart
EXPECTED = {"GET": 200, "POST": 201}

_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # straight to 127.0.0.1, never via a proxy


@dataclass(frozen=True)
class Sample:
    method: str
    started: float
    ended: float
    status: int | None  # None: no HTTP answer at all
    body: bytes

    @property
    def ok(self) -> bool:
        return self.status == EXPECTED[self.method]


def _call(method: str, url: str, token: str, body: dict | None = None) -> tuple[int | None, bytes]:  # type: ignore[type-arg]
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    data = None
    if body is not None:
        headers |= {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
        data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - http://127.0.0.1
    try:
        with _http.open(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return None, b""


def _load(base: str, token: str, stop: threading.Event, samples: list[Sample]) -> None:
    while not stop.is_set():
        for method in ("GET", "POST"):
            body = None
            if method == "POST":
                body = {"kind": "patent", "title": "Load test patent", "details": patent_details(number=_number())}
            started = time.monotonic()
            status, content = _call(method, f"{base}/api/v1/assets/", token, body)
            samples.append(Sample(method, started, time.monotonic(), status, content))
        stop.wait(0.05)


def _number() -> str:
    return next_patent_number(year=2019)


def _value_through_api(base: str, token: str, asset_id: int) -> int:
    """Ask for a valuation over HTTP (the web process queues the job's task); wait for the worker to finish it."""
    status, content = _call("POST", f"{base}/api/v1/valuation-jobs/", token, {"assets": [asset_id]})
    assert status == 202, (status, content[:500])
    job_id = json.loads(content)["id"]
    job = wait_job(job_id, until=lambda j: j.status in FINISHED, timeout=60, what="the worker to run the job")
    assert job.status == "succeeded", (job.status, job.error)
    return job_id


@pytest.mark.parametrize("pool", [False, True], ids=["persistent-connections", "psycopg-pool"])
def test_postgres_restarted_under_load_errors_only_during_the_outage(
    private_services: Services, start_worker, record_figures, pool
):
    """Both database modes of config/settings/base.py: persistent connections (CONN_MAX_AGE) with health checks,
    and the psycopg pool (DATABASE_POOL=true, as docker-compose.yml runs production)."""
    postgres = private_services.postgres
    mode = {"DATABASE_POOL": "true"} if pool else {}
    worker = start_worker(**mode)
    user = UserFactory()
    token = Token.objects.create(user=user).key
    approved = approved_patents(firm=user.firm, count=2)
    port = free_port()
    web = gunicorn(
        env=private_services.app_env(**mode),
        port=port,
        log_path=BUILD / f"gunicorn-{'pool' if pool else 'persistent'}.log",
        pid_dir=private_services.pid_dir,
    )
    if web.log_path.exists():
        web.log_path.unlink()
    web.start()
    try:
        base = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            web.check_alive()
            return len(web.children()) == 2 and _call("GET", f"{base}/health/", token)[0] == 200

        wait_until(answers, timeout=60, interval=0.5, what="gunicorn and its two workers to answer")
        pids_before = {"gunicorn": (web.pid, web.children()), "worker": (worker.pid, worker.children())}
        _value_through_api(base, token, approved[0].pk)

        samples: list[Sample] = []
        stop = threading.Event()
        driver = threading.Thread(target=_load, args=(base, token, stop, samples), daemon=True)
        driver.start()
        try:
            wait_until(lambda: sum(s.ok for s in samples) >= 10, timeout=30, what="load before the outage")
            down = time.monotonic()
            postgres.stop("fast")
            stopped = time.monotonic()  # from here until `restarting` the server is certainly down
            time.sleep(OUTAGE)
            restarting = time.monotonic()
            postgres.start()
            up = time.monotonic()
            time.sleep(AFTER)
        finally:
            stop.set()
            driver.join(timeout=30)
        assert not driver.is_alive()
        connections.close_all()  # this process's own connection died with the server
        timeline = [
            {
                "method": s.method,
                "start": round(s.started - down, 2),
                "end": round(s.ended - down, 2),
                "status": s.status,
            }
            for s in samples
        ]
        (BUILD / f"load-{'pool' if pool else 'persistent'}.json").write_text(
            json.dumps({"outage": [0, round(up - down, 2)], "requests": timeline}, indent=1)
        )

        before = [s for s in samples if s.ended < down]
        during = [s for s in samples if s.ended >= down and s.started < up + GRACE]
        after = [s for s in samples if s.started >= up + GRACE]
        failed = [s for s in during if not s.ok]
        unexpected = [(s.method, s.status, s.body[:300]) for s in before + after if not s.ok]
        assert not unexpected, f"errors outside the outage: {unexpected}"
        assert all(s.status is None or s.status >= 500 for s in failed), {(s.method, s.status) for s in failed}
        # The outage was real: requests met it, and none of them succeeded while the server was down (each one
        # failed, or waited for a connection until the server was back: the pool's timeout outlasts the outage).
        assert [s for s in samples if s.started < up and s.ended > down], "no request met the outage"
        # (a request that started while `pg_ctl stop` was still shutting the server down may legitimately succeed)
        served = [s for s in samples if s.ok and stopped < s.started and s.ended < restarting]
        assert not served, "served without a database?"
        assert len(after) >= 5, "enough requests after the restart to show the recovery"
        first_ok = min(s.ended for s in samples if s.ended >= up and s.ok)

        # Nothing acknowledged was lost: every asset answered with 201 is in the database after the restart.
        created = [json.loads(s.body)["id"] for s in samples if s.method == "POST" and s.ok]
        assert Asset.objects.filter(pk__in=created).count() == len(created)

        # Same processes, still serving; and the worker still takes work queued through the web process.
        assert web.proc.poll() is None
        assert worker.proc.poll() is None
        after_pids = {"gunicorn": (web.pid, web.children()), "worker": (worker.pid, worker.children())}
        assert after_pids == pids_before, "no process was restarted"
        _value_through_api(base, token, approved[1].pk)
    finally:
        web.stop()

    record_figures(
        outage_s=round(up - down, 1),
        requests=len(samples),
        requests_meeting_outage=len(during),
        failed_during_outage=len(failed),
        failure_kinds=sorted({"no answer" if s.status is None else str(s.status) for s in failed}),
        longest_wait_s=round(max(s.ended - s.started for s in during), 1),
        seconds_to_first_success_after_restart=round(first_ok - up, 2),
        requests_after_recovery_all_ok=len(after),
    )
