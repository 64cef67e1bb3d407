"""Events of the lead's own record and what people add to it (activity, notes, tasks, calls)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from ..models import Interaction, Lead
from .base import SUBJECT_MAX, Event, Kind, Name, _add, _add_many, publish

# --- Activity the lead or a person adds -----------------------------------------------------------


def activity_recorded(
    *,
    lead: Lead,
    kind: str,
    actor: User | None = None,
    channel: str = "",
    subject: str = "",
    body: str = "",
    data: dict | None = None,
    occurred_at: datetime | None = None,
    counted: bool = False,
) -> Interaction:
    """Something the lead did or a channel told us (a form, an email, a chat, a page view, a call,
    an external event): one timeline entry of that kind. `counted`: the caller already counted it
    in the lead's engagement summary."""
    return _add(
        lead=lead,
        kind=kind,
        actor=actor,
        channel=channel,
        subject=subject,
        body=body,
        data=data,
        occurred_at=occurred_at,
        counted=counted,
    )


def note_added(*, lead: Lead, by: User | None, kind: str = Kind.NOTE, subject: str = "", body: str = "") -> Interaction:
    """A person wrote on the lead's timeline (a note, or a manual call/email entry)."""
    entry = _add(lead=lead, kind=kind, actor=by, subject=subject, body=body)
    publish(Event(Name.NOTE_ADDED, (lead.pk,), kind=kind, actor=by, occurred_at=entry.occurred_at, leads=(lead,)))
    return entry


def task_recorded(
    *,
    lead: Lead,
    by: User | None,
    task_id: int,
    title: str,
    action: str,
    due_at: datetime | None = None,
    assigned_to: User | None = None,
    source: str = "",
    occurred_at: datetime | None = None,
) -> Interaction:
    """A task on the lead was created or done (`action`: "created" or "done")."""
    data: dict[str, Any] = {"action": action, "task": task_id}
    if action == "created":
        data.update(
            due_at=due_at.isoformat() if due_at else None,
            assigned_to=assigned_to.username if assigned_to else None,
            source=source,
        )
    entry = _add(lead=lead, kind=Kind.TASK, actor=by, subject=title, data=data, occurred_at=occurred_at)
    publish(
        Event(Name.TASK, (lead.pk,), kind=Kind.TASK, actor=by, occurred_at=entry.occurred_at, data=data, leads=(lead,))
    )
    return entry


def tasks_recorded(
    *,
    rows: Sequence[tuple[int, int, str | None]],
    title: str,
    due_at: datetime | None,
    source: str,
    by: User | None,
    occurred_at: datetime | None = None,
) -> None:
    """Tasks were created on many leads at once: rows of (lead id, task id, assignee's username)."""
    occurred_at = occurred_at or timezone.now()
    shared = {"action": "created", "due_at": due_at.isoformat() if due_at else None, "source": source}
    _add_many(
        [
            Interaction(
                lead_id=pk,
                kind=Kind.TASK,
                actor=by,
                subject=title,
                occurred_at=occurred_at,
                data={**shared, "task": task_id, "assigned_to": assignee},
            )
            for pk, task_id, assignee in rows
        ]
    )
    if rows:
        publish(
            Event(
                Name.TASK,
                tuple(pk for pk, _, _ in rows),
                kind=Kind.TASK,
                actor=by,
                occurred_at=occurred_at,
                data=shared,
                per_lead={pk: {"task": task_id, "assigned_to": assignee} for pk, task_id, assignee in rows},
            )
        )


def call_logged(
    *,
    lead: Lead,
    by: User | None,
    direction: str,
    outcome: str,
    label: str,
    notes: str = "",
    duration: int | None = None,
) -> Interaction:
    """A person logged a phone call (in or out) with its outcome."""
    kind = Kind.CALL_OUT if direction == "out" else Kind.CALL_IN
    data = {"outcome": outcome, "duration": duration, "logged": True}
    entry = _add(lead=lead, kind=kind, actor=by, channel="phone", subject=label, body=notes, data=data)
    publish(Event(Name.CALL, (lead.pk,), kind=kind, actor=by, occurred_at=entry.occurred_at, data=data, leads=(lead,)))
    return entry


def call_ended(
    *, lead: Lead, entry: Interaction, outcome: str, duration: int, data: dict, body: str, by: User | None
) -> None:
    """A routed call ended: its timeline entry shows how (`by`: who spoke), published as a call."""
    entry.data, entry.body, entry.actor_id = {**entry.data, **data}, body, by.pk if by else entry.actor_id
    entry.save(update_fields=["data", "body", "actor"])
    event = {"outcome": outcome, "duration": duration, "logged": False}
    publish(
        Event(
            Name.CALL, (lead.pk,), kind=entry.kind, actor=by, occurred_at=entry.occurred_at, data=event, leads=(lead,)
        )
    )


# --- The lead's own record ------------------------------------------------------------------------


def lead_captured_entry(
    *,
    lead: Lead,
    kind: str,
    actor: User | None,
    channel: str,
    subject: str,
    body: str,
    data: dict,
    occurred_at: datetime,
) -> Interaction:
    """The timeline entry of a new person's first capture, unsaved: capture writes it in the same
    single statement as the lead (its speed depends on that), then calls lead_captured_new."""
    return Interaction(
        lead=lead,
        kind=kind,
        actor=actor,
        channel=channel,
        subject=subject[:SUBJECT_MAX],
        body=body,
        data={**data, "created": True},
        occurred_at=occurred_at,
    )


def lead_captured_new(*, lead: Lead, entry: Interaction) -> None:
    """A new lead came in through a channel (its entry was written by capture's statement)."""
    publish(
        Event(
            Name.LEAD_CREATED,
            (lead.pk,),
            kind=entry.kind,
            actor=entry.actor,
            occurred_at=entry.occurred_at,
            data=entry.data,
            leads=(lead,),
        )
    )


def lead_created(*, lead: Lead, by: User | None, channel: str = "") -> Interaction:
    """A lead was created by a person, the API or the import (captures use activity_recorded)."""
    entry = _add(lead=lead, kind=Kind.CREATED, actor=by, channel=channel)
    publish(
        Event(Name.LEAD_CREATED, (lead.pk,), kind=Kind.CREATED, actor=by, occurred_at=entry.occurred_at, leads=(lead,))
    )
    return entry


def lead_updated(*, lead: Lead, by: User | None, fields: dict[str, dict[str, Any]]) -> Interaction:
    """A person edited the lead's details: `fields` maps each field to {"from", "to"}."""
    data = {"fields": fields}
    entry = _add(lead=lead, kind=Kind.UPDATE, actor=by, data=data)
    publish(
        Event(
            Name.LEAD_UPDATED,
            (lead.pk,),
            kind=Kind.UPDATE,
            actor=by,
            occurred_at=entry.occurred_at,
            data=data,
            leads=(lead,),
        )
    )
    return entry


def leads_updated(
    *,
    changes: Sequence[tuple[int, dict[str, dict[str, Any]]]],
    by: User | None,
    occurred_at: datetime | None = None,
) -> None:
    """Many leads' details changed at once (an automation's batch): (lead id, {field: {from, to}}) each."""
    occurred_at = occurred_at or timezone.now()
    _add_many(
        [
            Interaction(lead_id=pk, kind=Kind.UPDATE, actor=by, occurred_at=occurred_at, data={"fields": fields})
            for pk, fields in changes
        ]
    )
    if changes:
        publish(
            Event(
                Name.LEAD_UPDATED,
                tuple(pk for pk, _ in changes),
                kind=Kind.UPDATE,
                actor=by,
                occurred_at=occurred_at,
                per_lead={pk: {"fields": fields} for pk, fields in changes},
            )
        )


def lead_merged(
    *,
    keep: Lead,
    merged_id: int,
    merged_values: dict[str, Any],
    picks: dict[str, str],
    by: User | None,
) -> Interaction:
    """Lead `merged_id` was merged into `keep` (the merged lead is gone; its values are kept here)."""
    data = {"merged_lead": merged_id, "merged_values": merged_values, "picks": picks}
    entry = _add(lead=keep, kind=Kind.MERGE, actor=by, subject=f"Merged lead #{merged_id} into this one", data=data)
    publish(
        Event(
            Name.LEAD_MERGED,
            (keep.pk,),
            kind=Kind.MERGE,
            actor=by,
            occurred_at=entry.occurred_at,
            data=data,
            leads=(keep,),
        )
    )
    return entry


def _status_data(previous: str, to: str, lost_reason: str, reason: str) -> dict[str, Any]:
    data = {"from": previous, "to": to, "lost_reason": lost_reason}
    if reason:
        data["reason"] = reason
    return data


def lead_status_changed(
    *,
    lead: Lead,
    previous: str,
    by: User | None,
    lost_reason: str = "",
    reason: str = "",
    occurred_at: datetime | None = None,
) -> Interaction:
    """The lead's status changed from `previous` to `lead.status`."""
    data = _status_data(previous, lead.status, lost_reason, reason)
    entry = _add(lead=lead, kind=Kind.STATUS_CHANGE, actor=by, data=data, occurred_at=occurred_at)
    publish(
        Event(
            Name.STATUS_CHANGED,
            (lead.pk,),
            kind=Kind.STATUS_CHANGE,
            actor=by,
            occurred_at=entry.occurred_at,
            data=data,
            leads=(lead,),
        )
    )
    return entry


def leads_status_changed(
    *,
    rows: Iterable[tuple[int, str]],
    status: str,
    by: User | None,
    lost_reason: str = "",
    reason: str = "",
    occurred_at: datetime | None = None,
) -> int:
    """Many leads moved to one status (rows of (lead id, previous status)), set-based."""
    occurred_at = occurred_at or timezone.now()
    rows = list(rows)
    _add_many(
        [
            Interaction(
                lead_id=pk,
                kind=Kind.STATUS_CHANGE,
                actor=by,
                occurred_at=occurred_at,
                data=_status_data(previous, status, lost_reason, reason),
            )
            for pk, previous in rows
        ]
    )
    if rows:
        publish(
            Event(
                Name.STATUS_CHANGED,
                tuple(pk for pk, _ in rows),
                kind=Kind.STATUS_CHANGE,
                actor=by,
                occurred_at=occurred_at,
                data={"to": status, "lost_reason": lost_reason, "reason": reason},
                per_lead={pk: {"from": previous} for pk, previous in rows},
            )
        )
    return len(rows)


def leads_qualified_by_score(*, lead_ids: Sequence[int], occurred_at: datetime) -> None:
    """Scoring qualified these leads (their status-change entries are written by the rescore's own
    set-based statement, beside the score change): published as a status change to qualified, and
    as a qualification."""
    if not lead_ids:
        return
    data = {"to": Lead.Status.QUALIFIED, "reason": "score"}
    for name in (Name.STATUS_CHANGED, Name.QUALIFIED):
        publish(Event(name, tuple(lead_ids), kind=Kind.STATUS_CHANGE, occurred_at=occurred_at, data=data))
