"""Spreadsheet exports (CSV streamed, XLSX written row by row), safe against formula injection.

A cell that a spreadsheet would read as a formula (=, +, -, @, or a tab/CR/LF first) is prefixed
with an apostrophe, so `=HYPERLINK(…)` typed into a public form shows as text, never runs.
"""

import csv
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


def cell_safe(value: Any, *, zone=None) -> Any:
    """One cell value made safe for a spreadsheet: formula-looking text is prefixed with '; aware
    date-times are shown in `zone` (default: the active time zone)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return (
            timezone.localtime(value, zone).strftime("%Y-%m-%d %H:%M:%S")
            if timezone.is_aware(value)
            else value.isoformat(" ")
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(part) for part in value)
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def _xlsx_cell(value: Any, zone) -> Any:
    """cell_safe, and the control characters XML 1.0 cannot hold (openpyxl raises
    IllegalCharacterError on them: a \u0007 typed into a form broke every XLSX export) replaced by \ufffd."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # heavy: loaded only when used

    cell = cell_safe(value, zone=zone)
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", cell) if isinstance(cell, str) else cell


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a streaming response."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]], zone) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # a BOM, so Excel opens UTF-8 names correctly
    yield writer.writerow([cell_safe(h) for h in header])
    for row in rows:
        yield writer.writerow([cell_safe(cell, zone=zone) for cell in row])


def rows_export_response(
    *, header: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str, filename: str
) -> StreamingHttpResponse | FileResponse:
    """A download of `rows` (any iterable, consumed once) as CSV (streamed) or XLSX (write-only workbook)."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}")
    # The user's zone, taken now: a streamed body is written after the middleware has deactivated it.
    zone = timezone.get_current_timezone()
    if fmt == "csv":
        response = StreamingHttpResponse(_csv_lines(header, rows, zone), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    from openpyxl import Workbook  # heavy (openpyxl): loaded only when an .xlsx file is written or read

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append([_xlsx_cell(h, zone) for h in header])
    for row in rows:
        sheet.append([_xlsx_cell(cell, zone) for cell in row])
    # write_only keeps memory flat while rows are added; the file goes to disk, not to RAM.
    spool = tempfile.TemporaryFile()
    workbook.save(spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_CONTENT_TYPE)


# --- Lead exports (segments, lists, the lead list's bulk export) --------------------------

# Column key -> (header, the value path read with values_list). Every export of leads offers these.
EXPORT_COLUMNS: dict[str, tuple[str, str]] = {
    "id": ("ID", "pk"),
    "first_name": ("First name", "first_name"),
    "last_name": ("Last name", "last_name"),
    "email": ("Email", "email"),
    "phone": ("Phone", "phone"),
    "company": ("Company", "company"),
    "job_title": ("Job title", "job_title"),
    "website": ("Website", "website"),
    "country": ("Country", "country"),
    "region": ("Region", "region"),
    "city": ("City", "city"),
    "industry": ("Industry", "industry"),
    "company_size": ("Company size", "company_size"),
    "status": ("Status", "status"),
    "source": ("Source", "source"),
    "source_detail": ("Source detail", "source_detail"),
    "score": ("Score", "score"),
    "grade": ("Grade", "grade"),
    "probability": ("Probability", "probability"),
    "owner": ("Owner", "owner__username"),
    "team": ("Team", "team__name"),
    "tags": ("Tags", "tags"),
    "email_opt_in": ("Email opt-in", "email_opt_in"),
    "utm_source": ("UTM source", "utm_source"),
    "utm_medium": ("UTM medium", "utm_medium"),
    "utm_campaign": ("UTM campaign", "utm_campaign"),
    "created_at": ("Created", "created_at"),
    "last_activity_at": ("Last activity", "last_activity_at"),
}
DEFAULT_EXPORT_COLUMNS = ("first_name", "last_name", "email", "company", "status", "score", "grade", "owner")
EXPORT_CHUNK_SIZE = 2000
UNKNOWN_COLUMN = "Unknown column {column!r}."


def leads_export_response(
    *, leads, columns: Sequence[str], fmt: str, filename: str
) -> StreamingHttpResponse | FileResponse:
    """A CSV/XLSX download of `leads` (a queryset the caller scoped with visible_to) with the chosen EXPORT_COLUMNS."""
    unknown = [column for column in columns if column not in EXPORT_COLUMNS]
    if unknown or not columns:
        raise ValueError(UNKNOWN_COLUMN.format(column=unknown[0] if unknown else ""))
    header = [EXPORT_COLUMNS[column][0] for column in columns]
    paths = [EXPORT_COLUMNS[column][1] for column in columns]
    # A server-side cursor read 2,000 rows at a time: memory stays flat for a million leads.
    rows = leads.values_list(*paths).iterator(chunk_size=EXPORT_CHUNK_SIZE)
    return rows_export_response(header=header, rows=rows, fmt=fmt, filename=filename)
