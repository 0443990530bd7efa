"""Import jobs: create (store the upload, enqueue on commit), claim, run in batches, finish, recover.

A job streams its stored file and imports rows in batches of ``BATCH_SIZE``. Each batch is one transaction that
also advances ``processed``, the counts and the heartbeat and inserts the batch's row errors, so a crash loses at
most the batch in flight and the next delivery resumes after the last committed row. A row whose content the firm
already registered is ``unchanged``. The batch's new assets are written together (one INSERT for the assets, one
for their first versions, then their audit events) in one savepoint; if that fails (an identifier registered by
someone else meanwhile), the savepoint is rolled back and the batch's rows are created one by one through
``registry.services.asset_create``, each in its own savepoint, so a bad row never blocks the good ones and never
half-writes an asset. Memory is bounded by the batch, whatever the size of the file (a dry run also keeps its
:class:`DryRunLedger`).

Every write checks the job's lease (still ``running``, same ``attempts``, ``processed`` where this worker left
it), so a worker that went silent and was replaced cannot write twice.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any, NoReturn

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from common.api.exception_handler import flatten_errors
from common.audit import Actor, audit_record, system_actor
from registry.details import StrictSerializer, ValidDetails, details_validate
from registry.documents import original_name_clean
from registry.errors import IdentifierAlreadyRegistered
from registry.imports import columns, readers
from registry.imports.errors import ImportFileEmpty, ImportFileTooLarge, ImportFileUnsupported
from registry.models import Asset, Firm, ImportJob, ImportRowError, User
from registry.services import asset_create, assets_create_validated
from registry.versioning import content_hash

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
# A batch with at least this many new assets writes them with one statement per table; a lone new asset goes
# through asset_create, the service the API uses.
BULK_MIN_ASSETS = 2
CHANGE = "imported"  # AssetVersion.change and the audit event's data of an imported asset
# A run hands the job over to a fresh task before Celery's soft time limit would stop it mid-batch.
RUN_BUDGET_FRACTION = 0.8
WORKER = "import_worker"


# --- create ---------------------------------------------------------------------------------------------


def _digest(uploaded_file: UploadedFile, *, limit: int) -> str:
    sha = hashlib.sha256()
    size = 0
    for chunk in uploaded_file.chunks():
        size += len(chunk)
        if size > limit:
            _raise_too_large(limit)
        sha.update(chunk)
    uploaded_file.seek(0)
    return sha.hexdigest()


def _raise_too_large(limit: int) -> NoReturn:
    raise ImportFileTooLarge(
        _("The file is larger than the %(limit)s bytes an import may have.") % {"limit": limit},
        extra={"max_bytes": limit},
    )


def import_format_detect(*, uploaded_file: UploadedFile) -> str:
    """``csv``, ``xlsx`` or ``json`` from the content; refuses an empty file or a ZIP that is not a workbook."""
    uploaded_file.seek(0)
    head = uploaded_file.read(readers.HEAD_BYTES)
    uploaded_file.seek(0)
    if not head.removeprefix(readers.UTF8_BOM).strip(readers.BLANK_BYTES):
        raise ImportFileEmpty(_("The file is empty."), errors={"file": [_("The submitted file is empty.")]})
    file_format = readers.format_sniff(head)
    if file_format == ImportJob.Format.XLSX:
        parts = readers.zip_workbook_parts(uploaded_file)
        if parts is None:
            raise ImportFileUnsupported(
                _("The file is a ZIP archive but not an XLSX workbook; upload CSV, XLSX or JSON."),
                extra={"accepted_formats": [f.value for f in ImportJob.Format]},
            )
        # Reading a sheet streams, but its shared strings are held in memory: refuse a decompression bomb.
        limit = settings.IMPORT_MAX_BYTES
        if parts.get(readers.SHARED_STRINGS, 0) > limit:
            raise ImportFileTooLarge(
                _("The workbook's text unpacks to more than the %(limit)s bytes an import may have; save it as CSV.")
                % {"limit": limit},
                extra={"max_bytes": limit},
            )
    return file_format


def import_job_previous(*, job: ImportJob) -> ImportJob | None:
    """The first successful real import of the same bytes by the same firm, if any."""
    return (
        ImportJob.objects.filter(
            firm_id=job.firm_id, sha256=job.sha256, dry_run=False, status=ImportJob.Status.SUCCEEDED
        )
        .exclude(pk=job.pk)
        .order_by("finished_at", "pk")
        .first()
    )


def _already_imported(previous: ImportJob) -> str:
    when = timezone.localtime(previous.finished_at or previous.created_at).date()
    return _("This file was already imported by job %(job)s on %(date)s") % {
        "job": previous.pk,
        "date": when.isoformat(),
    }


@transaction.atomic
def import_job_create(
    *, firm: Firm, user: User | None, actor: Actor, kind: str, uploaded_file: UploadedFile, dry_run: bool = False
) -> ImportJob:
    """Store the upload, create the job and enqueue it once the transaction commits."""
    limit = settings.IMPORT_MAX_BYTES
    if (uploaded_file.size or 0) > limit:
        _raise_too_large(limit)
    file_format = import_format_detect(uploaded_file=uploaded_file)
    sha256 = _digest(uploaded_file, limit=limit)
    job = ImportJob(
        firm=firm,
        created_by=user,
        kind=kind,
        format=file_format,
        original_name=original_name_clean(uploaded_file.name),
        sha256=sha256,
        dry_run=dry_run,
    )
    previous = import_job_previous(job=job)
    if previous is not None:
        job.message = _already_imported(previous) + _(
            "; it is checked again and rows already registered are reported as unchanged."
        )
    job.file.save(f"{uuid.uuid4().hex}.{file_format}", uploaded_file, save=False)
    stored = job.file.name
    try:
        job.save()
        audit_record(
            actor=actor,
            action="import_job.created",
            object_type="import_job",
            object_id=job.pk,
            after={
                "kind": kind,
                "format": file_format,
                "dry_run": dry_run,
                "sha256": sha256,
                "original_name": job.original_name,
                "already_imported_by": previous.pk if previous else None,
            },
        )
    except BaseException:
        job.file.storage.delete(stored)
        raise
    import_job_enqueue(job_id=job.pk)
    return job


def import_job_enqueue(*, job_id: int) -> None:
    from registry.tasks import import_job_run as import_job_run_task

    # robust: if the broker is down the request still succeeds (the job row is committed as queued) and the
    # import sweeper starts the job later; the failure is logged.
    transaction.on_commit(lambda: import_job_run_task.delay(job_id), robust=True)


# --- claim, lease ----------------------------------------------------------------------------------------


class LeaseLost(Exception):
    """Another delivery took the job over (this worker was presumed dead); stop without writing."""


def _stale_before() -> datetime:
    return timezone.now() - timedelta(seconds=settings.IMPORT_JOB_STALE_AFTER_SECONDS)


@transaction.atomic
def import_job_claim(*, job_id: int) -> ImportJob | None:
    """Move a queued job, or a running one whose worker went silent, to running. None: nothing to do."""
    job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None:
        logger.warning("import job %s does not exist (yet); skipping", job_id)
        return None
    stale = job.status == ImportJob.Status.RUNNING and (job.heartbeat_at is None or job.heartbeat_at < _stale_before())
    if job.status != ImportJob.Status.QUEUED and not stale:
        return None
    now = timezone.now()
    job.status, job.attempts, job.heartbeat_at = ImportJob.Status.RUNNING, job.attempts + 1, now
    job.started_at = job.started_at or now
    job.save(update_fields=["status", "attempts", "heartbeat_at", "started_at", "updated_at"])
    audit_record(
        actor=system_actor(WORKER),
        action="import_job.running",
        object_type="import_job",
        object_id=job.pk,
        data={"attempt": job.attempts, "resumed": stale, "processed": job.processed},
    )
    return job


def _locked(job: ImportJob, *, processed: int | None = None) -> ImportJob:
    """The job row, locked, if this worker still holds it; otherwise :class:`LeaseLost`."""
    locked = ImportJob.objects.select_for_update().get(pk=job.pk)
    if (
        locked.status != ImportJob.Status.RUNNING
        or locked.attempts != job.attempts
        or (processed is not None and locked.processed != processed)
    ):
        raise LeaseLost(f"import job {job.pk} was taken over")
    return locked


# --- reading rows ----------------------------------------------------------------------------------------


class ImportFileError(Exception):
    """A file-level problem (unreadable, bad header): the job fails with this message."""


@contextmanager
def _opened(job: ImportJob) -> Iterator[IO[bytes]]:
    try:
        fileobj = job.file.open("rb")
    except OSError:
        raise ImportFileError(_("The uploaded file can no longer be read from storage.")) from None
    try:
        yield fileobj  # type: ignore[misc]
    finally:
        job.file.close()


@dataclass
class Record:
    """A data row as the API would take it, plus the problems found while reading its cells."""

    title: Any
    details: Any
    errors: list[tuple[str, str]] = field(default_factory=list)
    checkable: bool = True  # False: the item's shape is wrong, so its title and details are not looked at


class JsonRowSerializer(StrictSerializer):
    """The shape of one JSON item: what ``POST /api/v1/assets/`` takes (``kind`` optional, must match)."""

    kind = serializers.CharField(required=False)
    # ijson gives non-integer numbers as Decimal (never float): the encoder lets them through as they are
    title = serializers.JSONField(required=False, encoder=DjangoJSONEncoder)
    details = serializers.JSONField(required=False, encoder=DjangoJSONEncoder)


class RowSource:
    """The data rows of a job's file (header checked, blank rows skipped), numbered as the user sees them."""

    def __init__(self, job: ImportJob, fileobj: IO[bytes]) -> None:
        self.job = job
        self.fileobj = fileobj
        self.layout: columns.Layout | None = None

    def __iter__(self) -> Generator[tuple[int, Any], None, None]:
        try:
            if self.job.format == ImportJob.Format.JSON:
                yield from readers.json_items(self.fileobj)
                return
            raw = (
                readers.csv_rows(self.fileobj)
                if self.job.format == ImportJob.Format.CSV
                else readers.xlsx_rows(self.fileobj)
            )
            try:
                first = next(raw, None)
                try:
                    self.layout = columns.header_read(self.job.kind, first[1] if first else None)
                except columns.HeaderProblem as exc:
                    raise ImportFileError(str(exc)) from None
                for number, cells in raw:
                    if not columns.is_blank(cells):
                        yield number, cells
            finally:
                raw.close()  # release the reader while the file is still open
        except readers.FileUnreadable as exc:
            raise ImportFileError(str(exc)) from None

    def record(self, raw: Any) -> Record:
        if self.job.format != ImportJob.Format.JSON:
            assert self.layout is not None  # noqa: S101  (set when the header was read)
            table = columns.table_record(self.layout, raw)
            return Record(title=table.title, details=table.details, errors=table.errors)
        shape = JsonRowSerializer(data=raw)
        if not shape.is_valid():
            errors = [
                ("" if path == "non_field_errors" else path, message)
                for path, messages in flatten_errors(shape.errors).items()
                for message in messages
            ]
            return Record(title=None, details=None, errors=errors, checkable=False)
        data = shape.validated_data
        if "kind" in data and data["kind"] != self.job.kind:
            message = _("This import is for %(kind)s assets, not %(other)s.") % {
                "kind": self.job.kind,
                "other": data["kind"],
            }
            return Record(title=None, details=None, errors=[("kind", message)], checkable=False)
        errors = [] if "details" in data else [("details", _("This field is required."))]
        return Record(title=data.get("title", serializers.empty), details=data.get("details"), errors=errors)


def _batched(iterable: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(iterable)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


# --- deciding rows ---------------------------------------------------------------------------------------

TITLE_FIELD = serializers.CharField(max_length=200)


@dataclass
class Verdict:
    number: int
    errors: list[tuple[str, str]]
    title: str = ""
    details: Any = None
    valid: ValidDetails | None = None
    content_hash: str = ""


@dataclass
class Outcome:
    created: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)

    def fail(self, number: int, errors: list[tuple[str, str]]) -> None:
        self.failed += 1
        self.errors.extend((number, name, message) for name, message in errors)


@dataclass
class DryRunLedger:
    """What a dry run would have created so far: duplicates within the file are found without writing.
    Memory grows with the distinct rows of the file (a dry run only): about 300 bytes per row that would be created
    (a 64-character hash in a set, an identifier and a row number in a dict), 30 MB for 100,000 rows."""

    hashes: set[str] = field(default_factory=set)
    identifiers: dict[str, int] = field(default_factory=dict)


def _field_name(job: ImportJob, path: str) -> str:
    """An error path (``details.quality.accuracy``) as the user's file names it: the column for CSV and XLSX,
    the path itself for JSON."""
    if job.format == ImportJob.Format.JSON:
        return "" if path == "non_field_errors" else path
    return columns.error_column(job.kind, path)


def _validation_errors(job: ImportJob, exc: ValidationError) -> list[tuple[str, str]]:
    return [
        (_field_name(job, path)[:200], message)
        for path, messages in flatten_errors(exc.detail).items()
        for message in messages
    ]


def _evaluate(job: ImportJob, number: int, record: Record) -> Verdict:
    """Validate a row without touching the database."""
    errors = [(name[:200], message) for name, message in record.errors]
    if not record.checkable:
        return Verdict(number=number, errors=errors)
    title = ""
    try:
        title = TITLE_FIELD.run_validation(record.title if record.title is not None else serializers.empty)
    except ValidationError as exc:
        errors.extend(("title", message) for message in flatten_errors(exc.detail).get("non_field_errors", []))
    valid = None
    if record.details is not None:
        try:
            valid = details_validate(kind=job.kind, details=record.details)
        except ValidationError as exc:
            errors.extend(_validation_errors(job, exc))
    if not errors and valid is None:
        errors.append(("details" if job.format == ImportJob.Format.JSON else "", _("This field is required.")))
    if errors or valid is None:
        return Verdict(number=number, errors=errors)
    return Verdict(
        number=number,
        errors=[],
        title=title,
        details=record.details,
        valid=valid,
        content_hash=content_hash(kind=job.kind, title=title, details=valid.details),
    )


def _identifier_field(job: ImportJob) -> str:
    name = columns.IDENTIFIER_COLUMNS[job.kind]
    return f"details.{name}" if job.format == ImportJob.Format.JSON else name


def _identifier_value(job: ImportJob, valid: ValidDetails) -> str:
    value: Any = valid.details
    for key in columns.IDENTIFIER_COLUMNS[job.kind].split("."):
        value = value[key]
    return str(value)


def _already_registered(job: ImportJob, verdict: Verdict) -> list[tuple[str, str]]:
    assert verdict.valid is not None  # noqa: S101
    value = _identifier_value(job, verdict.valid)
    return [(_identifier_field(job), _("%(value)s is already registered in the registry.") % {"value": value})]


def _in_file_twice(job: ImportJob, verdict: Verdict, first_row: int) -> list[tuple[str, str]]:
    assert verdict.valid is not None  # noqa: S101
    message = _("%(value)s is already registered by row %(row)s of this file.") % {
        "value": _identifier_value(job, verdict.valid),
        "row": first_row,
    }
    return [(_identifier_field(job), message)]


def _actor(job: ImportJob) -> Actor:
    return job.created_by.as_actor if job.created_by is not None else system_actor(WORKER)


def _create(job: ImportJob, verdict: Verdict) -> list[tuple[str, str]]:
    """Create the row's asset in its own savepoint. Returns the row's errors: empty when it was created."""
    try:
        with transaction.atomic():  # a failing row leaves nothing behind
            asset_create(
                firm=job.firm,
                kind=job.kind,
                title=verdict.title,
                details=verdict.details,
                actor=_actor(job),
                user=job.created_by,
                change=CHANGE,
            )
    except IdentifierAlreadyRegistered:  # registered by someone else since the batch looked
        return _already_registered(job, verdict)
    except ValidationError as exc:
        return _validation_errors(job, exc)
    except (OperationalError, InterfaceError):
        raise  # the database is gone: the batch rolls back and the task retries
    except Exception as exc:
        logger.exception("import job %s: row %s failed unexpectedly", job.pk, verdict.number)
        return [("", _("This row could not be imported (internal error %(type)s).") % {"type": type(exc).__name__})]
    return []


def _create_in_bulk(job: ImportJob, verdicts: list[Verdict]) -> bool:
    """Create the assets of ``verdicts`` together (``assets_create_validated``: one INSERT for the assets, one for
    their versions, one audit event each, in one savepoint). False (and nothing written) if the database refused
    them, e.g. an identifier registered by another import since the batch looked: the caller then creates them one
    by one, which says which row failed and why."""
    items = []
    for verdict in verdicts:
        assert verdict.valid is not None  # noqa: S101
        items.append((verdict.title, verdict.valid))
    try:
        assets_create_validated(
            firm=job.firm, kind=job.kind, items=items, actor=_actor(job), user=job.created_by, change=CHANGE
        )
    except IntegrityError as exc:
        logger.info(
            "import job %s: a batch of %s assets was refused (%s); creating them one by one", job.pk, len(items), exc
        )
        return False
    return True


def _walk(
    job: ImportJob,
    verdicts: list[Verdict],
    ledger: DryRunLedger | None,
    *,
    known: set[str],
    taken: set[str],
    create: Callable[[Verdict], list[tuple[str, str]]],
) -> Outcome:
    """Decide each row in file order; ``create`` makes a new asset and returns its errors (empty: created)."""
    outcome = Outcome()
    for verdict in verdicts:
        if verdict.errors:
            outcome.fail(verdict.number, verdict.errors)
            continue
        assert verdict.valid is not None  # noqa: S101
        identifier = verdict.valid.identifier
        if verdict.content_hash in known or (ledger is not None and verdict.content_hash in ledger.hashes):
            outcome.unchanged += 1
        elif identifier and identifier in taken:
            outcome.fail(verdict.number, _already_registered(job, verdict))
        elif ledger is not None and identifier and identifier in ledger.identifiers:
            outcome.fail(verdict.number, _in_file_twice(job, verdict, ledger.identifiers[identifier]))
        elif ledger is not None:
            ledger.hashes.add(verdict.content_hash)
            if identifier:
                ledger.identifiers[identifier] = verdict.number
            outcome.created += 1
        elif errors := create(verdict):
            outcome.fail(verdict.number, errors)
        else:
            outcome.created += 1
            known.add(verdict.content_hash)
            if identifier:
                taken.add(identifier)
    return outcome


def _decide(job: ImportJob, verdicts: list[Verdict], ledger: DryRunLedger | None) -> Outcome:
    """Create the batch's new assets, or in a dry run (``ledger``) only say what would happen.

    A row whose content the firm already registered is unchanged; a row whose identifier belongs to another
    asset is an error on the identifier's column. Two look-ups per batch, not per row. The new assets are first
    planned (as if each creation succeeded) and written together; if the database refuses them, the rows are
    decided again from the same look-ups and created one by one.
    """
    valid = [v for v in verdicts if not v.errors]
    hashes = {v.content_hash for v in valid}
    identifiers = {v.valid.identifier for v in valid if v.valid and v.valid.identifier}
    known = set(
        Asset.objects.filter(firm_id=job.firm_id, content_hash__in=hashes).values_list("content_hash", flat=True)
    )
    taken = set(Asset.objects.filter(identifier__in=identifiers).values_list("identifier", flat=True))
    if ledger is None:
        planned: list[Verdict] = []

        def plan(verdict: Verdict) -> list[tuple[str, str]]:
            planned.append(verdict)
            return []

        outcome = _walk(job, verdicts, None, known=set(known), taken=set(taken), create=plan)
        if len(planned) >= BULK_MIN_ASSETS and _create_in_bulk(job, planned):
            return outcome
    return _walk(job, verdicts, ledger, known=known, taken=taken, create=lambda verdict: _create(job, verdict))


def _batch_commit(job: ImportJob, verdicts: list[Verdict], ledger: DryRunLedger | None, *, processed: int) -> None:
    """One transaction: the batch's assets, its row errors and the job's progress, or none of them."""
    with transaction.atomic():
        _locked(job, processed=processed)
        outcome = _decide(job, verdicts, ledger)
        ImportRowError.objects.bulk_create(
            [
                ImportRowError(job_id=job.pk, row=row, field=name, message=message)
                for row, name, message in outcome.errors
            ]
        )
        now = timezone.now()
        ImportJob.objects.filter(pk=job.pk).update(
            processed=F("processed") + len(verdicts),
            created_count=F("created_count") + outcome.created,
            unchanged_count=F("unchanged_count") + outcome.unchanged,
            failed_count=F("failed_count") + outcome.failed,
            heartbeat_at=now,
            updated_at=now,
        )


# --- running ---------------------------------------------------------------------------------------------


def _count(job: ImportJob) -> int:
    """A first streaming pass: the number of data rows. It also checks the header and that the whole file reads,
    so a broken file fails before any row is imported."""
    with _opened(job) as fileobj:
        return sum(1 for _row in RowSource(job, fileobj))


@transaction.atomic
def _total_save(job: ImportJob, total: int) -> None:
    locked = _locked(job, processed=job.processed)
    locked.total, locked.heartbeat_at = total, timezone.now()
    locked.save(update_fields=["total", "heartbeat_at", "updated_at"])
    job.total = total


def _replay(job: ImportJob, source: RowSource, rows: Iterable[tuple[int, Any]], ledger: DryRunLedger) -> None:
    """A resumed dry run rebuilds what it had seen before ``processed`` (nothing of it was written)."""
    for batch in _batched(rows, BATCH_SIZE):
        _decide(job, [_evaluate(job, number, source.record(raw)) for number, raw in batch], ledger)


def _run(job: ImportJob) -> None:
    started = time.monotonic()
    budget = settings.CELERY_TASK_SOFT_TIME_LIMIT * RUN_BUDGET_FRACTION
    if job.total is None:
        _total_save(job, _count(job))
    ledger = DryRunLedger() if job.dry_run else None
    done = job.processed
    with _opened(job) as fileobj:
        source = RowSource(job, fileobj)
        with closing(iter(source)) as rows:  # closed while the file is still open, however the run ends
            if done:  # resume after the last committed batch
                before = itertools.islice(rows, done)
                if ledger is not None:
                    _replay(job, source, before, ledger)
                else:
                    collections.deque(before, maxlen=0)
            for batch in _batched(rows, BATCH_SIZE):
                verdicts = [_evaluate(job, number, source.record(raw)) for number, raw in batch]
                _batch_commit(job, verdicts, ledger, processed=done)
                done += len(batch)
                if done < (job.total or 0) and time.monotonic() - started > budget:
                    _hand_over(job, processed=done)
                    return
    import_job_finish(job=job, processed=done)


@transaction.atomic
def _hand_over(job: ImportJob, *, processed: int) -> None:
    """Queue the job again for a fresh task, which resumes after ``processed``."""
    locked = _locked(job, processed=processed)
    locked.status, locked.heartbeat_at = ImportJob.Status.QUEUED, timezone.now()
    locked.save(update_fields=["status", "heartbeat_at", "updated_at"])
    import_job_enqueue(job_id=job.pk)


def _summary(job: ImportJob, previous: ImportJob | None) -> str:
    if previous is not None:
        if job.created_count == 0:
            tail = _("nothing new would be created.") if job.dry_run else _("nothing new was created.")
        else:
            tail = ngettext("%(n)s row was new.", "%(n)s rows were new.", job.created_count) % {"n": job.created_count}
        return f"{_already_imported(previous)}; {tail}"
    counts = {"created": job.created_count, "unchanged": job.unchanged_count, "failed": job.failed_count}
    if job.dry_run:
        return (
            _(
                "Dry run, nothing was written: %(created)s rows would be created, %(unchanged)s are already "
                "registered unchanged, %(failed)s have errors."
            )
            % counts
        )
    return _("%(created)s rows created, %(unchanged)s unchanged, %(failed)s with errors.") % counts


@transaction.atomic
def import_job_finish(*, job: ImportJob, processed: int) -> ImportJob:
    locked = _locked(job, processed=processed)
    now = timezone.now()
    locked.status, locked.finished_at, locked.heartbeat_at = ImportJob.Status.SUCCEEDED, now, now
    locked.total = processed  # the same stream, read again: equal unless the stored file changed
    locked.message = _summary(locked, import_job_previous(job=locked))
    locked.save(update_fields=["status", "finished_at", "heartbeat_at", "total", "message", "updated_at"])
    audit_record(
        actor=system_actor(WORKER),
        action="import_job.succeeded",
        object_type="import_job",
        object_id=locked.pk,
        data={
            "total": locked.total,
            "created": locked.created_count,
            "unchanged": locked.unchanged_count,
            "failed": locked.failed_count,
            "dry_run": locked.dry_run,
        },
    )
    return locked


@transaction.atomic
def import_job_fail(*, job: ImportJob, message: str) -> ImportJob | None:
    """A file-level problem: the job fails with ``message`` (rows already committed stay)."""
    try:
        locked = _locked(job)
    except LeaseLost:
        return None
    now = timezone.now()
    locked.status, locked.finished_at, locked.heartbeat_at, locked.message = ImportJob.Status.FAILED, now, now, message
    locked.save(update_fields=["status", "finished_at", "heartbeat_at", "message", "updated_at"])
    audit_record(
        actor=system_actor(WORKER),
        action="import_job.failed",
        object_type="import_job",
        object_id=locked.pk,
        data={"message": message, "processed": locked.processed},
    )
    return locked


def import_job_run(*, job_id: int) -> None:
    """Run (or resume) a job to the end. Safe to call again: a job that is not claimable is left alone, and a
    resumed job starts after its last committed batch."""
    job = import_job_claim(job_id=job_id)
    if job is None:
        return
    # Messages are stored, so they are written in the service's language whichever worker runs the job.
    with translation.override(settings.LANGUAGE_CODE):
        try:
            _run(job)
        except ImportFileError as exc:
            import_job_fail(job=job, message=str(exc))
        except LeaseLost:
            logger.warning("import job %s was taken over by another delivery; this one stops", job_id)


def import_jobs_recover_stale() -> list[int]:
    """Re-enqueue jobs whose worker died (running, silent past the stale limit) or that never started."""
    before = _stale_before()
    stale = list(
        ImportJob.objects.filter(
            Q(status=ImportJob.Status.RUNNING, heartbeat_at__lt=before)
            | Q(status=ImportJob.Status.QUEUED, heartbeat_at__isnull=True, created_at__lt=before)
            | Q(status=ImportJob.Status.QUEUED, heartbeat_at__lt=before)
        ).values_list("pk", flat=True)
    )
    from registry.tasks import import_job_run as import_job_run_task

    for job_id in stale:
        import_job_run_task.delay(job_id)
    return stale
