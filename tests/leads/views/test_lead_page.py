"""The lead page: header, contact actions, tasks, status, reassignment, inline edits, htmx
fragments, and a query count that does not grow with the lead's history."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.html import escape

from leads.common.validation import LOST_REASON_REQUIRED
from leads.models import Interaction, Lead, PossibleDuplicate, Task
from leads.views.page_forms import OWNER_NOT_IN_TEAM
from leads.workspace.followups import OUTCOME_REQUIRED, TITLE_REQUIRED, task_create
from tests.factories import (
    EnrollmentFactory,
    InteractionFactory,
    LeadFactory,
    PossibleDuplicateFactory,
    RepFactory,
    SequenceFactory,
    TaskFactory,
    TeamMembershipFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def page_url(lead, suffix=""):
    return f"/leads/{lead.pk}{suffix}"


@pytest.fixture
def lead(rep, team):
    now = timezone.now()
    return LeadFactory(
        owner=rep,
        team=team,
        first_name="Grace",
        last_name="Hopper",
        company="Navy Labs",
        job_title="Rear Admiral",
        phone="+12125552368",
        email="grace@navylabs.com",
        time_zone="America/New_York",
        score=72,
        grade="B",
        source=Lead.Source.WEB_FORM,
        assigned_at=now - timedelta(minutes=10),
        sla_due_at=now + timedelta(minutes=50),
        attributes={"fleet": "Pacific"},
    )


def test_the_header_shows_who_where_when_and_how_hot(client, rep, lead):
    client.force_login(rep)
    body = client.get(page_url(lead)).content.decode()
    for text in (
        "Grace Hopper",
        "Navy Labs",
        "Rear Admiral",
        "Score 72 · B",
        "rep1",
        "Web form",
        "New",
        "left",
        "Pacific",
    ):
        assert text in body
    assert 'data-testid="local-time"' in body
    assert (
        f'href="/leads/{lead.pk}/score"' in body and f'hx-get="/leads/{lead.pk}/score"' in body
    )  # works without JS too
    assert 'href="tel:+12125552368"' in body and 'href="mailto:grace@navylabs.com"' in body


def test_the_sla_clock_shows_overdue_then_contacted(client, rep, lead):
    Lead.objects.filter(pk=lead.pk).update(sla_due_at=timezone.now() - timedelta(minutes=5))
    client.force_login(rep)
    assert "overdue by" in client.get(page_url(lead)).content.decode()
    response = client.post(page_url(lead, "/calls"), {"outcome": "connected", "notes": "Booked a demo"})
    assert response.status_code == 302 and response["Location"] == page_url(lead)
    lead.refresh_from_db()
    assert lead.first_contacted_at is not None  # the owner's logged call is the first contact
    body = client.get(page_url(lead)).content.decode()
    assert "contacted" in body and "overdue by" not in body and "Booked a demo" in body


def test_logging_a_call_with_htmx_swaps_the_section_and_the_timeline(client, rep, lead):
    client.force_login(rep)
    response = client.post(page_url(lead, "/calls"), {"outcome": "voicemail", "notes": "Left a message"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert 'id="lead-contact"' in body
    assert 'id="lead-timeline" aria-labelledby="lead-timeline-title" hx-swap-oob="true"' in body
    assert "Left a message" in body and 'hx-swap-oob="true"' in body.split('id="lead-header"')[1][:400]
    assert lead.interactions.get(kind=Interaction.Kind.CALL_OUT).data["outcome"] == "voicemail"


def test_a_call_without_an_outcome_is_a_400_with_the_message(client, rep, lead):
    client.force_login(rep)
    plain = client.post(page_url(lead, "/calls"), {"outcome": "", "notes": "?"})
    assert plain.status_code == 400 and OUTCOME_REQUIRED in plain.content.decode()
    fragment = client.post(page_url(lead, "/calls"), {"outcome": ""}, **HTMX)
    assert fragment.status_code == 400 and OUTCOME_REQUIRED in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    assert not lead.interactions.exists()


def test_lost_needs_a_reason(client, rep, lead):
    client.force_login(rep)
    response = client.post(page_url(lead, "/status"), {"status": "lost", "lost_reason": ""})
    assert response.status_code == 400 and LOST_REASON_REQUIRED in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.NEW
    ok = client.post(page_url(lead, "/status"), {"status": "lost", "lost_reason": "Chose a competitor"}, **HTMX)
    assert ok.status_code == 200 and 'id="lead-manage"' in ok.content.decode()
    lead.refresh_from_db()
    assert (lead.status, lead.lost_reason) == (Lead.Status.LOST, "Chose a competitor")
    assert lead.interactions.get(kind=Interaction.Kind.STATUS_CHANGE).data["to"] == "lost"


def test_status_cannot_be_set_to_converted_by_hand(client, rep, lead):
    client.force_login(rep)
    assert client.post(page_url(lead, "/status"), {"status": "converted"}).status_code == 400


def test_only_managers_reassign_and_only_to_a_rep_of_the_team(client, rep, other_rep, manager, lead):
    client.force_login(rep)
    assert client.post(page_url(lead, "/reassign"), {"owner": other_rep.pk}).status_code == 403
    assert b'data-testid="reassign-form"' not in client.get(page_url(lead)).content
    outsider = RepFactory(username="outsider")
    TeamMembershipFactory(user=outsider)  # another team
    client.force_login(manager)
    refused = client.post(page_url(lead, "/reassign"), {"owner": outsider.pk})
    assert refused.status_code == 400 and escape(OWNER_NOT_IN_TEAM) in refused.content.decode()
    assert client.post(page_url(lead, "/reassign"), {"owner": other_rep.pk}).status_code == 302
    lead.refresh_from_db()
    assert lead.owner == other_rep and lead.sla_due_at is None


def test_tasks_are_added_with_a_due_date_and_marked_done(client, rep, lead):
    client.force_login(rep)
    response = client.post(page_url(lead, "/tasks"), {"title": "Send pricing", "due_at": "2030-01-15T10:30"}, **HTMX)
    assert response.status_code == 200 and "Send pricing" in response.content.decode()
    task = Task.objects.get()
    assert (task.assigned_to, task.due_at.year, task.lead) == (rep, 2030, lead)
    missing = client.post(page_url(lead, "/tasks"), {"title": ""})
    assert missing.status_code == 400 and TITLE_REQUIRED in missing.content.decode()
    done = client.post(page_url(lead, f"/tasks/{task.pk}/done"))
    assert done.status_code == 302
    task.refresh_from_db()
    assert task.done_at is not None
    assert "Send pricing" not in client.get(page_url(lead)).content.decode().split('data-testid="open-tasks"')[1][:300]


def test_another_leads_task_is_not_found(client, rep, lead):
    other = LeadFactory(owner=rep)
    task = task_create(lead=other, title="Elsewhere", due_at=None, assigned_to=rep, by=rep)
    client.force_login(rep)
    assert client.post(page_url(lead, f"/tasks/{task.pk}/done")).status_code == 404


def test_inline_edit_of_one_field_with_and_without_htmx(client, rep, lead):
    client.force_login(rep)
    form = client.get(page_url(lead, "/fields/company"), **HTMX)
    assert (
        form.status_code == 200 and 'name="company"' in form.content.decode() and "<html" not in form.content.decode()
    )
    assert client.get(page_url(lead, "/fields/company")).content.decode().count("<html") == 1  # a page without JS
    saved = client.post(page_url(lead, "/fields/company"), {"company": "Harvard Mark I"}, **HTMX)
    assert saved.status_code == 200 and "Harvard Mark I" in saved.content.decode()
    assert Lead.objects.get(pk=lead.pk).company == "Harvard Mark I"
    bad = client.post(page_url(lead, "/fields/phone"), {"phone": "not a phone"})
    assert bad.status_code == 400 and Lead.objects.get(pk=lead.pk).phone == "+12125552368"
    assert client.get(page_url(lead, "/fields/owner")).status_code == 404  # not an inline field
    plain = client.post(page_url(lead, "/fields/city"), {"city": "Arlington"})
    assert plain.status_code == 302 and Lead.objects.get(pk=lead.pk).city == "Arlington"


def test_the_score_explanation_loads_as_a_fragment(client, rep, lead):
    client.force_login(rep)
    fragment = client.get(page_url(lead, "/score"), **HTMX)
    assert fragment.status_code == 200 and b'data-testid="score-explanation"' in fragment.content
    assert b"<html" not in fragment.content


def test_marketers_read_the_page_but_cannot_act(client, marketer, lead):
    client.force_login(marketer)
    body = client.get(page_url(lead)).content.decode()
    assert "Grace Hopper" in body and 'data-testid="call-form"' not in body and 'data-testid="convert-form"' not in body
    assert client.post(page_url(lead, "/calls"), {"outcome": "connected"}).status_code == 403
    assert client.post(page_url(lead, "/status"), {"status": "active"}).status_code == 403


def test_the_leads_sequences_are_listed_with_an_enroll_form(client, rep, lead):

    welcome = SequenceFactory(name="Welcome series", is_active=True)
    SequenceFactory(name="Re-engage", is_active=True)
    EnrollmentFactory(sequence=welcome, lead=lead)
    client.force_login(rep)
    body = client.get(page_url(lead)).content.decode()
    section = body.split('data-testid="lead-enrollments"')[1].split("</section>")[0]
    assert "Welcome series" in section and 'action="/nurture/sequences/enroll"' in section and "Re-engage" in section


def test_managers_see_possible_duplicates_with_a_merge_link(client, manager, rep, lead):
    other = LeadFactory(first_name="Grace", last_name="Hopper", email="g.hopper@navylabs.com")
    first, second = sorted([lead, other], key=lambda x: x.pk)
    pair = PossibleDuplicateFactory(lead=first, other=second, reason=PossibleDuplicate.Reason.NAME_AND_DOMAIN)
    client.force_login(manager)
    assert f'href="/duplicates/{pair.pk}"' in client.get(page_url(lead)).content.decode()
    client.force_login(rep)
    body = client.get(page_url(lead)).content.decode()
    assert f'href="/duplicates/{pair.pk}"' not in body and "a manager reviews it" in body


# Session, user with its roles, lead, timeline count and page, duplicates, enrichment hints and suggestions,
# score history, open tasks, enrollments, the sequences to enroll in, customer matches, the task
# form's assignees.
# 14, and the email compose: the rep's email preferences, templates and snippets (one list), messages not sent yet
LEAD_PAGE_QUERIES = 17
MANAGER_PAGE_QUERIES = 18  # and the reps of the team to reassign to


def _history(lead, user, n):
    for i in range(n):
        InteractionFactory(lead=lead, kind=Interaction.Kind.NOTE, subject=f"note {i}", actor=user)
        TaskFactory(lead=lead, title=f"task {i}", assigned_to=user, created_by=user)


@pytest.mark.parametrize("n", [3, 30])
def test_the_lead_page_makes_the_same_queries_for_3_and_30_entries(n, client, rep, lead, django_assert_num_queries):
    _history(lead, rep, n)
    client.force_login(rep)
    client.get(page_url(lead))  # warm the session and the content types
    with django_assert_num_queries(LEAD_PAGE_QUERIES):
        response = client.get(page_url(lead))
    assert response.status_code == 200 and f"note {n - 1}" in response.content.decode()


@pytest.mark.parametrize("n", [3, 30])
def test_a_managers_lead_page_is_flat_too(n, client, manager, rep, other_rep, lead, django_assert_num_queries):
    _history(lead, rep, n)
    client.force_login(manager)
    client.get(page_url(lead))
    with django_assert_num_queries(MANAGER_PAGE_QUERIES):
        response = client.get(page_url(lead))
    assert response.status_code == 200 and f"task {n - 1}" in response.content.decode()
