"""The upload size check shared by the API views and the portal pages (registry.uploads): a body far over the
limit is refused, with the same coded message, before any service is called."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from registry import uploads
from registry.documents import DocumentTooLarge
from registry.imports.errors import ImportFileTooLarge
from registry.models import Document, ImportJob
from tests.factories.registry import AssetFactory

pytestmark = pytest.mark.django_db

FAR_TOO_LARGE = b"%" * (uploads.MULTIPART_OVERHEAD_BYTES + 1024)


@pytest.fixture
def no_service(monkeypatch):  # type: ignore[no-untyped-def]
    """The services fail the test if reached: the size check must refuse first."""

    def reached(**kwargs: object) -> None:
        pytest.fail("the service was called for a body over the limit")

    monkeypatch.setattr("registry.documents.document_upload", reached)
    monkeypatch.setattr("registry.imports.services.import_job_create", reached)


@pytest.mark.parametrize(
    ("declared", "refused"),
    [("", False), ("not a number", False), (str(100 + uploads.MULTIPART_OVERHEAD_BYTES), False), ("70000", True)],
)
def test_the_check_reads_the_declared_length(settings, declared, refused) -> None:  # type: ignore[no-untyped-def]
    settings.DOCUMENT_MAX_BYTES = 100
    request = RequestFactory().post("/")
    request.META["CONTENT_LENGTH"] = declared
    if not refused:
        uploads.document_upload_size_check(request=request)
        return
    with translation.override("en"), pytest.raises(DocumentTooLarge) as caught:
        uploads.document_upload_size_check(request=request)
    assert caught.value.extra == {"max_bytes": 100}
    assert caught.value.message == "The file is larger than the 100 bytes an evidence file may have."


def test_evidence_far_over_the_limit_is_refused_alike_by_the_page_and_the_api(  # type: ignore[no-untyped-def]
    firm, admin_client, settings, no_service
) -> None:
    settings.DOCUMENT_MAX_BYTES = 100
    asset = AssetFactory(firm=firm)

    def data() -> dict[str, object]:
        return {"file": SimpleUploadedFile("a.pdf", b"%PDF-1.4\n" + FAR_TOO_LARGE), "kind": "contract"}

    page = admin_client.post(reverse("portal_firm:document-upload", args=[asset.pk]), data())
    api = admin_client.post(f"/api/v1/assets/{asset.pk}/documents/", data())

    assert (page.status_code, api.status_code) == (400, 413)
    assert api.json()["code"] == DocumentTooLarge.code
    assert page.context["upload_form"].errors["file"] == [api.json()["detail"]]
    assert Document.objects.exists() is False


def test_an_import_far_over_the_limit_is_refused_alike_by_the_page_and_the_api(  # type: ignore[no-untyped-def]
    admin_client, settings, no_service
) -> None:
    settings.IMPORT_MAX_BYTES = 100

    def data() -> dict[str, object]:
        return {"file": SimpleUploadedFile("assets.csv", FAR_TOO_LARGE), "kind": "patent"}

    page = admin_client.post(reverse("portal_firm:import-new"), data())
    api = admin_client.post("/api/v1/imports/", data())

    assert (page.status_code, api.status_code) == (400, 413)
    assert (api.json()["code"], api.json()["max_bytes"]) == (ImportFileTooLarge.code, 100)
    assert page.context["form"].errors["file"] == [api.json()["detail"]]
    assert ImportJob.objects.exists() is False
