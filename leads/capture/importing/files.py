"""Reading import files: CSV (encoding and delimiter sniffed) and XLSX, streamed row by row."""

import csv
import io
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import ParseError

# Messages users can act on (tests assert on them).
UNSUPPORTED_FORMAT = "Upload a .csv or .xlsx file (save other spreadsheets in one of these formats)."
EMPTY_FILE = "The file is empty."
NO_HEADER = "The file has no header row."
NOT_XLSX = "The file is not a readable .xlsx workbook."
NUL_IN_HEADER = "The header row contains NUL characters."
UNREADABLE_ROW = "The row could not be read: {error}."

SNIFF_BYTES = 64 * 1024
EXTENSIONS = (".csv", ".xlsx")


class ImportFileError(Exception):
    """The file as a whole cannot be imported; `message` says why, `field` which form field it concerns."""

    def __init__(self, message: str, *, field: str = "file"):
        super().__init__(message)
        self.message = message
        self.field = field


def _unique_headers(cells: list[Any]) -> list[str]:
    headers: list[str] = []
    seen: set[str] = set()
    for position, cell in enumerate(cells, start=1):
        name = " ".join(str(cell).split()) if cell is not None else ""
        name = name or f"Column {position}"
        candidate, n = name, 2
        while candidate in seen:
            candidate, n = f"{name} ({n})", n + 1
        seen.add(candidate)
        headers.append(candidate)
    return headers


@dataclass
class SheetRow:
    line: int  # 1-based, as a spreadsheet numbers rows (the header is usually line 1)
    cells: list[Any]
    error: str = ""


@dataclass
class Sheet:
    headers: list[str]
    rows: Iterator[SheetRow]
    estimate: int | None = None  # data rows, when the format tells without reading them


def _binary(fileobj: Any) -> Any:
    """The plain binary file under Django's File wrappers (csv and zipfile need a real one)."""
    while hasattr(fileobj, "file") and not isinstance(fileobj, io.IOBase):
        fileobj = fileobj.file
    return fileobj


def import_check_name(*, name: str) -> str:
    """The file's format from its name (.csv or .xlsx), or ImportFileError."""
    extension = os.path.splitext(name or "")[1].lower()
    if extension not in EXTENSIONS:
        raise ImportFileError(UNSUPPORTED_FORMAT)
    return extension


def _blank(cells: list[Any]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def _csv_encoding(head: bytes) -> str:
    """UTF-8 (with or without a BOM) when the start decodes as such; else Windows-1252, as Excel writes."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut by the sample's end
            return "cp1252"
    return "utf-8-sig"


def _csv_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


@contextmanager
def _csv_sheet(fileobj: Any) -> Iterator[Sheet]:
    raw = _binary(fileobj)
    raw.seek(0)
    head = raw.read(SNIFF_BYTES)
    raw.seek(0)
    if not head.strip():
        raise ImportFileError(EMPTY_FILE)
    encoding = _csv_encoding(head)
    sample = head.decode(encoding, errors="ignore")
    text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
    try:
        reader = csv.reader(text, delimiter=_csv_delimiter(sample))
        rows = _csv_rows(reader)
        header = next((row for row in rows if row.cells is not None and not row.error and not _blank(row.cells)), None)
        if header is None:
            raise ImportFileError(NO_HEADER)
        if any("\x00" in cell for cell in header.cells):
            raise ImportFileError(NUL_IN_HEADER)
        yield Sheet(headers=_unique_headers(header.cells), rows=rows, estimate=_csv_estimate(raw, head))
    finally:
        text.detach()  # leave the caller's file open


def _csv_estimate(raw: Any, head: bytes) -> int:
    """Data rows, estimated from the file's size and the lines in its first 64 KB (exact for a small
    file): enough for a progress bar, without reading the file twice."""
    position = raw.tell()
    size = raw.seek(0, io.SEEK_END)
    raw.seek(position)
    lines = head.count(b"\n") + (0 if head.endswith(b"\n") else 1)
    if size <= len(head):
        return max(0, lines - 1)
    return max(0, round(size * lines / len(head)) - 1)


def _csv_rows(reader: Any) -> Iterator[SheetRow]:
    previous = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a cell over the csv module's field size limit: skip that row only
            yield SheetRow(line=previous + 1, cells=[], error=UNREADABLE_ROW.format(error=exc))
        else:
            yield SheetRow(line=previous + 1, cells=cells)
        previous = reader.line_num


@contextmanager
def _xlsx_sheet(fileobj: Any) -> Iterator[Sheet]:
    import openpyxl  # heavy: loaded only when an .xlsx file is read
    from openpyxl.utils.exceptions import InvalidFileException  # heavy: loaded only when used

    raw = _binary(fileobj)
    raw.seek(0)
    if not raw.read(4):
        raise ImportFileError(EMPTY_FILE)
    raw.seek(0)
    try:
        workbook = openpyxl.load_workbook(raw, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, ParseError) as exc:
        raise ImportFileError(NOT_XLSX) from exc
    try:
        try:
            sheet = workbook.worksheets[0]
            estimate = sheet.max_row
            # Some writers store a wrong size; without it openpyxl reads every row there is.
            sheet.reset_dimensions()
            rows = (
                SheetRow(line=line, cells=list(values))
                for line, values in enumerate(sheet.iter_rows(values_only=True), start=1)
            )
            header = next((row for row in rows if not _blank(row.cells)), None)
        except (IndexError, KeyError, ValueError, zipfile.BadZipFile, ParseError) as exc:
            raise ImportFileError(NOT_XLSX) from exc
        if header is None:
            raise ImportFileError(NO_HEADER)
        while header.cells and header.cells[-1] is None:
            header.cells.pop()
        if any(isinstance(cell, str) and "\x00" in cell for cell in header.cells):
            raise ImportFileError(NUL_IN_HEADER)
        yield Sheet(
            headers=_unique_headers(header.cells),
            rows=rows,
            estimate=max(0, estimate - header.line) if estimate else None,
        )
    finally:
        workbook.close()


@contextmanager
def import_sheet(*, fileobj: Any, name: str) -> Iterator[Sheet]:
    """Open a CSV or XLSX file for streaming: its header and an iterator over its rows."""
    opener = _xlsx_sheet if import_check_name(name=name) == ".xlsx" else _csv_sheet
    with opener(fileobj) as sheet:
        yield sheet
