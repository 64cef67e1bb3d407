"""Sequences: enrolling leads (by hand, by segment, by pipeline rule), leaving them (reply,
unsubscribe, bounce, conversion, loss, qualification, the end) and the engine that runs due steps.

Every step run claims its StepRun row (enrollment, step) before any side effect: a retried task or
a second worker that reaches the same step finds the row taken and does nothing.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from .. import events, jobs
from ..models import Lead
from ..models.nurturing import Enrollment, Sequence, SequenceStep, StepRun
from ..services import lead_update
from ..workspace.followups import task_create
from .sending import emails_send, mail_connection
from .steps import (  # the step walk shared with sending.py
    CLOSED_STATUSES,
    LEASE,
    Reason,
    enrollments_finish,
    sequence_steps,
    step_after,
    taken_step_resolve,
)

logger = logging.getLogger(__name__)


# A lead reaching one of these statuses leaves every sequence (qualified: handed to sales).
STATUS_EXIT_REASONS = {
    Lead.Status.CONVERTED: Enrollment.ExitReason.CONVERTED,
    Lead.Status.LOST: Enrollment.ExitReason.LOST,
    Lead.Status.QUALIFIED: Enrollment.ExitReason.QUALIFIED,
}

SEQUENCE_INACTIVE = "This sequence is inactive: nobody can enroll."
LEAD_NOT_ENROLLABLE = (
    "This lead cannot be enrolled: already in the sequence, finished it, converted, lost or do-not-contact."
)


class EnrollmentError(Exception):
    """An enrollment the user asked for cannot be made (the message says why)."""


def sequence_first_step(*, sequence: Sequence) -> SequenceStep | None:
    """The step a new enrollment starts at (the lowest position)."""
    return sequence.steps.order_by("position", "id").first()


def _lead_ids_sql(lead_ids: Iterable[int] | QuerySet) -> tuple[str, list]:
    """SQL (and params) for the candidate lead ids: a queryset stays a subquery, a list is an array."""
    if isinstance(lead_ids, QuerySet):
        sql, params = lead_ids.order_by().values("pk").query.sql_with_params()
        return f"l.id IN ({sql})", list(params)
    ids = sorted({int(pk) for pk in lead_ids})
    if connection.vendor == "postgresql":
        return "l.id = ANY(%s)", [ids]
    if not ids:
        return "FALSE", []
    return f"l.id IN ({', '.join(['%s'] * len(ids))})", ids  # the embedded SQLite default has no arrays


def leads_enroll(
    *,
    sequence: Sequence,
    lead_ids: Iterable[int] | QuerySet,
    source: str,
    by: User | None = None,
    now: datetime | None = None,
) -> int:
    """Enroll many leads in one set-based INSERT (skipping those already in it, those who finished it
    unless re-enrollment is allowed, converted, lost and do-not-contact leads); returns how many."""
    if not sequence.is_active:
        return 0
    now = now or timezone.now()
    first = sequence_first_step(sequence=sequence)
    where, params = _lead_ids_sql(lead_ids)
    prior = "e.status = 'active'" if sequence.allow_reenroll else "TRUE"
    sql = f"""
        INSERT INTO {Enrollment._meta.db_table}
            (sequence_id, lead_id, status, source, exit_reason, step_id, next_run_at, enrolled_at, enrolled_by_id)
        SELECT %s, l.id, 'active', %s, '', %s, %s, %s, %s
        FROM {Lead._meta.db_table} l
        WHERE {where}
          AND l.status NOT IN ('converted', 'lost')
          AND NOT l.do_not_contact
          AND NOT EXISTS (
              SELECT 1 FROM {Enrollment._meta.db_table} e
              WHERE e.sequence_id = %s AND e.lead_id = l.id AND {prior}
          )
        ON CONFLICT (sequence_id, lead_id) WHERE status = 'active' DO NOTHING
        RETURNING lead_id
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                [
                    sequence.pk,
                    source,
                    first.pk if first else None,
                    now,
                    now,
                    by.pk if by else None,
                    *params,
                    sequence.pk,
                ],
            )
            enrolled = [row[0] for row in cursor.fetchall()]
        if enrolled:
            events.leads_enrolled(
                lead_ids=enrolled,
                sequence_id=sequence.pk,
                sequence_name=sequence.name,
                source=source,
                by=by,
                occurred_at=now,
            )
    return len(enrolled)


def lead_enroll(
    *, sequence: Sequence, lead: Lead, by: User | None = None, source: str = Enrollment.Source.MANUAL
) -> Enrollment:
    """Enroll one lead (by hand); EnrollmentError says why it cannot be."""
    if not sequence.is_active:
        raise EnrollmentError(SEQUENCE_INACTIVE)
    if not leads_enroll(sequence=sequence, lead_ids=[lead.pk], source=source, by=by):
        raise EnrollmentError(LEAD_NOT_ENROLLABLE)
    return Enrollment.objects.get(sequence=sequence, lead=lead, status=Enrollment.Status.ACTIVE)


def enrollment_exit(
    *, enrollment: Enrollment | None = None, enrollment_id: int | None = None, reason: str, by: User | None = None
) -> bool:
    """End one active enrollment with a reason; False if it was no longer active."""
    pk = enrollment.pk if enrollment is not None else enrollment_id
    done = enrollments_finish(enrollments=Enrollment.objects.filter(pk=pk), reason=reason, by=by)
    if enrollment is not None and done:
        enrollment.refresh_from_db()
    return bool(done)


def lead_enroll_by_rules(*, lead_id: int) -> int:
    """Pipeline stage: enroll the lead in active sequences whose entry statuses/grades match it."""
    lead = Lead.objects.filter(pk=lead_id).values("status", "grade").first()
    if lead is None:
        return 0
    enrolled = 0
    for sequence in Sequence.objects.filter(is_active=True).exclude(entry_statuses=[], entry_grades=[]):
        statuses, grades = sequence.entry_statuses or [], sequence.entry_grades or []
        if statuses and lead["status"] not in statuses:
            continue
        if grades and lead["grade"] not in grades:
            continue
        enrolled += leads_enroll(sequence=sequence, lead_ids=[lead_id], source=Enrollment.Source.RULE)
    return enrolled


def leads_enroll_by_rules(*, lead_ids: list[int]) -> int:
    """Pipeline stage for a batch (the batch path): lead_enroll_by_rules, one INSERT per matching sequence."""
    sequences = list(Sequence.objects.filter(is_active=True).exclude(entry_statuses=[], entry_grades=[]))
    if not sequences:
        return 0
    leads = list(Lead.objects.filter(pk__in=lead_ids).order_by("pk").values_list("pk", "status", "grade"))
    enrolled = 0
    for sequence in sequences:
        statuses, grades = sequence.entry_statuses or [], sequence.entry_grades or []
        matching = [
            pk
            for pk, status, grade in leads
            if (not statuses or status in statuses) and (not grades or grade in grades)
        ]
        if matching:
            enrolled += leads_enroll(sequence=sequence, lead_ids=matching, source=Enrollment.Source.RULE)
    return enrolled


# --- The engine -----------------------------------------------------------------------------

# At most this many steps run for one enrollment in one go (a safety net against loops).
MAX_STEPS_PER_RUN = 50
TASK_DEFAULT_TITLE = "Follow up with {lead}"
LOST_BY_SEQUENCE = "Set by a nurture sequence"

ANY = object()


def enrollments_claim_due(*, now: datetime | None = None, batch: int = 200) -> list[tuple[int, int | None]]:
    """Lease a batch of due active enrollments (skip rows other workers hold): [(id, step id)]."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            Enrollment.objects.filter(status=Enrollment.Status.ACTIVE, next_run_at__lte=now, sequence__is_active=True)
            .order_by("next_run_at")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", "step_id")[:batch]
        )
        if rows:
            Enrollment.objects.filter(pk__in=[pk for pk, _ in rows]).update(next_run_at=now + LEASE)
    return rows


def lead_time_zone(*, lead: Lead):
    """The lead's time zone, else the site's."""

    for name in (lead.time_zone, settings.TIME_ZONE):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def wait_until(*, step: SequenceStep, lead: Lead, now: datetime) -> datetime:
    """When a wait step ends: N days on, then (if set) the next weekday/time in the lead's time zone."""
    due = now + timedelta(days=step.wait_days or 0)
    if step.wait_weekday is None and step.wait_time is None:
        return due
    zone = lead_time_zone(lead=lead)
    local = due.astimezone(zone)
    at = step.wait_time or datetime.min.time()
    for days_ahead in range(8):
        day = local.date() + timedelta(days=days_ahead)
        if step.wait_weekday is not None and day.weekday() != step.wait_weekday:
            continue
        candidate = datetime.combine(day, at, tzinfo=zone)
        if candidate >= local:
            return candidate.astimezone(due.tzinfo or timezone.get_current_timezone())
    return due  # unreachable: a matching day comes within a week


def _branch_holds(*, step: SequenceStep, enrollment: Enrollment) -> bool:
    if step.branch_on == SequenceStep.BranchOn.OPENED:
        return enrollment.runs.filter(opened_at__isnull=False).exists()
    if step.branch_on == SequenceStep.BranchOn.CLICKED:
        return enrollment.runs.filter(clicked_at__isnull=False).exists()
    if step.branch_on == SequenceStep.BranchOn.SCORE_GTE:
        score = Lead.objects.filter(pk=enrollment.lead_id).values_list("score", flat=True).first() or 0
        return score >= (step.branch_value or 0)
    return False


def _branch_target(*, step: SequenceStep, steps: list[SequenceStep]) -> tuple[bool, SequenceStep | None]:
    """(valid, target): the target must be a later step of the same sequence; none ends the sequence."""
    if step.branch_target_id is None:
        return True, None
    order = {s.pk: i for i, s in enumerate(steps)}
    if step.branch_target_id in order and order[step.branch_target_id] > order.get(step.pk, -1):
        return True, steps[order[step.branch_target_id]]
    return False, None


def _advance(*, enrollment_id: int, from_step_id: int, to: SequenceStep | None, due: datetime, now: datetime) -> bool:
    """Move an enrollment on from a step it still stands on (to the end when `to` is None)."""
    current = Enrollment.objects.filter(pk=enrollment_id, status=Enrollment.Status.ACTIVE, step_id=from_step_id)
    if to is None:
        return bool(enrollments_finish(enrollments=current, reason=Reason.END, now=now))
    return bool(current.update(step=to, next_run_at=due))


def _run_step_effect(*, step: SequenceStep, enrollment: Enrollment, lead: Lead, steps: list, now: datetime):
    """Do a non-email step; returns (next step, when it is due)."""
    following = step_after(steps, step.pk)
    if step.kind == SequenceStep.Kind.WAIT:
        return following, wait_until(step=step, lead=lead, now=now)
    if step.kind == SequenceStep.Kind.BRANCH:
        if _branch_holds(step=step, enrollment=enrollment):
            valid, target = _branch_target(step=step, steps=steps)
            return (target if valid else following), now
        return following, now
    if step.kind == SequenceStep.Kind.TASK:
        due_at = now + timedelta(days=step.task_due_days) if step.task_due_days is not None else None
        task_create(
            lead=lead,
            title=(step.task_title or TASK_DEFAULT_TITLE.format(lead=lead))[:200],
            due_at=due_at,
            assigned_to=lead.owner,
            by=None,
            source="sequence",
        )
        return following, now
    if step.kind == SequenceStep.Kind.STATUS and step.new_status and lead.status != step.new_status:
        data = {"status": step.new_status}
        if step.new_status == Lead.Status.LOST:
            data["lost_reason"] = LOST_BY_SEQUENCE
        lead_update(lead=lead, data=data, by=None)
    return following, now


def _step_once(*, enrollment_id: int, expected, now: datetime, cache: dict):
    """Run the enrollment's current step (inside one transaction, its row locked). Returns
    (next step id, due) to go on, EMAIL when the step is an email (sent by the caller through
    sending.emails_send, in batches), or None to stop."""
    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_for_update(of=("self",))
            .select_related("sequence", "step")
            .filter(pk=enrollment_id, status=Enrollment.Status.ACTIVE)
            .first()
        )
        if enrollment is None or not enrollment.sequence.is_active:
            return None
        if expected is ANY:
            if enrollment.next_run_at is None or enrollment.next_run_at > now:
                return None
        elif enrollment.step_id != expected:
            return None  # a repeated delivery: this step ran already
        step = enrollment.step
        if step is None:
            enrollments_finish(enrollments=Enrollment.objects.filter(pk=enrollment.pk), reason=Reason.END, now=now)
            return None
        if step.kind == SequenceStep.Kind.EMAIL:
            return EMAIL, step.pk
        lead = Lead.objects.select_related("owner").get(pk=enrollment.lead_id)
        if lead.status in CLOSED_STATUSES:
            reason = Reason.CONVERTED if lead.status == Lead.Status.CONVERTED else Reason.LOST
            enrollments_finish(enrollments=Enrollment.objects.filter(pk=enrollment.pk), reason=reason, now=now)
            return None
        steps = sequence_steps(enrollment.sequence_id, cache)
        try:
            with transaction.atomic():
                claimed = StepRun.objects.create(enrollment=enrollment, step=step, lead=lead, claimed_at=now)
        except IntegrityError:
            moved = taken_step_resolve(enrollment=enrollment, step=step, steps=steps, now=now)
            if moved is None:
                return None
            target, due = moved
        else:
            target, due = _run_step_effect(step=step, enrollment=enrollment, lead=lead, steps=steps, now=now)
            StepRun.objects.filter(pk=claimed.pk).update(status=StepRun.Status.DONE, finished_at=now)
        _advance(enrollment_id=enrollment.pk, from_step_id=step.pk, to=target, due=due, now=now)
        return (target.pk if target else None), due


EMAIL = "email"


def enrollment_run(
    *, enrollment_id: int, step_id=ANY, now: datetime | None = None, smtp=None, cache: dict | None = None
) -> int:
    """Run an enrollment's due steps until it waits, is deferred or ends; returns steps run.
    `step_id`: the step it was claimed at (a repeated delivery then does nothing)."""

    cache = {} if cache is None else cache
    expected, ran = step_id, 0
    for _ in range(MAX_STEPS_PER_RUN):
        at = now or timezone.now()
        outcome = _step_once(enrollment_id=enrollment_id, expected=expected, now=at, cache=cache)
        if outcome is not None and outcome[0] == EMAIL:
            outcome = emails_send(claimed=[(enrollment_id, outcome[1])], now=at, smtp=smtp, cache=cache).get(
                enrollment_id
            )
        if outcome is None:
            break
        ran += 1
        expected = _due_next(outcome, at)
        if expected is None:
            break
    return ran


def _due_next(outcome: tuple[int | None, datetime], at: datetime) -> int | None:
    """The step to run at once after a step ran, or None (the end, or a wait)."""
    next_step, due = outcome
    return next_step if next_step is not None and due <= at else None


def enrollments_run(*, claimed: list[tuple[int, int | None]], now: datetime | None = None) -> int:
    """Run a leased batch [(enrollment id, step id)] over one SMTP connection: the email steps of
    the whole batch at once, then each enrollment on through its following steps; returns steps run."""

    cache: dict = {}
    smtp = mail_connection()
    ran = 0
    try:
        at = now or timezone.now()
        emailed = emails_send(claimed=claimed, now=at, smtp=smtp, cache=cache)
        for enrollment_id, step_id in claimed:
            if enrollment_id in emailed:
                if emailed[enrollment_id] is None:
                    continue
                ran += 1
                step_id = _due_next(emailed[enrollment_id], at)
                if step_id is None:
                    continue
            ran += enrollment_run(enrollment_id=enrollment_id, step_id=step_id, now=now, smtp=smtp, cache=cache)
    finally:
        smtp.close()
    return ran


def enrollments_process_due(
    *, now: datetime | None = None, batch: int = 200, max_batches: int = 50, fan_out: bool = False
) -> int:
    """Lease due enrollments batch by batch and run them here, or (fan_out) hand each batch to
    a worker task so several worker processes share the sending; returns enrollments taken."""
    taken = 0
    for _ in range(max_batches):
        claimed = enrollments_claim_due(now=now, batch=batch)
        if not claimed:
            break
        taken += len(claimed)
        if fan_out:
            jobs.enqueue("leads.nurturing.tasks.run_enrollments_task", [list(row) for row in claimed])
        else:
            enrollments_run(claimed=claimed, now=now)
        if len(claimed) < batch:
            break
    return taken
