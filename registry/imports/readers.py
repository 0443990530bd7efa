"""Streaming readers for import files. Every reader is a generator over an open binary file (the stored upload,
opened through the storage API), so a file of any size is read in constant memory, one row at a time.

The format is decided from the content, never from the file name: a ZIP is an XLSX workbook, a file whose first
non-blank byte is ``[`` is a JSON array, anything else is CSV. Readers raise :class:`FileUnreadable` with a
sentence for the user when the file cannot be read as its format.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from django.utils.translation import gettext as _

HEAD_BYTES = 64 * 1024  # what format and encoding detection read
SHARED_STRINGS = "xl/sharedStrings.xml"  # the one part of a workbook openpyxl holds in memory
ZIP_MAGIC = b"PK\x03\x04"
UTF8_BOM = b"\xef\xbb\xbf"
CSV_ENCODINGS = ("utf-8-sig", "gb18030")
BLANK_BYTES = b" \t\r\n"


class FileUnreadable(Exception):
    """The file cannot be read as its format; the message says why, for the person who uploaded it."""


def format_sniff(head: bytes) -> str:
    """``xlsx``, ``json`` or ``csv``, from the first bytes of a file."""
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    text = head.removeprefix(UTF8_BOM).lstrip(BLANK_BYTES)
    if text.startswith(b"["):
        return "json"
    return "csv"


def zip_workbook_parts(fileobj: IO[bytes]) -> dict[str, int] | None:
    """The parts of an Office Open XML workbook with their uncompressed sizes; ``None`` when the file is not one.
    Reads only the ZIP's central directory."""
    position = fileobj.tell()
    try:
        with zipfile.ZipFile(fileobj) as archive:
            parts = {info.filename: info.file_size for info in archive.infolist()}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None
    finally:
        fileobj.seek(position)
    if "[Content_Types].xml" not in parts or not any(name.startswith("xl/") for name in parts):
        return None
    return parts


def csv_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM) when the first chunk decodes as UTF-8, else GB18030. The chunk may end inside a
    multi-byte character, which is tolerated."""
    for encoding in CSV_ENCODINGS:
        try:
            codecs.getincrementaldecoder(encoding)(errors="strict").decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    raise FileUnreadable(_("The CSV file is neither UTF-8 nor GB18030 text."))


def csv_rows(fileobj: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    """``(row number, cells)`` for every record of a CSV file, the header included (row 1). Records are numbered
    as a spreadsheet shows them: a quoted cell spanning several lines is one row."""
    head = fileobj.read(HEAD_BYTES)
    fileobj.seek(0)
    encoding = csv_encoding(head)
    text = io.TextIOWrapper(fileobj, encoding=encoding, errors="strict", newline="")  # type: ignore[type-var]
    number = 0
    try:
        for number, cells in enumerate(csv.reader(text), start=1):
            yield number, cells
    except UnicodeDecodeError:
        raise FileUnreadable(
            _("The CSV file is not valid %(encoding)s text after row %(row)s.")
            % {"encoding": "UTF-8" if encoding.startswith("utf") else "GB18030", "row": number}
        ) from None
    except csv.Error as exc:
        raise FileUnreadable(
            _("The CSV file cannot be read after row %(row)s: %(error)s.") % {"row": number, "error": exc}
        ) from None
    finally:
        with contextlib.suppress(ValueError):  # already closed by its owner
            text.detach()  # leave the underlying file open: it belongs to the caller


def xlsx_rows(fileobj: IO[bytes]) -> Iterator[tuple[int, list[Any]]]:
    """``(row number, cell values)`` for every row of the first sheet of a workbook, the header included (row 1).
    openpyxl's read-only mode streams the sheet; empty rows between rows are yielded as empty lists."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(fileobj, read_only=True, data_only=True, keep_links=False)
    except Exception:  # any parsing failure of an uploaded workbook is the file's problem, not ours
        raise FileUnreadable(_("The XLSX file cannot be opened as a workbook.")) from None
    number = 0
    try:
        if not workbook.worksheets:
            raise FileUnreadable(_("The workbook has no sheet."))
        for number, values in enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1):
            yield number, list(values)
    except FileUnreadable:
        raise
    except Exception:
        raise FileUnreadable(_("The workbook cannot be read after row %(row)s.") % {"row": number}) from None
    finally:
        workbook.close()


def json_items(fileobj: IO[bytes]) -> Iterator[tuple[int, Any]]:
    """``(item number, item)`` for every element of the top-level JSON array, numbered from 1. Numbers arrive
    as ``int`` or ``Decimal`` (never ``float``)."""
    import ijson

    if fileobj.read(len(UTF8_BOM)) != UTF8_BOM:
        fileobj.seek(0)
    number = 0
    try:
        for number, item in enumerate(ijson.items(fileobj, "item"), start=1):
            yield number, item
    except ijson.JSONError as exc:
        raise FileUnreadable(
            _("The JSON file is not valid after item %(n)s: %(error)s") % {"n": number, "error": exc}
        ) from None
    except UnicodeDecodeError:
        raise FileUnreadable(_("The JSON file is not UTF-8 text.")) from None
