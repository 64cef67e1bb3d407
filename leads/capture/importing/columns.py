"""Matching a file's columns to lead fields: case, spaces and punctuation ignored, common synonyms known;
other columns become custom attributes."""
from typing import Any

from ...models import Lead
from ..cleaning import CAPTURE_FIELDS
from .files import ImportFileError, import_sheet

ID_COLUMN_MISSING = 'The id column "{column}" is not in the file.'

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


def import_inspect(*, fileobj: Any, name: str, id_column: str = "") -> dict[str, str]:
    """Read only the header row: the column map, or ImportFileError with a message users can act on."""
    with import_sheet(fileobj=fileobj, name=name) as sheet:
        return import_columns(headers=sheet.headers, id_column=id_column)
