"""Bringing a team's data from its old CRM (issue 17 §3): exports of Salesforce, HubSpot, Pipedrive
and Zoho, shaped as those systems write them, land without a hand-made mapping."""

import csv
import io
from datetime import datetime
from pathlib import Path

import pytest
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from leads.capture.importing import (
    CRM_STATUSES,
    DAY_FIRST,
    UNKNOWN_STATUS,
    country_code,
    import_columns,
    import_date,
    import_job_draft,
    import_run,
    region_name,
)
from leads.models import ImportJob, Lead
from tests.factories import UserFactory
from tests.leads.capture.importing import crm_exports, crm_people
from tests.leads.capture.importing.crm_people import Expected

ROWS = 300
LANDED = 0.99


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def owners(db):
    return {
        "dana": UserFactory(username="dana", email="dana@leadcrm.example", first_name="Dana", last_name="Whitfield"),
        "juergen": UserFactory(
            username="juergen", email="juergen@leadcrm.example", first_name="Jürgen", last_name="Groß"
        ),
    }


def write(
    path: Path,
    header: list[str],
    rows: list[list],
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    quoting: int = csv.QUOTE_MINIMAL,
) -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter, quoting=quoting)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run_import(path: Path, **options) -> ImportJob:
    """An import job on the file, run in this process with the options the mapping step sets."""
    job = ImportJob(original_name=path.name, status=ImportJob.Status.RUNNING, **options)
    with path.open("rb") as handle:
        job.file.save(path.name, File(handle, name=path.name), save=False)
    job.save()
    return import_run(job=job)


def mismatches(lead: Lead | None, expected: Expected, *, status_header: str, users: dict) -> list[str]:
    """The standard fields of one lead that did not land where they belong."""
    if lead is None:
        return ["missing"]
    wrong = [
        name
        for name in (
            "first_name",
            "last_name",
            "email",
            "company",
            "job_title",
            "website",
            "city",
            "region",
            "postal_code",
            "country",
        )
        if getattr(lead, name) != getattr(expected, name)
    ]
    if lead.phone != (expected.phone or expected.mobile):
        wrong.append("phone")
    if expected.phone and expected.mobile and not lead.attributes.get("mobile_phone"):
        wrong.append("mobile")
    if lead.source_detail != expected.source:
        wrong.append("source_detail")
    if lead.status != expected.status:
        wrong.append("status")
    if expected.unknown_status and lead.attributes.get(status_header) != expected.unknown_status:
        wrong.append("unknown status kept")
    if lead.attributes.get("street") != expected.street:
        wrong.append("street")
    owner = users[expected.owner] if expected.owner else None
    if lead.owner_id != (owner.pk if owner else None):
        wrong.append("owner")
    if owner is None and lead.attributes.get("owner") != expected.owner_written:
        wrong.append("unknown owner kept")
    local = timezone.localtime(lead.created_at).replace(tzinfo=None)
    if (local.date() != expected.created.date()) if expected.date_only else (local != expected.created):
        wrong.append("created_at")
    return wrong


def assert_landed(job: ImportJob, expected: list[Expected | None], *, status_header: str, users: dict) -> None:
    people = [e for e in expected if e is not None]
    leads = {lead.email: lead for lead in Lead.objects.filter(email__in=[e.email for e in people])}
    problems = {e.email: mismatches(leads.get(e.email), e, status_header=status_header, users=users) for e in people}
    right = sum(1 for wrong in problems.values() if not wrong)
    assert right / len(people) >= LANDED, {email: wrong for email, wrong in problems.items() if wrong}
    assert job.status == ImportJob.Status.DONE and job.rejected_count <= len(people) * (1 - LANDED)
    assert job.unknown_values["status"] == {crm_people.UNKNOWN_STATUS: len(people[::10])}
    assert job.unknown_values["owner"] == {"Former Rep": len(people[2::3])}


@pytest.mark.django_db
def test_a_salesforce_leads_report_in_windows_1252_with_its_footer_lands_whole(tmp_path, owners):
    header, rows, expected = crm_exports.salesforce_report(ROWS)
    job = run_import(write(tmp_path / "report1762179720000.csv", header, rows, encoding="cp1252"))
    assert (job.processed_rows, job.skipped_rows) == (ROWS, 5)  # footer lines: neither leads nor errors
    assert job.errors == []
    assert_landed(job, expected, status_header="Lead Status", users=owners)
    lead = Lead.objects.get(email=expected[0].email)
    assert lead.attributes["Rating"] == "Warm" and lead.attributes["Lead ID"] == "00Q5g0000000000000"


@pytest.mark.django_db
def test_a_salesforce_data_loader_export_with_api_names_lands_whole(tmp_path, owners):
    header, rows, expected = crm_exports.salesforce_dataloader(ROWS)
    job = run_import(write(tmp_path / "extract.csv", header, rows, quoting=csv.QUOTE_ALL))
    assert job.column_map["FirstName"] == "first_name" and job.column_map["MobilePhone"] == "_mobile"
    assert job.column_map["OwnerId"] == "attributes.OwnerId"  # a Salesforce user id, not one of ours
    assert_landed(job, expected, status_header="Status", users=owners)


@pytest.mark.django_db
def test_a_hubspot_contacts_export_with_a_bom_lands_whole(tmp_path, owners):
    header, rows, expected = crm_exports.hubspot_contacts(ROWS)
    for n in range(0, ROWS, 7):  # some contacts have only a mobile number: it becomes the phone
        rows[n][4] = ""
        expected[n].phone = ""
    job = run_import(
        write(tmp_path / "hubspot-crm-exports-all-contacts-2025-11-03.csv", header, rows, encoding="utf-8-sig")
    )
    for column, target in (
        ("Country/Region", "country"),
        ("State/Region", "region"),
        ("Website URL", "website"),
        ("Contact owner", "_owner"),
        ("Create Date", "_created"),
        ("Lead Status", "status"),
    ):
        assert job.column_map[column] == target
    assert_landed(job, expected, status_header="Lead Status", users=owners)
    assert Lead.objects.get(email=expected[1].email).attributes["Lifecycle Stage"] == "Lead"


@pytest.mark.django_db
def test_a_semicolon_separated_pipedrive_persons_export_lands_whole(tmp_path, owners):
    header, rows, expected = crm_exports.pipedrive_persons(ROWS)
    job = run_import(write(tmp_path / "people-export.csv", header, rows, delimiter=";"))
    assert job.column_map["Person - Email - Work"] == "email" and job.column_map["Organization - Name"] == "company"
    assert_landed(job, expected, status_header="Lead - Status", users=owners)
    assert Lead.objects.get(email=expected[0].email).tags == ["Hot lead"]


@pytest.mark.django_db
def test_a_zoho_leads_export_with_day_first_dates_lands_whole(tmp_path, owners):
    header, rows, expected = crm_exports.zoho_leads(ROWS)
    path = write(tmp_path / "Leads_2025_11_03.csv", header, rows, encoding="utf-8-sig")
    job = run_import(path, date_order=DAY_FIRST)
    assert job.column_map["Designation"] == "job_title" and job.column_map["Created By"] == "attributes.Created By"
    assert_landed(job, expected, status_header="Lead Status", users=owners)


@pytest.mark.django_db
def test_the_mapping_step_guesses_a_day_first_file_from_its_dates(tmp_path, manager):
    header, rows, _ = crm_exports.zoho_leads(40)
    path = write(tmp_path / "zoho.csv", header, rows)
    job = import_job_draft(upload=SimpleUploadedFile("zoho.csv", path.read_bytes()), by=manager)
    assert (job.status, job.date_order) == (ImportJob.Status.DRAFT, DAY_FIRST)


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("United States", "US"),
        ("USA", "US"),
        ("U.S.", "US"),
        ("U.S.A.", "US"),
        ("United States of America", "US"),
        ("Deutschland", "DE"),
        ("UK", "GB"),
        ("Great Britain", "GB"),
        ("England", "GB"),
        ("España", "ES"),
        ("Espana", "ES"),
        ("Brasil", "BR"),
        ("Schweiz", "CH"),
        ("Holland", "NL"),
        ("South Korea", "KR"),
        ("de", "DE"),
        ("Atlantis", ""),
        ("XX", ""),
    ],
)
def test_country_names_are_read_as_people_write_them(written, code):
    assert country_code(written) == code


@pytest.mark.parametrize(
    ("written", "country", "region"),
    [
        ("CA", "US", "California"),
        ("california", "US", "California"),
        ("BY", "DE", "Bayern"),
        ("NSW", "AU", "New South Wales"),
        ("Somewhere", "US", "Somewhere"),
        ("CA", "", "CA"),
    ],
)
def test_regions_are_read_where_pycountry_knows_them(written, country, region):
    assert region_name(written, country) == region


@pytest.mark.parametrize(
    ("cell", "order", "moment"),
    [
        ("11/3/2025", "mdy", datetime(2025, 11, 3)),
        ("3/11/2025", "dmy", datetime(2025, 11, 3)),
        ("2025-11-03 14:22", "dmy", datetime(2025, 11, 3, 14, 22)),
        ("11/3/2025 2:22 PM", "mdy", datetime(2025, 11, 3, 14, 22)),
        ("03.11.2025 14:22", "dmy", datetime(2025, 11, 3, 14, 22)),
        ("13/3/2025", "mdy", None),
        ("soon", "mdy", None),
    ],
)
def test_dates_are_read_as_crms_export_them(cell, order, moment):
    parsed = import_date(cell, order=order)
    assert (timezone.localtime(parsed).replace(tzinfo=None) if parsed else None) == moment


def test_every_default_status_of_every_crm_maps_to_one_of_ours():
    for crm, table in CRM_STATUSES.items():
        for written, status in table.items():
            assert status in Lead.Status.values, (crm, written)
    assert "imported as new" in UNKNOWN_STATUS


def test_a_pipedrive_persons_column_that_is_not_listed_is_read_without_its_prefix():
    columns = import_columns(headers=["Person - Industry", "Lead - Title", "Organization - Owner"])
    assert columns == {
        "Person - Industry": "industry",
        "Lead - Title": "attributes.Lead - Title",
        "Organization - Owner": "attributes.Organization - Owner",
    }


@pytest.mark.django_db
def test_a_created_date_that_is_not_a_date_is_kept_and_the_row_still_lands(tmp_path):
    path = write(tmp_path / "dates.csv", ["Email", "Create Date"], [["ada@example.org", "last spring"]])
    job = run_import(path)
    lead = Lead.objects.get()
    assert (job.rejected_count, lead.attributes) == (0, {"Create Date": "last spring"})


@pytest.mark.django_db
def test_the_command_reads_a_day_first_export_without_routing_and_lists_what_it_did_not_know(tmp_path, owners):
    header, rows, expected = crm_exports.zoho_leads(30)
    out = io.StringIO()
    call_command(
        "import_leads", str(write(tmp_path / "zoho.csv", header, rows)), "--day-first", "--no-routing", stdout=out
    )
    assert "zoho.csv: 30 rows; created 30, updated 0, rejected 0." in out.getvalue()
    assert "Unknown status values, kept as attributes: Waiting on Legal (3)" in out.getvalue()
    assert "Unknown owner values, kept as attributes: Former Rep (10)" in out.getvalue()
    job = ImportJob.objects.get()
    assert (job.date_order, job.route_leads) == (DAY_FIRST, False)
    lead = Lead.objects.get(email=expected[13].email)
    assert timezone.localtime(lead.created_at).replace(tzinfo=None) == expected[13].created
