"""Uploads count by their bytes in the idempotency fingerprint, not by their file name."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from registry.models import ImportJob

HEADER = "title,number,patent_type,filing_date,legal_status\n"


@pytest.mark.django_db
def test_same_key_same_name_different_bytes_is_refused(
    client_for, firm_user, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    client = client_for(firm_user)

    def post(body: str):
        upload = SimpleUploadedFile("assets.csv", body.encode(), content_type="text/csv")
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                "/api/v1/imports/",
                {"file": upload, "kind": "patent", "dry_run": "true"},
                format="multipart",
                HTTP_IDEMPOTENCY_KEY="imp-1",
            )

    first = post(HEADER + "A,202110123456.7,invention,2021-03-15,pending\n")
    replay = post(HEADER + "A,202110123456.7,invention,2021-03-15,pending\n")
    different = post(HEADER + "B,201310699744.2,invention,2013-12-18,pending\n")

    assert first.status_code == 202
    assert (replay.status_code, replay.json()["id"]) == (202, first.json()["id"])
    assert (different.status_code, different.json()["code"]) == (422, "idempotency_key_reused")
    assert ImportJob.objects.count() == 1
