"""Evidence files on assets: content sniffing, the upload service and the reads that imply permission.

The type of a file is decided from its bytes, never from its name or the declared content type. A file is
stored through Django's storage API under a random name (``registry.models.document_upload_to``); the name the
client sent is only kept, sanitised, in ``Document.original_name``.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import logging
import os
import unicodedata
import zipfile
from collections import Counter
from typing import IO, Any, NoReturn

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from common.audit import Actor, audit_record
from common.exceptions import ApplicationError, Conflict, NotFound, ValidationFailed
from registry.models import Asset, Document, User

logger = logging.getLogger("softasset.documents")

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
ACCEPTED_CONTENT_TYPES = (PDF, PNG, JPEG, XLSX, CSV)

HEAD_BYTES = 64 * 1024  # how much of the file the sniffer reads (magic numbers and the first lines of a CSV)
CSV_SAMPLE_ROWS = 10
ORIGINAL_NAME_MAX = 255

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ZIP_SIGNATURE = b"PK\x03\x04"
_TEXT_ENCODINGS = ("utf-8-sig", "gb18030")
_CSV_DELIMITERS = (",", "\t", ";")
_ALLOWED_CONTROL = frozenset("\t\r\n\f")
_MARKUP_STARTS = ("<", "#!")


# --- errors -------------------------------------------------------------------------------------------


class AssetRetired(Conflict):
    code = "asset_retired"
    title = gettext_lazy("Asset is retired")


class DocumentEmpty(ValidationFailed):
    code = "document_empty"
    title = gettext_lazy("Empty file")


class DocumentTooLarge(ApplicationError):
    code = "document_too_large"
    http_status = 413
    title = gettext_lazy("File too large")


class DocumentTypeUnsupported(ApplicationError):
    code = "document_type_unsupported"
    http_status = 415
    title = gettext_lazy("File type not accepted")


# --- sniffing -----------------------------------------------------------------------------------------


def _zip_is_xlsx(fileobj: IO[bytes]) -> bool:
    """An Office Open XML workbook: a ZIP with ``[Content_Types].xml`` and a part under ``xl/``.

    ``zipfile`` reads only the central directory (seeking to the end of the file), never the whole archive.
    A macro-enabled workbook (``xl/vbaProject.bin``, i.e. an .xlsm renamed .xlsx) is refused.
    """
    try:
        position = fileobj.tell()
    except (OSError, ValueError):
        position = None
    try:
        with zipfile.ZipFile(fileobj) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return False
    finally:
        if position is not None:
            fileobj.seek(position)
    if "[Content_Types].xml" not in names or "xl/vbaProject.bin" in names:
        return False
    return any(name.startswith("xl/") for name in names)


def _decode_sample(sample: bytes) -> str | None:
    """Decode as UTF-8 (with or without BOM) or GB18030. The sample may end inside a multi-byte character
    (it is the head of a larger file), so an incomplete sequence at the very end is tolerated."""
    for encoding in _TEXT_ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        try:
            return decoder.decode(sample, final=False)
        except UnicodeDecodeError:
            continue
    return None


def _looks_like_csv(text: str) -> bool:
    """Delimited text: the most common row width in the first rows is at least two fields for one of the
    delimiters, and at least half of those rows have it (a title line above the table is tolerated)."""
    if any(unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROL for ch in text):
        return False
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped or stripped.startswith(_MARKUP_STARTS):
        return False  # HTML, XML, SVG, scripts with a shebang: never evidence, whatever their commas
    complete = text.endswith(("\n", "\r"))
    for delimiter in _CSV_DELIMITERS:
        reader = csv.reader(io.StringIO(stripped, newline=""), delimiter=delimiter)
        try:
            rows = [row for row in itertools.islice(reader, CSV_SAMPLE_ROWS + 1) if row]
        except csv.Error:
            continue
        if len(rows) > CSV_SAMPLE_ROWS or (len(rows) > 1 and not complete):
            rows = rows[:-1]  # the last row of a sample may be cut short
        if not rows:
            continue
        width, count = Counter(len(row) for row in rows).most_common(1)[0]
        if width >= 2 and count * 2 >= len(rows):
            return True
    return False


def sniff_content_type(
    head: bytes, *, sample_text: bytes | None = None, fileobj: IO[bytes] | None = None
) -> str | None:
    """The accepted content type of a file, from its bytes only; ``None`` when it is none of them.

    ``head`` is the beginning of the file (magic numbers). ``sample_text`` is what the text check reads
    (defaults to ``head``). ``fileobj`` is the whole seekable file, used to read a ZIP's directory; without it
    ``head`` must hold the whole ZIP.
    """
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(_PNG_SIGNATURE):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(_ZIP_SIGNATURE):
        return XLSX if _zip_is_xlsx(fileobj if fileobj is not None else io.BytesIO(head)) else None
    sample = head if sample_text is None else sample_text
    if not sample or b"\x00" in sample:
        return None
    text = _decode_sample(sample)
    if text is None or not _looks_like_csv(text):
        return None
    return CSV


# --- names --------------------------------------------------------------------------------------------


def original_name_clean(name: str | None) -> str:
    """The client's file name as something safe to keep and to show: the last path component only, no
    control characters, at most 255 characters (the extension is kept when it has to be shortened)."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".").strip()
    if not name:
        return "document"
    if len(name) > ORIGINAL_NAME_MAX:
        stem, ext = os.path.splitext(name)
        ext = ext if len(ext) <= 16 else ""
        name = stem[: ORIGINAL_NAME_MAX - len(ext)] + ext
    return name


# --- selectors ----------------------------------------------------------------------------------------


def document_list_for_asset(*, asset: Asset) -> QuerySet[Document]:
    """The documents of an asset the caller already may see (``selectors.asset_get_for_user``)."""
    return Document.objects.filter(asset_id=asset.pk)


def document_get_for_asset(*, asset: Asset, document_id: int) -> Document:
    try:
        return Document.objects.get(asset_id=asset.pk, pk=document_id)
    except (Document.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Document not found.")) from None


# --- services -----------------------------------------------------------------------------------------


def _read_head(uploaded_file: UploadedFile) -> bytes:
    uploaded_file.seek(0)
    head = uploaded_file.read(HEAD_BYTES)
    uploaded_file.seek(0)
    return head


def _digest(uploaded_file: UploadedFile, *, limit: int) -> tuple[str, int]:
    """SHA-256 and size, streaming the file chunk by chunk (never the whole file in memory)."""
    sha = hashlib.sha256()
    size = 0
    for chunk in uploaded_file.chunks():
        size += len(chunk)
        if size > limit:
            _raise_too_large(limit)
        sha.update(chunk)
    uploaded_file.seek(0)
    return sha.hexdigest(), size


def _raise_too_large(limit: int) -> NoReturn:
    raise DocumentTooLarge(
        _("The file is larger than the %(limit)s bytes an evidence file may have.") % {"limit": limit},
        extra={"max_bytes": limit},
    )


def _raise_if_retired(asset: Asset) -> None:
    if asset.status == Asset.Status.RETIRED:
        raise AssetRetired(
            _("Asset %(id)s is retired; it takes no more evidence.") % {"id": asset.pk},
            extra={"current_status": asset.status},
        )


def _delete_stored(name: str) -> None:
    if not name:
        return
    try:
        Document.file.field.storage.delete(name)
    except Exception:  # the row is what matters; a stray random-named file is harmless
        logger.exception("Could not delete the stored evidence file %s", name)


def document_validate(*, uploaded_file: UploadedFile) -> tuple[str, str, int]:
    """Check an upload before anything is stored: (content type, sha256, size), or a coded refusal."""
    limit = settings.DOCUMENT_MAX_BYTES
    declared_size = uploaded_file.size or 0
    if declared_size > limit:
        _raise_too_large(limit)
    head = _read_head(uploaded_file)
    if not head:
        raise DocumentEmpty(_("The file is empty."), errors={"file": [_("The submitted file is empty.")]})
    content_type = sniff_content_type(head, fileobj=uploaded_file)
    uploaded_file.seek(0)
    if content_type is None:
        declared = getattr(uploaded_file, "content_type", None) or "unknown"
        name = original_name_clean(uploaded_file.name)
        raise DocumentTypeUnsupported(
            _(
                "The content of %(name)s (declared as %(declared)s) is not an accepted evidence type; "
                "accepted are PDF, PNG, JPEG, XLSX and CSV."
            )
            % {"name": name, "declared": declared},
            extra={
                "declared_content_type": declared,
                "detected_content_type": None,
                "accepted_content_types": list(ACCEPTED_CONTENT_TYPES),
            },
        )
    sha256, size = _digest(uploaded_file, limit=limit)
    if size == 0:
        raise DocumentEmpty(_("The file is empty."), errors={"file": [_("The submitted file is empty.")]})
    return content_type, sha256, size


@transaction.atomic
def document_upload(
    *, asset: Asset, uploaded_file: UploadedFile, kind: str, user: User | None, actor: Actor
) -> tuple[Document, bool]:
    """Store an evidence file on ``asset``. Returns (document, created); the same bytes already on the asset
    return the existing document and ``False`` and store nothing."""
    _raise_if_retired(asset)  # a quick answer before the file is read
    content_type, sha256, size = document_validate(uploaded_file=uploaded_file)

    asset = Asset.objects.select_for_update().get(pk=asset.pk)  # a concurrent retire waits for us
    _raise_if_retired(asset)
    existing = Document.objects.filter(asset=asset, sha256=sha256).first()
    if existing is not None:
        return existing, False

    document = Document(
        asset=asset,
        kind=kind,
        original_name=original_name_clean(uploaded_file.name),
        content_type=content_type,
        size=size,
        sha256=sha256,
        uploaded_by=user,
    )
    document.file.save("evidence", uploaded_file, save=False)  # upload_to picks a random name
    stored_name = document.file.name
    try:
        try:
            with transaction.atomic():
                document.save()
        except IntegrityError:
            # An identical upload to the same asset won the race: keep theirs, drop our copy.
            existing = Document.objects.filter(asset=asset, sha256=sha256).first()
            if existing is None:
                raise
            _delete_stored(stored_name)
            return existing, False
        audit_record(
            actor=actor,
            action="document.uploaded",
            object_type="document",
            object_id=document.pk,
            after={
                "asset": asset.pk,
                "kind": kind,
                "sha256": sha256,
                "size": size,
                "content_type": content_type,
                "original_name": document.original_name,
            },
        )
    except BaseException:
        _delete_stored(stored_name)
        raise
    return document, True


def document_open(*, document: Document) -> Any:
    """The stored file, opened for reading through the storage API."""
    return document.file.storage.open(document.file.name, "rb")
