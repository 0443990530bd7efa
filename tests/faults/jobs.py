"""Valuation-job helpers shared by the fault tests."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connections

from tests.faults.services import ServiceFailed
from valuation.models import Valuation, ValuationJob, ValuationJobItem

FINISHED = (ValuationJob.Status.SUCCEEDED, ValuationJob.Status.FAILED)


def wait_job(job_id: int, *, until: Callable[[ValuationJob], bool], timeout: float, what: str) -> ValuationJob:
    """Poll the job row until ``until`` holds; fail with its last state after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        job = ValuationJob.objects.get(pk=job_id)
        if until(job):
            return job
        if time.monotonic() > deadline:
            raise ServiceFailed(
                f"timed out after {timeout:.0f} s waiting for {what}: job {job.pk} {job.status}, "
                f"{job.done}/{job.total} done, {job.chunks_done}/{job.chunks_total} chunks"
            )
        time.sleep(0.1)
        connections.close_all()  # a fresh connection each poll: the tests restart PostgreSQL under it


def assert_finished_exactly_once(job_id: int, assets: int) -> ValuationJob:
    """Succeeded, every asset valued once: no item left, none failed, no duplicate valuation."""
    job = ValuationJob.objects.get(pk=job_id)
    assert job.status == ValuationJob.Status.SUCCEEDED, (job.status, job.error)
    assert (job.total, job.done, job.failed_count, job.chunks_done) == (assets, assets, 0, job.chunks_total)
    valuations = Valuation.objects.filter(job_id=job_id)
    assert valuations.count() == assets
    assert valuations.values("asset").distinct().count() == assets
    assert ValuationJobItem.objects.filter(job_id=job_id, status=ValuationJobItem.Status.DONE).count() == assets
    return job
