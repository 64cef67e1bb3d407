"""Follow-ups on a lead: tasks and logged calls (leads/workspace/followups.py)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from leads.models import Interaction, Lead, Notification, Task
from leads.workspace.followups import (
    NOTIFY_TASK,
    OUTCOME_INVALID,
    OUTCOME_REQUIRED,
    TITLE_REQUIRED,
    call_log,
    lead_reassign,
    task_complete,
    task_create,
)
from tests.factories import AssignmentFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_a_task_for_someone_else_notifies_them_and_lands_on_the_timeline(rep, manager):
    lead = LeadFactory(owner=rep)
    due = timezone.now() + timedelta(days=1)
    task = task_create(lead=lead, title="Send the proposal", due_at=due, assigned_to=rep, by=manager, notes="v2")
    assert (task.assigned_to, task.created_by, task.source, task.done_at) == (rep, manager, Task.Source.MANUAL, None)
    entry = lead.interactions.get(kind=Interaction.Kind.TASK)
    assert entry.subject == "Send the proposal" and entry.data["action"] == "created" and entry.data["task"] == task.pk
    note = Notification.objects.get(user=rep)
    assert note.kind == Notification.Kind.TASK and note.lead == lead
    assert note.message == NOTIFY_TASK.format(lead=lead, title="Send the proposal")


def test_a_task_for_yourself_makes_no_notification(rep):
    lead = LeadFactory(owner=rep)
    task_create(lead=lead, title="Call back", due_at=None, assigned_to=rep, by=rep)
    assert not Notification.objects.exists()


def test_a_task_needs_a_title(rep):
    lead = LeadFactory(owner=rep)
    with pytest.raises(ValidationError) as caught:
        task_create(lead=lead, title="  ", due_at=None, assigned_to=rep, by=rep)
    assert caught.value.message_dict == {"title": [TITLE_REQUIRED]}
    assert not Task.objects.exists()


def test_completing_a_task_twice_leaves_one_done_entry(rep):
    lead = LeadFactory(owner=rep)
    task = task_create(lead=lead, title="Demo", due_at=None, assigned_to=rep, by=rep)
    first = task_complete(task=task, by=rep).done_at
    again = task_complete(task=Task.objects.get(pk=task.pk), by=rep)
    assert again.done_at == first
    assert lead.interactions.filter(kind=Interaction.Kind.TASK, data__action="done").count() == 1


def test_the_owners_logged_call_is_the_first_contact_for_the_sla(rep, team):
    now = timezone.now()
    lead = LeadFactory(
        owner=rep, team=team, assigned_at=now - timedelta(minutes=20), sla_due_at=now + timedelta(minutes=40)
    )
    assignment = AssignmentFactory(
        lead=lead, agent=rep, team=team, assigned_at=lead.assigned_at, sla_due_at=lead.sla_due_at
    )
    entry = call_log(lead=lead, by=rep, outcome="no_answer", notes="Rang twice")
    assert (entry.kind, entry.data["outcome"], entry.body) == (Interaction.Kind.CALL_OUT, "no_answer", "Rang twice")
    lead.refresh_from_db()
    assignment.refresh_from_db()
    assert lead.first_contacted_at == entry.occurred_at
    assert assignment.first_contact_at == entry.occurred_at  # the response time the distribution board reports
    call_log(lead=lead, by=rep, outcome="connected")
    lead.refresh_from_db()
    assert lead.first_contacted_at == entry.occurred_at  # only the first one counts


def test_someone_elses_call_is_not_the_owners_first_contact(rep, manager):
    lead = LeadFactory(owner=rep)
    call_log(lead=lead, by=manager, outcome="connected")
    assert Lead.objects.get(pk=lead.pk).first_contacted_at is None


def test_a_call_needs_a_known_outcome(rep):
    lead = LeadFactory(owner=rep)
    with pytest.raises(ValidationError) as caught:
        call_log(lead=lead, by=rep, outcome="", notes="")
    assert caught.value.message_dict == {"outcome": [OUTCOME_REQUIRED]}
    with pytest.raises(ValidationError) as caught:
        call_log(lead=lead, by=rep, outcome="teleported")
    assert caught.value.message_dict == {"outcome": [OUTCOME_INVALID]}
    assert not lead.interactions.exists()


def test_reassigning_by_hand_stops_the_sla_clock_and_tells_the_new_owner(rep, other_rep, manager):
    lead = LeadFactory(owner=rep, sla_due_at=timezone.now() + timedelta(hours=1))
    lead_reassign(lead=lead, owner=other_rep, by=manager)
    lead.refresh_from_db()
    assert (lead.owner, lead.sla_due_at) == (other_rep, None)
    assert lead.interactions.get(kind=Interaction.Kind.ASSIGNMENT).data["to"] == "rep2"
    assert Notification.objects.get(user=other_rep).kind == Notification.Kind.ASSIGNED
