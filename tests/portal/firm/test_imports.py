"""Bulk import in the firm portal: upload through the API's service, the job page, its polled progress fragment
and the table of row errors; templates; another firm's job is a 404."""

from __future__ import annotations

import csv
import io
from html import escape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from common.models import AuditEvent
from registry.models import Asset, ImportJob
from tests.factories.registry import UserFactory, next_patent_number

pytestmark = pytest.mark.django_db

HEADER = ["title", "number", "patent_type", "filing_date", "legal_status", "grant_date"]


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _file_with_two_bad_rows() -> bytes:
    number = next_patent_number()
    digits, check = number.split(".")
    bad = f"{digits}.{'0' if check != '0' else '1'}"
    return _csv(
        [
            ["Laser head", next_patent_number(), "invention", "2021-03-15", "valid", "2022-09-20"],
            ["Bad number", bad, "invention", "2021-03-15", "pending", ""],
            ["Granted early", next_patent_number(), "invention", "2022-05-01", "valid", "2021-01-01"],
            ["Cooling fin", next_patent_number("2"), "utility_model", "2021-06-01", "pending", ""],
        ]
    )


@pytest.fixture
def upload(admin_client, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """POST a file to the upload page with the import task run in-process (as the embedded default does)."""

    def run(content: bytes, **extra: str):  # type: ignore[no-untyped-def]
        data = {"file": SimpleUploadedFile("assets.csv", content), "kind": "patent", **extra}
        with django_capture_on_commit_callbacks(execute=True):
            return admin_client.post(reverse("portal_firm:import-new"), data)

    return run


def test_an_upload_runs_the_import_and_the_job_page_shows_the_finished_state_and_errors(
    admin, admin_client, upload
) -> None:  # type: ignore[no-untyped-def]
    response = upload(_file_with_two_bad_rows())
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("portal_firm:import-detail", args=[job.pk])
    assert (job.firm_id, job.created_by_id, job.status) == (admin.firm_id, admin.pk, "succeeded")
    assert Asset.objects.filter(firm=admin.firm).count() == 2
    assert AuditEvent.objects.filter(action="import_job.created", object_id=str(job.pk)).exists()

    page = admin_client.get(response.url)
    body = page.text
    assert 'data-testid="import-progress"' in body
    assert 'data-testid="import-finished" data-status="succeeded"' in body
    assert 'hx-trigger="every 1s"' not in body  # finished: nothing polls
    errors = list(page.context["errors_page"].object_list)
    assert [(e.row, e.field) for e in errors] == [(3, "number"), (4, "grant_date")]
    assert escape(errors[1].message) in body
    assert 'data-testid="import-errors"' in body


def test_the_progress_fragment_polls_while_running_and_stops_when_finished(admin, admin_client) -> None:  # type: ignore[no-untyped-def]
    job = ImportJob.objects.create(
        firm=admin.firm, kind="patent", format="csv", original_name="a.csv", sha256="0" * 64, status="running", total=10
    )
    job.processed = 4
    job.save()
    url = reverse("portal_firm:import-progress", args=[job.pk])
    running = admin_client.get(url, headers={"hx-request": "true"})
    assert running.status_code == 200
    assert f'hx-get="{url}"' in running.text
    assert 'hx-trigger="every 1s"' in running.text
    assert 'aria-valuenow="40"' in running.text
    assert "import-finished" not in running.text
    assert "<html" not in running.text  # a fragment, not a page
    page = admin_client.get(reverse("portal_firm:import-detail", args=[job.pk]))
    assert 'hx-trigger="every 1s"' in page.text

    ImportJob.objects.filter(pk=job.pk).update(status="succeeded", processed=10)
    finished = admin_client.get(url, headers={"hx-request": "true"})
    assert "hx-trigger" not in finished.text
    assert 'data-testid="import-finished" data-status="succeeded"' in finished.text
    assert 'id="import-errors" class="card" aria-labelledby="errors-heading" hx-swap-oob="true"' in finished.text


def test_the_row_errors_are_paginated(admin, admin_client) -> None:  # type: ignore[no-untyped-def]
    job = ImportJob.objects.create(
        firm=admin.firm, kind="patent", format="csv", original_name="a.csv", sha256="0" * 64, status="succeeded"
    )
    job.row_errors.bulk_create(
        [job.row_errors.model(job=job, row=n, field="number", message=f"bad {n}") for n in range(2, 62)]
    )
    first = admin_client.get(reverse("portal_firm:import-detail", args=[job.pk]))
    assert len(first.context["errors_page"].object_list) == 50
    second = admin_client.get(reverse("portal_firm:import-detail", args=[job.pk]), {"page": 2})
    assert [e.row for e in second.context["errors_page"].object_list] == list(range(52, 62))


def test_a_bad_upload_is_refused_with_the_apis_messages(admin_client, upload) -> None:  # type: ignore[no-untyped-def]
    no_kind = admin_client.post(reverse("portal_firm:import-new"), {"file": SimpleUploadedFile("a.csv", _csv([]))})
    assert no_kind.status_code == 400
    assert no_kind.context["form"].errors["kind"] == ["This field is required."]
    no_file = admin_client.post(reverse("portal_firm:import-new"), {"kind": "patent"})
    assert no_file.context["form"].errors["file"] == ["No file was submitted."]
    empty = upload(b"")
    assert empty.status_code == 400
    assert empty.context["form"].errors["file"]
    assert ImportJob.objects.count() == 0


def test_the_list_shows_past_imports_and_links_the_templates(admin_client, upload) -> None:  # type: ignore[no-untyped-def]
    upload(_file_with_two_bad_rows(), dry_run="on")
    page = admin_client.get(reverse("portal_firm:import-list"))
    assert "assets.csv" in page.text
    assert ImportJob.objects.get().dry_run is True
    assert Asset.objects.count() == 0
    assert "/api/v1/imports/templates/patent.xlsx" in page.text
    assert "/api/v1/imports/templates/data.csv" in page.text


def test_another_firms_job_is_404(admin_client) -> None:  # type: ignore[no-untyped-def]
    other = UserFactory()
    job = ImportJob.objects.create(firm=other.firm, kind="patent", format="csv", original_name="a.csv", sha256="0" * 64)
    assert admin_client.get(reverse("portal_firm:import-detail", args=[job.pk])).status_code == 404
    assert admin_client.get(reverse("portal_firm:import-progress", args=[job.pk])).status_code == 404


def test_an_unknown_kind_gets_the_apis_choice_message(admin_client) -> None:  # type: ignore[no-untyped-def]
    response = admin_client.post(
        reverse("portal_firm:import-new"), {"kind": "car", "file": SimpleUploadedFile("a.csv", _csv([]))}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["kind"] == ['"car" is not a valid choice.']
