"""Bulk import at scale: memory bounded by the batch, queries per batch independent of its size, and the batch
write (one INSERT per table) giving exactly what asset_create gives row by row."""

from __future__ import annotations

import csv
import gc
import io
import itertools
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.audit_chain import chain_verify
from common.models import AuditEvent
from registry import services as registry_services
from registry.identifiers import patent_number_build
from registry.imports import services as import_services
from registry.models import Asset, AssetVersion, ImportJob, ImportRowError
from tests.factories.registry import UserFactory

pytestmark = pytest.mark.django_db

HEADER = ["title", "number", "patent_type", "filing_date", "legal_status"]
_serials = itertools.count(1)
# The audit trail's statements, whichever way common.audit appends (advisory lock, head read, insert, or one call).
AUDIT_SQL = ('"common_auditevent"', "common_auditevent_append", "pg_advisory_xact_lock")


@pytest.fixture(autouse=True)
def _media_and_language(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LANGUAGE_CODE = "en"


def _patent_rows(count: int, *, invalid_every: int = 10) -> list[list[str]]:
    """``count`` utility-model patents with fresh numbers; every ``invalid_every``-th has a wrong check character."""
    rows = []
    for i in range(1, count + 1):
        serial = next(_serials)
        number = patent_number_build(f"20182{900_000 + serial:07d}")
        if i % invalid_every == 0:
            digits, check = number.split(".")
            number = f"{digits}.{'0' if check != '0' else '1'}"
        rows.append([f"散热结构 {serial}", number, "utility_model", "2018-03-15", "pending"])
    return rows


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _job(user, content: bytes) -> ImportJob:
    return import_services.import_job_create(
        firm=user.firm,
        user=user,
        actor=user.as_actor,
        kind="patent",
        uploaded_file=SimpleUploadedFile("patents.csv", content),
    )


def _run(job: ImportJob) -> ImportJob:
    import_services.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.message
    return job


def _written(job: ImportJob) -> dict[str, object]:
    """What an import wrote, without ids and times: assets, their versions, their audit events, the job's counts
    and row errors."""
    assets = Asset.objects.filter(firm_id=job.firm_id).order_by("identifier")
    ids = [str(pk) for pk in assets.values_list("pk", flat=True)]
    return {
        "assets": list(
            assets.values(
                "kind",
                "title",
                "status",
                "version",
                "details",
                "identifier",
                "content_hash",
                "created_by_id",
                "required_approvals",
                "approved_version",
            )
        ),
        "versions": list(
            AssetVersion.objects.filter(asset__firm_id=job.firm_id)
            .order_by("identifier")
            .values("number", "title", "details", "identifier", "change", "diff", "created_by_id")
        ),
        "audit": sorted(
            (
                AuditEvent.objects.filter(object_type="asset", object_id__in=ids)
                .order_by("id")
                .values_list("actor_type", "actor_id", "actor_label", "action", "before", "after", "data", "result")
            ),
            key=lambda event: event[5]["details"]["number"],
        ),
        "counts": (job.total, job.processed, job.created_count, job.unchanged_count, job.failed_count),
        "errors": list(ImportRowError.objects.filter(job=job).order_by("row").values_list("row", "field", "message")),
    }


def test_the_batch_write_gives_what_asset_create_gives_row_by_row(monkeypatch):
    user = UserFactory()
    rows = _patent_rows(12, invalid_every=5)
    rows.append(rows[0])  # the same content twice: unchanged
    rows.append(["Another title", *rows[1][1:]])  # an identifier already in the file: a row error
    content = _csv(rows)

    monkeypatch.setattr(import_services, "BATCH_SIZE", 1)  # one row per batch: always asset_create
    row_by_row = _written(_run(_job(user, content)))
    Asset.objects.filter(firm_id=user.firm_id).delete()

    monkeypatch.setattr(import_services, "BATCH_SIZE", 200)
    with CaptureQueriesContext(connection) as queries:
        in_bulk = _written(_run(_job(user, content)))

    assert in_bulk == row_by_row
    assert in_bulk["counts"] == (14, 14, 10, 1, 3)
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "registry_asset')]
    assert len(inserts) == 2  # one for the assets, one for their versions
    assert chain_verify().intact


def test_queries_per_batch_do_not_depend_on_its_size(monkeypatch):
    """A batch of 50 rows costs the SQL statements of a batch of 10, besides the audit append of each new asset.
    (Kept under SQLite's 999 parameters per statement, past which Django splits a bulk INSERT.)"""
    user = UserFactory()

    def statements(batch_size: int) -> tuple[int, int, int]:
        monkeypatch.setattr(import_services, "BATCH_SIZE", batch_size)
        job = _job(user, _csv(_patent_rows(2 * batch_size)))  # two batches
        with CaptureQueriesContext(connection) as queries:
            job = _run(job)
        audit = sum(any(mark in q["sql"] for mark in AUDIT_SQL) for q in queries)
        return len(queries) - audit, audit, job.created_count

    small_other, small_audit, small_created = statements(10)
    large_other, large_audit, large_created = statements(50)
    assert (small_created, large_created) == (18, 90)
    assert large_other == small_other
    # the audit trail's own statements: a fixed number per event (start, finish, and one or two per new asset)
    assert (large_audit - small_audit) % (large_created - small_created) == 0
    assert (large_audit - small_audit) // (large_created - small_created) <= 2


def test_a_crash_in_a_batch_write_leaves_whole_batches_only(monkeypatch):
    user = UserFactory()
    job = _job(user, _csv(_patent_rows(9, invalid_every=100)))
    monkeypatch.setattr(import_services, "BATCH_SIZE", 3)
    real_audit = import_services.audit_record
    calls = {"n": 0}

    def die_in_the_second_batch(**kwargs):
        calls["n"] += 1
        if calls["n"] == 5:  # claim, then three assets of the first batch, then the second batch's first
            raise SystemExit("worker killed")
        return real_audit(**kwargs)

    # The job's own events are appended by the import service, the assets' by registry.services: count both.
    monkeypatch.setattr(import_services, "audit_record", die_in_the_second_batch)
    monkeypatch.setattr(registry_services, "audit_record", die_in_the_second_batch)
    with pytest.raises(SystemExit):
        import_services.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed, job.created_count) == ("running", 3, 3)
    assert Asset.objects.filter(firm_id=user.firm_id).count() == 3
    assert AssetVersion.objects.filter(asset__firm_id=user.firm_id).count() == 3

    monkeypatch.setattr(import_services, "audit_record", real_audit)
    monkeypatch.setattr(registry_services, "audit_record", real_audit)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=None)  # the worker is gone: the job is stale
    job = _run(job)
    assert (job.processed, job.created_count, job.unchanged_count, job.failed_count) == (9, 9, 0, 0)
    assert AssetVersion.objects.filter(asset__firm_id=user.firm_id).count() == 9


def test_an_identifier_taken_during_the_batch_fails_that_row_only(monkeypatch):
    """Another import registers a number after the batch looked: the batch write is refused and rolled back, and
    the rows are created one by one, so only that row fails."""
    user, other = UserFactory(), UserFactory()
    rows = _patent_rows(5, invalid_every=100)
    real_bulk = import_services._create_in_bulk

    def someone_else_first(job, verdicts):
        Asset.objects.create(firm=other.firm, kind="patent", title="Elsewhere", identifier=verdicts[2].valid.identifier)
        return real_bulk(job, verdicts)

    monkeypatch.setattr(import_services, "_create_in_bulk", someone_else_first)
    job = _run(_job(user, _csv(rows)))
    assert (job.created_count, job.failed_count) == (4, 1)
    assert list(ImportRowError.objects.filter(job=job).values_list("row", "field", "message")) == [
        (4, "number", f"{rows[2][1]} is already registered in the registry.")
    ]
    assert AssetVersion.objects.filter(asset__firm_id=user.firm_id).count() == 4


def _heap_peak(user, rows: int, monkeypatch) -> int:
    """The Python heap's peak while ``rows`` rows are imported, with a full garbage collection after each batch:
    DRF serializers leave reference cycles that the collector reclaims only at its next full pass, which comes
    later the more objects the process holds, so without it the peak would measure the collector's schedule
    rather than what the import keeps."""
    real_commit = import_services._batch_commit

    def commit_then_collect(*args, **kwargs):
        real_commit(*args, **kwargs)
        gc.collect()

    monkeypatch.setattr(import_services, "_batch_commit", commit_then_collect)
    job = _job(user, _csv(_patent_rows(rows)))
    tracemalloc.start()
    try:
        _run(job)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_is_bounded_by_the_batch_not_the_file(monkeypatch):
    """Ten times the rows (ten batches instead of one) must not take more memory: nothing of a batch outlives it.
    Holding the file's rows, their verdicts or their errors would at least double the peak here (measured:
    about 1.2 MB for 200 rows, 1.15x that for 2,000)."""
    user = UserFactory()
    _heap_peak(user, 200, monkeypatch)  # warm up: translation catalogues, serializer and query caches
    small = _heap_peak(user, 200, monkeypatch)
    large = _heap_peak(user, 2_000, monkeypatch)
    assert large < 1.5 * small, (small, large)
