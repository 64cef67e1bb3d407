"""Follow-ups on a lead: tasks (made by hand or by a nurture sequence), logged calls, and a
manager's reassignment from the lead page.

Each leaves a timeline entry through `leads.events`, so a call logged by the lead's owner
counts as first contact for the SLA exactly as distribution counts it (see
leads/distribution/sla.py: lead_first_contact).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import events, jobs
from ..models import Interaction, Lead, Notification, Task
from ..services import lead_update

# Validation messages (tests assert on them).
TITLE_REQUIRED = "Give the task a title."
TITLE_TOO_LONG = "A task title is at most 200 characters."
OUTCOME_REQUIRED = "Choose how the call went."
OUTCOME_INVALID = "Choose one of the listed call outcomes."
DIRECTION_INVALID = "A call is either out (you called) or in (they called)."
DURATION_INVALID = "The duration is whole seconds, from 0 to 86400."
NULL_CHARACTERS = "Null characters are not allowed."

NOTIFY_TASK = "New task for you on {lead}: {title}"
NOTIFY_REASSIGNED = "Lead reassigned to you by {by}: {lead}"

# What a rep can pick when logging a call by hand.
CALL_OUTCOMES = (
    ("connected", "Connected"),
    ("no_answer", "No answer"),
    ("voicemail", "Left a voicemail"),
    ("busy", "Busy"),
    ("wrong_number", "Wrong number"),
)
# Outcomes telephony providers send (leads/telephony/calls.py), accepted from code too.
PROVIDER_OUTCOMES = ("answered", "completed", "failed", "canceled")
MAX_DURATION = 86_400


def _clean_text(field: str, value: str, errors: dict) -> str:
    text = (value or "").strip()
    if "\x00" in text:
        errors[field] = [NULL_CHARACTERS]
    return text


@transaction.atomic
def task_create(
    *,
    lead: Lead,
    title: str,
    due_at: datetime | None,
    assigned_to: User | None,
    by: User | None,
    notes: str = "",
    source: str = Task.Source.MANUAL,
) -> Task:
    """Add a task on a lead for someone, with a timeline entry and a notification to the assignee."""
    errors: dict[str, list[str]] = {}
    title = _clean_text("title", title, errors)
    notes = _clean_text("notes", notes, errors)
    if not title and "title" not in errors:
        errors["title"] = [TITLE_REQUIRED]
    elif len(title) > 200:
        errors["title"] = [TITLE_TOO_LONG]
    if errors:
        raise ValidationError(errors)
    task = Task.objects.create(
        lead=lead,
        title=title,
        notes=notes,
        due_at=due_at,
        assigned_to=assigned_to,
        created_by=by,
        source=source,
    )
    events.task_recorded(
        lead=lead,
        by=by,
        task_id=task.pk,
        title=title,
        action="created",
        due_at=due_at,
        assigned_to=assigned_to,
        source=source,
    )
    if assigned_to is not None and (by is None or assigned_to.pk != by.pk):
        Notification.objects.create(
            user=assigned_to,
            kind=Notification.Kind.TASK,
            lead=lead,
            message=NOTIFY_TASK.format(lead=lead, title=title)[:300],
        )
    return task


def task_from_form(*, lead: Lead, data: dict, by: User, owner: User | None) -> Task:
    """A task from the task form's cleaned data (lead page, customer page): for the chosen user, else
    `owner` (the lead's or the customer's), else whoever adds it."""
    return task_create(
        lead=lead,
        title=data["title"],
        due_at=data["due_at"],
        notes=data["notes"],
        by=by,
        assigned_to=data["assigned_to"] or owner or by,
    )


def tasks_create_for_owners(
    *,
    lead_ids: list[int],
    title: str,
    due_at: datetime | None,
    by: User | None,
    source: str = Task.Source.AUTOMATION,
) -> dict[int, tuple[int, str | None]]:
    """One task per lead for its owner (unowned leads: for nobody), set-based: one insert of the
    tasks, one of their timeline entries, one of the owners' notifications. Returns {lead: (task, owner)}."""
    leads = list(
        Lead.objects.filter(pk__in=lead_ids)
        .select_related("owner")
        .only("id", "first_name", "last_name", "email", "phone", "owner__id", "owner__username")
        .order_by("pk")
    )
    tasks = Task.objects.bulk_create(
        [
            Task(lead=lead, title=title, due_at=due_at, assigned_to_id=lead.owner_id, created_by=by, source=source)
            for lead in leads
        ]
    )
    owners = {lead.pk: lead.owner.username if lead.owner_id else None for lead in leads}
    events.tasks_recorded(
        rows=[(task.lead_id, task.pk, owners[task.lead_id]) for task in tasks],
        title=title,
        due_at=due_at,
        source=source,
        by=by,
    )
    Notification.objects.bulk_create(
        [
            Notification(
                user_id=lead.owner_id,
                kind=Notification.Kind.TASK,
                lead=lead,
                message=NOTIFY_TASK.format(lead=lead, title=title)[:300],
            )
            for lead in leads
            if lead.owner_id and (by is None or lead.owner_id != by.pk)
        ]
    )
    return {task.lead_id: (task.pk, owners[task.lead_id]) for task in tasks}


@transaction.atomic
def task_complete(*, task: Task, by: User | None) -> Task:
    """Mark a task done (once: a second call changes nothing) and note it on the timeline."""
    now = timezone.now()
    if not Task.objects.filter(pk=task.pk, done_at__isnull=True).update(done_at=now):
        task.refresh_from_db(fields=["done_at"])
        return task
    task.done_at = now
    events.task_recorded(lead=task.lead, by=by, task_id=task.pk, title=task.title, action="done", occurred_at=now)
    return task


@transaction.atomic
def call_log(
    *,
    lead: Lead,
    by: User | None,
    outcome: str,
    notes: str = "",
    direction: str = "out",
    duration: int | None = None,
) -> Interaction:
    """Log a phone call on the timeline; the owner's first logged call is the lead's first contact."""
    errors: dict[str, list[str]] = {}
    outcome = (outcome or "").strip()
    notes = _clean_text("notes", notes, errors)
    if not outcome:
        errors["outcome"] = [OUTCOME_REQUIRED]
    elif outcome not in dict(CALL_OUTCOMES) and outcome not in PROVIDER_OUTCOMES:
        errors["outcome"] = [OUTCOME_INVALID]
    if direction not in ("out", "in"):
        errors["direction"] = [DIRECTION_INVALID]
    whole_seconds = isinstance(duration, int) and not isinstance(duration, bool)
    if duration is not None and not (whole_seconds and 0 <= duration <= MAX_DURATION):
        errors["duration"] = [DURATION_INVALID]
    if errors:
        raise ValidationError(errors)
    label = dict(CALL_OUTCOMES).get(outcome) or outcome.replace("_", " ").capitalize()
    return events.call_logged(
        lead=lead,
        by=by,
        direction=direction,
        outcome=outcome,
        label=label,
        notes=notes,
        duration=duration,
    )


@transaction.atomic
def lead_reassign(*, lead: Lead, owner: User, by: User) -> Lead:
    """A manager gives the lead to another rep: the owner changes (timeline "assigned", reason
    manual, no SLA) and the new owner gets a notification, emailed after the commit."""
    previous = lead.owner_id
    if owner.pk == previous:
        return lead
    # A hand-made assignment carries no SLA (as in distribution): the clock stops here.
    lead = lead_update(lead=lead, data={"owner": owner, "assigned_at": timezone.now(), "sla_due_at": None}, by=by)
    if owner.pk != by.pk:
        note = Notification.objects.create(
            user=owner,
            kind=Notification.Kind.ASSIGNED,
            lead=lead,
            message=NOTIFY_REASSIGNED.format(by=by.get_username(), lead=lead)[:300],
        )
        jobs.enqueue("leads.workspace.tasks.notify_by_email_task", [note.pk])
    return lead
