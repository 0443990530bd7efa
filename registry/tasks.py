"""Celery tasks of the registry: thin interfaces that take ids and call the same-named service. Idempotent."""

from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(
    name="registry.tasks.import_job_run",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
)
def import_job_run(job_id: int) -> None:
    from registry.imports import services

    services.import_job_run(job_id=job_id)


@shared_task(name="registry.tasks.import_jobs_recover_stale")
def import_jobs_recover_stale() -> None:
    from registry.imports import services

    services.import_jobs_recover_stale()


@shared_task(
    name="registry.tasks.asset_decision_email",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def asset_decision_email(asset_id: int, version: int, decision: str, reason: str = "") -> None:
    """E-mail the firm that its asset was approved or rejected (each person in their language); sent once."""
    from registry import notifications

    notifications.asset_decision_email(asset_id=asset_id, version=version, decision=decision, reason=reason)
