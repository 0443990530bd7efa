"""Valuation jobs and their review. The maths lives in valuation.methods (pure); this module moves data.

A job lists its assets as items split into chunks. Starting a job sends one task per chunk; any number of
workers share them. A chunk reads its inputs in one query (values, no model instances), computes them in one
vectorised ``value_assets`` call without holding a transaction, then writes its valuations (COPY on
PostgreSQL), item states (one set-based UPDATE) and the job's counters in one short transaction that first
locks the chunk's pending items: a redelivered chunk finds nothing pending and writes nothing (and the unique
(job, asset) index would refuse a duplicate anyway). A chunk runs the same number of queries whatever its
size. The chunk whose write brings the job's counters to its total finishes it; no result backend or chord
is needed. A job whose worker died is resumed by the beat sweeper.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from common.audit import Actor, audit_record, system_actor
from common.exceptions import BusinessRuleViolation
from common.hooks import hooks_fire
from registry.models import Asset, AssetVersion, Firm, User
from valuation.errors import AssetNotApproved, NothingToValue, SelfApprovalForbidden, ValuationWrongState
from valuation.methods import (
    DEFAULT_PARAMETERS,
    Parameters,
    ValuationInput,
    ValuationNotPossible,
    ValuationOutcome,
    derive_seed,
    fingerprint,
    value_asset,
    value_assets,
)
from valuation.models import ParameterSet, Valuation, ValuationJob, ValuationJobItem, ValuationReview
from valuation.parameter_sets import parameter_set_copy, parameter_set_make_active

logger = logging.getLogger(__name__)

MAX_ASSETS_PER_REQUEST = 1000
WORKER = system_actor("valuation_worker")


# --- parameter sets ---------------------------------------------------------------------------------------


def parameter_set_active() -> ParameterSet:
    """The active valuation parameter set; the engine's defaults become the first one on first use."""
    active = ParameterSet.objects.filter(is_active=True).first()
    if active is not None:
        return active
    with transaction.atomic():
        active, _created = ParameterSet.objects.get_or_create(
            version=DEFAULT_PARAMETERS.version,
            defaults={"data": DEFAULT_PARAMETERS.as_dict(), "description": "Engine defaults (domain.md section 6)"},
        )
        if not ParameterSet.objects.filter(is_active=True).exists():
            ParameterSet.objects.filter(pk=active.pk).update(is_active=True)
            active.is_active = True
    return active


def parameters_of(parameter_set: ParameterSet) -> Parameters:
    return Parameters.from_dict(parameter_set.data)


def parameter_set_create_version(
    *, source: ParameterSet, version: str, data: dict[str, Any] | None, actor: Actor, user: User | None = None
) -> ParameterSet:
    """A new version from ``source`` (a used set is never edited in place). Validated by the engine."""
    return parameter_set_copy(
        source=source, version=version, data=data, check=Parameters.from_dict, actor=actor, user=user
    )


def parameter_set_activate(*, parameter_set: ParameterSet, actor: Actor) -> ParameterSet:
    return parameter_set_make_active(parameter_set=parameter_set, check=Parameters.from_dict, actor=actor)


# --- jobs ---------------------------------------------------------------------------------------------------


def asset_is_valuable(asset: Asset) -> bool:
    """An asset can be valued once a version of it was approved, until it is retired."""
    return asset.approved_version is not None and asset.status != Asset.Status.RETIRED


def valuable_assets() -> Any:
    return Asset.objects.filter(approved_version__isnull=False).exclude(status=Asset.Status.RETIRED)


@transaction.atomic
def valuation_job_create(
    *,
    assets: Iterable[Asset] | None = None,
    firm: Firm | None = None,
    everything: bool = False,
    user: User | None,
    actor: Actor,
    trigger: str = "request",
) -> ValuationJob:
    """Queue a job over listed assets (already access-checked by the caller), a firm's portfolio, or every
    approved asset of the province."""
    if everything:
        scope, ids = ValuationJob.Scope.ALL, list(valuable_assets().order_by("pk").values_list("pk", flat=True))
    elif firm is not None:
        scope = ValuationJob.Scope.FIRM
        ids = list(valuable_assets().filter(firm=firm).order_by("pk").values_list("pk", flat=True))
    else:
        listed = list(assets or [])
        if not listed:
            raise NothingToValue(_("Name at least one asset to value."), errors={"assets": [_("Empty list.")]})
        not_approved = sorted(a.pk for a in listed if not asset_is_valuable(a))
        if not_approved:
            raise AssetNotApproved(
                _("Only approved assets can be valued; not approved: %(ids)s.")
                % {"ids": ", ".join(map(str, not_approved))},
                extra={"assets": not_approved},
            )
        scope, ids = ValuationJob.Scope.ASSETS, sorted(a.pk for a in listed)
        firms = {a.firm_id for a in listed}
        firm = Firm(pk=firms.pop()) if len(firms) == 1 else None
    parameter_set = parameter_set_active()
    if parameter_set.first_used_at is None:
        ParameterSet.objects.filter(pk=parameter_set.pk, first_used_at__isnull=True).update(
            first_used_at=timezone.now()
        )
    chunk_size = settings.VALUATION_CHUNK_SIZE
    job = ValuationJob.objects.create(
        scope=scope,
        firm_id=firm.pk if firm is not None else None,
        requested_by=user,
        total=len(ids),
        parameter_set=parameter_set,
        trigger=trigger,
        chunk_size=chunk_size,
        chunks_total=(len(ids) + chunk_size - 1) // chunk_size,
    )
    ValuationJobItem.objects.bulk_create(
        [ValuationJobItem(job=job, asset_id=pk, chunk=i // chunk_size) for i, pk in enumerate(ids)],
        batch_size=5000,
    )
    audit_record(
        actor=actor,
        action="valuation_job.created",
        object_type="valuation_job",
        object_id=job.pk,
        data={
            "scope": scope,
            "total": len(ids),
            "trigger": trigger,
            "parameter_set": parameter_set.version,
            "assets": ids[:1000],
        },
    )
    if not ids:
        job.status, job.finished_at = ValuationJob.Status.SUCCEEDED, timezone.now()
        job.save(update_fields=["status", "finished_at", "updated_at"])
        return job
    valuation_job_enqueue(job_id=job.pk)
    return job


def valuation_job_enqueue(*, job_id: int) -> None:
    from valuation.tasks import valuation_job_start as valuation_job_start_task

    # robust: if the broker is down the request still succeeds (the job row is committed as queued) and the
    # valuation sweeper starts the job later; the failure is logged.
    transaction.on_commit(lambda: valuation_job_start_task.delay(job_id), robust=True)


def _stale_before() -> Any:
    return timezone.now() - timedelta(seconds=settings.VALUATION_JOB_STALE_AFTER_SECONDS)


@transaction.atomic
def valuation_job_claim(*, job_id: int) -> ValuationJob | None:
    """Move a queued job, or a running one whose workers went silent, to running. None: nothing to do."""
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
        actor=WORKER,
        action="valuation_job.running",
        object_type="valuation_job",
        object_id=job.pk,
        data={"attempt": job.attempts, "resumed": stale},
    )
    return job


def valuation_job_start(*, job_id: int) -> list[int]:
    """Claim the job and send one task per chunk that still has pending items. Returns those chunks.

    A redelivered start (its worker died after the claim) finds the job running and sends the pending chunks
    again: chunk tasks are idempotent, so a chunk sent twice is computed at most twice and written once."""
    job = valuation_job_claim(job_id=job_id)
    if job is None:
        job = ValuationJob.objects.filter(pk=job_id, status=ValuationJob.Status.RUNNING).first()
        if job is None:
            return []
    from valuation.tasks import valuation_chunk_run as valuation_chunk_run_task

    chunks = sorted(
        set(
            ValuationJobItem.objects.filter(job_id=job_id, status=ValuationJobItem.Status.PENDING).values_list(
                "chunk", flat=True
            )
        )
    )
    for chunk in chunks:
        valuation_chunk_run_task.delay(job_id, chunk)
    if not chunks:
        valuation_job_finish(job_id=job_id)
    return chunks


def valuation_job_run_inline(*, job_id: int) -> ValuationJob:
    """Run a whole job in this process (management commands, the demo seed): claim it, then every chunk."""
    valuation_job_claim(job_id=job_id)
    chunks = sorted(
        set(
            ValuationJobItem.objects.filter(job_id=job_id, status=ValuationJobItem.Status.PENDING).values_list(
                "chunk", flat=True
            )
        )
    )
    for chunk in chunks:
        valuation_chunk_run(job_id=job_id, chunk=chunk)
    _chunk_done(job_id=job_id)
    return ValuationJob.objects.get(pk=job_id)


def _seed(asset: Asset, details: dict[str, Any], params: Parameters) -> int:
    return _seed_of(asset_id=asset.pk, kind=asset.kind, details=details, industry=asset.firm.industry_id, params=params)


def _seed_of(*, asset_id: int, kind: str, details: Any, industry: str, params: Parameters) -> int:
    return derive_seed(
        asset_key=f"asset:{asset_id}",
        inputs={"kind": kind, "details": details, "industry": industry},
        parameter_set=params.version,
    )


def _required_approvals(value: Decimal) -> int:
    return 2 if value > settings.VALUATION_SECOND_REVIEWER_ABOVE else 1


@dataclass(frozen=True)
class _ChunkItem:
    """One pending item of a chunk with what valuing its asset needs (one row of the chunk's single read)."""

    pk: int
    asset_id: int
    firm_id: int
    kind: str
    retired: bool
    approved_version: int | None
    industry: str
    details: Any  # the approved version's details; None when that version does not exist


def _chunk_items(*, job_id: int, chunk: int) -> list[_ChunkItem]:
    """The chunk's pending items with their asset, firm industry and approved version's details: one query."""
    approved_details = AssetVersion.objects.filter(
        asset_id=OuterRef("asset_id"), number=OuterRef("asset__approved_version")
    ).values("details")[:1]
    rows = (
        ValuationJobItem.objects.filter(job_id=job_id, chunk=chunk, status=ValuationJobItem.Status.PENDING)
        .annotate(approved_details=Subquery(approved_details))
        .order_by("pk")
        .values_list(
            "pk",
            "asset_id",
            "asset__firm_id",
            "asset__kind",
            "asset__status",
            "asset__approved_version",
            "asset__firm__industry_id",
            "approved_details",
        )
    )
    items = []
    for pk, asset_id, firm_id, kind, status, approved_version, industry, details in rows:
        if isinstance(details, str):  # some backends hand a JSON subquery back as text
            details = json.loads(details)
        retired = status == Asset.Status.RETIRED
        items.append(_ChunkItem(pk, asset_id, firm_id, kind, retired, approved_version, industry, details))
    return items


def valuation_chunk_run(*, job_id: int, chunk: int) -> int:
    """Value one chunk of a job. Safe to run twice: returns the number of valuations this call wrote.

    Reads the chunk in one query, values it in one vectorised computation (``value_assets``) and writes it
    in a constant number of statements (COPY on PostgreSQL), whatever the chunk's size."""
    job = ValuationJob.objects.select_related("parameter_set").filter(pk=job_id).first()
    if job is None or job.status != ValuationJob.Status.RUNNING:
        return 0
    params = parameters_of(job.parameter_set) if job.parameter_set else DEFAULT_PARAMETERS
    items = _chunk_items(job_id=job_id, chunk=chunk)
    if not items:
        _chunk_done(job_id=job_id)
        return 0
    outcomes: dict[int, ValuationOutcome | tuple[str, str]] = {}
    batch: list[tuple[_ChunkItem, ValuationInput, int]] = []
    as_of = timezone.localdate()
    for item in items:  # computation happens outside any transaction
        if item.details is None or item.retired:
            outcomes[item.pk] = ("asset_not_approved", _("The asset has no approved version (or was retired)."))
            continue
        inp = ValuationInput(kind=item.kind, details=item.details, industry=item.industry, as_of=as_of)
        seed = _seed_of(
            asset_id=item.asset_id, kind=item.kind, details=item.details, industry=item.industry, params=params
        )
        batch.append((item, inp, seed))
    try:
        # One vectorised computation for the whole chunk (numpy arrays of assets x paths per method).
        results = value_assets([b[1] for b in batch], seeds=[b[2] for b in batch], params=params)
    except Exception:
        logger.exception("batch valuation of job %s chunk %s failed; valuing one by one", job_id, chunk)
        results = []
        for _item, inp, seed in batch:
            try:
                results.append(value_asset(inp, seed=seed, params=params))
            except ValuationNotPossible as exc:
                results.append(exc)
            except Exception as exc:
                results.append(exc)
    for (item, _inp, _seed_value), result in zip(batch, results, strict=True):
        if isinstance(result, ValuationNotPossible):
            outcomes[item.pk] = (result.code, str(result))
        elif isinstance(result, Exception):
            logger.error("valuation of asset %s in job %s failed: %r", item.asset_id, job_id, result)
            outcomes[item.pk] = ("internal_error", f"{type(result).__name__}: {result}"[:500])
        else:
            outcomes[item.pk] = result
    written = _chunk_write(job=job, chunk=chunk, items=items, outcomes=outcomes)
    _chunk_done(job_id=job_id)
    return written


def _valuation_row(*, item: _ChunkItem, outcome: ValuationOutcome, job: ValuationJob, now: Any) -> dict[str, Any]:
    """A valuation's column values by attribute name (what ``Valuation(**row)`` takes)."""
    return {
        "asset_id": item.asset_id,
        "firm_id": item.firm_id,
        "asset_version": item.approved_version,
        "job_id": job.pk,
        "value": outcome.value,
        "low": outcome.low,
        "high": outcome.high,
        "currency": outcome.currency,
        "method": outcome.method,
        "parameter_set": outcome.parameter_set,
        "engine_version": outcome.engine_version,
        "seed": outcome.seed,
        "inputs": outcome.inputs,
        "explanation": outcome.explanation,
        "as_of": outcome.inputs.get("as_of"),
        "required_approvals": _required_approvals(outcome.value),
        "fingerprint": fingerprint(
            inputs=outcome.inputs,
            parameter_set=outcome.parameter_set,
            engine_version=outcome.engine_version,
            seed=outcome.seed,
            value=outcome.value,
            low=outcome.low,
            high=outcome.high,
        ),
        "requested_by_id": job.requested_by_id,
        "computed_at": now,
    }


def _valuations_insert(rows: list[dict[str, Any]]) -> None:
    """Insert valuation rows in one statement whatever their number: COPY on PostgreSQL (psycopg 3), one
    ``executemany`` INSERT elsewhere. The columns a row does not name take their model defaults."""
    connection = transaction.get_connection()
    fields = [f for f in Valuation._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields}
    table = connection.ops.quote_name(Valuation._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(
                        [
                            json.dumps(row[f.attname])
                            if f.attname in json_fields
                            else row.get(f.attname, defaults[f.attname])
                            for f in fields
                        ]
                    )
            return
        placeholders = ", ".join(["%s"] * len(fields))
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608 - names from the model
            [[f.get_db_prep_save(row.get(f.attname, defaults[f.attname]), connection) for f in fields] for row in rows],
        )


@transaction.atomic
def _chunk_write(
    *,
    job: ValuationJob,
    chunk: int,
    items: list[_ChunkItem],
    outcomes: dict[int, ValuationOutcome | tuple[str, str]],
) -> int:
    pending = set(
        ValuationJobItem.objects.select_for_update()
        .filter(job_id=job.pk, chunk=chunk, status=ValuationJobItem.Status.PENDING)
        .values_list("pk", flat=True)
    )
    if not pending:
        return 0  # a twin delivery wrote this chunk already
    now = timezone.now()
    rows, done, failed = [], [], []
    for item in items:
        if item.pk not in pending:
            continue
        outcome = outcomes[item.pk]
        if isinstance(outcome, tuple):
            failed.append(
                ValuationJobItem(
                    pk=item.pk, status=ValuationJobItem.Status.FAILED, error_code=outcome[0], error=outcome[1]
                )
            )
            continue
        done.append(item)
        rows.append(_valuation_row(item=item, outcome=outcome, job=job, now=now))
    if rows:
        _valuations_insert(rows)
    if failed:
        ValuationJobItem.objects.bulk_update(failed, ["status", "error_code", "error"], batch_size=1000)
    # Set-based: the chunk's other pending items (those valued) are done, in one UPDATE whatever their number.
    ValuationJobItem.objects.filter(job_id=job.pk, chunk=chunk, status=ValuationJobItem.Status.PENDING).update(
        status=ValuationJobItem.Status.DONE
    )
    ValuationJob.objects.filter(pk=job.pk).update(
        done=F("done") + len(done) + len(failed),
        failed_count=F("failed_count") + len(failed),
        chunks_done=F("chunks_done") + 1,  # a chunk is written once (twins find nothing pending above)
        heartbeat_at=timezone.now(),
    )
    audit_record(
        actor=WORKER,
        action="valuation.chunk_computed",
        object_type="valuation_job",
        object_id=job.pk,
        data={"chunk": chunk, "valued": len(done), "failed": len(failed), "assets": [i.asset_id for i in done][:1000]},
    )
    return len(rows)


def _chunk_done(*, job_id: int) -> None:
    """The call that finds every item of the job done or failed finishes it.

    Read from the job's counters (one primary-key read), which each chunk's write moves in the transaction that
    sets its items' states: a cost per chunk that does not grow with the job (counting the pending chunks
    scanned the job's items, so a job's total cost grew with its size squared)."""
    counters = ValuationJob.objects.filter(pk=job_id).values_list("done", "total").first()
    if counters is not None and counters[0] >= counters[1]:
        valuation_job_finish(job_id=job_id)


@transaction.atomic
def valuation_job_finish(*, job_id: int) -> ValuationJob:
    job = ValuationJob.objects.select_for_update().get(pk=job_id)
    if job.status != ValuationJob.Status.RUNNING:
        return job
    if job.items.filter(status=ValuationJobItem.Status.PENDING).exists():
        return job  # other chunks are still being worked on
    job.status = (
        ValuationJob.Status.FAILED if job.total and job.failed_count == job.total else ValuationJob.Status.SUCCEEDED
    )
    if job.status == ValuationJob.Status.FAILED:
        job.error = _("No asset of this job could be valued; see the per-asset errors.")
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at", "updated_at"])
    audit_record(
        actor=WORKER,
        action=f"valuation_job.{job.status}",
        object_type="valuation_job",
        object_id=job.pk,
        data={"done": job.done, "failed": job.failed_count, "total": job.total},
    )
    return job


def valuation_jobs_recover_stale() -> list[int]:
    """Restart jobs whose workers died (running, silent past the stale limit) or that never started."""
    stale = list(
        ValuationJob.objects.filter(
            Q(status=ValuationJob.Status.RUNNING, heartbeat_at__lt=_stale_before())
            | Q(status=ValuationJob.Status.QUEUED, created_at__lt=_stale_before())
        ).values_list("pk", flat=True)
    )
    from valuation.tasks import valuation_job_start as valuation_job_start_task

    for job_id in stale:
        valuation_job_start_task.delay(job_id)
    return stale


def valuation_revalue_all(*, trigger: str = "nightly") -> ValuationJob:
    return valuation_job_create(everything=True, user=None, actor=system_actor("nightly_revaluation"), trigger=trigger)


def valuation_revalue_asset(*, asset_id: int) -> ValuationJob | None:
    """A new approved version needs a valuation of its own (triggered by the registry's hook)."""
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None or not asset_is_valuable(asset):
        return None
    return valuation_job_create(
        assets=[asset], user=None, actor=system_actor("approved_version_changed"), trigger="approved_version_changed"
    )


# --- review ---------------------------------------------------------------------------------------------


@transaction.atomic
def valuation_approve(*, valuation: Valuation, reviewer: User) -> Valuation:
    """Record an approval; the valuation is approved once ``required_approvals`` different reviewers agreed, and
    then supersedes the asset's previous approved valuation."""
    valuation = Valuation.objects.select_for_update().select_related("asset").get(pk=valuation.pk)
    if valuation.status != Valuation.Status.PENDING_REVIEW:
        raise ValuationWrongState(
            _("Only a valuation pending review can be approved; this one is %(s)s.") % {"s": valuation.status}
        )
    if valuation.requested_by_id == reviewer.pk:
        raise SelfApprovalForbidden(_("You requested this valuation, so another reviewer must approve it."))
    if ValuationReview.objects.filter(valuation=valuation, reviewer=reviewer).exists():
        raise SelfApprovalForbidden(_("You already approved this valuation; a different reviewer must add theirs."))
    if not asset_is_valuable(valuation.asset):
        raise BusinessRuleViolation(_("The asset is no longer approved, so its valuation cannot be approved."))
    if valuation.asset_version != valuation.asset.approved_version:
        raise ValuationWrongState(
            _("This valuation is of version %(v)s, but version %(a)s of the asset is now approved; value that one.")
            % {"v": valuation.asset_version, "a": valuation.asset.approved_version}
        )
    ValuationReview.objects.create(valuation=valuation, reviewer=reviewer, decision="approved")
    approvals = ValuationReview.objects.filter(valuation=valuation, decision="approved").count()
    if approvals < valuation.required_approvals:
        audit_record(
            actor=reviewer.as_actor,
            action="valuation.approval_recorded",
            object_type="valuation",
            object_id=valuation.pk,
            data={"approvals": approvals, "required": valuation.required_approvals},
        )
        return valuation
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
        data={"approvals": approvals},
    )
    hooks_fire("valuation_approved", valuation_id=valuation.pk)
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
    ValuationReview.objects.update_or_create(
        valuation=valuation, reviewer=reviewer, defaults={"decision": "rejected", "reason": reason.strip()}
    )
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


# --- verification ---------------------------------------------------------------------------------------


def valuation_verify(*, valuation: Valuation) -> dict[str, Any]:
    """Recompute a stored valuation from its inputs snapshot, parameter set and seed; report every difference."""
    parameter_set = ParameterSet.objects.filter(version=valuation.parameter_set).first()
    params = (
        parameters_of(parameter_set)
        if parameter_set
        else (DEFAULT_PARAMETERS if valuation.parameter_set == DEFAULT_PARAMETERS.version else None)
    )
    if params is None:
        return {"ok": False, "differences": {"parameter_set": f"version {valuation.parameter_set} is not stored"}}
    inputs = valuation.inputs
    inp = ValuationInput(
        kind=inputs["kind"],
        details=inputs["details"],
        industry=inputs["industry"],
        as_of=timezone.datetime.fromisoformat(inputs["as_of"]).date(),
    )
    outcome = value_asset(inp, seed=valuation.seed, params=params)
    recomputed = {
        "value": outcome.value,
        "low": outcome.low,
        "high": outcome.high,
        "method": outcome.method,
        "engine_version": outcome.engine_version,
        "fingerprint": fingerprint(
            inputs=outcome.inputs,
            parameter_set=outcome.parameter_set,
            engine_version=outcome.engine_version,
            seed=outcome.seed,
            value=outcome.value,
            low=outcome.low,
            high=outcome.high,
        ),
    }
    stored = {k: getattr(valuation, k) for k in recomputed}
    differences = {k: {"stored": str(stored[k]), "recomputed": str(v)} for k, v in recomputed.items() if stored[k] != v}
    return {"ok": not differences, "differences": differences, "recomputed": recomputed}
