"""The event spine's core: one function per thing that happens to a lead (the rep's own email is in
`leads.events.email`; `leads.events` re-exports both).

Each function writes the lead's timeline entry (an Interaction) with the one payload shape of its
kind, then publishes an Event. Who reacts to which event (the next pipeline stage, nurturing exits,
first contact, engagement counters, customers, later automations and outbound webhooks) is written
once, in `leads.reactions`. Nothing else builds an Interaction, and a stage never calls another
stage to tell it something happened: it calls the event function here.

Reactions run inside the caller's transaction; those that leave it (a task, an email) go through
`leads.jobs`/on_commit themselves, so a rolled-back change publishes nothing outward.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone

from .. import reactions
from ..models import Interaction, Lead

Kind = Interaction.Kind

# Kinds that are the lead doing something (or us talking to it): they move last_activity_at.
ACTIVITY_KINDS = frozenset(
    {Kind.FORM_SUBMIT, Kind.EMAIL_IN, Kind.EMAIL_OUT, Kind.CHAT, Kind.PAGE_VIEW, Kind.CALL_IN, Kind.CALL_OUT, Kind.NOTE}
)
# Kinds that scoring rules count: a new one rescores the lead (debounced).
SCORED_KINDS = frozenset(
    {
        Kind.PAGE_VIEW, Kind.FORM_SUBMIT, Kind.EMAIL_IN, Kind.EMAIL_OPENED, Kind.EMAIL_CLICKED, Kind.CALL_IN,
        Kind.CALL_OUT, Kind.UNSUBSCRIBE,
    }
)
SUBJECT_MAX = 300


class Name:
    """Event names. `TIMELINE` is published for every entry written one at a time; the others
    name what happened, for the reactions (and, later, automations and webhooks) that care."""

    TIMELINE = "timeline.added"
    LEAD_CREATED = "lead.created"
    LEAD_UPDATED = "lead.updated"
    LEAD_MERGED = "lead.merged"
    STATUS_CHANGED = "lead.status_changed"
    ASSIGNED = "lead.assigned"
    QUEUED = "lead.queued"
    ENRICHED = "lead.enriched"
    CONVERTED = "lead.converted"
    NOTE_ADDED = "lead.note_added"
    TASK = "lead.task"
    CALL = "lead.call"
    ENROLLED = "lead.enrolled"
    EXITED = "lead.sequence_exited"
    EMAIL_SENT = "lead.email_sent"
    IDENTIFIED = "lead.visitor_identified"
    QUALIFIED = "lead.qualified"
    EMAIL_BOUNCED = "lead.email_bounced"
    EMAIL_REPLIED = "lead.email_replied"
    EMAIL_CLICKED = "lead.email_clicked"
    AUTOMATION_RAN = "lead.automation_ran"
    EMAIL_SCHEDULED = "lead.email_scheduled"
    EMAIL_FAILED = "lead.email_failed"
    EMAIL_LOGGED = "lead.email_logged"
    EMAIL_OPENED = "lead.email_opened"


@dataclass(frozen=True)
class Event:
    """What reactions receive: the event's name, the leads it concerns (objects when the caller
    had them, else ids), who did it, and the payload written on the timeline."""

    name: str
    lead_ids: tuple[int, ...]
    kind: str = ""
    actor: User | None = None
    occurred_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)
    leads: tuple[Lead, ...] = ()
    counted: bool = False


def publish(event: Event) -> None:
    """Hand an event to every reaction registered for its name (in `leads.reactions`)."""
    reactions.dispatch(event)


def _add(
    *, lead: Lead, kind: str, actor: User | None = None, channel: str = "", subject: str = "", body: str = "",
    data: dict | None = None, occurred_at: datetime | None = None, counted: bool = False,
) -> Interaction:
    """Write one timeline entry, move last_activity_at for activity kinds, publish TIMELINE."""
    occurred_at = occurred_at or timezone.now()
    interaction = Interaction.objects.create(
        lead=lead, kind=kind, actor=actor, channel=channel, subject=subject[:SUBJECT_MAX], body=body,
        data=data or {}, occurred_at=occurred_at,
    )
    if kind in ACTIVITY_KINDS and (lead.last_activity_at is None or lead.last_activity_at < occurred_at):
        Lead.objects.filter(pk=lead.pk).filter(
            Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=occurred_at)
        ).update(last_activity_at=occurred_at)
        lead.last_activity_at = max(filter(None, [lead.last_activity_at, occurred_at]))
    publish(Event(
        Name.TIMELINE, (lead.pk,), kind=kind, actor=actor, occurred_at=occurred_at, data=interaction.data,
        leads=(lead,), counted=counted,
    ))
    return interaction


def _add_many(entries: Sequence[Interaction]) -> list[Interaction]:
    """Write many timeline entries in one statement (set-based callers publish their own event)."""
    for entry in entries:
        entry.subject = (entry.subject or "")[:SUBJECT_MAX]
    return Interaction.objects.bulk_create(entries, batch_size=1000)


# --- Activity the lead or a person adds -----------------------------------------------------------

def activity_recorded(
    *, lead: Lead, kind: str, actor: User | None = None, channel: str = "", subject: str = "", body: str = "",
    data: dict | None = None, occurred_at: datetime | None = None, counted: bool = False,
) -> Interaction:
    """Something the lead did or a channel told us (a form, an email, a chat, a page view, a call,
    an external event): one timeline entry of that kind. `counted`: the caller already counted it
    in the lead's engagement summary."""
    return _add(
        lead=lead, kind=kind, actor=actor, channel=channel, subject=subject, body=body, data=data,
        occurred_at=occurred_at, counted=counted,
    )


def note_added(*, lead: Lead, by: User | None, kind: str = Kind.NOTE, subject: str = "", body: str = "") -> Interaction:
    """A person wrote on the lead's timeline (a note, or a manual call/email entry)."""
    entry = _add(lead=lead, kind=kind, actor=by, subject=subject, body=body)
    publish(Event(Name.NOTE_ADDED, (lead.pk,), kind=kind, actor=by, occurred_at=entry.occurred_at, leads=(lead,)))
    return entry


def task_recorded(
    *, lead: Lead, by: User | None, task_id: int, title: str, action: str, due_at: datetime | None = None,
    assigned_to: User | None = None, source: str = "", occurred_at: datetime | None = None,
) -> Interaction:
    """A task on the lead was created or done (`action`: "created" or "done")."""
    data: dict[str, Any] = {"action": action, "task": task_id}
    if action == "created":
        data.update(
            due_at=due_at.isoformat() if due_at else None,
            assigned_to=assigned_to.username if assigned_to else None, source=source,
        )
    entry = _add(lead=lead, kind=Kind.TASK, actor=by, subject=title, data=data, occurred_at=occurred_at)
    publish(Event(Name.TASK, (lead.pk,), kind=Kind.TASK, actor=by, occurred_at=entry.occurred_at, data=data, leads=(lead,)))
    return entry


def call_logged(
    *, lead: Lead, by: User | None, direction: str, outcome: str, label: str, notes: str = "",
    duration: int | None = None,
) -> Interaction:
    """A person logged a phone call (in or out) with its outcome."""
    kind = Kind.CALL_OUT if direction == "out" else Kind.CALL_IN
    data = {"outcome": outcome, "duration": duration, "logged": True}
    entry = _add(lead=lead, kind=kind, actor=by, channel="phone", subject=label, body=notes, data=data)
    publish(Event(Name.CALL, (lead.pk,), kind=kind, actor=by, occurred_at=entry.occurred_at, data=data, leads=(lead,)))
    return entry


def call_ended(*, lead: Lead, entry: Interaction, outcome: str, duration: int, data: dict, body: str, by: User | None) -> None:
    """A routed call ended: its timeline entry shows how (`by`: who spoke), published as a call."""
    entry.data, entry.body, entry.actor_id = {**entry.data, **data}, body, by.pk if by else entry.actor_id
    entry.save(update_fields=["data", "body", "actor"])
    event = {"outcome": outcome, "duration": duration, "logged": False}
    publish(Event(Name.CALL, (lead.pk,), kind=entry.kind, actor=by, occurred_at=entry.occurred_at, data=event, leads=(lead,)))


# --- The lead's own record ------------------------------------------------------------------------

def lead_captured_entry(
    *, lead: Lead, kind: str, actor: User | None, channel: str, subject: str, body: str, data: dict,
    occurred_at: datetime,
) -> Interaction:
    """The timeline entry of a new person's first capture, unsaved: capture writes it in the same
    single statement as the lead (its speed depends on that), then calls lead_captured_new."""
    return Interaction(
        lead=lead, kind=kind, actor=actor, channel=channel, subject=subject[:SUBJECT_MAX], body=body,
        data={**data, "created": True}, occurred_at=occurred_at,
    )


def lead_captured_new(*, lead: Lead, entry: Interaction) -> None:
    """A new lead came in through a channel (its entry was written by capture's statement)."""
    publish(Event(
        Name.LEAD_CREATED, (lead.pk,), kind=entry.kind, actor=entry.actor, occurred_at=entry.occurred_at,
        data=entry.data, leads=(lead,),
    ))


def lead_created(*, lead: Lead, by: User | None, channel: str = "") -> Interaction:
    """A lead was created by a person, the API or the import (captures use activity_recorded)."""
    entry = _add(lead=lead, kind=Kind.CREATED, actor=by, channel=channel)
    publish(Event(Name.LEAD_CREATED, (lead.pk,), kind=Kind.CREATED, actor=by, occurred_at=entry.occurred_at, leads=(lead,)))
    return entry


def lead_updated(*, lead: Lead, by: User | None, fields: dict[str, dict[str, Any]]) -> Interaction:
    """A person edited the lead's details: `fields` maps each field to {"from", "to"}."""
    data = {"fields": fields}
    entry = _add(lead=lead, kind=Kind.UPDATE, actor=by, data=data)
    publish(Event(Name.LEAD_UPDATED, (lead.pk,), kind=Kind.UPDATE, actor=by, occurred_at=entry.occurred_at, data=data, leads=(lead,)))
    return entry


def lead_merged(
    *, keep: Lead, merged_id: int, merged_values: dict[str, Any], picks: dict[str, str], by: User | None,
) -> Interaction:
    """Lead `merged_id` was merged into `keep` (the merged lead is gone; its values are kept here)."""
    data = {"merged_lead": merged_id, "merged_values": merged_values, "picks": picks}
    entry = _add(lead=keep, kind=Kind.MERGE, actor=by, subject=f"Merged lead #{merged_id} into this one", data=data)
    publish(Event(Name.LEAD_MERGED, (keep.pk,), kind=Kind.MERGE, actor=by, occurred_at=entry.occurred_at, data=data, leads=(keep,)))
    return entry


def _status_data(previous: str, to: str, lost_reason: str, reason: str) -> dict[str, Any]:
    data = {"from": previous, "to": to, "lost_reason": lost_reason}
    if reason:
        data["reason"] = reason
    return data


def lead_status_changed(
    *, lead: Lead, previous: str, by: User | None, lost_reason: str = "", reason: str = "",
    occurred_at: datetime | None = None,
) -> Interaction:
    """The lead's status changed from `previous` to `lead.status`."""
    data = _status_data(previous, lead.status, lost_reason, reason)
    entry = _add(lead=lead, kind=Kind.STATUS_CHANGE, actor=by, data=data, occurred_at=occurred_at)
    publish(Event(
        Name.STATUS_CHANGED, (lead.pk,), kind=Kind.STATUS_CHANGE, actor=by, occurred_at=entry.occurred_at,
        data=data, leads=(lead,),
    ))
    return entry


def leads_status_changed(
    *, rows: Iterable[tuple[int, str]], status: str, by: User | None, lost_reason: str = "", reason: str = "",
    occurred_at: datetime | None = None,
) -> int:
    """Many leads moved to one status (rows of (lead id, previous status)), set-based."""
    occurred_at = occurred_at or timezone.now()
    rows = list(rows)
    _add_many([
        Interaction(
            lead_id=pk, kind=Kind.STATUS_CHANGE, actor=by, occurred_at=occurred_at,
            data=_status_data(previous, status, lost_reason, reason),
        )
        for pk, previous in rows
    ])
    if rows:
        publish(Event(
            Name.STATUS_CHANGED, tuple(pk for pk, _ in rows), kind=Kind.STATUS_CHANGE, actor=by,
            occurred_at=occurred_at, data={"to": status, "lost_reason": lost_reason, "reason": reason},
        ))
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


# --- Distribution ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Assignment:
    """One lead's change of owner, in the one shape every assignment entry has on the timeline."""

    lead: Lead
    previous: str | None
    to: str | None
    reason: str
    rule: str = ""
    territory: str | None = None
    team: str | None = None
    queue: int | None = None
    skipped: list | None = None
    sla_due_at: datetime | None = None
    subject: str = ""

    def data(self) -> dict[str, Any]:
        return {
            "from": self.previous, "to": self.to, "reason": self.reason, "rule": self.rule,
            "territory": self.territory, "team": self.team, "queue": self.queue, "skipped": self.skipped,
            "sla_due_at": self.sla_due_at.isoformat() if self.sla_due_at else None,
        }


def leads_assigned(*, assignments: Sequence[Assignment], by: User | None = None, occurred_at: datetime | None = None) -> None:
    """Leads got an owner, changed owner, or entered a team's queue (`to` None, `queue` set)."""
    if not assignments:
        return
    occurred_at = occurred_at or timezone.now()
    _add_many([
        Interaction(
            lead=item.lead, kind=Kind.ASSIGNMENT, actor=by, occurred_at=occurred_at, subject=item.subject,
            data=item.data(),
        )
        for item in assignments
    ])
    queued = [item for item in assignments if item.to is None and item.queue is not None]
    owned = [item for item in assignments if item not in queued]
    for name, items in ((Name.ASSIGNED, owned), (Name.QUEUED, queued)):
        if items:
            publish(Event(
                name, tuple(item.lead.pk for item in items), kind=Kind.ASSIGNMENT, actor=by, occurred_at=occurred_at,
                leads=tuple(item.lead for item in items),
            ))


def lead_assigned(*, assignment: Assignment, by: User | None = None, occurred_at: datetime | None = None) -> None:
    """One lead's change of owner (see leads_assigned)."""
    leads_assigned(assignments=[assignment], by=by, occurred_at=occurred_at)


# --- Enrichment and conversion --------------------------------------------------------------------

def leads_enriched(*, changes: Sequence[tuple[int, dict[str, Any]]], by: User | None, occurred_at: datetime) -> None:
    """Profiles filled in by enrichment: (lead id, {field: {from, to, provider…}}) per changed lead."""
    _add_many([
        Interaction(
            lead_id=lead_id, kind=Kind.ENRICHMENT, actor=by, occurred_at=occurred_at,
            subject="Profile enriched: " + ", ".join(sorted(fields)), data={"fields": fields},
        )
        for lead_id, fields in changes
    ])
    if changes:
        publish(Event(Name.ENRICHED, tuple(lead_id for lead_id, _ in changes), kind=Kind.ENRICHMENT, actor=by, occurred_at=occurred_at))


def lead_converted(
    *, lead: Lead, customer_id: int, customer_name: str, action: str, previous: str, by: User | None,
    occurred_at: datetime,
) -> Interaction:
    """The lead became (or was linked to) a customer."""
    data = {
        "customer": customer_id, "customer_name": customer_name, "action": action, "from": previous,
        "to": Lead.Status.CONVERTED,
    }
    entry = _add(lead=lead, kind=Kind.CONVERTED, actor=by, occurred_at=occurred_at, subject=customer_name, data=data)
    publish(Event(Name.CONVERTED, (lead.pk,), kind=Kind.CONVERTED, actor=by, occurred_at=occurred_at, data=data, leads=(lead,)))
    return entry


# --- Nurturing and tracking (set-based) -----------------------------------------------------------

def leads_enrolled(
    *, lead_ids: Sequence[int], sequence_id: int, sequence_name: str, source: str, by: User | None,
    occurred_at: datetime,
) -> None:
    """Leads entered a nurture sequence."""
    data = {"sequence_id": sequence_id, "event": "enrolled", "source": source}
    _add_many([
        Interaction(
            lead_id=lead_id, kind=Kind.SEQUENCE, actor=by, occurred_at=occurred_at,
            subject=f"Enrolled in {sequence_name}", data=data,
        )
        for lead_id in lead_ids
    ])
    if lead_ids:
        publish(Event(Name.ENROLLED, tuple(lead_ids), kind=Kind.SEQUENCE, actor=by, occurred_at=occurred_at, data=data))


def sequences_exited(
    *, rows: Sequence[tuple[int, int, str]], reason: str, label: str, by: User | None, occurred_at: datetime,
) -> None:
    """Leads left sequences: rows of (lead id, sequence id, sequence name), with the reason."""
    _add_many([
        Interaction(
            lead_id=lead_id, kind=Kind.SEQUENCE, actor=by, occurred_at=occurred_at, subject=f"Left {name}: {label}",
            data={"sequence_id": sequence_id, "event": "exited", "reason": reason},
        )
        for lead_id, sequence_id, name in rows
    ])
    if rows:
        publish(Event(
            Name.EXITED, tuple(lead_id for lead_id, _, _ in rows), kind=Kind.SEQUENCE, actor=by,
            occurred_at=occurred_at, data={"reason": reason},
        ))


@dataclass(frozen=True)
class SentEmail:
    """One nurture email that left, for emails_sent."""

    lead_id: int
    subject: str
    body: str
    data: dict[str, Any]


def emails_sent(*, sent: Sequence[SentEmail], channel: str, occurred_at: datetime) -> None:
    """Emails went out to leads (a sequence step's batch); their last activity moves forward."""
    _add_many([
        Interaction(
            lead_id=item.lead_id, kind=Kind.EMAIL_OUT, channel=channel, subject=item.subject, body=item.body,
            occurred_at=occurred_at, data=item.data,
        )
        for item in sent
    ])
    ids = [item.lead_id for item in sent]
    Lead.objects.filter(pk__in=ids).filter(
        Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=occurred_at)
    ).update(last_activity_at=occurred_at)
    if ids:
        publish(Event(Name.EMAIL_SENT, tuple(ids), kind=Kind.EMAIL_OUT, occurred_at=occurred_at))


def page_views_identified(
    *, lead: Lead, views: Sequence[tuple[datetime, str, str, dict[str, Any]]], channel: str,
) -> None:
    """A visitor became a known lead: its past page views, (time, subject, url, data) each, join
    the lead's timeline and move its last activity."""
    _add_many([
        Interaction(
            lead=lead, kind=Kind.PAGE_VIEW, channel=channel, occurred_at=occurred_at, subject=subject, body=url,
            data=data,
        )
        for occurred_at, subject, url, data in views
    ])
    if views:
        latest = max(occurred_at for occurred_at, _, _, _ in views)
        Lead.objects.filter(pk=lead.pk).filter(
            Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=latest)
        ).update(last_activity_at=latest)
        publish(Event(Name.IDENTIFIED, (lead.pk,), kind=Kind.PAGE_VIEW, occurred_at=latest, leads=(lead,)))


# --- Email coming back ----------------------------------------------------------------------------

def email_bounced(
    *, lead: Lead, recipient: str, inbound_email_id: int, complaint: bool = False, status: str = "", action: str = "",
    diagnostic: str = "",
) -> Interaction:
    """Mail to the lead bounced, or the lead complained (marked it as spam)."""
    if complaint:
        subject, body, data = f"Spam complaint from {recipient}", "", {"complaint": diagnostic, "inbound_email": inbound_email_id}
    else:
        subject, body = f"Email to {recipient} bounced", diagnostic
        data = {"bounce": True, "status": status, "action": action, "inbound_email": inbound_email_id}
    entry = _add(lead=lead, kind=Kind.EVENT, channel=Lead.Source.EMAIL, subject=subject, body=body, data=data)
    publish(Event(
        Name.EMAIL_BOUNCED, (lead.pk,), kind=Kind.EVENT, occurred_at=entry.occurred_at, leads=(lead,),
        data={"email": recipient, "complaint": complaint},
    ))
    return entry


def email_replied(*, lead: Lead) -> None:
    """A known lead wrote back (its message is on the timeline already, written by capture)."""
    publish(Event(Name.EMAIL_REPLIED, (lead.pk,), kind=Kind.EMAIL_IN, occurred_at=timezone.now(), leads=(lead,)))


def email_clicked(
    *, lead: Lead, url: str, step_run_id: int, step_id: int, subject: str, occurred_at: datetime, visitor_key: str = "",
) -> Interaction:
    """The lead clicked a link in a nurture email (`visitor_key`: the browser it clicked from)."""
    data = {"step_run": step_run_id, "sequence_step": step_id, "url": url[:2000]}
    entry = _add(lead=lead, kind=Kind.EMAIL_CLICKED, channel="sequence", subject=subject, data=data, occurred_at=occurred_at)
    publish(Event(
        Name.EMAIL_CLICKED, (lead.pk,), kind=Kind.EMAIL_CLICKED, occurred_at=occurred_at, leads=(lead,),
        data={**data, "visitor_key": visitor_key},
    ))
    return entry


# --- Automations ----------------------------------------------------------------------------------

def automation_ran(
    *, lead: Lead, automation_id: int, automation_name: str, run_id: int, status: str, steps: Sequence[str],
    error: str = "", occurred_at: datetime | None = None,
) -> Interaction:
    """An automation ran on the lead (or stopped: waiting, failed, loop guard): what each step did."""
    data = {"automation": automation_id, "run": run_id, "status": status, "steps": list(steps), "error": error}
    summary = "; ".join(steps) if steps else status
    entry = _add(
        lead=lead, kind=Kind.AUTOMATION, subject=f"Automation \u2018{automation_name}\u2019: {summary}", data=data,
        occurred_at=occurred_at,
    )
    publish(Event(Name.AUTOMATION_RAN, (lead.pk,), kind=Kind.AUTOMATION, occurred_at=entry.occurred_at, data=data, leads=(lead,)))
    return entry
