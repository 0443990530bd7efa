"""A job asked for while the broker is down: the request succeeds, the job waits as queued, the sweeper starts it."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from kombu.exceptions import OperationalError

from registry.models import ImportJob
from tests.factories.bulk import approved_patents
from tests.factories.registry import UserFactory
from valuation import services
from valuation.models import ValuationJob

pytestmark = pytest.mark.django_db


def _broker_down(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_a_valuation_job_asked_for_while_the_broker_is_down_is_accepted_then_swept(
    client_for, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    user = UserFactory()
    [asset] = approved_patents(firm=user.firm, count=1)
    monkeypatch.setattr("valuation.tasks.valuation_job_start.delay", _broker_down)
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).post("/api/v1/valuation-jobs/", {"assets": [asset.pk]}, format="json")
    assert response.status_code == 202, response.content
    job = ValuationJob.objects.get(pk=response.json()["id"])
    assert job.status == ValuationJob.Status.QUEUED
    assert "Connection refused" in caplog.text  # logged, not swallowed silently

    monkeypatch.undo()  # the broker is back
    ValuationJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert services.valuation_jobs_recover_stale() == [job.pk]  # eager: the sweeper's restart runs at once
    job.refresh_from_db()
    assert (job.status, job.done) == ("succeeded", 1)


def test_an_import_uploaded_while_the_broker_is_down_is_accepted_and_stays_queued(
    client_for, monkeypatch, django_capture_on_commit_callbacks
):
    user = UserFactory()
    monkeypatch.setattr("registry.tasks.import_job_run.delay", _broker_down)
    body = b"title,patent_number\n"
    upload = SimpleUploadedFile("patents.csv", body, content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).post("/api/v1/imports/", {"kind": "patent", "file": upload}, format="multipart")
    assert response.status_code in (201, 202), response.content
    assert ImportJob.objects.get(pk=response.json()["id"]).status == ImportJob.Status.QUEUED
