"""Evidence files: content sniffing, the upload service and the upload, list and download endpoints."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
import zlib
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.db.models import Model
from openpyxl import Workbook

from common.models import AuditEvent
from registry.documents import (
    CSV,
    JPEG,
    PDF,
    PNG,
    XLSX,
    AssetRetired,
    document_upload,
    original_name_clean,
    sniff_content_type,
)
from registry.models import Asset, Document
from tests.factories.registry import AssetFactory, BankStaffFactory, UserFactory

# --- real minimal files -------------------------------------------------------------------------------

PDF_BYTES = (
    b"%PDF-1.4\n"
    b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n"
    b"trailer << /Root 1 0 R >>\n"
    b"%%EOF\n"
)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n"
    + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))  # 1x1, 8-bit greyscale
    + _png_chunk(b"IDAT", zlib.compress(b"\x00\x00"))
    + _png_chunk(b"IEND", b"")
)

# The well-known 125-byte valid JPEG (1x1 pixel, arithmetic coding).
JPEG_BYTES = bytes.fromhex(
    "ffd8ffe000104a46494600010101004800480000"
    "ffdb004300030202020202030202020303030304060404040404080606050609080a0a090809090a0c0f0c0a0b0e0b09090d110d0e0f"
    "101011100a0c12131210130f101010"
    "ffc9000b080001000101011100"
    "ffcc000600101005"
    "ffda0008010100003f00d2cf20"
    "ffd9"
)

CSV_ROWS = "名称,类型,数量\n一种光纤传感器,发明专利,3\n数据集,数据资产,12\n"


def xlsx_bytes() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["名称", "数量"])
    sheet.append(["专利", 3])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


HTML_BYTES = b"<!DOCTYPE html>\n<html><body><script>alert(1)</script>a,b,c\n1,2,3\n</body></html>\n"
ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 40
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48


# --- sniffing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (PDF_BYTES, PDF),
        (PNG_BYTES, PNG),
        (JPEG_BYTES, JPEG),
        (CSV_ROWS.encode("utf-8"), CSV),
        (CSV_ROWS.encode("utf-8-sig"), CSV),
        (CSV_ROWS.encode("gb18030"), CSV),
        ("名称\t数量\n专利\t3\n".encode("gb18030"), CSV),
        (b"name;amount\nlicence;1200000.00\n", CSV),
        (b'"title, with comma",amount\n"multi\nline",3\n', CSV),
    ],
    ids=["pdf", "png", "jpeg", "csv-utf8", "csv-utf8-bom", "csv-gb18030", "tsv-gb18030", "csv-semicolon", "quoted"],
)
def test_sniff_recognises_accepted_types(content: bytes, expected: str) -> None:
    assert sniff_content_type(content) == expected


def test_sniff_recognises_an_xlsx_made_by_openpyxl() -> None:
    content = xlsx_bytes()
    assert sniff_content_type(content) == XLSX
    # From a file object, only the first bytes are needed as head: zipfile reads the directory by seeking.
    assert sniff_content_type(content[:16], fileobj=io.BytesIO(content)) == XLSX


def test_gb18030_csv_is_not_utf8_but_is_accepted() -> None:
    content = CSV_ROWS.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    assert sniff_content_type(content) == CSV


def test_csv_sample_cut_inside_a_multibyte_character_is_still_csv() -> None:
    content = (CSV_ROWS * 50).encode("utf-8")
    cut = next(i for i in range(200, 400) if content[i] >= 0x80 and content[i - 1] >= 0x80)  # inside a character
    assert sniff_content_type(content[:cut]) == CSV
    assert sniff_content_type(b"%PDF-1.7\n", sample_text=b"a,b\n") == PDF  # magic numbers win over the text sample


@pytest.mark.parametrize(
    "content",
    [
        HTML_BYTES,
        b"  <svg xmlns='http://www.w3.org/2000/svg'><text>a,b</text></svg>",
        b"<?xml version='1.0'?><a>1,2</a>",
        b"#!/bin/sh\nrm -rf /,x\n",
        ELF_BYTES,
        EXE_BYTES,
        zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}),  # a .docx
        zip_bytes({"readme.txt": b"hello"}),
        zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>", "xl/vbaProject.bin": b"x"}),
        b"PK\x03\x04 truncated",
        b"just a sentence without any delimiter\nand another one\n",
        b"a,b\x00,c\n",
        b"",
        b"\x81\x30\xff\xfe,\n",
    ],
    ids=["html", "svg", "xml", "shell", "elf", "exe", "docx", "zip", "xlsm", "bad-zip", "prose", "nul", "empty", "bad"],
)
def test_sniff_refuses_everything_else(content: bytes) -> None:
    assert sniff_content_type(content) is None


def test_the_name_plays_no_part_in_the_type() -> None:
    assert sniff_content_type(PNG_BYTES) == PNG  # whatever it was called
    assert original_name_clean("../../etc/passwd.pdf") == "passwd.pdf"
    assert original_name_clean("C:\\Users\\zhang\\证书.pdf") == "证书.pdf"
    assert original_name_clean("..") == "document"
    assert original_name_clean("a\x00b\r\n.pdf") == "ab.pdf"
    long = original_name_clean("x" * 400 + ".pdf")
    assert len(long) == 255
    assert long.endswith(".pdf")


# --- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.fixture
def asset(firm_user) -> Asset:  # type: ignore[no-untyped-def]
    return AssetFactory(firm=firm_user.firm)


@pytest.fixture
def client(client_for, firm_user):  # type: ignore[no-untyped-def]
    return client_for(firm_user)


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def upload_url(asset_id: int) -> str:
    return f"/api/v1/assets/{asset_id}/documents/"


def download_url(asset_id: int, document_id: int) -> str:
    return f"/api/v1/assets/{asset_id}/documents/{document_id}/download/"


def upload(
    client,
    asset_id: int,
    content: bytes,
    name: str = "证书.pdf",
    *,
    kind: str = "rights_certificate",
    content_type: str = "application/pdf",
):  # type: ignore[no-untyped-def]
    data = {"file": SimpleUploadedFile(name, content, content_type=content_type), "kind": kind}
    return client.post(upload_url(asset_id), data, format="multipart")


def uploaded_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="document.uploaded"))


# --- upload -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_upload_stores_the_file_and_returns_its_sha256(client, asset, firm_user, media) -> None:
    response = upload(client, asset.pk, PDF_BYTES)

    assert response.status_code == 201, response.content
    body = response.json()
    document = Document.objects.get()
    assert set(body) == {"id", "kind", "original_name", "content_type", "size", "sha256", "uploaded_at", "download_url"}
    assert body["id"] == document.pk
    assert body["sha256"] == hashlib.sha256(PDF_BYTES).hexdigest() == document.sha256
    assert body["size"] == len(PDF_BYTES) == document.size
    assert body["content_type"] == PDF
    assert body["kind"] == "rights_certificate"
    assert body["original_name"] == "证书.pdf"
    assert body["download_url"] == f"http://testserver{download_url(asset.pk, document.pk)}"
    assert document.asset_id == asset.pk
    assert document.uploaded_by_id == firm_user.pk
    assert [p.read_bytes() for p in stored_files(media)] == [PDF_BYTES]

    [event] = uploaded_events()
    assert event.object_type == "document"
    assert event.object_id == str(document.pk)
    assert event.actor_label == f"user:{firm_user.username}"
    assert event.after["sha256"] == document.sha256
    assert event.after["size"] == len(PDF_BYTES)
    assert event.after["content_type"] == PDF
    assert event.after["kind"] == "rights_certificate"
    assert event.after["asset"] == asset.pk


@pytest.mark.django_db
def test_the_same_file_again_is_a_duplicate_and_nothing_is_stored_twice(client, asset, media) -> None:
    first = upload(client, asset.pk, PDF_BYTES, "a.pdf")
    again = upload(client, asset.pk, PDF_BYTES, "renamed copy.pdf", kind="other")

    assert first.status_code == 201
    assert again.status_code == 200, again.content
    assert again.json() == {**first.json(), "duplicate": True}
    assert Document.objects.count() == 1
    assert len(stored_files(media)) == 1
    assert len(uploaded_events()) == 1


@pytest.mark.django_db
def test_the_same_bytes_on_another_asset_are_a_separate_document(client, asset, firm_user, media) -> None:
    other = AssetFactory(firm=firm_user.firm)

    assert upload(client, asset.pk, PDF_BYTES).status_code == 201
    assert upload(client, other.pk, PDF_BYTES).status_code == 201

    assert sorted(Document.objects.values_list("asset_id", flat=True)) == sorted([asset.pk, other.pk])
    assert len(stored_files(media)) == 2
    assert len(uploaded_events()) == 2


@pytest.mark.django_db
def test_a_png_called_pdf_is_stored_as_a_png(client, asset, media) -> None:
    response = upload(client, asset.pk, PNG_BYTES, "scan.pdf", content_type="application/pdf")

    assert response.status_code == 201
    assert response.json()["content_type"] == PNG
    assert Document.objects.get().content_type == PNG


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "name"),
    [(xlsx_bytes(), "台账.xlsx"), (CSV_ROWS.encode("gb18030"), "清单.csv"), (JPEG_BYTES, "photo.jpg")],
    ids=["xlsx", "csv-gb18030", "jpeg"],
)
def test_other_accepted_types_upload(client, asset, media, content: bytes, name: str) -> None:
    response = upload(client, asset.pk, content, name, content_type="application/octet-stream")

    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == sniff_content_type(content)


@pytest.mark.django_db
def test_a_file_above_the_limit_is_refused_and_nothing_is_stored(client, asset, media, settings) -> None:
    settings.DOCUMENT_MAX_BYTES = 100
    content = PDF_BYTES + b"%" * 200  # within the multipart allowance: refused by the service

    response = upload(client, asset.pk, content)

    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "document_too_large"
    assert response.json()["max_bytes"] == 100
    assert Document.objects.exists() is False
    assert stored_files(media) == []
    assert uploaded_events() == []


@pytest.mark.django_db
def test_a_body_far_above_the_limit_is_refused_before_it_is_read(client, asset, media, settings) -> None:
    settings.DOCUMENT_MAX_BYTES = 100

    response = upload(client, asset.pk, PDF_BYTES + b"%" * (70 * 1024))

    assert response.status_code == 413
    assert response.json()["code"] == "document_too_large"
    assert Document.objects.exists() is False
    assert stored_files(media) == []


@pytest.mark.django_db
def test_a_file_bigger_than_the_memory_threshold_is_hashed_and_stored(client, asset, media) -> None:
    content = PDF_BYTES + bytes(range(256)) * (3 * 4096)  # 3 MiB: spooled to a temporary file

    response = upload(client, asset.pk, content)

    assert response.status_code == 201
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()
    assert response.json()["size"] == len(content)
    assert [p.read_bytes() == content for p in stored_files(media)] == [True]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "declared"),
    [(HTML_BYTES, "application/pdf"), (ELF_BYTES, "application/pdf"), (EXE_BYTES, "application/octet-stream")],
    ids=["html", "elf", "exe"],
)
def test_unsupported_content_is_refused_whatever_its_name(client, asset, media, content: bytes, declared: str) -> None:
    response = upload(client, asset.pk, content, "report.pdf", content_type=declared)

    assert response.status_code == 415
    body = response.json()
    assert body["code"] == "document_type_unsupported"
    assert declared in body["detail"]
    assert body["declared_content_type"] == declared
    assert body["detected_content_type"] is None
    assert Document.objects.exists() is False
    assert stored_files(media) == []
    assert uploaded_events() == []


@pytest.mark.django_db
def test_a_missing_file_is_a_400(client, asset, media) -> None:
    response = client.post(upload_url(asset.pk), {"kind": "licence"}, format="multipart")

    assert response.status_code == 400
    assert "file" in response.json()["errors"]
    assert Document.objects.exists() is False


@pytest.mark.django_db
def test_an_empty_file_is_a_400(client, asset, media) -> None:
    response = upload(client, asset.pk, b"")

    assert response.status_code == 400
    assert response.json()["code"] == "document_empty"
    assert Document.objects.exists() is False
    assert stored_files(media) == []


@pytest.mark.django_db
def test_an_unknown_kind_is_a_400(client, asset, media) -> None:
    response = upload(client, asset.pk, PDF_BYTES, kind="selfie")

    assert response.status_code == 400
    assert "kind" in response.json()["errors"]
    assert stored_files(media) == []


@pytest.mark.django_db
def test_a_retired_asset_takes_no_evidence(client, firm_user, media) -> None:
    retired = AssetFactory(firm=firm_user.firm, status=Asset.Status.RETIRED)

    response = upload(client, retired.pk, PDF_BYTES)

    assert response.status_code == 409
    assert response.json()["code"] == "asset_retired"
    assert Document.objects.exists() is False
    assert stored_files(media) == []


@pytest.mark.django_db
def test_path_tricks_in_the_name_are_harmless(client, asset, media) -> None:
    response = upload(client, asset.pk, PDF_BYTES, "../../etc/passwd.pdf")

    assert response.status_code == 201
    document = Document.objects.get()
    assert document.original_name == "passwd.pdf"
    assert re.fullmatch(r"evidence/\d{4}/\d{2}/[0-9a-f]{32}", document.file.name)
    assert "passwd" not in document.file.name
    [stored] = stored_files(media)
    assert stored.resolve().is_relative_to(media.resolve())
    assert stored.relative_to(media).as_posix() == document.file.name


# --- service ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failed_database_write_removes_the_stored_file(asset, firm_user, media, monkeypatch) -> None:
    def broken_save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(self, Document):
            raise DatabaseError("disk full")
        return original_save(self, *args, **kwargs)

    original_save = Model.save
    monkeypatch.setattr(Model, "save", broken_save)

    with pytest.raises(DatabaseError):
        document_upload(
            asset=asset,
            uploaded_file=SimpleUploadedFile("a.pdf", PDF_BYTES),
            kind="other",
            user=firm_user,
            actor=firm_user.as_actor,
        )

    assert stored_files(media) == []
    monkeypatch.undo()
    assert Document.objects.exists() is False
    assert uploaded_events() == []


@pytest.mark.django_db
def test_a_lost_race_returns_the_winner_and_drops_our_copy(asset, firm_user, media, monkeypatch) -> None:
    """Another identical upload commits between our duplicate check and our insert: the constraint decides."""
    sha = hashlib.sha256(PDF_BYTES).hexdigest()
    original_storage_save = FileSystemStorage.save
    winner: list[Document] = []

    def save_while_another_upload_commits(self, name, content, max_length=None):  # type: ignore[no-untyped-def]
        if not winner:
            winner.append(
                Document.objects.create(
                    asset=asset,
                    kind="other",
                    file="evidence/winner",
                    original_name="w.pdf",
                    content_type=PDF,
                    size=len(PDF_BYTES),
                    sha256=sha,
                )
            )
        return original_storage_save(self, name, content, max_length=max_length)

    monkeypatch.setattr(FileSystemStorage, "save", save_while_another_upload_commits)

    document, created = document_upload(
        asset=asset,
        uploaded_file=SimpleUploadedFile("a.pdf", PDF_BYTES),
        kind="other",
        user=firm_user,
        actor=firm_user.as_actor,
    )

    assert created is False
    assert document == winner[0]
    assert Document.objects.count() == 1
    assert stored_files(media) == []  # our copy was deleted; the winner's file is not on this disk
    assert uploaded_events() == []


@pytest.mark.django_db
def test_the_service_refuses_a_retired_asset(firm_user, media) -> None:
    retired = AssetFactory(firm=firm_user.firm, status=Asset.Status.RETIRED)

    with pytest.raises(AssetRetired):
        document_upload(
            asset=retired,
            uploaded_file=SimpleUploadedFile("a.pdf", PDF_BYTES),
            kind="other",
            user=firm_user,
            actor=firm_user.as_actor,
        )

    assert stored_files(media) == []


class _ReadSpy(io.BytesIO):
    def __init__(self, content: bytes) -> None:
        super().__init__(content)
        self.reads: list[int | None] = []

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(size)
        return super().read(size)


@pytest.mark.django_db
def test_the_file_is_read_in_bounded_pieces_never_whole(asset, firm_user, media) -> None:
    content = PDF_BYTES + b"%" * (1024 * 1024)
    spy = _ReadSpy(content)
    uploaded = File(spy, name="big.pdf")  # chunks() of a file on disk; in-memory uploads are already in memory

    document, created = document_upload(
        asset=asset, uploaded_file=uploaded, kind="other", user=firm_user, actor=firm_user.as_actor
    )

    assert created is True
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert spy.reads
    assert all(size is not None and 0 < size <= 64 * 1024 for size in spy.reads), spy.reads


# --- access -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_another_firm_cannot_see_or_touch_the_documents(client, client_for, asset, media) -> None:
    document_id = upload(client, asset.pk, PDF_BYTES).json()["id"]
    other_firm = client_for(UserFactory())

    assert upload(other_firm, asset.pk, PNG_BYTES).status_code == 404
    assert other_firm.get(upload_url(asset.pk)).status_code == 404
    assert other_firm.get(download_url(asset.pk, document_id)).status_code == 404
    assert Document.objects.count() == 1


@pytest.mark.django_db
def test_a_document_of_another_asset_is_not_found(client, asset, firm_user, media) -> None:
    other = AssetFactory(firm=firm_user.firm)
    document_id = upload(client, other.pk, PDF_BYTES).json()["id"]

    assert client.get(download_url(asset.pk, document_id)).status_code == 404
    assert client.get(download_url(other.pk, document_id)).status_code == 200
    assert client.get(download_url(asset.pk, 999_999)).status_code == 404


@pytest.mark.django_db
def test_banks_are_refused(client, client_for, asset, bank_key, media) -> None:
    document_id = upload(client, asset.pk, PDF_BYTES).json()["id"]
    for bank_client in (client_for(api_key=bank_key), client_for(BankStaffFactory())):
        assert bank_client.get(upload_url(asset.pk)).status_code == 403
        assert upload(bank_client, asset.pk, PNG_BYTES).status_code == 403
        assert bank_client.get(download_url(asset.pk, document_id)).status_code == 403
    assert Document.objects.count() == 1


@pytest.mark.django_db
def test_anonymous_callers_are_401(api_client, asset, media) -> None:
    assert api_client.get(upload_url(asset.pk)).status_code == 401
    assert upload(api_client, asset.pk, PDF_BYTES).status_code == 401


@pytest.mark.django_db
def test_a_reviewer_can_list_and_download_but_not_upload(client, client_for, asset, reviewer, media) -> None:
    document_id = upload(client, asset.pk, PDF_BYTES).json()["id"]
    as_reviewer = client_for(reviewer)

    listed = as_reviewer.get(upload_url(asset.pk))
    assert listed.status_code == 200
    assert [d["id"] for d in listed.json()["results"]] == [document_id]
    downloaded = as_reviewer.get(download_url(asset.pk, document_id))
    assert downloaded.status_code == 200
    assert b"".join(downloaded.streaming_content) == PDF_BYTES
    assert upload(as_reviewer, asset.pk, PNG_BYTES).status_code == 403


# --- download and list --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_download_returns_exactly_the_uploaded_bytes_as_an_attachment(client, asset, media) -> None:
    name = '专利证书 2024 "final".pdf'
    document_id = upload(client, asset.pk, PDF_BYTES, name).json()["id"]

    response = client.get(download_url(asset.pk, document_id), HTTP_ACCEPT="application/pdf")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == PDF
    assert response["X-Content-Type-Options"] == "nosniff"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
    assert "\n" not in disposition
    assert disposition.count('"') == 2  # the ASCII fallback cannot break out of its quotes


@pytest.mark.django_db
def test_the_list_is_paginated_newest_first(client, asset, media) -> None:
    ids = [upload(client, asset.pk, PDF_BYTES + str(i).encode()).json()["id"] for i in range(3)]

    page = client.get(upload_url(asset.pk), {"page_size": 2}).json()

    assert [d["id"] for d in page["results"]] == ids[::-1][:2]
    assert page["next"] is not None
    rest = client.get(page["next"]).json()
    assert [d["id"] for d in rest["results"]] == ids[:1]


def _make_documents(asset: Asset, firm_user, count: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(count):
        document_upload(
            asset=asset,
            uploaded_file=SimpleUploadedFile(f"{i}.csv", f"n,i\nx,{i}\n".encode()),
            kind="other",
            user=firm_user,
            actor=firm_user.as_actor,
        )


@pytest.mark.django_db
@pytest.mark.parametrize("count", [2, 12])
def test_the_list_costs_the_same_queries_for_2_and_12_documents(
    client, asset, firm_user, media, django_assert_num_queries, count: int
) -> None:
    _make_documents(asset, firm_user, count)

    with django_assert_num_queries(3):  # token, asset, one page of documents
        response = client.get(upload_url(asset.pk))

    assert response.status_code == 200
    assert len(response.json()["results"]) == count
