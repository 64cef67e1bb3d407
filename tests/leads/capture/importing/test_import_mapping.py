"""The import's mapping step, its report (rejected rows as CSV, unknown statuses mapped and run again)
and the switch that keeps a trade-show list out of reps' queues."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leads.capture.importing import UNKNOWN_TARGET, import_routing_held
from leads.capture.tasks import import_leads_task
from leads.models import ImportJob, Lead
from leads.pipeline import lead_process
from tests.factories import UserFactory
from tests.leads.distribution.conftest import make_team, territory

EXPO = [
    ["E-mail", "First Name", "Last Name", "Company", "Country", "Lead Status", "Owner", "Notes"],
    ["ada@analytical.example", "Ada", "Lovelace", "Analytical", "Deutschland", "Attempted to Contact", "", "booth 4"],
    ["bad-address", "Bob", "Broken", '=HYPERLINK("http://evil.example")', "UK", "New", "", ""],
    ["grace@navy.example", "Grace", "Hopper", "Navy", "U.S.", "Waiting on Legal", "rep-owner@leadcrm.example", ""],
]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def csv_bytes(rows: list[list]) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode("utf-8")


def upload(client, rows: list[list], **fields):
    response = client.post("/imports/", {"file": SimpleUploadedFile("expo.csv", csv_bytes(rows)), **fields})
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportJob.objects.latest("pk")


@pytest.mark.django_db
def test_the_mapping_step_shows_the_detected_mapping_and_a_preview_as_the_rows_will_land(client, manager):
    client.force_login(manager)
    job = upload(client, EXPO)
    page = client.get(f"/imports/{job.pk}/mapping").content.decode()
    assert 'value="email" selected' in page and 'value="status" selected' in page
    assert 'value="attributes.Notes" selected' in page
    assert ">DE<" in page and ">US<" in page  # the preview shows countries as they will land
    assert "Rejected: E-mail: Enter a valid email address." in page
    assert "“Waiting on Legal”?" in page


@pytest.mark.django_db
def test_a_changed_mapping_updates_the_preview_and_is_what_the_import_uses(client, manager):
    client.force_login(manager)
    job = upload(client, EXPO)
    columns = EXPO[0]  # the form numbers the columns in the file's order
    choices = {f"column-{columns.index('Company')}": "_skip", f"column-{columns.index('Notes')}": "job_title"}
    page = client.post(f"/imports/{job.pk}/mapping", {"action": "preview", "route_leads": "on", **choices})
    assert page.status_code == 200 and 'value="job_title" selected' in page.content.decode()
    response = client.post(f"/imports/{job.pk}/mapping", {"action": "start", "route_leads": "on", **choices})
    assert response["Location"] == f"/imports/{job.pk}"
    import_leads_task(job.pk)
    ada = Lead.objects.get(email="ada@analytical.example")
    assert (ada.company, ada.job_title, ada.country, ada.status) == ("", "booth 4", "DE", "active")


@pytest.mark.django_db
def test_a_mapping_to_an_unknown_field_is_refused_with_a_message(client, manager):
    client.force_login(manager)
    job = upload(client, EXPO)
    response = client.post(f"/imports/{job.pk}/mapping", {"action": "start", "column-0": "password"})
    assert response.status_code == 400
    assert UNKNOWN_TARGET.format(column="E-mail", target="password").replace('"', "&quot;") in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DRAFT


@pytest.mark.django_db
def test_owners_named_in_the_file_are_matched_to_users_and_unknown_statuses_mapped_on_a_rerun(client, manager):
    owner = UserFactory(username="owner1", email="rep-owner@leadcrm.example")
    client.force_login(manager)
    job = upload(client, EXPO)
    client.post(f"/imports/{job.pk}/mapping", {"action": "start", "route_leads": "on"})
    import_leads_task(job.pk)
    job.refresh_from_db()
    grace = Lead.objects.get(email="grace@navy.example")
    assert (grace.owner, grace.status, grace.attributes["Lead Status"]) == (owner, "new", "Waiting on Legal")
    assert job.unknown_values == {"status": {"Waiting on Legal": 1}}
    page = client.get(f"/imports/{job.pk}").content.decode()
    assert "Statuses this import did not know" in page and "Waiting on Legal" in page

    response = client.post(
        f"/imports/{job.pk}/rerun", {"status-value": "Waiting on Legal", "status-target": "nurturing"}
    )
    draft = ImportJob.objects.latest("pk")
    assert response["Location"] == f"/imports/{draft.pk}/mapping" and draft.status == ImportJob.Status.DRAFT
    assert draft.status_map == {"waiting on legal": "nurturing"}
    client.post(f"/imports/{draft.pk}/mapping", {"action": "start", "route_leads": "on"})
    import_leads_task(draft.pk)
    draft.refresh_from_db()
    grace.refresh_from_db()
    assert (draft.created_count, draft.updated_count, draft.unknown_values) == (0, 2, {})
    assert grace.status == "nurturing" and Lead.objects.count() == 2


@pytest.mark.django_db
def test_rejected_rows_download_as_csv_with_a_reason_and_formulas_neutralised(client, manager):
    client.force_login(manager)
    job = upload(client, EXPO)
    client.post(f"/imports/{job.pk}/mapping", {"action": "start", "route_leads": "on"})
    import_leads_task(job.pk)
    assert b"Download as CSV" in client.get(f"/imports/{job.pk}").content
    response = client.get(f"/imports/{job.pk}/rejected.csv")
    assert response["Content-Disposition"] == 'attachment; filename="expo-rejected.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Line", *EXPO[0], "Reason"]
    assert rows[1:] == [
        [
            "3",
            "bad-address",
            "Bob",
            "Broken",
            '\'=HYPERLINK("http://evil.example")',
            "UK",
            "New",
            "",
            "",
            "E-mail: Enter a valid email address.",
        ]
    ]


@pytest.mark.django_db
def test_a_list_imported_without_routing_starts_no_sla_clocks(client, manager):
    """A trade-show list of 170 leads must not fill reps' queues."""
    team, (rep,) = make_team("Inside Sales", "rep1", sla_minutes=30)
    territory("EMEA", team, country=["DE"])
    client.force_login(manager)
    held = upload(client, EXPO)
    client.post(f"/imports/{held.pk}/mapping", {"action": "start"})  # the box unticked
    import_leads_task(held.pk)
    ada = Lead.objects.get(email="ada@analytical.example")
    assert import_routing_held(lead_id=ada.pk)
    lead_process(lead_id=ada.pk)
    ada.refresh_from_db()
    assert (ada.owner, ada.sla_due_at) == (None, None)

    routed = upload(client, [EXPO[0], ["alan@turing.example", "Alan", "Turing", "Bletchley", "DE", "", "", ""]])
    client.post(f"/imports/{routed.pk}/mapping", {"action": "start", "route_leads": "on"})
    import_leads_task(routed.pk)
    alan = Lead.objects.get(email="alan@turing.example")
    assert not import_routing_held(lead_id=alan.pk)
    lead_process(lead_id=alan.pk)
    alan.refresh_from_db()
    assert alan.owner == rep and alan.sla_due_at is not None
