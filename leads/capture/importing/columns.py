"""Matching a file's columns to lead fields: case, spaces and punctuation ignored, common synonyms and
the standard exports of other CRMs known (crm_formats.py); other columns become custom attributes."""

from typing import Any

from ...models import Lead
from ..cleaning import CAPTURE_FIELDS
from .crm_formats import CREATED, CRM_COLUMNS, MOBILE, OWNER, PERSON_PREFIX
from .files import ImportFileError, import_sheet

ID_COLUMN_MISSING = 'The id column "{column}" is not in the file.'
UNKNOWN_TARGET = 'Column "{column}" cannot go to "{target}".'

FULL_NAME = "_name"  # a pseudo field: "Name" / "Full Name", split into first and last name
STATUS = "status"
LOST_REASON = "lost_reason"
ATTRIBUTE_PREFIX = "attributes."
SKIP = "_skip"  # chosen in the mapping step: the column is not imported at all

COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "first_name": ("First Name", "First", "Given Name", "Forename"),
    "last_name": ("Last Name", "Last", "Surname", "Family Name"),
    FULL_NAME: ("Name", "Full Name", "Contact Name", "Lead Name"),
    "email": ("Email", "E-mail", "Email Address", "E-mail Address", "Mail", "Work Email", "Business Email"),
    "phone": ("Phone", "Phone Number", "Telephone", "Tel", "Work Phone", "Business Phone"),
    MOBILE: ("Mobile", "Mobile Phone", "Mobile Number", "Cell", "Cell Phone"),
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
    OWNER: ("Owner", "Lead Owner", "Contact Owner", "Owner Email", "Sales Rep", "Assigned To"),
    CREATED: ("Created", "Created At", "Created On", "Create Date", "Date Created", "Created Date"),
}

# What the mapping step offers for a column, besides keeping it as an attribute or skipping it.
TARGET_LABELS: dict[str, str] = {
    "first_name": "First name",
    "last_name": "Last name",
    FULL_NAME: "Full name (split)",
    "email": "Email",
    "phone": "Phone",
    MOBILE: "Mobile phone",
    "company": "Company",
    "job_title": "Job title",
    "website": "Website",
    "attributes.street": "Street (attribute)",
    "city": "City",
    "region": "State / region",
    "postal_code": "Postal code",
    "country": "Country",
    "time_zone": "Time zone",
    "industry": "Industry",
    "company_size": "Company size",
    "source_detail": "Lead source",
    STATUS: "Status",
    LOST_REASON: "Lost reason",
    OWNER: "Owner (user)",
    CREATED: "Created date",
    "external_id": "External id",
    "tags": "Tags",
    "email_opt_in": "Email opt-in",
    "utm_source": "UTM source",
    "utm_medium": "UTM medium",
    "utm_campaign": "UTM campaign",
    "utm_term": "UTM term",
    "utm_content": "UTM content",
}


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
    for table in CRM_COLUMNS.values():
        for name, target in table.items():
            index[_header_key(name)] = target  # an export's own meaning wins over a generic guess
    return index


def _detect(header: str) -> str | None:
    key = _header_key(header)
    if key in _SYNONYMS:
        return _SYNONYMS[key]
    person_field = PERSON_PREFIX.sub("", header)
    return _SYNONYMS.get(_header_key(person_field)) if person_field != header else None


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
            target = "external_id" if key == id_key else _detect(header)
            if target == "external_id" and key != id_key:
                target = None  # another id-like column: the chosen id column wins
        else:
            target = _detect(header)
        columns[header] = target or f"{ATTRIBUTE_PREFIX}{header}"
    return columns


def import_columns_choose(*, headers: list[str], detected: dict[str, str], chosen: dict[str, str]) -> dict[str, str]:
    """The detected map with the mapping step's choices applied (a field, an attribute, or skip)."""
    columns = dict(detected)
    for header, target in chosen.items():
        if header not in columns or not target:
            continue
        if target not in TARGET_LABELS and target != SKIP and target != f"{ATTRIBUTE_PREFIX}{header}":
            raise ImportFileError(UNKNOWN_TARGET.format(column=header, target=target), field="column_map")
        columns[header] = target
    return {header: columns[header] for header in headers}


def import_inspect(*, fileobj: Any, name: str, id_column: str = "") -> dict[str, str]:
    """Read only the header row: the column map, or ImportFileError with a message users can act on."""
    with import_sheet(fileobj=fileobj, name=name) as sheet:
        return import_columns(headers=sheet.headers, id_column=id_column)
