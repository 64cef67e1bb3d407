"""The triggers added on the spine (score or grade crossed, SLA breached, a date reached) and the
actions that call other parts (email, territory, conversion, webhook)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from leads.automations import definition
from leads.automations.actions import NO_TERRITORY
from leads.automations.reactions import automations_forget, crossed, enabled_automations
from leads.automations.services import automation_save, automations_scan_dates, automations_start
from leads.distribution.service import lead_assign
from leads.distribution.sla import sla_reassign_overdue
from leads.models import (
    AutomationRun,
    EmailSuppression,
    Enrollment,
    Interaction,
    Lead,
    OutboxJob,
    RunStep,
    WebhookDelivery,
)
from leads.scoring.service import leads_rescore
from tests.factories import AutomationFactory, EmailSuppressionFactory, EnrollmentFactory, LeadFactory, ManagerFactory
from tests.leads.distribution.conftest import WEDNESDAY_MORNING, make_team, territory

pytestmark = pytest.mark.django_db
START = "leads.automations.tasks.automations_start_task"


@pytest.fixture
def boss(db):
    return ManagerFactory(username="boss", password=None)


def _started() -> list[list]:
    return [job.args for job in OutboxJob.objects.filter(task_name=START).order_by("pk")]


def _run(automation, lead, key="k"):
    automations_start(
        automation_ids=[automation.pk], lead_ids=[lead.pk], trigger_event="manual", trigger_key=key, depth=1
    )
    return (
        RunStep.objects.filter(run__automation=automation, run__lead=lead, run__trigger_key=key)
        .order_by("position")
        .last()
    )


def test_threshold_crossings():
    up60 = {"measure": "score", "direction": "up", "value": 60}
    assert crossed(up60, 59, 60) and crossed(up60, 10, 95)
    assert not crossed(up60, 60, 70) and not crossed(up60, 70, 50)
    below_b = {"measure": "grade", "direction": "down", "value": "B"}
    assert crossed(below_b, "A", "C") and crossed(below_b, "B", "D")
    assert not crossed(below_b, "C", "D") and not crossed(below_b, "", "A")


def test_a_rescore_that_drops_a_score_below_a_threshold_starts_the_automation(django_capture_on_commit_callbacks):
    """Scoring publishes lead.score_changed with each lead's old and new score from its own statement."""
    falling, steady = LeadFactory(score=80, status="active"), LeadFactory(score=0, status="active")
    automation = AutomationFactory(
        trigger="score_crossed", trigger_params={"measure": "score", "direction": "down", "value": 50}
    )
    automations_forget()
    with django_capture_on_commit_callbacks(execute=False):
        leads_rescore(lead_ids=[falling.pk, steady.pk])  # no rules: every score computes to 0
    assert Lead.objects.get(pk=falling.pk).score == 0
    assert _started() == [[[automation.pk], [falling.pk], "lead.score_changed", _started()[0][3], 1]]


def test_an_sla_breach_starts_the_automation(boss, django_capture_on_commit_callbacks):
    team, _ = make_team("Inside Sales", "rep1", "rep2", manager=boss, sla_minutes=30, max_reassignments=2)
    territory("Everywhere", team, catch_all=True)
    lead = LeadFactory()
    lead_assign(lead_id=lead.pk, now=WEDNESDAY_MORNING)
    automation = AutomationFactory(trigger="sla_breached")
    automations_forget()
    with django_capture_on_commit_callbacks(execute=False):
        assert sla_reassign_overdue(now=WEDNESDAY_MORNING + timedelta(minutes=20)) == 0
        assert _started() == []
        assert sla_reassign_overdue(now=WEDNESDAY_MORNING + timedelta(minutes=31)) == 1
    [args] = _started()
    assert args[0] == [automation.pk] and args[1] == [lead.pk] and args[2] == "lead.sla_breached"


def test_a_date_reached_scan_starts_each_lead_once_per_date():
    now = timezone.now()
    AutomationFactory(
        trigger="date_reached",
        trigger_params={"field": "assigned_at", "when": "after", "days": 2},
        created_at=now - timedelta(days=10),
        actions=[{"type": "add_tags", "tags": ["two days"]}],
    )
    due = LeadFactory(assigned_at=now - timedelta(days=3))
    LeadFactory(assigned_at=now - timedelta(days=1))  # not yet
    LeadFactory(assigned_at=now - timedelta(days=30))  # reached before the automation existed
    assert automations_scan_dates(now=now) == 1
    assert automations_scan_dates(now=now) == 0
    run = AutomationRun.objects.get()
    assert run.lead == due and run.trigger_key.startswith("date:assigned_at:")
    before = AutomationFactory(
        trigger="date_reached",
        trigger_params={"field": "converted_at", "when": "before", "days": 5},
        created_at=now - timedelta(days=3),
    )
    soon = LeadFactory(converted_at=now + timedelta(days=3))  # 5 days before it was 2 days ago
    assert automations_scan_dates(now=now) == 1
    assert AutomationRun.objects.get(automation=before).lead == soon


def test_the_new_triggers_and_actions_are_validated(manager, team):
    with pytest.raises(ValidationError) as caught:
        automation_save(
            automation=AutomationFactory.build(),
            by=manager,
            data={
                "name": "Bad",
                "trigger": "score_crossed",
                "trigger_params": {"measure": "grade", "direction": "up", "value": "E"},
                "actions": [
                    {"type": "send_email", "subject": "Hi {{ lead.owner }}", "body": ""},
                    {"type": "wait_until", "weekday": "9", "time": "25:00"},
                    {"type": "webhook", "subscription": "999"},
                    {"type": "set_field", "field": "company_size", "value": "huge"},
                ],
            },
        )
    errors = caught.value.message_dict
    assert errors["trigger_params.value"] == [definition.GRADE_REQUIRED]
    assert "lead.owner" in errors["actions.0.subject"][0] and errors["actions.0.body"] == [definition.BODY_REQUIRED]
    assert errors["actions.1.weekday"] == [definition.WEEKDAY_REQUIRED]
    assert errors["actions.1.time"] == [definition.TIME_REQUIRED]
    assert errors["actions.2.subscription"] == [definition.WEBHOOK_REQUIRED]
    assert errors["actions.3.value"] == [definition.VALUE_NOT_A_CHOICE]
    saved = automation_save(
        automation=AutomationFactory.build(),
        by=manager,
        data={
            "name": "Good",
            "enabled": True,
            "trigger": "date_reached",
            "trigger_params": {"field": "created_at", "when": "after", "days": "30"},
            "actions": [
                {"type": "wait_until", "weekday": "0", "time": "9:05"},
                {"type": "assign_territory"},
                {"type": "convert"},
            ],
        },
    )
    assert saved.trigger_params == {"field": "created_at", "when": "after", "days": 30}
    assert saved.actions[0] == {"type": "wait_until", "weekday": "0", "time": "09:05"}


def test_send_email_renders_the_template_and_respects_do_not_contact_and_suppression(rep):
    automation = AutomationFactory(
        name="Welcome",
        actions=[
            {
                "type": "send_email",
                "subject": "Hello {{ lead.first_name }}",
                "body": "Thanks for asking, {{ lead.first_name|default:'there' }}.",
            }
        ],
    )
    lead = LeadFactory(first_name="Ada", email="ada@example.com", owner=rep)
    step = _run(automation, lead)
    assert step.outcome == "done" and step.detail == "emailed \u2018Hello Ada\u2019 to ada@example.com"
    [message] = mail.outbox
    assert (
        message.to == ["ada@example.com"]
        and message.subject == "Hello Ada"
        and "Thanks for asking, Ada." in message.body
    )
    assert Interaction.objects.filter(lead=lead, kind=Interaction.Kind.EMAIL_OUT, subject="Hello Ada").exists()
    blocked = LeadFactory(email="no@example.com", do_not_contact=True)
    suppressed = LeadFactory(email="gone@example.com")
    EmailSuppressionFactory(email="gone@example.com", reason=EmailSuppression.Reason.UNSUBSCRIBE)
    assert _run(automation, blocked, key="b").outcome == "skipped"
    step = _run(automation, suppressed, key="s")
    assert step.outcome == "skipped" and "suppressed" in step.detail
    assert len(mail.outbox) == 1


def test_remove_from_a_sequence_takes_the_lead_out_of_it():
    """The action imported lead_enrollments_exit from nurturing.sequences, inside the function, where it
    does not exist (it is in nurturing.steps): every "remove from a sequence" step failed with ImportError."""
    enrollment = EnrollmentFactory()
    automation = AutomationFactory(
        name="Stop nurturing", actions=[{"type": "unenroll", "sequence": enrollment.sequence_id}]
    )
    step = _run(automation, enrollment.lead)
    assert step.outcome == "done" and step.detail == f"removed from {enrollment.sequence.name}"
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == (Enrollment.Status.EXITED, Enrollment.ExitReason.MANUAL)


def test_assign_by_territory_takes_the_territorys_team_turn(boss):
    team, _ = make_team("Europe", "eu1", "eu2", manager=boss)
    territory("UK", team, country=["GB"])
    automation = AutomationFactory(name="Route", actions=[{"type": "assign_territory"}])
    british, french = LeadFactory(country="GB"), LeadFactory(country="FR")
    step = _run(automation, british)
    assert step.outcome == "done" and "territory UK" in step.detail
    assert Lead.objects.get(pk=british.pk).owner.username in ("eu1", "eu2")
    assert "territory UK" in british.assignments.get().detail
    step = _run(automation, french)
    assert step.outcome == "skipped" and step.detail == NO_TERRITORY


def test_convert_is_done_by_the_customers_app_in_the_authors_name(manager):
    from customers.models import Customer

    automation = AutomationFactory(name="Won", created_by=manager, actions=[{"type": "convert"}])
    lead = LeadFactory(first_name="Ada", last_name="Lovelace", company="Analytical", status="qualified")
    step = _run(automation, lead)
    assert step.outcome == "done" and step.detail.startswith("converted: customer Ada Lovelace")
    customer = Customer.objects.get(lead=lead)
    assert customer.converted_by == manager and Lead.objects.get(pk=lead.pk).status == "converted"
    assert _run(automation, lead, key="again").outcome == "skipped"  # converted already
    orphan = AutomationFactory(name="Nobody's", created_by=None, actions=[{"type": "convert"}])
    run_step = _run(orphan, LeadFactory())
    assert run_step.outcome == "failed"


def test_call_an_outbound_webhook_writes_a_signed_delivery(manager, settings):
    from leads.outbound.reactions import AUTOMATION_EVENT
    from leads.outbound.subscriptions import subscription_create

    settings.OUTBOUND_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1:9"]
    subscription = subscription_create(url="http://127.0.0.1:9/hooks", events=["lead.created"], by=manager)
    automation = AutomationFactory(name="Tell the ERP", actions=[{"type": "webhook", "subscription": subscription.pk}])
    lead = LeadFactory(email="erp@example.com")
    assert _run(automation, lead).outcome == "done"
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert delivery.event_type == AUTOMATION_EVENT and delivery.lead_id == lead.pk
    assert delivery.payload["data"]["lead"]["email"] == "erp@example.com"
    assert delivery.payload["data"]["event"] == {"automation": "Tell the ERP"}


def test_triggers_load_for_the_new_kinds():
    AutomationFactory(trigger="sla_breached")
    automations_forget()
    assert list(enabled_automations()) == ["sla_breached"]
