"""Uploads cannot choose where they land or be fetched around the access checks.

Whatever name a client sends (path traversal, Windows separators, a NUL byte, a very long or non-ASCII name), an
evidence file or an import is stored under a random name inside MEDIA_ROOT, and the name kept for display is
one clean path component. MEDIA_ROOT is never served: no URL route points at it, it is not under the static
root, and a guessed media URL is a 404; the only way to a stored file is the access-checked download view."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.views.static import serve

from registry.models import Document, ImportJob
from tests.factories.registry import AssetFactory, UserFactory

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EVIDENCE_NAME = re.compile(r"evidence/\d{4}/\d{2}/[0-9a-f]{32}")
IMPORT_NAME = re.compile(r"imports/\d{4}/\d{2}/[0-9a-f]{32}\.csv")

TRICKY_NAMES = [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\x.pdf", "x.pdf"),
    ("/etc/cron.d/evil.pdf", "evil.pdf"),
    ("a\x00b.pdf", "ab.pdf"),
    ("bell\x07\x1b[31m.pdf", "bell[31m.pdf"),
    ("....", "document"),
    ("x" * 1000 + ".pdf", "x" * 251 + ".pdf"),
    ("证书（副本）.pdf", "证书（副本）.pdf"),
    ("e\u0301te\u0301.pdf", "\u00e9t\u00e9.pdf"),  # stored NFC
]


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def firm_client(db, client_for):  # type: ignore[no-untyped-def]
    user = UserFactory()
    return user, client_for(user)


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.django_db
@pytest.mark.parametrize(("sent", "kept"), TRICKY_NAMES, ids=[repr(n[0])[:30] for n in TRICKY_NAMES])
def test_evidence_names_cannot_steer_the_storage_path(firm_client, media, sent, kept):
    user, client = firm_client
    asset = AssetFactory(firm=user.firm)
    upload = SimpleUploadedFile(sent, PDF + sent.encode("utf-8", "surrogatepass")[:20])
    response = client.post(
        f"/api/v1/assets/{asset.pk}/documents/", {"file": upload, "kind": "other"}, format="multipart"
    )
    assert response.status_code == 201, response.content
    document = Document.objects.get()
    assert EVIDENCE_NAME.fullmatch(document.file.name), document.file.name
    assert document.original_name == kept
    assert response.json()["original_name"] == kept
    [stored] = stored_files(media)
    assert stored.resolve().is_relative_to(media.resolve())
    assert stored.relative_to(media).as_posix() == document.file.name

    download = client.get(f"/api/v1/assets/{asset.pk}/documents/{document.pk}/download/")
    assert download.status_code == 200
    disposition = download["Content-Disposition"]
    assert disposition.startswith("attachment")
    for bad in ("/", "\\", "\x00"):
        assert bad not in disposition
    assert download["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
@pytest.mark.parametrize(("sent", "kept"), TRICKY_NAMES[:5], ids=[repr(n[0])[:30] for n in TRICKY_NAMES[:5]])
def test_import_names_cannot_steer_the_storage_path(firm_client, media, sent, kept):
    _user, client = firm_client
    upload = SimpleUploadedFile(sent, b"title,number\n")
    response = client.post("/api/v1/imports/", {"file": upload, "kind": "patent"}, format="multipart")
    assert response.status_code == 202, response.content
    job = ImportJob.objects.get()
    assert IMPORT_NAME.fullmatch(job.file.name), job.file.name
    assert job.original_name == kept
    assert all(p.resolve().is_relative_to(media.resolve()) for p in stored_files(media))


def _all_patterns(patterns, prefix=""):  # type: ignore[no-untyped-def]
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _all_patterns(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


def test_no_route_serves_files_from_disk():
    served = [route for route, callback in _all_patterns(get_resolver().url_patterns) if callback is serve]
    assert served == []
    assert not settings.MEDIA_URL or settings.MEDIA_URL in ("/", "")  # nothing publishes MEDIA_ROOT under a URL


def test_media_root_is_not_a_static_directory():
    media = Path(settings.MEDIA_ROOT).resolve()
    static_dirs = [Path(settings.STATIC_ROOT).resolve()] + [Path(str(d)).resolve() for d in settings.STATICFILES_DIRS]
    for static in static_dirs:
        assert not media.is_relative_to(static), static
        assert not static.is_relative_to(media), static
    assert getattr(settings, "WHITENOISE_ROOT", None) is None


@pytest.mark.django_db
def test_a_stored_file_cannot_be_fetched_by_its_storage_name(firm_client, media, client):
    user, api = firm_client
    asset = AssetFactory(firm=user.firm)
    api.post(
        f"/api/v1/assets/{asset.pk}/documents/",
        {"file": SimpleUploadedFile("a.pdf", PDF), "kind": "other"},
        format="multipart",
    )
    name = Document.objects.get().file.name
    for url in (f"/{name}", f"/media/{name}", f"/static/{name}", f"/static/../media/{name}", f"/api/v1/{name}"):
        response = client.get(url)
        assert response.status_code == 404, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert PDF not in body
