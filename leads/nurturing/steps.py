"""Walking an enrollment through its sequence's steps, shared by the engine (sequences.py) and the email
batch sender (sending.py): the steps in order, the one after, a step run found taken, moving on, finishing.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .. import events
from ..models import Lead
from ..models.nurturing import Enrollment, Sequence, SequenceStep, StepRun

Reason = Enrollment.ExitReason

# Statuses a lead cannot be enrolled in (nor stay enrolled in).
CLOSED_STATUSES = (Lead.Status.CONVERTED, Lead.Status.LOST)

# A claimed batch is leased: its due time moves this far ahead, so the beat's next pass does not
# pick it again while a worker runs it (and picks it up if that worker died).
LEASE = timedelta(minutes=10)
# A send held back by a rate limit is tried again after this long.
DEFER = timedelta(minutes=5)
WORKER_LOST = "The worker running this step stopped before finishing it."


def _exit_timeline(*, rows: list[tuple[int, int, str]], reason: str, now: datetime, by: User | None = None) -> None:
    """One timeline entry per (lead_id, sequence_id, sequence name) that left."""
    events.sequences_exited(rows=rows, reason=reason, label=Reason(reason).label, by=by, occurred_at=now)


def enrollments_finish(
    *, enrollments: QuerySet, reason: str, by: User | None = None, now: datetime | None = None
) -> int:
    """Close the given active enrollments (completed for END, else exited) with one UPDATE."""
    now = now or timezone.now()
    status = Enrollment.Status.COMPLETED if reason == Reason.END else Enrollment.Status.EXITED
    with transaction.atomic():
        rows = list(
            enrollments.filter(status=Enrollment.Status.ACTIVE)
            .select_for_update(of=("self",))
            .values_list("pk", "lead_id", "sequence_id", "sequence__name")
        )
        if not rows:
            return 0
        Enrollment.objects.filter(pk__in=[row[0] for row in rows]).update(
            status=status, exit_reason=reason, finished_at=now, next_run_at=None
        )
        _exit_timeline(rows=[row[1:] for row in rows], reason=reason, now=now, by=by)
    return len(rows)


def sequence_steps(sequence_id: int, cache: dict) -> list[SequenceStep]:
    """A sequence's steps in order, read once per `cache` (one engine pass)."""
    if sequence_id not in cache:
        cache[sequence_id] = list(SequenceStep.objects.filter(sequence_id=sequence_id).order_by("position", "id"))
    return cache[sequence_id]


def step_after(steps: list[SequenceStep], step_id: int) -> SequenceStep | None:
    """The step that follows `step_id` in `steps`, or None at the end."""
    ids = [step.pk for step in steps]
    index = ids.index(step_id) if step_id in ids else len(ids)
    return steps[index + 1] if index + 1 < len(steps) else None


def taken_step_resolve(*, enrollment: Enrollment, step: SequenceStep, steps: list, now: datetime):
    """The step run exists already. Finished (the move on was lost) or stale (its worker died):
    move on without running it again. Claimed recently: another worker has it; leave it."""
    run = StepRun.objects.filter(enrollment=enrollment, step=step).values("pk", "status", "claimed_at").first()
    if run is None:
        return None
    if run["status"] == StepRun.Status.CLAIMED:
        if run["claimed_at"] > now - LEASE:
            return None
        StepRun.objects.filter(pk=run["pk"]).update(status=StepRun.Status.FAILED, error=WORKER_LOST, finished_at=now)
    return step_after(steps, step.pk), now


def enrollments_move_on(*, moves: list[tuple[int, int, SequenceStep | None]], now: datetime) -> None:
    """Move enrollments on from the step they still stand on [(id, from step id, next step or None
    for the end)], due now: one UPDATE per (from, to) pair, one completion for those at the end."""
    groups: dict[tuple[int, int | None], list[int]] = {}
    targets: dict[int, SequenceStep] = {}
    for enrollment_id, from_step_id, following in moves:
        groups.setdefault((from_step_id, following.pk if following else None), []).append(enrollment_id)
        if following is not None:
            targets[following.pk] = following
    for (from_step_id, to_id), ids in groups.items():
        current = Enrollment.objects.filter(pk__in=ids, status=Enrollment.Status.ACTIVE, step_id=from_step_id)
        if to_id is None:
            enrollments_finish(enrollments=current, reason=Reason.END, now=now)
        else:
            current.update(step=targets[to_id], next_run_at=now)


def lead_enrollments_exit(
    *, lead_id: int, reason: str, sequence: Sequence | None = None, by: User | None = None
) -> int:
    """End a lead's active enrollments (in every sequence, or one); returns how many ended."""
    enrollments = Enrollment.objects.filter(lead_id=lead_id)
    if sequence is not None:
        enrollments = enrollments.filter(sequence=sequence)
    return enrollments_finish(enrollments=enrollments, reason=reason, by=by)


def leads_enrollments_exit(*, lead_ids: Iterable[int] | QuerySet, reason: str, by: User | None = None) -> int:
    """End the active enrollments of many leads (a bulk status change) in set-based SQL."""
    return enrollments_finish(enrollments=Enrollment.objects.filter(lead_id__in=lead_ids), reason=reason, by=by)
