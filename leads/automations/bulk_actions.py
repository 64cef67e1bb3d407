"""Set-based actions: one action done to a whole batch of leads in a few statements.

The batch executor (batch.py) calls these for the runs of one automation standing at the same
step, inside the batch's transaction, after it locked the runs; the step rows are written by the
executor in the same transaction, so a batch that rolls back leaves neither. Each returns what
happened per lead, {lead id: (outcome, detail)}, with the same words the one-by-one actions
use. Leads are locked in id order (the house's lock order) before they are written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from django.contrib.auth.models import User

from .. import events, jobs
from ..models import Lead, Notification, RunStep, Segment, SegmentMember
from ..nurturing.segments import list_add_leads, list_remove_leads
from ..services import TRACKED_FIELDS
from ..workspace.followups import tasks_create_for_owners
from .actions import Context, delay

Outcome = RunStep.Outcome
Result = dict[int, tuple[str, str]]


def _locked(lead_ids: list[int], *fields: str) -> list[tuple]:
    return list(Lead.objects.filter(pk__in=lead_ids).select_for_update().order_by("pk").values_list("pk", *fields))


def _rescore_later(lead_ids: list[int]) -> None:
    """A changed field or status may move the score: one rescore task for the batch, on commit."""
    if lead_ids:
        jobs.enqueue("leads.scoring.tasks.rescore_leads_task", lead_ids)


def _set_field(action: dict, lead_ids: list[int], ctx: Context) -> Result:
    field, value = action["field"], action["value"]
    rows = _locked(lead_ids, field)
    result = {pk: (Outcome.SKIPPED, f"{field} already {value or '(empty)'}") for pk, old in rows if old == value}
    changing = [(pk, old) for pk, old in rows if old != value]
    if changing:
        Lead.objects.filter(pk__in=[pk for pk, _ in changing]).update(**{field: value, "updated_at": ctx.now})
        if field in TRACKED_FIELDS:  # what lead_update records on the timeline, it records here too
            events.leads_updated(
                changes=[(pk, {field: {"from": old, "to": value}}) for pk, old in changing],
                by=None,
                occurred_at=ctx.now,
            )
        _rescore_later([pk for pk, _ in changing])
        result.update({pk: (Outcome.DONE, f"set {field} to {value or '(empty)'}") for pk, _ in changing})
    return result


def _set_status(action: dict, lead_ids: list[int], ctx: Context) -> Result:
    status = action["status"]
    rows = _locked(lead_ids, "status")
    result = {pk: (Outcome.SKIPPED, f"status already {status}") for pk, old in rows if old == status}
    changing = [(pk, old) for pk, old in rows if old != status]
    if changing:
        lost_reason = (action.get("lost_reason") or "automation") if status == Lead.Status.LOST else ""
        Lead.objects.filter(pk__in=[pk for pk, _ in changing]).update(
            status=status, lost_reason=lost_reason, updated_at=ctx.now
        )
        events.leads_status_changed(rows=changing, status=status, by=None, lost_reason=lost_reason, occurred_at=ctx.now)
        _rescore_later([pk for pk, _ in changing])
        result.update({pk: (Outcome.DONE, f"set status to {status}") for pk, _ in changing})
    return result


def _tags(action: dict, lead_ids: list[int], ctx: Context) -> Result:
    adding = action["type"] == "add_tags"
    result: Result = {}
    by_value: dict[tuple, list[int]] = defaultdict(list)  # leads that end with the same tags: one UPDATE each
    for pk, current in _locked(lead_ids, "tags"):
        current = list(current or [])
        new = (
            current + [t for t in action["tags"] if t not in current]
            if adding
            else [t for t in current if t not in action["tags"]]
        )
        if new == current:
            result[pk] = (Outcome.SKIPPED, "tags unchanged")
        else:
            by_value[tuple(new)].append(pk)
    detail = ("added tags " if adding else "removed tags ") + ", ".join(action["tags"])
    for new, pks in by_value.items():
        Lead.objects.filter(pk__in=pks).update(tags=list(new), updated_at=ctx.now)
        result.update({pk: (Outcome.DONE, detail) for pk in pks})
    return result


def _list(action: dict, lead_ids: list[int], ctx: Context) -> Result:
    segment = Segment.objects.get(pk=action["list"])
    members = set(
        SegmentMember.objects.filter(segment_id=segment.pk, lead_id__in=lead_ids).values_list("lead_id", flat=True)
    )
    present = set(Lead.objects.filter(pk__in=lead_ids).values_list("pk", flat=True))
    if action["type"] == "list_add":
        joining = sorted(present - members)
        list_add_leads(segment=segment, lead_ids=joining, by=None)
        result = {pk: (Outcome.SKIPPED, f"already in {segment.name}") for pk in members}
        result.update({pk: (Outcome.DONE, f"added to list {segment.name}") for pk in joining})
        return result
    list_remove_leads(segment=segment, lead_ids=sorted(members))
    result = {pk: (Outcome.SKIPPED, f"not in {segment.name}") for pk in present - members}
    result.update({pk: (Outcome.DONE, f"removed from list {segment.name}") for pk in members})
    return result


def _create_task(action: dict, lead_ids: list[int], ctx: Context) -> Result:
    due = ctx.now + delay(action)
    created = tasks_create_for_owners(lead_ids=lead_ids, title=action["title"], due_at=due, by=None)
    return {
        pk: (
            Outcome.DONE,
            f"created task \u2018{action['title']}\u2019 for {owner or 'nobody'} due {due:%Y-%m-%d %H:%M}",
        )
        for pk, (_, owner) in created.items()
    }


def _notify(action: dict, lead_ids: list[int], ctx: Context) -> Result:
    leads = list(Lead.objects.filter(pk__in=lead_ids).select_related("owner").order_by("pk"))
    result: Result = {}
    notes = []
    for lead in leads:
        user_id = action.get("user") or lead.owner_id
        if not user_id:
            result[lead.pk] = (Outcome.SKIPPED, "no owner to notify")
            continue
        notes.append(
            Notification(
                user_id=user_id,
                kind=Notification.Kind.AUTOMATION,
                lead=lead,
                message=f"{action['message']} ({lead})"[:300],
            )
        )
    notes = Notification.objects.bulk_create(notes)
    if notes:
        jobs.enqueue("leads.workspace.tasks.notify_by_email_task", [note.pk for note in notes])
    names = {}
    if action.get("user"):
        names[action["user"]] = (
            User.objects.filter(pk=action["user"]).values_list("username", flat=True).first() or f"#{action['user']}"
        )
    for note in notes:
        lead = note.lead
        result[lead.pk] = (Outcome.DONE, f"notified {names.get(note.user_id) or lead.owner.username}")
    return result


BULK_APPLY: dict[str, Callable[[dict, list[int], Context], Result]] = {
    "set_field": _set_field,
    "set_status": _set_status,
    "add_tags": _tags,
    "remove_tags": _tags,
    "list_add": _list,
    "list_remove": _list,
    "create_task": _create_task,
    "notify": _notify,
}


def actions_apply_bulk(*, action: dict, lead_ids: list[int], ctx: Context) -> Result:
    """Do one batchable action to many leads at once; what happened per lead."""
    return BULK_APPLY[action["type"]](action, lead_ids, ctx)
