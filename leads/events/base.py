"""The spine's base: event names, the Event, publishing, and writing timeline entries (see __init__).

Each function writes the lead's timeline entry (an Interaction) with the one payload shape of its
kind, then publishes an Event. Who reacts to which event (the next pipeline stage, nurturing exits,
first contact, engagement counters, customers, later automations and outbound webhooks) is written
once, in `leads.reactions`. Nothing else builds an Interaction, and a stage never calls another
stage to tell it something happened: it calls the event function here.

Reactions run inside the caller's transaction; those that leave it (a task, an email) go through
`leads.jobs`/on_commit themselves, so a rolled-back change publishes nothing outward.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone

from .. import reactions
from ..common.bulk import objects_insert
from ..models import Interaction, Lead

Kind = Interaction.Kind

# Kinds that are the lead doing something (or us talking to it): they move last_activity_at.
ACTIVITY_KINDS = frozenset(
    {Kind.FORM_SUBMIT, Kind.EMAIL_IN, Kind.EMAIL_OUT, Kind.CHAT, Kind.PAGE_VIEW, Kind.CALL_IN, Kind.CALL_OUT, Kind.NOTE}
)
# Kinds that scoring rules count: a new one rescores the lead (debounced).
SCORED_KINDS = frozenset(
    {
        Kind.PAGE_VIEW,
        Kind.FORM_SUBMIT,
        Kind.EMAIL_IN,
        Kind.EMAIL_OPENED,
        Kind.EMAIL_CLICKED,
        Kind.CALL_IN,
        Kind.CALL_OUT,
        Kind.UNSUBSCRIBE,
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
    SCORE_CHANGED = "lead.score_changed"
    SLA_BREACHED = "lead.sla_breached"
    CAPTURED_MANY = "leads.captured_many"  # a batch (an import): the leads it created, changed or matched


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
    # A set-based event's per-lead part ({lead id: {...}}), e.g. each lead's previous score: what
    # `data` would hold if the event had been published one lead at a time. Webhook payloads merge it.
    per_lead: dict[int, dict[str, Any]] = field(default_factory=dict)

    def lead_data(self, lead_id: int) -> dict[str, Any]:
        """The event's data as it concerns one lead (the shared part and that lead's own)."""
        own = self.per_lead.get(lead_id)
        return {**self.data, **own} if own else self.data


def publish(event: Event) -> None:
    """Hand an event to every reaction registered for its name (in `leads.reactions`)."""
    reactions.dispatch(event)


def _add(
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
    """Write one timeline entry, move last_activity_at for activity kinds, publish TIMELINE."""
    occurred_at = occurred_at or timezone.now()
    interaction = Interaction.objects.create(
        lead=lead,
        kind=kind,
        actor=actor,
        channel=channel,
        subject=subject[:SUBJECT_MAX],
        body=body,
        data=data or {},
        occurred_at=occurred_at,
    )
    if kind in ACTIVITY_KINDS and (lead.last_activity_at is None or lead.last_activity_at < occurred_at):
        Lead.objects.filter(pk=lead.pk).filter(
            Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=occurred_at)
        ).update(last_activity_at=occurred_at)
        lead.last_activity_at = max(filter(None, [lead.last_activity_at, occurred_at]))
    publish(
        Event(
            Name.TIMELINE,
            (lead.pk,),
            kind=kind,
            actor=actor,
            occurred_at=occurred_at,
            data=interaction.data,
            leads=(lead,),
            counted=counted,
        )
    )
    return interaction


def _add_many(entries: Sequence[Interaction]) -> list[Interaction]:
    """Write many timeline entries in one statement (set-based callers publish their own event);
    their primary keys are not read back."""
    for entry in entries:
        entry.subject = (entry.subject or "")[:SUBJECT_MAX]
    objects_insert(objects=entries)  # one INSERT … SELECT FROM unnest per 5,000: no per-value SQL in Python
    return list(entries)
