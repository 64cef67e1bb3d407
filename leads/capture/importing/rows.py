"""Cleaning one data row: cells typed, placeholders dropped, statuses and names read, then the
rules of capture_clean (strict), or the reason the row is rejected."""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.utils import timezone

from ...common.validation import NULL_CHARACTERS
from ...models import Lead
from ..cleaning import TOO_LONG, capture_clean
from .columns import ATTRIBUTE_PREFIX, FULL_NAME, LOST_REASON, SKIP, STATUS
from .countries import country_code, region_name
from .crm_formats import CREATED, MOBILE, OWNER
from .dates import MONTH_FIRST, import_date
from .files import _blank
from .statuses import STATUS_SYNONYMS, import_status  # noqa: F401 (re-exported for the package's callers)

# Messages users can act on (tests assert on them).
UNKNOWN_STATUS = (
    'Unknown status "{value}": imported as new, the value kept as an attribute; map it and run the import again.'
)
NOT_YES_NO = "Enter yes or no."
NO_IDENTITY = "No email, phone or id: the row could not be matched again on a later import."

MOBILE_ATTRIBUTE = "mobile_phone"  # a mobile number beside a phone: we keep one phone field

# Cells that mean "nothing here" (forms and CRMs export them): omitted, in every column.
PLACEHOLDERS = frozenset(
    {
        "",
        "-",
        "--",
        "---",
        "\u2013",
        "\u2014",
        "n/a",
        "na",
        "#n/a",
        "select",
        "select...",
        "select one",
        "please select",
        "-- select --",
        "- select -",
        "--select--",
        "null",
        "(blank)",
    }
)
TRUE_WORDS = frozenset({"yes", "true"})
FALSE_WORDS = frozenset({"no", "false"})
OPT_IN_TRUE = TRUE_WORDS | {"y", "1"}
OPT_IN_FALSE = FALSE_WORDS | {"n", "0"}
_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,14})")  # leading zeros (zip codes, ids) stay text
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+")
_COMPANY_SIZES = (
    (10, "1-10"),
    (50, "11-50"),
    (200, "51-200"),
    (500, "201-500"),
    (1000, "501-1000"),
    (5000, "1001-5000"),
)


@dataclass
class ImportRow:
    """One data row, cleaned: lead fields as capture_clean returns them, or why it was rejected."""

    line: int
    payload: dict[str, Any]
    fields: dict[str, Any] = field(default_factory=dict)
    status: str = ""
    lost_reason: str = ""
    owner: str = ""  # as the file names the owner: matched to a user when the batch is written
    created_at: datetime | None = None
    unknown_status: str = ""  # a status neither the import's mapping nor the default table knows
    error: str = ""


@dataclass(frozen=True)
class RowRules:
    """What one import's rows are read with: its status mapping (folded value -> status), date order
    and the time zone of dates written without one (the current zone when the rules are made)."""

    status_map: dict[str, str] = field(default_factory=dict)
    date_order: str = MONTH_FIRST
    zone: tzinfo = field(default_factory=timezone.get_current_timezone)


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
    """A country as people write it ("USA", "Deutschland", "UK") as its ISO code, cached: a file
    repeats a few countries many times. Unknown values give "" (the cell is kept as an attribute)."""
    return country_code(text)


def _split_name(text: str) -> tuple[str, str]:
    if "," in text:
        last, _, first = text.partition(",")
        return first.strip(), last.strip()
    first, _, last = text.strip().partition(" ")
    return first, last.strip()


def _status(row: ImportRow, cell: Any, label: str, rules: RowRules, attributes: dict[str, Any]) -> None:
    """The file's status in ours; an unknown one leaves the status alone (new for a new lead) and
    keeps the value as an attribute, for the report to list and the user to map."""
    text = " ".join(_as_text(cell).split())
    status = import_status(text, rules.status_map)
    if status is None:
        row.unknown_status = text[:100]
        attributes.setdefault(label, text)
    else:
        row.status = status


def _place(
    data: dict[str, Any], labels: dict[str, str], attributes: dict[str, Any], row: ImportRow, rules: RowRules
) -> str:
    """The pseudo fields and the values read through libraries (names, mobile, owner, dates, country,
    region); an error message, or ""."""
    full_name = data.pop(FULL_NAME, None)
    if full_name is not None:
        first, last = _split_name(_as_text(full_name))
        for name, part in (("first_name", first), ("last_name", last)):
            if part and name not in data:
                data[name], labels[name] = part, labels[FULL_NAME]
    mobile = data.pop(MOBILE, None)
    if mobile is not None:
        if "phone" in data:
            attributes.setdefault(MOBILE_ATTRIBUTE, _as_text(mobile))
        else:
            data["phone"], labels["phone"] = mobile, labels[MOBILE]
    owner = data.pop(OWNER, None)
    if owner is not None:
        row.owner = " ".join(_as_text(owner).split())[:254]
    created = data.pop(CREATED, None)
    if created is not None:
        row.created_at = import_date(created, order=rules.date_order, zone=rules.zone)
        if row.created_at is None:  # kept as written; the lead is created now, never rejected for it
            attributes.setdefault(labels[CREATED], _as_text(created))
    if "country" in data:
        written = _as_text(data["country"])
        data["country"] = _country_code(written)
        if not data["country"]:
            attributes.setdefault(labels["country"], written)  # kept as written, never a reason to reject
    if "region" in data:
        data["region"] = region_name(" ".join(_as_text(data["region"]).split()), data.get("country") or "")
    return ""


def import_row_clean(
    *,
    line: int,
    cells: list[Any],
    headers: list[str],
    columns: dict[str, str],
    rules: RowRules | None = None,
) -> ImportRow:
    """Turn one row into clean lead fields (the rules of capture_clean, strict), or a rejection reason."""
    rules = rules or RowRules()
    payload = {header: _jsonable(cell) for header, cell in zip(headers, cells) if cell not in (None, "")}
    if len(cells) > len(headers) and not _blank(cells[len(headers) :]):
        payload["_extra"] = [_jsonable(cell) for cell in cells[len(headers) :] if cell not in (None, "")]
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
        if target == SKIP:
            continue
        if target.startswith(ATTRIBUTE_PREFIX):
            typed = typed_value(cell)
            if typed is not None:
                attributes.setdefault(target[len(ATTRIBUTE_PREFIX) :], typed)
        elif target in data:
            attributes[header] = typed_value(cell)  # a second column for the same field: keep it too
        else:
            data[target] = cell
            labels[target] = header
    status_cell = data.pop(STATUS, None)
    if status_cell is not None:
        _status(row, status_cell, labels[STATUS], rules, attributes)
    reason = data.pop(LOST_REASON, None)
    if reason is not None:
        row.lost_reason = " ".join(_as_text(reason).split())
        if len(row.lost_reason) > Lead._meta.get_field("lost_reason").max_length:
            max_length = Lead._meta.get_field("lost_reason").max_length
            row.error = f"{labels[LOST_REASON]}: {TOO_LONG.format(max=max_length)}"
            return row
    row.error = _place(data, labels, attributes, row, rules)
    if row.error:
        return row
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
