"""Workers killed mid-valuation, on the private PostgreSQL and Redis: the job still finishes exactly once.

1. The pool children are SIGKILLed: their tasks fail with WorkerLostError and, rejected (reject_on_worker_lost),
   go straight back to the queue; the surviving main process forks new children.
2. The whole worker (main process and children, one SIGKILL to the process group, as an out-of-memory kill of its
   container) dies: the tasks it held stay unacknowledged in Redis until the visibility timeout, when a new worker
   puts them back in the queue (kombu's restore sweep). No sweeper is involved (the job is claimed once).
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from common.audit import system_actor
from tests.factories.bulk import approved_patents
from tests.factories.registry import FirmFactory
from tests.faults.conftest import RESTORE_INTERVAL, VISIBILITY_TIMEOUT
from tests.faults.jobs import FINISHED, assert_finished_exactly_once, wait_job
from tests.faults.services import wait_until
from valuation.models import ValuationJobItem
from valuation.services import valuation_job_create

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ASSETS = 1000
CHUNK = 50


def _job_midway(settings):  # type: ignore[no-untyped-def]
    settings.VALUATION_CHUNK_SIZE = CHUNK
    approved_patents(firm=FirmFactory(), count=ASSETS)
    job = valuation_job_create(everything=True, user=None, actor=system_actor("fault-test"))
    assert (job.total, job.chunks_total) == (ASSETS, ASSETS // CHUNK)
    return wait_job(job.pk, until=lambda j: j.done > 0, timeout=90, what="the first chunk")


def test_killed_worker_children_the_job_finishes_exactly_once(start_worker, settings, record_figures):
    worker = start_worker()
    job = _job_midway(settings)
    children = worker.children()
    assert len(children) == 2, "a prefork worker with two children"
    killed_at = time.monotonic()
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    assert ValuationJobItem.objects.filter(job=job, status="pending").exists(), "killed midway"

    finished = wait_job(job.pk, until=lambda j: j.status in FINISHED, timeout=180, what="the job to finish")
    recovered = time.monotonic() - killed_at

    assert_finished_exactly_once(job.pk, ASSETS)
    assert worker.proc.poll() is None, "the main process survived its children"
    assert not set(children) & set(worker.children()), "new children were forked"
    log = worker.log_text()
    assert "WorkerLostError" in log, "a chunk was lost with a child and redelivered"
    assert finished.attempts == 1
    record_figures(assets=ASSETS, children_killed=len(children), seconds_from_kill_to_finished=round(recovered, 1))


def test_killed_whole_worker_the_next_worker_finishes_the_job_exactly_once(
    start_worker, broker, settings, record_figures
):
    first = start_worker()
    job = _job_midway(settings)
    killed_at = time.monotonic()
    first.kill_group()  # SIGKILL to the main process and its children at once
    assert first.proc.returncode == -signal.SIGKILL

    pending = ValuationJobItem.objects.filter(job=job, status="pending").count()
    assert pending > 0, "killed midway"
    client = broker.client()
    held = client.hlen("unacked")
    assert held > 0, "the dead worker held unacknowledged tasks (they come back only after the visibility timeout)"

    second = start_worker()
    restarted_at = time.monotonic()
    finished = wait_job(job.pk, until=lambda j: j.status in FINISHED, timeout=180, what="the job to finish")
    done_at = time.monotonic()

    assert_finished_exactly_once(job.pk, ASSETS)
    assert finished.attempts == 1, "finished by redelivered messages alone, not restarted by the sweeper"
    # Every message the dead worker held was restored and acknowledged (the last ack follows the job's end).
    wait_until(lambda: client.hlen("unacked") == 0, timeout=30, what="no unacknowledged task left")
    assert second.proc.poll() is None
    record_figures(
        assets=ASSETS,
        pending_items_at_kill=pending,
        unacked_tasks_at_kill=held,
        visibility_timeout_s=VISIBILITY_TIMEOUT,
        restore_interval_s=RESTORE_INTERVAL,
        seconds_from_kill_to_finished=round(done_at - killed_at, 1),
        seconds_from_new_worker_to_finished=round(done_at - restarted_at, 1),
    )
