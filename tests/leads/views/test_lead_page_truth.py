"""The lead page says what is true: the lead's own wall-clock time, a header that follows inline
edits, and a page whose ids are unique and whose labels point at their own fields."""

from collections import Counter
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
import time_machine

from leads.models import Lead
from leads.views.lead_page import LEAD_CHANGED_EVENT
from tests.factories import LeadFactory, UserPreferenceFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
# 23:03 UTC on a Tuesday: 18:03 in New York, 00:03 (Wednesday) in Prague.
INSTANT = datetime(2030, 1, 15, 23, 3, tzinfo=UTC)


class _Ids(HTMLParser):
    """Collects every id and every label's `for` of a page."""

    def __init__(self):
        super().__init__()
        self.ids: list[str] = []
        self.label_for: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.append(attrs["id"])
        if tag == "label" and attrs.get("for"):
            self.label_for.append(attrs["for"])


def _ids(html: str) -> _Ids:
    parser = _Ids()
    parser.feed(html)
    return parser


@pytest.fixture
def new_yorker(rep, team):
    return LeadFactory(
        owner=rep,
        team=team,
        first_name="Grace",
        last_name="Hopper",
        company="Navy Labs",
        job_title="Engineer",
        time_zone="America/New_York",
    )


@pytest.mark.parametrize(
    ("zone", "shown", "day"), [("America/New_York", "18:03", "Tuesday"), ("Europe/Prague", "00:03", "Wednesday")]
)
def test_local_time_is_the_leads_wall_clock_not_the_viewers(client, rep, team, zone, shown, day):
    """The header converted the lead's time back to the viewer's zone: New York and Prague leads
    both showed the viewer's 23:03."""
    UserPreferenceFactory(user=rep, time_zone="UTC")
    lead = LeadFactory(owner=rep, team=team, time_zone=zone)
    with time_machine.travel(INSTANT, tick=False):
        client.force_login(rep)  # a session made now would have expired by 2030
        body = client.get(f"/leads/{lead.pk}").content.decode()
    start = body.index('data-testid="local-time"')
    header = body[start : body.index("</div>", start)]
    assert f">{shown}</time> local, {day}" in header and zone in header
    assert "23:03" not in header


def test_a_viewer_in_another_zone_still_sees_the_leads_time(client, rep, new_yorker):
    """The same lead seen from Tokyo: still New York's 18:03."""
    UserPreferenceFactory(user=rep, time_zone="Asia/Tokyo")
    with time_machine.travel(INSTANT, tick=False):
        client.force_login(rep)  # a session made now would have expired by 2030
        body = client.get(f"/leads/{new_yorker.pk}").content.decode()
    assert ">18:03</time> local, Tuesday" in body and "(America/New_York, EST)" in body


def test_an_inline_edit_refreshes_the_header_and_announces_the_change(client, rep, new_yorker):
    """The header kept the old name, title and company after an inline edit until a reload."""
    client.force_login(rep)
    response = client.post(f"/leads/{new_yorker.pk}/fields/job_title", {"job_title": "Rear Admiral"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and response["HX-Trigger"] == LEAD_CHANGED_EVENT
    header = body[body.index('<header id="lead-header"') : body.index("</header>")]
    assert 'hx-swap-oob="true"' in header and "Rear Admiral at Navy Labs" in " ".join(header.split())
    response = client.post(f"/leads/{new_yorker.pk}/fields/first_name", {"first_name": "Amazing Grace"}, **HTMX)
    assert "Amazing Grace Hopper" in response.content.decode().split("</header>")[0]
    # The page knows where to fetch an opened explanation again.
    page = client.get(f"/leads/{new_yorker.pk}").content.decode()
    assert f'data-url="/leads/{new_yorker.pk}/score"' in page


def test_a_failed_inline_edit_changes_nothing_else(client, rep, new_yorker):
    client.force_login(rep)
    response = client.post(f"/leads/{new_yorker.pk}/fields/phone", {"phone": "not a phone"}, **HTMX)
    assert response.status_code == 400 and "HX-Trigger" not in response


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_the_lead_page_has_no_duplicate_ids_and_every_label_points_at_its_field(client, request, rep, new_yorker, who):
    """`id="id_notes"` appeared twice (call notes and task notes): the task's label focused the call's field."""
    user = request.getfixturevalue(who)
    Lead.objects.filter(pk=new_yorker.pk).update(status=Lead.Status.QUALIFIED)
    client.force_login(user)
    found = _ids(client.get(f"/leads/{new_yorker.pk}").content.decode())
    duplicates = [name for name, count in Counter(found.ids).items() if count > 1]
    assert duplicates == []
    assert found.label_for and set(found.label_for) <= set(found.ids)
    assert len(found.label_for) == len(set(found.label_for))  # no two labels for one field
    assert {"call_notes", "task_notes", "note_body"} <= set(found.ids)
