"""Celery tasks: thin interfaces that take ids and call the same-named service. All are idempotent."""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

TRANSIENT = (OperationalError, InterfaceError)

logger = logging.getLogger("softasset.email")


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


# --- innovation points (valuation.innovation) -------------------------------------------------------------
# A change of indicators recomputes its year: the registry fires hooks_fire("firm_indicators_changed", year=year)
# and settings.DOMAIN_HOOKS enqueues this task on commit (the name is valuation.innovation's
# INNOVATION_SCORES_COMPUTE_TASK). Beat runs the yearly one on 1 April.


@shared_task(
    name="valuation.tasks.innovation_scores_compute",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
)
def innovation_scores_compute(year: int) -> None:
    from common.audit import system_actor
    from valuation import innovation

    innovation.innovation_scores_compute(year=int(year), actor=system_actor("innovation_scores_compute"))


@shared_task(name="valuation.tasks.innovation_scores_compute_yearly")
def innovation_scores_compute_yearly() -> None:
    """Score last year (beat: 1 April, once annual reports are in)."""
    from django.utils import timezone

    from common.audit import system_actor
    from valuation import innovation

    year = timezone.localdate().year - 1
    innovation.innovation_scores_compute(year=year, actor=system_actor("innovation_scores_compute_yearly"))


@shared_task(
    name="valuation.tasks.valuation_approved_email",
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def valuation_approved_email(valuation_id: int) -> None:
    """E-mail the firm that a valuation of its asset was approved (each person in their language); sent once."""
    from valuation import notifications

    try:
        notifications.valuation_approved_email(valuation_id=valuation_id)
    except TRANSIENT:
        raise
    except Exception:  # an e-mail never fails the review that triggered it
        logger.exception("Valuation %s: approval e-mail failed", valuation_id)
