"""The set-based path: many runs of many automations executed in a few statements per step."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.automations.batch import runs_execute
from leads.automations.reactions import automations_forget, enabled_automations
from leads.automations.runs import runs_start
from leads.automations.services import automations_start
from leads.common.bulk import statistics_refresh
from leads.models import AutomationRun, Interaction, Lead, OutboxJob, RunStep, Segment, Task
from tests.factories import AutomationFactory, LeadFactory, SegmentFactory

pytestmark = pytest.mark.django_db

MIXED = [
    {"type": "add_tags", "tags": ["hot"]},
    {"type": "set_field", "field": "industry", "value": "Software"},
    {"type": "set_status", "status": "active"},
    {"type": "create_task", "title": "Call", "amount": 1, "unit": "hours"},
    {"type": "notify", "message": "Look"},
]


def _start(automations, leads, key="k"):
    return automations_start(
        automation_ids=[a.pk for a in automations],
        lead_ids=[lead.pk for lead in leads],
        trigger_event="manual",
        trigger_key=key,
        depth=1,
    )


def test_a_batch_costs_the_same_queries_for_3_and_60_leads(rep, django_assert_num_queries):
    """A batch's statements do not grow with its leads: one per step, not one per run."""
    segment = SegmentFactory(name="Batch list", kind=Segment.Kind.STATIC)
    automations = [
        AutomationFactory(actions=[*MIXED, {"type": "list_add", "list": segment.pk}]),
        AutomationFactory(
            actions=[{"type": "wait", "amount": 1, "unit": "days"}, {"type": "add_tags", "tags": ["later"]}]
        ),
    ]
    few, many = LeadFactory.create_batch(3, owner=rep), LeadFactory.create_batch(60, owner=rep)
    # Statistics as a long-running install has them: an earlier test's rolled-back rows can leave
    # the tables big enough, and never analyzed, for the first batch alone to ANALYZE them.
    statistics_refresh(Lead, AutomationRun)
    with CaptureQueriesContext(connection) as few_queries:
        assert _start(automations, few, key="few") == 6
    with django_assert_num_queries(len(few_queries)):
        assert _start(automations, many, key="many") == 120
    lead = Lead.objects.get(pk=many[0].pk)
    assert lead.tags == ["hot"] and lead.industry == "Software" and lead.status == "active"
    assert Task.objects.filter(lead__in=many, assigned_to=rep).count() == 60
    assert segment.members.count() == 63
    done = AutomationRun.objects.filter(automation=automations[0], lead=lead).get()
    assert done.status == "done" and done.position == 6
    assert list(done.steps.values_list("outcome", flat=True)) == ["done"] * 6
    entry = Interaction.objects.get(lead=lead, kind=Interaction.Kind.AUTOMATION, data__run=done.pk)
    assert "added tags hot" in entry.subject and "created task \u2018Call\u2019 for" in entry.subject
    waiting = AutomationRun.objects.get(automation=automations[1], lead=lead)
    assert waiting.status == "waiting" and waiting.position == 1
    # Field and status changes are on the timeline, as one by one.
    assert Interaction.objects.filter(
        lead=lead, kind=Interaction.Kind.UPDATE, data__fields__industry__to="Software"
    ).exists()
    assert Interaction.objects.filter(lead=lead, kind=Interaction.Kind.STATUS_CHANGE, data__to="active").exists()


def test_a_step_done_before_is_not_done_again_and_skips_are_recorded(rep):
    lead, tagged = LeadFactory(owner=rep), LeadFactory(owner=rep, tags=["hot"])
    automation = AutomationFactory(
        actions=[
            {"type": "add_tags", "tags": ["hot"]},
            {"type": "create_task", "title": "Call", "amount": 1, "unit": "hours"},
        ]
    )
    _start([automation], [lead, tagged])
    step = RunStep.objects.get(run__lead=tagged, position=0)
    assert step.outcome == "skipped" and step.detail == "tags unchanged"
    AutomationRun.objects.update(status="pending", position=0, resume_at=None)  # a task delivered again
    runs_execute(run_ids=AutomationRun.objects.values_list("pk", flat=True))
    assert Task.objects.count() == 2 and RunStep.objects.count() == 4


def test_steps_the_batch_cannot_do_continue_one_by_one(team, rep, other_rep):
    first, second = LeadFactory(), LeadFactory()
    automation = AutomationFactory(
        actions=[
            {"type": "add_tags", "tags": ["routed"]},
            {"type": "assign_team", "team": team.pk},
            {"type": "create_task", "title": "Call", "amount": 15, "unit": "minutes"},
        ]
    )
    assert _start([automation], [first, second]) == 2
    owners = set(Lead.objects.filter(pk__in=[first.pk, second.pk]).values_list("owner", flat=True))
    assert owners == {rep.pk, other_rep.pk}
    assert set(Task.objects.values_list("assigned_to", flat=True)) == {rep.pk, other_rep.pk}
    assert set(AutomationRun.objects.values_list("status", flat=True)) == {"done"}


def test_a_failing_batch_step_falls_back_to_the_retrying_path():
    lead = LeadFactory()
    automation = AutomationFactory(actions=[{"type": "set_field", "field": "industry", "value": "x" * 300}])
    _start([automation], [lead])
    run = AutomationRun.objects.get()
    assert run.status == "waiting" and "attempt 1 of 3" in run.error


def test_disabling_cancels_runs_the_batch_finds(rep):
    lead = LeadFactory()
    automation = AutomationFactory(actions=[{"type": "add_tags", "tags": ["x"]}])
    [run_id] = runs_start(automation_id=automation.pk, lead_ids=[lead.pk], trigger_event="manual", trigger_key="d")
    type(automation).objects.filter(pk=automation.pk).update(enabled=False)
    runs_execute(run_ids=[run_id])
    assert AutomationRun.objects.get().status == "cancelled"
    assert Lead.objects.get(pk=lead.pk).tags == []


def test_a_set_based_status_change_carries_each_leads_from(django_capture_on_commit_callbacks):
    """A batch moves leads from different statuses: an automation on "from new" hears only those."""
    from_new, from_lost = LeadFactory(status="new"), LeadFactory(status="nurturing")
    mover = AutomationFactory(actions=[{"type": "set_status", "status": "active"}])
    status_automation = AutomationFactory(trigger="status_changed", trigger_params={"from": "new", "to": "active"})
    automations_forget()
    enabled_automations()
    with django_capture_on_commit_callbacks(execute=False):
        _start([mover], [from_new, from_lost])
    job = OutboxJob.objects.filter(task_name="leads.automations.tasks.automations_start_task").latest("pk")
    assert job.args[0] == [status_automation.pk] and job.args[1] == [from_new.pk]


def test_wait_until_a_weekday_and_time_in_the_leads_zone():
    from leads.automations.actions import wait_end

    action = {"type": "wait_until", "weekday": "0", "time": "09:30"}
    # Saturday 2026-12-05 12:00 UTC: Monday 09:30 in Tokyo is Monday 00:30 UTC.
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert wait_end(action=action, time_zone="Asia/Tokyo", now=now) == datetime(2026, 12, 7, 0, 30, tzinfo=UTC)
    any_day = {"type": "wait_until", "weekday": "any", "time": "09:30"}
    assert wait_end(action=any_day, time_zone="America/New_York", now=now) == datetime(2026, 12, 5, 14, 30, tzinfo=UTC)
    lead = LeadFactory(time_zone="Asia/Tokyo")
    automation = AutomationFactory(actions=[action, {"type": "add_tags", "tags": ["monday"]}])
    runs_start(automation_id=automation.pk, lead_ids=[lead.pk], trigger_event="manual", trigger_key="w", now=now)
    runs_execute(run_ids=AutomationRun.objects.values_list("pk", flat=True), now=now)
    run = AutomationRun.objects.get()
    assert run.status == "waiting" and run.resume_at == datetime(2026, 12, 7, 0, 30, tzinfo=UTC)
    runs_execute(run_ids=[run.pk], now=run.resume_at + timedelta(minutes=1))
    assert Lead.objects.get(pk=lead.pk).tags == ["monday"]
