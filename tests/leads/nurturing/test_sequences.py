"""The sequence engine: progression on a real worker with a travelling clock, no double send under
concurrency, waits in the lead's time zone, branches, tasks, status steps and every way out."""

import threading
from datetime import UTC, datetime, time, timedelta
from email.utils import format_datetime

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from leads.capture.email import email_ingest
from leads.models import Interaction, Lead, Notification
from leads.models.nurturing import Enrollment, Sequence, SequenceStep, StepRun
from leads.models.scoring import ScoringConfig
from leads.models.work import Task
from leads.nurturing.sequences import (
    enrollment_run,
    enrollments_process_due,
    lead_enroll,
    wait_until,
)
from leads.nurturing.tasks import process_due_enrollments_task
from leads.scoring.service import leads_rescore
from leads.services import lead_bulk_set_status, lead_update
from tests.factories import LeadFactory, SequenceFactory, SequenceStepFactory
from tests.helpers import wait_for
from tests.leads.nurturing.smtp import smtp_inbox  # noqa: F401  (fixture)

# A fixed Monday (winter: New York is UTC-5). Tests that use it travel there with time-machine, so they
# never depend on the real calendar.
MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _sequence(*steps: dict, **fields) -> Sequence:
    sequence = SequenceFactory(name=fields.pop("name", "Nurture"), **fields)
    made = []
    for position, step in enumerate(steps):
        made.append(SequenceStepFactory(sequence=sequence, position=position, **step))
    return sequence


def _email(subject: str) -> dict:
    return {"kind": "email", "subject": subject, "body": f"{subject} for {{{{ lead.first_name }}}}"}


@pytest.mark.django_db(transaction=True)
def test_a_sequence_runs_on_the_worker_as_the_clock_moves(celery_worker_live, smtp_inbox):
    sequence = _sequence(_email("Welcome"), {"kind": "wait", "wait_days": 2}, _email("Case study"))
    lead = LeadFactory(first_name="Lin", email="lin@example.org")
    with time_machine.travel(MONDAY_9, tick=True) as traveller:
        enrollment = lead_enroll(sequence=sequence, lead=lead)
        process_due_enrollments_task.delay()
        assert wait_for(lambda: len(smtp_inbox.messages) == 1)
        assert wait_for(lambda: Enrollment.objects.get(pk=enrollment.pk).step.position == 2)
        enrollment.refresh_from_db()
        assert enrollment.next_run_at.date() == (MONDAY_9 + timedelta(days=2)).date()
        process_due_enrollments_task.delay()  # a day early: nothing is due
        traveller.shift(timedelta(days=1))
        process_due_enrollments_task.delay()
        assert not wait_for(lambda: len(smtp_inbox.messages) > 1, timeout=2)
        traveller.shift(timedelta(days=1, minutes=1))
        process_due_enrollments_task.delay()
        assert wait_for(lambda: len(smtp_inbox.messages) == 2)
    assert [m["Subject"] for m in smtp_inbox.messages] == ["Welcome", "Case study"]
    assert smtp_inbox.messages[1].get_body(("plain",)).get_content().startswith("Case study for Lin")
    assert wait_for(lambda: Enrollment.objects.get(pk=enrollment.pk).status == "completed")
    assert StepRun.objects.filter(enrollment=enrollment).count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_same_step_run_twice_at_once_sends_once(smtp_inbox):
    """Two workers (a redelivered task) reach the same step at the same moment."""
    sequence = _sequence(_email("Only once"))
    lead = LeadFactory(email="once@example.org")
    enrollment = lead_enroll(sequence=sequence, lead=lead)
    barrier = threading.Barrier(4)
    errors = []

    def worker():
        try:
            barrier.wait()
            enrollment_run(enrollment_id=enrollment.pk, step_id=enrollment.step_id)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(smtp_inbox.messages) == 1
    assert StepRun.objects.filter(enrollment=enrollment).count() == 1
    assert Enrollment.objects.get(pk=enrollment.pk).status == "completed"


@pytest.mark.django_db
def test_a_repeated_batch_does_nothing(smtp_inbox):
    sequence = _sequence(_email("A"), {"kind": "wait", "wait_days": 1}, _email("B"))
    enrollment = lead_enroll(sequence=sequence, lead=LeadFactory())
    claimed = [(enrollment.pk, enrollment.step_id)]
    from leads.nurturing.sequences import enrollments_run

    enrollments_run(claimed=claimed)
    enrollments_run(claimed=claimed)  # the task delivered again
    assert len(smtp_inbox.messages) == 1


@pytest.mark.django_db
@time_machine.travel(MONDAY_9 - timedelta(minutes=5), tick=False)
def test_wait_until_weekday_and_time_in_the_leads_time_zone(smtp_inbox):
    """It used a Monday "ahead of the real clock" (2026-11-30) and failed once that date passed:
    enrolling at the real now put the wait after the Monday it then processed."""
    sequence = _sequence(
        {"kind": "wait", "wait_weekday": SequenceStep.Weekday.TUESDAY, "wait_time": time(9, 0)},
        _email("Tuesday"),
    )
    new_york = LeadFactory(time_zone="America/New_York")
    unknown_zone = LeadFactory(time_zone="")  # falls back to settings.TIME_ZONE (UTC in tests)
    step = sequence.steps.get(position=0)
    assert wait_until(step=step, lead=new_york, now=MONDAY_9) == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert wait_until(step=step, lead=unknown_zone, now=MONDAY_9) == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    # Already Tuesday 10:00 in New York: next Tuesday.
    assert wait_until(step=step, lead=new_york, now=datetime(2026, 12, 1, 15, 0, tzinfo=UTC)) == datetime(
        2026, 12, 8, 14, 0, tzinfo=UTC
    )
    enrollment = lead_enroll(sequence=sequence, lead=new_york)
    enrollments_process_due(now=MONDAY_9)
    enrollment.refresh_from_db()
    assert enrollment.next_run_at == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    enrollments_process_due(now=datetime(2026, 12, 1, 13, 59, tzinfo=UTC))
    assert smtp_inbox.messages == []
    enrollments_process_due(now=datetime(2026, 12, 1, 14, 0, tzinfo=UTC))
    assert len(smtp_inbox.messages) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("opened", [True, False])
def test_branch_on_opened(smtp_inbox, opened):
    sequence = _sequence(
        _email("First"),
        {"kind": "wait", "wait_days": 1},
        {"kind": "branch", "branch_on": "opened"},
        _email("Not opened: try again"),
        _email("Opened: here is more"),
    )
    branch = sequence.steps.get(position=2)
    branch.branch_target = sequence.steps.get(position=4)
    branch.save()
    enrollment = lead_enroll(sequence=sequence, lead=LeadFactory())
    now = timezone.now()
    enrollments_process_due(now=now)
    if opened:
        StepRun.objects.filter(enrollment=enrollment, step__position=0).update(opened_at=now)
    enrollments_process_due(now=now + timedelta(days=1, minutes=1))
    subjects = [m["Subject"] for m in smtp_inbox.messages]
    if opened:
        assert subjects == ["First", "Opened: here is more"]
    else:
        assert subjects == ["First", "Not opened: try again", "Opened: here is more"]


@pytest.mark.django_db
def test_branch_on_score_skips_ahead_and_task_and_status_steps_run(smtp_inbox, rep):
    sequence = _sequence(
        {"kind": "branch", "branch_on": "score_gte", "branch_value": 60},
        _email("Low score"),
        {"kind": "task", "task_title": "Call this hot lead", "task_due_days": 1},
        {"kind": "status", "new_status": "active"},
    )
    branch = sequence.steps.get(position=0)
    branch.branch_target = sequence.steps.get(position=2)
    branch.save()
    hot = LeadFactory(owner=rep, score=75, status="nurturing")
    cold = LeadFactory(owner=rep, score=10, status="nurturing")
    for lead in (hot, cold):
        lead_enroll(sequence=sequence, lead=lead)
    enrollments_process_due(now=timezone.now())
    assert [m["To"] for m in smtp_inbox.messages] == [cold.email]
    assert Task.objects.filter(lead=hot, assigned_to=rep, title="Call this hot lead", source="sequence").exists()
    assert Task.objects.filter(lead=cold).count() == 1
    assert Lead.objects.get(pk=hot.pk).status == "active"
    assert Notification.objects.filter(user=rep, kind=Notification.Kind.TASK).count() == 2


def _reply(to_message) -> bytes:
    return (
        f"From: Ron <{to_message['To']}>\r\nTo: ada@acme.test\r\nSubject: Re: {to_message['Subject']}\r\n"
        f"Message-ID: <reply-1@example.org>\r\nIn-Reply-To: {to_message['Message-ID']}\r\n"
        f"Date: {format_datetime(timezone.now())}\r\n\r\nSounds good, call me.\r\n"
    ).encode()


def _mailed_once(email: str) -> Enrollment:
    """A lead that got the first email of a three-step sequence and now waits three days."""
    sequence = _sequence(_email("Hello"), {"kind": "wait", "wait_days": 3}, _email("Follow-up"))
    enrollment = lead_enroll(sequence=sequence, lead=LeadFactory(email=email))
    enrollments_process_due(now=timezone.now())
    return enrollment


@pytest.mark.django_db
def test_exits_on_reply(smtp_inbox):
    enrollment = _mailed_once("ron@example.org")
    email_ingest(raw=_reply(smtp_inbox.messages[0]))
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "replied")
    enrollments_process_due(now=timezone.now() + timedelta(days=4))
    assert len(smtp_inbox.messages) == 1


@pytest.mark.django_db
def test_exits_on_conversion_loss_and_qualification(manager):
    sequence = _sequence({"kind": "wait", "wait_days": 3}, _email("Later"))
    converted, lost, qualified = LeadFactory.create_batch(3)
    owner_lead = LeadFactory(owner=manager)
    for lead in (converted, lost, qualified, owner_lead):
        lead_enroll(sequence=sequence, lead=lead)
    lead_update(lead=converted, data={"status": "converted"}, by=manager)
    lead_bulk_set_status(leads=Lead.objects.filter(pk=lost.pk), status="lost", lost_reason="No budget", by=manager)
    lead_update(lead=qualified, data={"status": "qualified"}, by=manager)
    reasons = dict(Enrollment.objects.values_list("lead_id", "exit_reason"))
    assert reasons[converted.pk] == "converted" and reasons[lost.pk] == "lost" and reasons[qualified.pk] == "qualified"
    # Scoring qualifies a lead: the hand-off. Status qualified, the owner notified, no next step.
    config = ScoringConfig.current()
    config.mql_threshold = 0
    config.save()
    leads_rescore(lead_ids=[owner_lead.pk])
    enrollment = Enrollment.objects.get(lead=owner_lead)
    assert (enrollment.status, enrollment.exit_reason, enrollment.next_run_at) == ("exited", "qualified", None)
    assert Lead.objects.get(pk=owner_lead.pk).status == "qualified"
    assert Notification.objects.filter(user=manager, lead=owner_lead, kind=Notification.Kind.QUALIFIED).exists()
    assert Interaction.objects.filter(
        lead=owner_lead, kind=Interaction.Kind.SEQUENCE, data__reason="qualified"
    ).exists()


def _report(report_type: str, part_type: str, fields: str) -> bytes:
    """A multipart/report as a mail server sends it: a DSN (delivery-status) or an ARF complaint."""
    return (
        "From: MAILER-DAEMON@mx.example.org\r\nTo: ada@acme.test\r\nSubject: Report\r\n"
        f"Message-ID: <{report_type}-1@mx.example.org>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type={report_type}; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nAbout your message.\r\n"
        f"--b\r\nContent-Type: {part_type}\r\n\r\n{fields}\r\n\r\n--b--\r\n"
    ).encode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "report, suppression, bouncing",
    [
        (
            _report(
                "delivery-status",
                "message/delivery-status",
                "Reporting-MTA: dns; mx.example.org\r\n\r\n"
                "Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
                "Diagnostic-Code: smtp; 550 5.1.1 no such user",
            ),
            "bounce",
            True,
        ),
        (
            _report(
                "feedback-report",
                "message/feedback-report",
                "Feedback-Type: abuse\r\nUser-Agent: FBL/1.0\r\nVersion: 1\r\nOriginal-Rcpt-To: <gone@example.org>",
            ),
            "complaint",
            False,  # a complaint is not a bounce
        ),
    ],
    ids=["bounce", "complaint"],
)
def test_a_bounce_or_complaint_suppresses_the_address_and_exits(smtp_inbox, report, suppression, bouncing):
    from leads.models.nurturing import EmailSuppression

    enrollment = _mailed_once("gone@example.org")
    email_ingest(raw=report)
    assert EmailSuppression.objects.get(email="gone@example.org").reason == suppression
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "bounced")
    assert Lead.objects.get(pk=enrollment.lead_id).email_bouncing is bouncing
