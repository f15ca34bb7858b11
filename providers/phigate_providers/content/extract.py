"""Text out of an object's bytes, as records (a CSV row, a JSON element, a paragraph, a page).

Formats are told by their first bytes, then by the name: PDF (pypdf), Word ``.docx``
(python-docx), Excel ``.xlsx`` (openpyxl), gzip, JSON and JSON Lines, CSV/TSV, XML/HTML and
plain text. Parsers see at most the bytes read; what they could not parse is :class:`Unreadable`
with a reason from a fixed list, never the parser's own message (it may quote the content).
Parsers' log records and warnings are silenced for the same reason.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import html
import io
import json
import logging
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: Reasons an object yields no text (the only words an error or a count may carry).
UNSUPPORTED = "unsupported format"
ENCRYPTED = "encrypted"
CORRUPT = "unparsable"
TOO_LARGE = "too large to read whole"

#: Formats that need the whole object (a truncated one cannot be parsed).
WHOLE_FORMATS = frozenset({"pdf", "docx", "xlsx", "gzip"})
_EXTENSIONS = {
    ".pdf": "pdf", ".docx": "docx", ".xlsx": "xlsx", ".xlsm": "xlsx", ".gz": "gzip", ".json": "json",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "csv", ".txt": "text", ".log": "text",
    ".md": "text", ".xml": "markup", ".html": "markup", ".htm": "markup",
}
_BINARY_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic",
                                ".mp3", ".mp4", ".mov", ".avi", ".wav", ".zip", ".7z", ".rar", ".tar",
                                ".exe", ".dll", ".so", ".bin", ".parquet", ".avro", ".orc", ".doc", ".xls",
                                ".ppt", ".pptx", ".odt", ".ods", ".dcm"})
#: Caps that keep one hostile object from taking the scan's memory or time.
MAX_TEXT = 4_000_000
MAX_RECORDS = 20_000
MAX_RECORD = 2_000
MAX_PAGES = 50
MAX_EXPANDED = 64 * 1024 * 1024
MAX_RATIO = 200
_TAG = re.compile(r"<[^>]{0,2000}>")
_BLANK_LINES = re.compile(r"\n[ \t]*\n")
_PARSER_LOGGERS = ("pypdf", "openpyxl", "docx", "PIL")


class Unreadable(Exception):
    """No text could be taken from the object; ``reason`` is one of the module's constants."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Extracted:
    format: str
    records: list[str]


class _Silence(logging.Filter):
    """Drops every record of the parsers' loggers: their messages may quote the content."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


for _name in _PARSER_LOGGERS:
    logging.getLogger(_name).addFilter(_Silence())
warnings.filterwarnings("ignore", module=r"(openpyxl|pypdf|docx)(\..*)?")


def format_of(name: str, head: bytes) -> str:
    """The format of an object from its first bytes, then its name; ``binary`` when it is
    neither a known document nor text."""
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"PK\x03\x04"):
        lowered = name.lower()
        if lowered.endswith((".xlsx", ".xlsm")):
            return "xlsx"
        return "docx" if lowered.endswith(".docx") else "zip"
    suffix = _suffix(name)
    if suffix in _BINARY_EXTENSIONS:
        return "binary"
    if suffix in _EXTENSIONS and _EXTENSIONS[suffix] not in WHOLE_FORMATS:
        return _EXTENSIONS[suffix]
    if b"\x00" in head[:4096] and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "binary"
    stripped = head.lstrip()[:1]
    if stripped in (b"{", b"["):
        return "json"
    if stripped == b"<":
        return "markup"
    return "text"


def expected_format(name: str) -> str | None:
    """The format a name announces, before any byte is read (to know whether it must be read
    whole)."""
    return _EXTENSIONS.get(_suffix(name))


def extract(name: str, data: bytes, complete: bool) -> Extracted:
    """Records of text in ``data`` (the object's first bytes; ``complete`` when that is all of
    it). Raises :class:`Unreadable`."""
    kind = format_of(name, data[:8192])
    if kind in ("binary", "zip"):
        raise Unreadable(UNSUPPORTED)
    if kind in WHOLE_FORMATS and not complete:
        raise Unreadable(TOO_LARGE)
    try:
        records = list(_records(kind, name, data, complete))
    except Unreadable:
        raise
    except ImportError:  # the parser of this format is not installed
        raise Unreadable(UNSUPPORTED) from None
    except (RecursionError, MemoryError):
        raise Unreadable(CORRUPT) from None
    except Exception:  # a parser's failure: its message may quote the content, so it is dropped
        raise Unreadable(CORRUPT) from None
    return Extracted(kind, _bounded(records))


def _records(kind: str, name: str, data: bytes, complete: bool) -> Iterator[str]:
    if kind == "pdf":
        yield from _pdf(data)
    elif kind == "docx":
        _check_zip(data)
        yield from _docx(data)
    elif kind == "xlsx":
        _check_zip(data)
        yield from _xlsx(data)
    elif kind == "gzip":
        inner_name = name[:-3] if name.lower().endswith(".gz") else name + ".txt"
        inner = _gunzip(data)
        if format_of(inner_name, inner[:8192]) == "gzip":
            raise Unreadable(UNSUPPORTED)  # gzip in gzip: one level only
        yield from extract(inner_name, inner, complete=len(inner) < MAX_EXPANDED).records
    else:
        text = decode(data, complete)
        if kind == "json":
            yield from _json(text)
        elif kind == "jsonl":
            yield from _json_lines(text)
        elif kind == "csv":
            yield from _csv(text, "\t" if name.lower().endswith(".tsv") else None)
        elif kind == "markup":
            yield from paragraphs(html.unescape(_TAG.sub(" ", text)))
        else:
            yield from paragraphs(text)


def decode(data: bytes, complete: bool = True) -> str:
    """Text of ``data``: a BOM says the encoding, else UTF-8, else Windows-1252. A truncated
    object loses its last, partial line."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            text = data.decode(encoding, "replace")
            break
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A cut in the middle of a character at the end of a partial read is still UTF-8.
            if not complete and exc.start >= len(data) - 3:
                text = data[:exc.start].decode("utf-8", "replace")
            else:
                text = data.decode("cp1252", "replace")
    if not complete and "\n" in text:
        text = text[:text.rindex("\n")]
    return text[:MAX_TEXT]


def paragraphs(text: str) -> Iterator[str]:
    """Blocks between blank lines, long ones cut at line ends near :data:`MAX_RECORD`."""
    for raw in _BLANK_LINES.split(text):
        block = raw.strip()
        while len(block) > MAX_RECORD:
            cut = block.rfind("\n", 0, MAX_RECORD)
            cut = cut if cut > 0 else MAX_RECORD
            yield block[:cut]
            block = block[cut:].lstrip()
        if block:
            yield block


def _json(text: str) -> Iterator[str]:
    try:
        document = json.loads(text)
    except ValueError:
        yield from _json_lines(text)  # several documents, one a line
        return
    items: Any = document
    if isinstance(document, dict):
        lists = [v for v in document.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        items = lists[0] if len(lists) == 1 else [document]
    if not isinstance(items, list):
        items = [items]
    for item in items:
        yield flatten(item)


def _json_lines(text: str) -> Iterator[str]:
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        try:
            yield flatten(json.loads(line))
        except ValueError:
            yield line


def flatten(value: Any, key: str = "", depth: int = 0) -> str:
    """A JSON value as "key: value; …" text: keys are context ("date_naissance: 1980-03-12")."""
    if depth > 20:
        return ""
    if isinstance(value, dict):
        return "; ".join(part for k, v in value.items() if (part := flatten(v, str(k), depth + 1)))
    if isinstance(value, list):
        return "; ".join(part for v in value if (part := flatten(v, key, depth + 1)))
    if value is None or value == "":
        return ""
    text = str(value)
    return f"{key}: {text}" if key else text


def _csv(text: str, delimiter: str | None) -> Iterator[str]:
    sample = text[:8192]
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    for number, row in enumerate(rows):
        if number == 0 and row and all(cell.strip() and not any(c.isdigit() for c in cell) for cell in row):
            header = [cell.strip() for cell in row]
            continue
        yield _labelled(header, row)


def _labelled(header: list[str] | None, row: list[Any]) -> str:
    """A row as "column: value; …": a column's name is context for its values."""
    cells = [("" if cell is None else str(cell)).strip() for cell in row]
    if header is None:
        return "; ".join(cell for cell in cells if cell)
    return "; ".join(f"{header[i]}: {cell}" if i < len(header) else cell
                     for i, cell in enumerate(cells) if cell)


def _check_zip(data: bytes) -> None:
    """Office files are zip archives: refuse one that would expand past the caps."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise Unreadable(CORRUPT) from None
    total = sum(member.file_size for member in members)
    if total > MAX_EXPANDED or any(m.compress_size and m.file_size / m.compress_size > MAX_RATIO
                                   for m in members):
        raise Unreadable(TOO_LARGE)


def _gunzip(data: bytes) -> bytes:
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
        return stream.read(MAX_EXPANDED)


def _pdf(data: bytes) -> Iterator[str]:
    from pypdf import PdfReader  # imported on first use: a scan without PDFs does not load it

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise Unreadable(ENCRYPTED)
    for number, page in enumerate(reader.pages):
        if number >= MAX_PAGES:
            break
        yield from paragraphs(page.extract_text() or "")


def _docx(data: bytes) -> Iterator[str]:
    import docx

    document = docx.Document(io.BytesIO(data))
    yield from paragraphs("\n".join(paragraph.text for paragraph in document.paragraphs))
    for table in document.tables:
        header: list[str] | None = None
        for number, row in enumerate(table.rows):
            cells = [cell.text for cell in row.cells]
            if number == 0:
                header = [cell.strip() for cell in cells]
                continue
            yield _labelled(header, cells)


def _xlsx(data: bytes) -> Iterator[str]:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            header: list[str] | None = None
            for number, row in enumerate(sheet.iter_rows(values_only=True)):
                if number >= MAX_RECORDS:
                    break
                if number == 0 and row and all(isinstance(cell, str) for cell in row if cell is not None):
                    header = ["" if cell is None else str(cell) for cell in row]
                    continue
                yield _labelled(header, list(row))
    finally:
        workbook.close()


def _bounded(records: list[str]) -> list[str]:
    kept: list[str] = []
    total = 0
    for whole in records[:MAX_RECORDS]:
        record = whole[:MAX_RECORD]
        total += len(record)
        if total > MAX_TEXT:
            break
        if record.strip():
            kept.append(record)
    return kept


def _suffix(name: str) -> str:
    base = name.rsplit("/", 1)[-1].lower()
    return base[base.rfind("."):] if "." in base else ""


__all__ = ["CORRUPT", "ENCRYPTED", "TOO_LARGE", "UNSUPPORTED", "WHOLE_FORMATS", "Extracted", "Unreadable",
           "decode", "expected_format", "extract", "flatten", "format_of", "paragraphs"]
