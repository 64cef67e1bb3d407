"""The import channel: CSV and XLSX files through the command (the upload page and admin: test_import_pages.py)."""

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from leads.capture.cleaning import TOO_LONG
from leads.capture.importing import (
    ID_COLUMN_MISSING,
    LOST_REASON_DEFAULT,
    NO_IDENTITY,
    UNSUPPORTED_FORMAT,
    import_columns,
    import_status,
    typed_value,
)
from leads.common.validation import NULL_CHARACTERS
from leads.models import CaptureRecord, ImportJob, Interaction, Lead, PossibleDuplicate
from tests.factories import LeadFactory

INVALID_EMAIL = "Enter a valid email address."


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploaded files go to a temporary folder, not var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def write_csv(path: Path, rows: list[list], *, delimiter: str = ",", encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def csv_bytes(rows: list[list]) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode("utf-8")


def write_xlsx(path: Path, rows: list[list]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run_command(*args: str) -> str:
    out = io.StringIO()
    call_command("import_leads", *args, stdout=out)
    return out.getvalue()


TRADE_SHOW = [
    ["E-mail", "First Name", "Surname", "Company Name", "Lead Source", "Job Title", "Mobile", "Country", "Zip"],
    ["Jane.Doe@Acme.example", "Jane", "Doe", "Acme", "Trade show Berlin", "CTO", "030 1234567", "Germany", "10115"],
    ["raj@initech.example", "Raj", "Patel", "Initech", "", "Buyer", "", "US", "02134"],
]


# --- Column matching and cleaning --------------------------------------------------------------


def test_columns_match_lead_fields_by_name_and_synonym_ignoring_case_and_spaces():
    headers = [
        "E-mail",
        " email address ",
        "COMPANY NAME",
        "Lead Source",
        "Status",
        "Surname",
        "Phone Number",
        "Title",
        "Postcode",
        "Favourite colour",
    ]
    assert import_columns(headers=headers) == {
        "E-mail": "email",
        " email address ": "email",
        "COMPANY NAME": "company",
        "Lead Source": "source_detail",
        "Status": "status",
        "Surname": "last_name",
        "Phone Number": "phone",
        "Title": "job_title",
        "Postcode": "postal_code",
        "Favourite colour": "attributes.Favourite colour",
    }


def test_the_id_column_becomes_the_external_id():
    assert import_columns(headers=["CRM ID", "Name"], id_column="crm id") == {"CRM ID": "external_id", "Name": "_name"}


@pytest.mark.parametrize(
    ("cell", "status"),
    [
        ("Won", "converted"),
        ("closed lost", "lost"),
        ("Closed - Lost", "lost"),
        ("Disqualified", "lost"),
        ("WORKING", "active"),
        ("new", "new"),
        ("Nurture", "nurturing"),
        ("SQL", "qualified"),
        ("mql", "qualified"),
        ("Qualified", "qualified"),
        ("Open - Not Contacted", "new"),
        ("maybe", None),
        # The default tables of HubSpot, Salesforce, Pipedrive and Zoho (docs/import.md)
        ("Attempted to Contact", "active"),
        ("Connected", "active"),
        ("Open Deal", "qualified"),
        ("Bad Timing", "nurturing"),
        ("In Progress", "active"),
        ("Unqualified", "lost"),
        ("Working - Contacted", "active"),
        ("Closed - Converted", "converted"),
        ("Closed - Not Converted", "lost"),
        ("Archived", "lost"),
        ("Contact in Future", "nurturing"),
        ("Pre-Qualified", "qualified"),
        ("Junk Lead", "lost"),
    ],
)
def test_status_values_match_case_insensitively_with_synonyms(cell, status):
    assert import_status(cell) == status


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("42", 42),
        ("-7", -7),
        ("1500.50", 1500.5),
        ("Yes", True),
        ("no", False),
        ("TRUE", True),
        ("false", False),
        ("", None),
        ("Select", None),
        ("-", None),
        ("N/A", None),
        ("0042", "0042"),
        ("Blue", "Blue"),
        (3.5, 3.5),
    ],
)
def test_custom_attributes_are_typed_where_obvious(cell, value):
    assert typed_value(cell) == value


# --- The command ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_csv_through_the_command_creates_leads_from_matched_columns(tmp_path):
    output = run_command(str(write_csv(tmp_path / "trade-show.csv", TRADE_SHOW)))
    assert "trade-show.csv: 2 rows; created 2, updated 0, rejected 0." in output
    jane = Lead.objects.get(email="jane.doe@acme.example")
    assert (jane.first_name, jane.last_name, jane.company, jane.job_title) == ("Jane", "Doe", "Acme", "CTO")
    assert (jane.phone, jane.country.code, jane.postal_code) == ("+49301234567", "DE", "10115")
    assert jane.source == Lead.Source.IMPORT and jane.source_detail == "Trade show Berlin"
    raj = Lead.objects.get(email="raj@initech.example")
    assert raj.source_detail == "trade-show.csv"  # no Lead Source in that row: the file's name
    assert raj.postal_code == "02134"
    assert jane.interactions.filter(kind=Interaction.Kind.IMPORT).count() == 1
    assert CaptureRecord.objects.filter(channel=Lead.Source.IMPORT, result=CaptureRecord.Result.CREATED).count() == 2
    job = ImportJob.objects.get()
    assert (job.status, job.created_count, job.total_rows) == (ImportJob.Status.DONE, 2, 2)
    assert job.file.name.startswith("imports/")  # a real run keeps the file as its record


@pytest.mark.django_db
def test_source_sets_the_source_detail_of_every_row(tmp_path):
    run_command(str(write_csv(tmp_path / "leads.csv", TRADE_SHOW)), "--source", "Partner list Q3")
    assert set(Lead.objects.values_list("source_detail", flat=True)) == {"Partner list Q3"}


@pytest.mark.django_db
def test_an_xlsx_through_the_command_keeps_typed_cells(tmp_path):
    path = write_xlsx(
        tmp_path / "webinar.xlsx",
        [
            ["Email Address", "Full Name", "Phone Number", "Employees", "Newsletter", "Seats", "Budget", "Notes"],
            ["ana@globex.example", "Ana Lima", "+44 20 7946 0958", 35, "Yes", 12, 999.5, "Select"],
            [None, None, None, None, None, None, None, None],
            ["li@hooli.example", "Li Wei", None, "5000+", "No", 3, None, "Wants a demo"],
        ],
    )
    output = run_command(str(path))
    assert "webinar.xlsx: 2 rows; created 2, updated 0, rejected 0." in output
    ana = Lead.objects.get(email="ana@globex.example")
    assert (ana.first_name, ana.last_name, ana.phone, ana.company_size) == ("Ana", "Lima", "+442079460958", "11-50")
    assert ana.attributes == {"Newsletter": True, "Seats": 12, "Budget": 999.5}
    assert Lead.objects.get(email="li@hooli.example").attributes == {
        "Newsletter": False,
        "Seats": 3,
        "Notes": "Wants a demo",
    }


@pytest.mark.django_db
def test_unknown_columns_are_kept_as_typed_custom_attributes(tmp_path):
    path = write_csv(
        tmp_path / "extra.csv",
        [
            ["Email", "Budget", "Seats", "Is Customer", "Region Code", "Interest", "Notes"],
            ["kim@example.org", "1500.50", "12", "yes", "007", "Select", "N/A"],
        ],
    )
    run_command(str(path))
    assert Lead.objects.get().attributes == {"Budget": 1500.5, "Seats": 12, "Is Customer": True, "Region Code": "007"}


@pytest.mark.django_db
def test_status_synonyms_are_applied_and_a_lost_lead_gets_a_reason(tmp_path):
    path = write_csv(
        tmp_path / "statuses.csv",
        [
            ["Email", "Lead Status", "Lost Reason"],
            ["won@example.org", "Won", ""],
            ["gone@example.org", "Closed Lost", ""],
            ["dq@example.org", "disqualified", "No budget"],
            ["busy@example.org", "working", ""],
            ["later@example.org", "Nurture", ""],
            ["hot@example.org", "SQL", ""],
        ],
    )
    run_command(str(path))
    statuses = dict(Lead.objects.values_list("email", "status"))
    assert statuses == {
        "won@example.org": "converted",
        "gone@example.org": "lost",
        "dq@example.org": "lost",
        "busy@example.org": "active",
        "later@example.org": "nurturing",
        "hot@example.org": "qualified",
    }
    assert Lead.objects.get(email="gone@example.org").lost_reason == LOST_REASON_DEFAULT
    assert Lead.objects.get(email="dq@example.org").lost_reason == "No budget"


@pytest.mark.django_db
def test_importing_the_same_file_again_updates_instead_of_duplicating(tmp_path):
    path = write_csv(tmp_path / "leads.csv", TRADE_SHOW)
    run_command(str(path))
    output = run_command(str(path))
    assert "created 0, updated 2, rejected 0." in output
    assert Lead.objects.count() == 2
    # Nothing changed: no new timeline entries, the input is still logged.
    assert Interaction.objects.filter(kind=Interaction.Kind.IMPORT).count() == 2
    assert CaptureRecord.objects.filter(result=CaptureRecord.Result.MERGED, reason="no changes").count() == 2


@pytest.mark.django_db
def test_without_an_id_column_a_file_fills_blanks_and_applies_its_status(tmp_path):
    lead = LeadFactory(email="jane.doe@acme.example", company="Acme Corporation", job_title="", status="new")
    path = write_csv(
        tmp_path / "leads.csv",
        [
            ["Email", "Company", "Job Title", "Status"],
            ["JANE.DOE@acme.example", "Acme", "CTO", "Working"],
        ],
    )
    assert "created 0, updated 1, rejected 0." in run_command(str(path))
    lead.refresh_from_db()
    assert (lead.company, lead.job_title, lead.status) == ("Acme Corporation", "CTO", "active")
    assert lead.processed_at is None  # new information: the pipeline runs again
    change = lead.interactions.get(kind=Interaction.Kind.STATUS_CHANGE)
    assert change.data == {"from": "new", "to": "active", "lost_reason": "", "reason": "import"}
    assert lead.interactions.get(kind=Interaction.Kind.IMPORT).data["fields"] == ["job_title", "lost_reason", "status"]


@pytest.mark.django_db
def test_rows_without_email_or_phone_are_identified_by_the_id_column_and_the_file_wins(tmp_path):
    first = write_csv(
        tmp_path / "crm.csv",
        [
            ["CRM ID", "Company", "Name", "City"],
            ["A-1", "Umbrella", "Alice Wong", "Leeds"],
            ["A-2", "Wayne Ent", "Bruce Wayne", ""],
        ],
    )
    assert "created 2" in run_command(str(first), "--id-column", "crm id")
    second = write_csv(
        tmp_path / "crm-again.csv",
        [
            ["CRM ID", "Company", "Name", "City"],
            ["A-1", "Umbrella Corp", "Alice Wong", ""],
        ],
    )
    assert "created 0, updated 1, rejected 0." in run_command(str(second), "--id-column", "CRM ID")
    assert Lead.objects.count() == 2
    alice = Lead.objects.get(external_id="A-1")
    assert (alice.company, alice.first_name, alice.last_name) == ("Umbrella Corp", "Alice", "Wong")
    assert alice.city == "Leeds"  # an empty cell never clears a value
    entry = alice.interactions.filter(kind=Interaction.Kind.IMPORT).first()
    assert entry.data["overwritten"] == {"company": {"from": "Umbrella", "to": "Umbrella Corp"}}


@pytest.mark.django_db
def test_a_row_with_no_email_phone_or_id_is_rejected(tmp_path):
    output = run_command(str(write_csv(tmp_path / "names.csv", [["Name", "Company"], ["Ann Lee", "Acme"]])))
    assert f"line 2: {NO_IDENTITY}" in output
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_the_same_email_twice_in_one_file_is_one_lead(tmp_path):
    path = write_csv(
        tmp_path / "twice.csv",
        [
            ["Email", "Company", "Job Title"],
            ["sam@example.org", "Acme", ""],
            ["Sam@Example.org", "", "CEO"],
        ],
    )
    assert "created 1, updated 1, rejected 0." in run_command(str(path))
    sam = Lead.objects.get()
    assert (sam.company, sam.job_title) == ("Acme", "CEO")


@pytest.mark.django_db
def test_a_phone_only_row_updates_the_lead_with_that_phone(tmp_path):
    lead = LeadFactory(email="", phone="+442079460958", company="")
    path = write_csv(tmp_path / "calls.csv", [["Phone", "Company"], ["+44 20 7946 0958", "Initech"]])
    assert "created 0, updated 1" in run_command(str(path))
    lead.refresh_from_db()
    assert lead.company == "Initech"


@pytest.mark.django_db
def test_bad_rows_are_reported_with_line_numbers_while_good_rows_import(tmp_path):
    path = write_csv(
        tmp_path / "mixed.csv",
        [
            ["Email", "Company", "Status", "Country"],
            ["good1@example.org", "Acme", "new", "DE"],
            ["not-an-email", "Acme", "", ""],
            ["good2@example.org", "Acme", "someday", ""],
            ["nul@example.org", "Ac\x00me", "", ""],
            ["long@example.org", "x" * 201, "", ""],
            ["where@example.org", "Acme", "", "Atlantis"],
            ["good3@example.org", "Initech", "", ""],
        ],
    )
    output = run_command(str(path))
    assert "mixed.csv: 7 rows; created 4, updated 0, rejected 3." in output
    assert f"line 3: Email: {INVALID_EMAIL}" in output
    assert f"line 5: Company: {NULL_CHARACTERS}" in output
    assert f"line 6: Company: {TOO_LONG.format(max=200)}" in output
    assert set(Lead.objects.values_list("email", flat=True)) == {
        "good1@example.org",
        "good2@example.org",
        "where@example.org",
        "good3@example.org",
    }
    assert CaptureRecord.objects.filter(channel=Lead.Source.IMPORT, result=CaptureRecord.Result.REJECTED).count() == 3
    job = ImportJob.objects.get()
    assert job.errors[0] == {"line": 3, "reason": f"Email: {INVALID_EMAIL}"}
    # An unknown status or country never rejects a row: the lead comes in, the value kept as written.
    someday = Lead.objects.get(email="good2@example.org")
    assert (someday.status, someday.attributes) == ("new", {"Status": "someday"})
    atlantis = Lead.objects.get(email="where@example.org")
    assert (atlantis.country, atlantis.attributes) == ("", {"Country": "Atlantis"})
    assert job.unknown_values == {"status": {"someday": 1}}


@pytest.mark.django_db
def test_a_dry_run_reports_and_changes_nothing(tmp_path):
    existing = LeadFactory(email="raj@initech.example", job_title="")
    path = write_csv(tmp_path / "preview.csv", [*TRADE_SHOW, ["bad", "", "", "", "", "", "", "", ""]])
    counts = (Lead.objects.count(), Interaction.objects.count(), CaptureRecord.objects.count())
    output = run_command(str(path), "--dry-run", "--verbosity", "2")
    assert "Dry run, nothing was saved. preview.csv: 3 rows; would create 1, would update 1, would reject 1." in output
    assert "line 2: created jane.doe@acme.example" in output
    assert "line 3: updated raj@initech.example" in output
    assert f"line 4: E-mail: {INVALID_EMAIL}" in output
    assert (Lead.objects.count(), Interaction.objects.count(), CaptureRecord.objects.count()) == counts
    existing.refresh_from_db()
    assert existing.job_title == ""
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_a_semicolon_separated_windows_1252_csv_is_read(tmp_path):
    path = write_csv(
        tmp_path / "excel.csv",
        [["E-Mail", "Nachname"], ["jens@example.de", "Müller"]],
        delimiter=";",
        encoding="cp1252",
    )
    run_command(str(path))
    assert Lead.objects.get().attributes == {"Nachname": "Müller"}


@pytest.mark.django_db
def test_an_imported_lead_like_an_existing_one_is_flagged_as_a_possible_duplicate(tmp_path):
    existing = LeadFactory(email="jane@acme.example")
    run_command(str(write_csv(tmp_path / "dupes.csv", [["Email"], ["jane+events@acme.example"]])))
    imported = Lead.objects.get(email="jane+events@acme.example")
    pair = PossibleDuplicate.objects.get()
    assert {pair.lead_id, pair.other_id} == {existing.pk, imported.pk}
    assert pair.reason == PossibleDuplicate.Reason.PLUS_TAG


@pytest.mark.django_db
def test_the_command_refuses_files_it_cannot_read(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run_command(str(tmp_path / "missing.csv"))
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(CommandError, match=UNSUPPORTED_FORMAT.split("(")[0].strip()):
        run_command(str(tmp_path / "old.xls"))
    with pytest.raises(CommandError, match=ID_COLUMN_MISSING.format(column="Ref")):
        run_command(str(write_csv(tmp_path / "a.csv", TRADE_SHOW)), "--id-column", "Ref")
