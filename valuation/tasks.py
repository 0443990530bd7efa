"""Celery tasks: thin interfaces that take ids and call the same-named service. All are idempotent."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

TRANSIENT = (OperationalError, InterfaceError)


@shared_task(
    name="valuation.tasks.valuation_job_start",
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
)
def valuation_job_start(job_id: int) -> None:
    from valuation import services

    services.valuation_job_start(job_id=job_id)


@shared_task(
    name="valuation.tasks.valuation_chunk_run",
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
)
def valuation_chunk_run(job_id: int, chunk: int) -> None:
    from valuation import services

    services.valuation_chunk_run(job_id=job_id, chunk=chunk)


@shared_task(name="valuation.tasks.valuation_jobs_recover_stale")
def valuation_jobs_recover_stale() -> None:
    from valuation import services

    services.valuation_jobs_recover_stale()


@shared_task(name="valuation.tasks.valuation_revalue_all")
def valuation_revalue_all() -> None:
    from valuation import services

    services.valuation_revalue_all()


@shared_task(name="valuation.tasks.valuation_revalue_asset", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def valuation_revalue_asset(asset_id: int) -> None:
    from valuation import services

    services.valuation_revalue_asset(asset_id=asset_id)
