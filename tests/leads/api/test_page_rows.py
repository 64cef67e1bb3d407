"""The lead list reads its rows as tuples (leads.api.serializers.page_values), not model instances:
what a client gets for a lead in the list must be exactly what it gets from the lead's own URL."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from leads.models import Lead
from tests.factories import LeadFactory, TeamFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads"


@pytest.fixture
def varied_leads(rep, manager):
    """Leads of every shape a list row can take: owned and queued, unscored and scored, with and
    without a country, lost with a reason, nested attributes, a missing activity time."""
    now = timezone.now()
    team = rep.team_memberships.first().team
    leads = [
        LeadFactory(owner=rep, team=team, country="DE", score=81, grade="A", probability=0.74),
        LeadFactory(owner=None, team=team, email="", phone="+4930123456", attributes={"a": [1, {"b": None}]}),
        LeadFactory(owner=manager, team=TeamFactory(), status=Lead.Status.LOST, lost_reason="budget"),
        LeadFactory(bare=True, owner=None, team=None),
        LeadFactory(owner=rep, first_contacted_at=now - timedelta(days=3), utm_source="li", email_opt_in=True),
    ]
    Lead.objects.filter(pk=leads[4].pk).update(last_activity_at=now - timedelta(hours=5))
    # Times that PostgreSQL writes shorter than Python does (page_values reads them as its text):
    # whole seconds, a fraction with trailing zeros, a fraction with leading zeros, an early year.
    whole = datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)
    leads.append(LeadFactory(owner=rep, team=team, attributes={"note": "line\u2028break \u00e9", "n": 1.5}))
    Lead.objects.filter(pk=leads[5].pk).update(
        created_at=whole,
        first_contacted_at=whole.replace(microsecond=120_000),
        last_activity_at=whole.replace(microsecond=5),
        processed_at=datetime(999, 1, 2, 3, 4, 5, 600_000, tzinfo=UTC),
    )
    return leads


@pytest.mark.parametrize("ordering", ["", "-score", "last_activity_at", "-updated_at"])
def test_every_lead_in_the_list_reads_as_its_own_url_does(api_as, manager, varied_leads, ordering):
    client = api_as(manager)
    url, listed = f"{URL}?page_size=2&ordering={ordering}", []
    while url:
        body = client.get(url).json()
        listed += body["results"]
        url = body["next"]
    assert sorted(row["id"] for row in listed) == sorted(lead.pk for lead in varied_leads)
    for row in listed:
        detail = client.get(row["url"])
        assert detail.status_code == 200
        assert list(row.items()) == list(detail.json().items())  # the same fields, values and order


def test_a_reps_list_rows_are_their_detail_rows_and_only_theirs(api_as, rep, varied_leads):
    client = api_as(rep)
    body = client.get(f"{URL}?page_size=500").json()
    visible = {lead.pk for lead in varied_leads if lead.owner_id == rep.pk or lead.owner_id is None and lead.team_id}
    assert {row["id"] for row in body["results"]} == visible
    for row in body["results"]:
        assert row == client.get(row["url"]).json()
        assert row["owner"] in (rep.username, None)


def test_times_and_json_read_as_text_are_written_as_drf_writes_them(api_as, manager, varied_leads):
    """page_values reads times and the attributes as the database's text: the answer's bytes are
    DRF's for the times (`Z`, six fraction digits or none) and valid JSON for the attributes."""
    client = api_as(manager)
    response = client.get(f"{URL}?page_size=500")
    row = next(row for row in response.json()["results"] if row["id"] == varied_leads[5].pk)
    assert row["created_at"] == "2024-02-29T23:59:59Z"
    assert row["first_contacted_at"] == "2024-02-29T23:59:59.120000Z"
    assert row["last_activity_at"] == "2024-02-29T23:59:59.000005Z"
    assert row["processed_at"] == "0999-01-02T03:04:05.600000Z"
    assert row["attributes"] == {"note": "line\u2028break \u00e9", "n": 1.5}
    assert b"\\u2028" in response.content  # escaped, as DRF's renderer does
    indented = client.get(f"{URL}?page_size=500", HTTP_ACCEPT="application/json; indent=2")
    assert indented.json() == response.json()  # DRF's own encoder writes the JSON text too
    browsable = client.get(f"{URL}?page_size=500", HTTP_ACCEPT="text/html")
    assert browsable.status_code == 200 and b"line\\u2028break" in browsable.content


def test_times_in_another_zone_read_as_the_detail_does(api_as, manager, varied_leads, settings):
    """Times are shown in the current zone (DRF's default): a list row converts them as the
    lead's own URL does, offset and all."""
    settings.TIME_ZONE = "America/New_York"
    client = api_as(manager)
    body = client.get(f"{URL}?page_size=500").json()
    assert len(body["results"]) == len(varied_leads)
    for row in body["results"]:
        assert row == client.get(row["url"]).json()
        assert row["created_at"].endswith(("-05:00", "-04:00"))
