"""Celery tasks: thin interfaces that take ids and call the same-named service. All are idempotent."""

from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(
    name="valuation.tasks.valuation_job_run",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
)
def valuation_job_run(job_id: int) -> None:
    from valuation import services

    services.valuation_job_run(job_id=job_id)


@shared_task(name="valuation.tasks.valuation_jobs_recover_stale")
def valuation_jobs_recover_stale() -> None:
    from valuation import services

    services.valuation_jobs_recover_stale()
