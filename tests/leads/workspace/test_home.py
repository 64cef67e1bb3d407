"""'My work': a rep's queue, tasks due, recent activity and notifications, in a fixed number of queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Interaction, Task
from tests.factories import InteractionFactory, LeadFactory, NotificationFactory, TaskFactory

pytestmark = pytest.mark.django_db

# session, user (+ unread count and role groups), counts (one statement), queue, tasks, recent activity,
# notifications
HOME_QUERIES = 7


def _task(lead, user, *, due_in: timedelta, title: str, done: bool = False) -> Task:
    now = timezone.now()
    return TaskFactory(
        lead=lead,
        assigned_to=user,
        title=title,
        due_at=now + due_in,
        done_at=now if done else None,
    )


@pytest.fixture
def day(rep, other_rep, team):
    """A rep's day: leads awaiting first contact (one SLA overdue), a follow-up due, tasks, activity."""
    now = timezone.now()
    contacted = now - timedelta(days=2)
    leads = {
        "late_c": LeadFactory(
            owner=rep, team=team, first_name="Late", last_name="C", grade="C", sla_due_at=now - timedelta(minutes=30)
        ),
        "soon_a": LeadFactory(
            owner=rep, team=team, first_name="Soon", last_name="A", grade="A", sla_due_at=now + timedelta(hours=2)
        ),
        "later_a": LeadFactory(
            owner=rep, team=team, first_name="Later", last_name="A", grade="A", sla_due_at=now + timedelta(hours=5)
        ),
        "followup_b": LeadFactory(
            owner=rep, team=team, first_name="Follow", last_name="B", grade="B", first_contacted_at=contacted
        ),
        "quiet": LeadFactory(
            owner=rep, team=team, first_name="Quiet", last_name="Done", grade="A", first_contacted_at=contacted
        ),
        "lost": LeadFactory(
            owner=rep, team=team, first_name="Gone", last_name="Lost", status="lost", lost_reason="no budget"
        ),
        "theirs": LeadFactory(owner=other_rep, team=team, first_name="Not", last_name="Mine", grade="A"),
    }
    _task(leads["followup_b"], rep, due_in=timedelta(hours=-1), title="Send the quote")
    _task(leads["quiet"], rep, due_in=timedelta(days=3), title="Check in next week")
    _task(leads["soon_a"], rep, due_in=timedelta(minutes=-5), title="Done already", done=True)
    _task(leads["theirs"], other_rep, due_in=timedelta(hours=-1), title="Their task")
    InteractionFactory(lead=leads["soon_a"], kind=Interaction.Kind.PAGE_VIEW, subject="/pricing")
    InteractionFactory(lead=leads["theirs"], kind=Interaction.Kind.FORM_SUBMIT, subject="Their form")
    InteractionFactory(lead=leads["quiet"], kind=Interaction.Kind.NOTE, subject="Just a note")
    NotificationFactory(user=rep, kind="assigned", lead=leads["soon_a"], message="New lead assigned to you: Soon A")
    NotificationFactory(user=other_rep, kind="assigned", message="Not for rep1")
    return leads


def test_a_rep_lands_on_my_work_after_login(client, rep):
    response = client.post("/accounts/login/", {"username": "rep1", "password": "secret-pass-123"}, follow=True)
    assert response.redirect_chain[-1][0] == "/home/"
    assert response.templates[0].name == "leads/home.html"


def test_a_manager_lands_on_the_list_but_can_open_my_work(client, manager):
    response = client.post("/accounts/login/", {"username": "manager", "password": "secret-pass-123"}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert client.get("/home/").status_code == 200


def test_the_queue_puts_overdue_slas_first_then_grade_then_deadline(client, rep, day):
    client.force_login(rep)
    response = client.get("/home/")
    assert response.status_code == 200
    names = [str(lead) for lead in response.context["queue"]]
    # Late C (SLA overdue) first; then grade A by deadline; then the B with a follow-up due.
    assert names == ["Late C", "Soon A", "Later A", "Follow B"]
    assert "Quiet Done" not in names and "Gone Lost" not in names and "Not Mine" not in names


def test_tasks_due_today_and_overdue_and_the_counts(client, rep, day):
    client.force_login(rep)
    response = client.get("/home/")
    assert [task.title for task in response.context["tasks"]] == ["Send the quote"]
    counts = response.context["counts"]
    assert counts.queue == (4, True)
    assert counts.sla_overdue == (1, True)
    assert counts.tasks_overdue == (1, True)
    assert counts.tasks_today == (0, True)
    html = response.content.decode()
    assert 'data-testid="count-queue">4<' in html


def test_recent_activity_and_notifications_are_the_reps_own(client, rep, day):
    client.force_login(rep)
    response = client.get("/home/")
    recent = [(event.kind, str(event.lead)) for event in response.context["recent"]]
    assert recent == [("page_view", "Soon A")]  # not the other rep's form, not a note
    assert [n.message for n in response.context["notifications"]] == ["New lead assigned to you: Soon A"]


def test_a_task_is_marked_done_inline(client, rep, day):
    task = Task.objects.get(title="Send the quote")
    client.force_login(rep)
    response = client.post(f"/home/tasks/{task.pk}/done", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Done" in response.content.decode() and "<s>Send the quote</s>" in response.content.decode()
    task.refresh_from_db()
    assert task.done_at is not None
    assert task.lead.interactions.filter(kind=Interaction.Kind.TASK, data__action="done").count() == 1
    # Without htmx: back to the page; done twice changes nothing.
    again = client.post(f"/home/tasks/{task.pk}/done")
    assert again.status_code == 302 and again["Location"] == "/home/"
    assert task.lead.interactions.filter(kind=Interaction.Kind.TASK, data__action="done").count() == 1


def test_a_rep_cannot_complete_someone_elses_task(client, rep, day):
    theirs = Task.objects.get(title="Their task")
    client.force_login(rep)
    assert client.post(f"/home/tasks/{theirs.pk}/done").status_code == 404
    assert client.get(f"/home/tasks/{theirs.pk}/done").status_code == 405
    theirs.refresh_from_db()
    assert theirs.done_at is None


def test_my_work_takes_the_same_queries_on_an_empty_day(client, rep, django_assert_num_queries):
    client.force_login(rep)
    with django_assert_num_queries(HOME_QUERIES):
        response = client.get("/home/")
    assert response.context["queue"] == [] and response.context["recent"] == []


@pytest.mark.parametrize("extra", [0, 25])
def test_my_work_takes_the_same_queries_however_busy(client, rep, team, day, extra, django_assert_num_queries):
    for i in range(extra):
        lead = LeadFactory(owner=rep, team=team, grade="B", sla_due_at=timezone.now() + timedelta(hours=i))
        _task(lead, rep, due_in=timedelta(minutes=-i - 1), title=f"Call {i}")
        InteractionFactory(lead=lead, kind=Interaction.Kind.EMAIL_IN, subject=f"Re: {i}")
        NotificationFactory(user=rep, kind="reply", lead=lead, message=f"Reply {i}")
    client.force_login(rep)
    with django_assert_num_queries(HOME_QUERIES):
        response = client.get("/home/")
    assert response.status_code == 200
    assert len(response.context["queue"]) == min(4 + extra, 25)
