"""Automations on real events through the real Celery worker, and the bulk path's cost."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.automations.reactions import automations_forget, enabled_automations
from leads.automations.runs import MAX_DEPTH
from leads.models import AutomationRun, Interaction, Lead, Notification, Task
from leads.services import lead_bulk_set_status, lead_update
from tests.factories import AutomationFactory, LeadFactory
from tests.helpers import wait_for


@pytest.mark.django_db(transaction=True)
def test_a_status_change_runs_the_automation_in_the_worker_and_shows_on_the_timeline(celery_worker_live, manager, rep):
    lead = LeadFactory(owner=rep, status="active")
    automation = AutomationFactory(
        name="Qualified follow-up",
        trigger="qualified",
        actions=[
            {"type": "create_task", "title": "Book the demo", "amount": 1, "unit": "days"},
            {"type": "notify", "message": "Qualified: book the demo"},
        ],
    )
    automations_forget()
    lead_update(lead=lead, data={"status": Lead.Status.QUALIFIED}, by=manager)
    assert wait_for(lambda: AutomationRun.objects.filter(automation=automation, status="done").exists()), list(
        AutomationRun.objects.values("status", "error")
    )
    assert Task.objects.get(lead=lead).title == "Book the demo"
    assert Notification.objects.filter(user=rep, kind=Notification.Kind.AUTOMATION).exists()
    entry = Interaction.objects.get(lead=lead, kind=Interaction.Kind.AUTOMATION)
    assert entry.subject.startswith(
        "Automation \u2018Qualified follow-up\u2019: created task \u2018Book the demo\u2019"
    )
    assert AutomationRun.objects.get().trigger_event == "lead.status_changed"


@pytest.mark.django_db(transaction=True)
def test_two_automations_that_trigger_each_other_are_stopped_by_the_loop_guard(celery_worker_live, manager):
    """Active → nurturing and nurturing → active would ping-pong for ever."""
    lead = LeadFactory(status="new")
    AutomationFactory(
        name="Ping",
        trigger="status_changed",
        trigger_params={"to": "active"},
        actions=[{"type": "set_status", "status": "nurturing"}],
    )
    AutomationFactory(
        name="Pong",
        trigger="status_changed",
        trigger_params={"to": "nurturing"},
        actions=[{"type": "set_status", "status": "active"}],
    )
    automations_forget()
    lead_update(lead=lead, data={"status": Lead.Status.ACTIVE}, by=manager)
    assert wait_for(lambda: AutomationRun.objects.filter(status="stopped").exists(), timeout=40), list(
        AutomationRun.objects.values_list("automation__name", "depth", "status", "error")
    )
    stopped = AutomationRun.objects.get(status="stopped")
    assert stopped.depth == MAX_DEPTH + 1 and "Loop guard" in stopped.error
    assert AutomationRun.objects.filter(status="done").count() == MAX_DEPTH
    assert Interaction.objects.filter(lead=lead, kind="automation", data__status="stopped").count() == 1


@pytest.mark.django_db
def test_a_bulk_status_change_enqueues_set_based(
    manager, django_capture_on_commit_callbacks, django_assert_num_queries
):
    """The cost of triggering automations does not grow with the number of leads changed."""
    AutomationFactory(trigger="status_changed", trigger_params={"to": "nurturing"})
    AutomationFactory(trigger="status_changed")
    few, many = LeadFactory.create_batch(3), LeadFactory.create_batch(300)
    automations_forget()
    enabled_automations()  # loaded once per process every few seconds, not per event
    with django_capture_on_commit_callbacks() as few_callbacks, CaptureQueriesContext(connection) as few_queries:
        lead_bulk_set_status(
            leads=Lead.objects.filter(pk__in=[lead.pk for lead in few]), status="nurturing", by=manager
        )
    with django_capture_on_commit_callbacks() as many_callbacks, django_assert_num_queries(len(few_queries)):
        lead_bulk_set_status(
            leads=Lead.objects.filter(pk__in=[lead.pk for lead in many]), status="nurturing", by=manager
        )
    # One task message per automation batch of 500 leads: both automations ride on one message here.
    assert len(many_callbacks) == len(few_callbacks)
