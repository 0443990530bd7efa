"""A valuation job over many assets on a live Celery worker over Redis and PostgreSQL. Midway, every worker child
is killed with SIGKILL: the chunks they held are redelivered and the job still finishes exactly once, with one
valuation per asset and no duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from common.audit import system_actor
from tests.factories.bulk import approved_patents
from tests.factories.registry import FirmFactory
from valuation.models import Valuation, ValuationJob, ValuationJobItem
from valuation.services import valuation_job_create

pytestmark = [pytest.mark.live_services, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)  # noqa: S603, S607 - fixed argv
    return [int(p) for p in out.stdout.split()]


def _wait(job_id: int, *, until, timeout: float) -> ValuationJob:
    deadline = time.monotonic() + timeout
    while True:
        job = ValuationJob.objects.get(pk=job_id)
        if until(job) or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_a_job_survives_killed_worker_children_without_duplicates(live_worker, settings):
    settings.VALUATION_CHUNK_SIZE = 100
    firm = FirmFactory()
    approved_patents(firm=firm, count=2000)

    job = valuation_job_create(everything=True, user=None, actor=system_actor("test"))
    assert (job.total, job.chunks_total) == (2000, 20)

    started = _wait(job.pk, until=lambda j: j.done > 0, timeout=60)
    assert 0 < started.done < started.total, "the job should be midway when the children are killed"
    killed = _children(live_worker.pid)
    assert killed, "the worker should have pool children"
    for pid in killed:
        os.kill(pid, signal.SIGKILL)

    finished = _wait(job.pk, until=lambda j: j.status in ("succeeded", "failed"), timeout=180)
    assert finished.status == "succeeded", (finished.status, finished.done, finished.total)
    assert (finished.done, finished.failed_count, finished.chunks_done) == (2000, 0, 20)
    assert Valuation.objects.filter(job=job).count() == 2000
    assert Valuation.objects.filter(job=job).values("asset").distinct().count() == 2000
    assert not ValuationJobItem.objects.filter(job=job).exclude(status="done").exists()
    assert "signal 9" in live_worker.log_text() or "WorkerLostError" in live_worker.log_text()
