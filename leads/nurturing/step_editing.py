"""Editing a sequence's steps: add at the end, move up or down, delete. One editor at a time (the
sequence row is locked), positions stay 0..n-1, and a branch only ever jumps forward."""

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models.nurturing import Enrollment, Sequence, SequenceStep
from .steps import Reason, enrollments_finish, step_after


def _renumber(*, sequence_id: int, ordered: list[SequenceStep]) -> None:
    for position, step in enumerate(ordered):
        step.position = position
    SequenceStep.objects.bulk_update(ordered, ["position"])


def sequence_step_add(*, step: SequenceStep) -> SequenceStep:
    """Append a (validated, unsaved) step at the end of its sequence."""
    with transaction.atomic():
        Sequence.objects.select_for_update().filter(pk=step.sequence_id).first()  # one editor at a time
        last = (
            SequenceStep.objects.filter(sequence_id=step.sequence_id)
            .order_by("-position")
            .values_list("position", flat=True)
            .first()
        )
        step.position = 0 if last is None else last + 1
        step.save()
    return step


STEP_MOVE_BREAKS_BRANCH = (
    "Not moved: step {branch} branches to step {target}, and after this move the branch would jump backwards. "
    "Change that branch's target first."
)


def sequence_step_move(*, step: SequenceStep, offset: int) -> None:
    """Move a step up (-1) or down (+1); positions stay 0..n-1. A move that would make a branch
    jump backwards (or onto itself) is refused with STEP_MOVE_BREAKS_BRANCH, never silently unset."""
    with transaction.atomic():
        Sequence.objects.select_for_update().filter(pk=step.sequence_id).first()
        ordered = list(SequenceStep.objects.filter(sequence_id=step.sequence_id).order_by("position", "id"))
        index = next(i for i, s in enumerate(ordered) if s.pk == step.pk)
        other = index + offset
        if not 0 <= other < len(ordered):
            return
        before = {s.pk: i for i, s in enumerate(ordered)}
        ordered[index], ordered[other] = ordered[other], ordered[index]
        after = {s.pk: i for i, s in enumerate(ordered)}
        for branch in ordered:
            if branch.branch_target_id in after and after[branch.branch_target_id] <= after[branch.pk]:
                raise ValidationError(
                    STEP_MOVE_BREAKS_BRANCH.format(
                        branch=before[branch.pk] + 1,
                        target=before[branch.branch_target_id] + 1,
                    )
                )
        _renumber(sequence_id=step.sequence_id, ordered=ordered)


def sequence_step_delete(*, step: SequenceStep) -> None:
    """Delete a step; leads waiting at it move to the step after it (or finish)."""
    with transaction.atomic():
        Sequence.objects.select_for_update().filter(pk=step.sequence_id).first()
        ordered = list(SequenceStep.objects.filter(sequence_id=step.sequence_id).order_by("position", "id"))
        following = step_after(ordered, step.pk)
        waiting = Enrollment.objects.filter(step=step, status=Enrollment.Status.ACTIVE)
        if following is not None:
            waiting.update(step=following)
        else:
            enrollments_finish(enrollments=waiting, reason=Reason.END)
        deleted = step.pk
        step.delete()
        _renumber(sequence_id=step.sequence_id, ordered=[s for s in ordered if s.pk != deleted])
