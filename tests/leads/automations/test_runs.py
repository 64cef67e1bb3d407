"""Automation runs: conditions, actions, idempotency, waits, retries, the loop guard, disabling."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from leads.automations import definition
from leads.automations.reactions import automations_forget
from leads.automations.runs import LOOP_GUARD, MAX_DEPTH, run_execute, runs_start
from leads.automations.services import (
    automation_dry_run,
    automation_save,
    automation_set_enabled,
    automations_scan_inactive,
    automations_start,
)
from leads.models import AutomationRun, Interaction, Lead, RunStep, Task
from tests.factories import AutomationFactory, LeadFactory

pytestmark = pytest.mark.django_db

HOT = {"match": "all", "conditions": [{"field": "score", "op": "gte", "value": 70}]}


def _start(automation, leads, key="k1", depth=1):
    return automations_start(
        automation_ids=[automation.pk],
        lead_ids=[lead.pk for lead in leads],
        trigger_event="manual",
        trigger_key=key,
        depth=depth,
    )


def test_conditions_pick_the_leads_and_actions_run_in_order(rep):
    hot, cold = LeadFactory(score=80, owner=rep), LeadFactory(score=10, owner=rep)
    automation = AutomationFactory(
        name="Hot",
        conditions=HOT,
        actions=[
            {"type": "add_tags", "tags": ["hot"]},
            {"type": "create_task", "title": "Call now", "amount": 15, "unit": "minutes"},
            {"type": "set_status", "status": "active"},
        ],
    )
    assert _start(automation, [hot, cold]) == 1
    hot.refresh_from_db()
    cold.refresh_from_db()
    assert hot.tags == ["hot"] and hot.status == "active" and cold.tags == []
    task = Task.objects.get(lead=hot)
    assert task.assigned_to == rep and task.source == Task.Source.AUTOMATION
    assert timedelta(minutes=14) < task.due_at - timezone.now() <= timedelta(minutes=15)
    run = AutomationRun.objects.get(lead=hot)
    assert run.status == AutomationRun.Status.DONE
    assert list(run.steps.values_list("outcome", flat=True)) == ["done", "done", "done"]
    entry = Interaction.objects.get(lead=hot, kind=Interaction.Kind.AUTOMATION)
    assert "Hot" in entry.subject and "created task" in entry.subject
    assert not AutomationRun.objects.filter(lead=cold).exists()


def test_a_task_delivered_twice_does_its_side_effects_once(rep):
    lead = LeadFactory(owner=rep)
    automation = AutomationFactory(actions=[{"type": "create_task", "title": "Call", "amount": 1, "unit": "hours"}])
    _start(automation, [lead])
    _start(automation, [lead])  # the same trigger occurrence again: no second run
    assert Task.objects.filter(lead=lead).count() == 1
    # Even a run forced to run again finds its step claimed and done.
    run = AutomationRun.objects.get()
    AutomationRun.objects.filter(pk=run.pk).update(status="pending", position=0, resume_at=None)
    run_execute(run_id=run.pk)
    assert Task.objects.filter(lead=lead).count() == 1
    assert RunStep.objects.get().attempts == 1


def test_the_loop_guard_stops_and_says_so():
    lead = LeadFactory()
    automation = AutomationFactory(actions=[{"type": "add_tags", "tags": ["x"]}])
    assert (
        runs_start(
            automation_id=automation.pk,
            lead_ids=[lead.pk],
            trigger_event="lead.updated",
            trigger_key="deep",
            depth=MAX_DEPTH + 1,
        )
        == []
    )
    run = AutomationRun.objects.get()
    assert run.status == AutomationRun.Status.STOPPED
    assert run.error == LOOP_GUARD.format(depth=MAX_DEPTH + 1, limit=MAX_DEPTH)
    assert Interaction.objects.get(lead=lead, kind=Interaction.Kind.AUTOMATION).data["error"] == run.error
    lead.refresh_from_db()
    assert lead.tags == []


def test_a_wait_parks_the_run_and_disabling_cancels_it():
    lead = LeadFactory()
    automation = AutomationFactory(
        actions=[{"type": "wait", "amount": 2, "unit": "days"}, {"type": "add_tags", "tags": ["later"]}]
    )
    _start(automation, [lead])
    run = AutomationRun.objects.get()
    assert run.status == "waiting" and run.position == 1
    assert run_execute(run_id=run.pk) is None  # not due yet
    assert run_execute(run_id=run.pk, now=timezone.now() + timedelta(days=2, minutes=1)) == "done"
    lead.refresh_from_db()
    assert lead.tags == ["later"]
    other = LeadFactory()
    _start(automation, [other], key="k2")
    assert automation_set_enabled(automation=automation, enabled=False, by=None) == 1
    run = AutomationRun.objects.get(lead=other)
    assert run.status == "cancelled"
    assert run_execute(run_id=run.pk, now=timezone.now() + timedelta(days=3)) is None


def test_a_failing_step_retries_with_backoff_then_stops_with_the_error(settings):
    lead = LeadFactory()
    automation = AutomationFactory(
        actions=[{"type": "add_tags", "tags": ["a"]}, {"type": "set_field", "field": "industry", "value": "x" * 300}]
    )
    _start(automation, [lead])
    run = AutomationRun.objects.get()
    assert run.status == "waiting" and "attempt 1 of 3" in run.error
    later = timezone.now()
    for _ in range(2):
        later += timedelta(hours=1)
        run_execute(run_id=run.pk, now=later)
    run.refresh_from_db()
    assert run.status == "failed" and "attempt 3 of 3" in run.error
    assert RunStep.objects.get(run=run, position=1).attempts == 3
    assert RunStep.objects.get(run=run, position=0).attempts == 1  # the done step was not repeated


def test_branch_skips_when_the_condition_does_not_hold():
    lead = LeadFactory(score=10)
    automation = AutomationFactory(
        actions=[
            {"type": "branch", "conditions": HOT, "skip": 1},
            {"type": "add_tags", "tags": ["hot"]},
            {"type": "add_tags", "tags": ["seen"]},
        ]
    )
    _start(automation, [lead])
    lead.refresh_from_db()
    assert lead.tags == ["seen"]


def test_dry_run_reports_and_changes_nothing():
    lead = LeadFactory(score=90)
    automation = AutomationFactory(
        conditions=HOT,
        actions=[{"type": "set_status", "status": "nurturing"}, {"type": "wait", "amount": 1, "unit": "days"}],
    )
    report = automation_dry_run(automation=automation, lead=lead)
    assert report == ["The lead matches the conditions.", "1. would set status to nurturing", "2. would wait 1 days"]
    lead.refresh_from_db()
    assert lead.status == "new" and not AutomationRun.objects.exists()


def test_inactive_scan_starts_each_quiet_lead_once():
    quiet = LeadFactory(last_activity_at=timezone.now() - timedelta(days=20))
    LeadFactory(last_activity_at=timezone.now() - timedelta(days=2))
    AutomationFactory(
        trigger="inactive", trigger_params={"days": 14}, actions=[{"type": "set_status", "status": "nurturing"}]
    )
    assert automations_scan_inactive() == 1
    assert automations_scan_inactive() == 0
    assert AutomationRun.objects.get().lead == quiet


def test_save_validates_trigger_conditions_and_actions(manager):
    automation = AutomationFactory.build()
    with pytest.raises(ValidationError) as caught:
        automation_save(
            automation=automation,
            by=manager,
            data={
                "name": "",
                "trigger": "inactive",
                "trigger_params": {"days": 0},
                "conditions": {"match": "all", "conditions": [{"field": "nope", "op": "eq", "value": 1}]},
                "actions": [{"type": "set_status", "status": "converted"}],
            },
        )
    errors = caught.value.message_dict
    assert errors["trigger_params.days"] == [definition.DAYS_REQUIRED]
    assert errors["actions.0.status"] == [definition.STATUS_CONVERT]
    assert any(key.startswith("conditions") for key in errors)
    saved = automation_save(
        automation=automation,
        by=manager,
        data={
            "name": "Quiet",
            "enabled": True,
            "trigger": "inactive",
            "trigger_params": {"days": "14"},
            "conditions": HOT,
            "actions": [{"type": "set_status", "status": "nurturing"}],
        },
    )
    assert saved.trigger_params == {"days": 14}
    automations_forget()
    assert Lead.objects.count() == 0


def test_assign_by_team_round_robin_and_leave_a_lead_the_team_already_has(team, rep, other_rep):
    first, second = LeadFactory(), LeadFactory()
    automation = AutomationFactory(name="Route", actions=[{"type": "assign_team", "team": team.pk}])
    _start(automation, [first, second])
    first.refresh_from_db()
    second.refresh_from_db()
    assert {first.owner, second.owner} == {rep, other_rep}  # one turn each
    assert first.assignments.get().detail == "automation Route: Inside Sales round robin"
    _start(automation, [first], key="again")
    step = RunStep.objects.get(run__trigger_key="again")
    assert step.outcome == "skipped" and "already with" in step.detail
