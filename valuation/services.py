"""Valuation jobs and their review. The maths lives in valuation.methods (pure); this module moves data."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from common.audit import Actor, audit_record, system_actor
from common.exceptions import BusinessRuleViolation
from registry.models import Asset, User
from registry.services import asset_approved_content
from valuation.errors import AssetNotApproved, NothingToValue, SelfApprovalForbidden, ValuationWrongState
from valuation.methods import (
    DEFAULT_PARAMETERS,
    ValuationInput,
    ValuationNotPossible,
    ValuationOutcome,
    derive_seed,
    fingerprint,
    value_asset,
)
from valuation.models import Valuation, ValuationJob, ValuationJobItem

logger = logging.getLogger(__name__)

MAX_ASSETS_PER_REQUEST = 1000


# --- jobs ---------------------------------------------------------------------------------------------


@transaction.atomic
def valuation_job_create(*, assets: list[Asset], user: User | None, actor: Actor) -> ValuationJob:
    """Queue a job that values ``assets`` (already access-checked by the caller)."""
    if not assets:
        raise NothingToValue(_("Name at least one asset to value."), errors={"assets": [_("Empty list.")]})
    not_approved = sorted(a.pk for a in assets if not asset_is_valuable(a))
    if not_approved:
        raise AssetNotApproved(
            _("Only approved assets can be valued; not approved: %(ids)s.")
            % {"ids": ", ".join(map(str, not_approved))},
            extra={"assets": not_approved},
        )
    firms = {a.firm_id for a in assets}
    job = ValuationJob.objects.create(
        scope=ValuationJob.Scope.ASSETS,
        firm_id=firms.pop() if len(firms) == 1 else None,
        requested_by=user,
        total=len(assets),
    )
    ValuationJobItem.objects.bulk_create([ValuationJobItem(job=job, asset=a) for a in assets])
    audit_record(
        actor=actor,
        action="valuation_job.created",
        object_type="valuation_job",
        object_id=job.pk,
        after={"assets": sorted(a.pk for a in assets)},
    )
    valuation_job_enqueue(job_id=job.pk)
    return job


def valuation_job_enqueue(*, job_id: int) -> None:
    from valuation.tasks import valuation_job_run as valuation_job_run_task

    transaction.on_commit(lambda: valuation_job_run_task.delay(job_id))


def _stale_before() -> Any:
    return timezone.now() - timedelta(seconds=settings.VALUATION_JOB_STALE_AFTER_SECONDS)


@transaction.atomic
def valuation_job_claim(*, job_id: int) -> ValuationJob | None:
    """Move a queued job, or a running one whose worker went silent, to running. None: nothing to do."""
    job = ValuationJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None:
        logger.warning("valuation job %s does not exist (yet); skipping", job_id)
        return None
    stale = job.status == ValuationJob.Status.RUNNING and (
        job.heartbeat_at is None or job.heartbeat_at < _stale_before()
    )
    if job.status != ValuationJob.Status.QUEUED and not stale:
        return None
    now = timezone.now()
    job.status, job.attempts, job.heartbeat_at = ValuationJob.Status.RUNNING, job.attempts + 1, now
    job.started_at = job.started_at or now
    job.save(update_fields=["status", "attempts", "heartbeat_at", "started_at", "updated_at"])
    audit_record(
        actor=system_actor("valuation_worker"),
        action="valuation_job.running",
        object_type="valuation_job",
        object_id=job.pk,
        data={"attempt": job.attempts, "resumed": stale},
    )
    return job


def asset_is_valuable(asset: Asset) -> bool:
    """An asset can be valued once a version of it was approved, until it is retired."""
    return asset.approved_version is not None and asset.status != Asset.Status.RETIRED


def valuation_compute(*, asset: Asset, details: dict[str, Any], version: int) -> ValuationOutcome:
    """Pure computation for one approved asset version, seeded from the asset and its inputs (never the clock)."""
    inp = ValuationInput(kind=asset.kind, details=details, industry=asset.firm.industry_id, as_of=timezone.localdate())
    seed = derive_seed(
        asset_key=f"asset:{asset.pk}",
        inputs={"kind": asset.kind, "details": details, "industry": asset.firm.industry_id},
        parameter_set=DEFAULT_PARAMETERS.version,
    )
    return value_asset(inp, seed=seed, params=DEFAULT_PARAMETERS)


def _record_item(
    *,
    job: ValuationJob,
    item: ValuationJobItem,
    outcome: ValuationOutcome | None,
    version: int | None = None,
    error_code: str = "",
    error: str = "",
) -> None:
    with transaction.atomic():
        locked = ValuationJobItem.objects.select_for_update().get(pk=item.pk)
        if locked.status != ValuationJobItem.Status.PENDING:
            return  # written by an earlier delivery
        if outcome is not None:
            try:
                with transaction.atomic():
                    valuation = Valuation.objects.create(
                        asset=item.asset,
                        asset_version=version,
                        job=job,
                        value=outcome.value,
                        low=outcome.low,
                        high=outcome.high,
                        currency=outcome.currency,
                        method=outcome.method,
                        parameter_set=outcome.parameter_set,
                        engine_version=outcome.engine_version,
                        seed=outcome.seed,
                        inputs=outcome.inputs,
                        explanation=outcome.explanation,
                        fingerprint=fingerprint(
                            inputs=outcome.inputs,
                            parameter_set=outcome.parameter_set,
                            engine_version=outcome.engine_version,
                            seed=outcome.seed,
                            value=outcome.value,
                            low=outcome.low,
                            high=outcome.high,
                        ),
                        requested_by=job.requested_by,
                    )
            except IntegrityError:
                valuation = Valuation.objects.get(job=job, asset=item.asset)
            locked.status = ValuationJobItem.Status.DONE
            audit_record(
                actor=system_actor("valuation_worker"),
                action="valuation.computed",
                object_type="valuation",
                object_id=valuation.pk,
                after={
                    "asset": item.asset_id,
                    "value": valuation.value,
                    "low": valuation.low,
                    "high": valuation.high,
                    "method": valuation.method,
                },
            )
        else:
            locked.status, locked.error_code, locked.error = ValuationJobItem.Status.FAILED, error_code, error
        locked.save(update_fields=["status", "error_code", "error"])
        ValuationJob.objects.filter(pk=job.pk).update(
            done=F("done") + 1,
            failed_count=F("failed_count") + (1 if outcome is None else 0),
            heartbeat_at=timezone.now(),
        )


def valuation_job_run(*, job_id: int) -> None:
    """Run a job to the end. Safe to call again: items already written are skipped (database uniqueness)."""
    job = valuation_job_claim(job_id=job_id)
    if job is None:
        return
    items = (
        ValuationJobItem.objects.filter(job=job, status=ValuationJobItem.Status.PENDING)
        .select_related("asset__firm")
        .order_by("pk")
    )
    for item in items.iterator(chunk_size=200):
        approved = asset_approved_content(item.asset)
        if approved is None or item.asset.status == Asset.Status.RETIRED:
            _record_item(
                job=job,
                item=item,
                outcome=None,
                error_code="asset_not_approved",
                error=_("The asset has no approved version (or was retired) any more."),
            )
            continue
        try:
            outcome = valuation_compute(asset=item.asset, details=approved.details, version=approved.number)
        except ValuationNotPossible as exc:
            _record_item(job=job, item=item, outcome=None, error_code=exc.code, error=str(exc))
            continue
        except Exception as exc:
            logger.exception("valuation of asset %s in job %s failed", item.asset_id, job.pk)
            _record_item(
                job=job,
                item=item,
                outcome=None,
                error_code="internal_error",
                error=f"{type(exc).__name__}: {exc}"[:500],
            )
            continue
        _record_item(job=job, item=item, outcome=outcome, version=approved.number)
    valuation_job_finish(job_id=job.pk)


@transaction.atomic
def valuation_job_finish(*, job_id: int) -> ValuationJob:
    job = ValuationJob.objects.select_for_update().get(pk=job_id)
    if job.status != ValuationJob.Status.RUNNING:
        return job
    pending = job.items.filter(status=ValuationJobItem.Status.PENDING).count()
    if pending:
        return job  # another delivery is still working on it
    job.status = (
        ValuationJob.Status.FAILED if job.total and job.failed_count == job.total else (ValuationJob.Status.SUCCEEDED)
    )
    if job.status == ValuationJob.Status.FAILED:
        job.error = _("No asset of this job could be valued; see the per-asset errors.")
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at", "updated_at"])
    audit_record(
        actor=system_actor("valuation_worker"),
        action=f"valuation_job.{job.status}",
        object_type="valuation_job",
        object_id=job.pk,
        data={"done": job.done, "failed": job.failed_count, "total": job.total},
    )
    return job


def valuation_jobs_recover_stale() -> list[int]:
    """Re-enqueue jobs whose worker died (running, silent past the stale limit) or that never started."""
    stale = list(
        ValuationJob.objects.filter(
            Q(status=ValuationJob.Status.RUNNING, heartbeat_at__lt=_stale_before())
            | Q(status=ValuationJob.Status.QUEUED, created_at__lt=_stale_before())
        ).values_list("pk", flat=True)
    )
    from valuation.tasks import valuation_job_run as valuation_job_run_task

    for job_id in stale:
        valuation_job_run_task.delay(job_id)
    return stale


# --- review ----------------------------------------------------------------------------------------------


@transaction.atomic
def valuation_approve(*, valuation: Valuation, reviewer: User) -> Valuation:
    valuation = Valuation.objects.select_for_update().select_related("asset").get(pk=valuation.pk)
    if valuation.status != Valuation.Status.PENDING_REVIEW:
        raise ValuationWrongState(
            _("Only a valuation pending review can be approved; this one is %(s)s.") % {"s": valuation.status}
        )
    if valuation.requested_by_id == reviewer.pk:
        raise SelfApprovalForbidden(_("You requested this valuation, so another reviewer must approve it."))
    if not asset_is_valuable(valuation.asset):
        raise BusinessRuleViolation(_("The asset is no longer approved, so its valuation cannot be approved."))
    previous = (
        Valuation.objects.select_for_update().filter(asset=valuation.asset, status=Valuation.Status.APPROVED).first()
    )
    if previous is not None:
        previous.status = Valuation.Status.SUPERSEDED
        previous.save(update_fields=["status"])
        audit_record(
            actor=reviewer.as_actor,
            action="valuation.superseded",
            object_type="valuation",
            object_id=previous.pk,
            data={"by": valuation.pk},
        )
    valuation.status, valuation.reviewed_by, valuation.reviewed_at = (
        Valuation.Status.APPROVED,
        reviewer,
        timezone.now(),
    )
    valuation.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    audit_record(
        actor=reviewer.as_actor,
        action="valuation.approved",
        object_type="valuation",
        object_id=valuation.pk,
        before={"status": "pending_review"},
        after={"status": "approved"},
    )
    return valuation


@transaction.atomic
def valuation_reject(*, valuation: Valuation, reviewer: User, reason: str) -> Valuation:
    if not reason.strip():
        raise BusinessRuleViolation(
            _("A rejection needs a reason."), errors={"reason": [_("This field may not be blank.")]}
        )
    valuation = Valuation.objects.select_for_update().get(pk=valuation.pk)
    if valuation.status != Valuation.Status.PENDING_REVIEW:
        raise ValuationWrongState(
            _("Only a valuation pending review can be rejected; this one is %(s)s.") % {"s": valuation.status}
        )
    if valuation.requested_by_id == reviewer.pk:
        raise SelfApprovalForbidden(_("You requested this valuation, so another reviewer must decide it."))
    valuation.status, valuation.reviewed_by, valuation.reviewed_at = (
        Valuation.Status.REJECTED,
        reviewer,
        timezone.now(),
    )
    valuation.rejection_reason = reason.strip()
    valuation.save(update_fields=["status", "reviewed_by", "reviewed_at", "rejection_reason"])
    audit_record(
        actor=reviewer.as_actor,
        action="valuation.rejected",
        object_type="valuation",
        object_id=valuation.pk,
        data={"reason": valuation.rejection_reason},
    )
    return valuation
