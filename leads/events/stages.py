"""Events the stages publish: distribution, enrichment, conversion, nurturing, tracking, email coming back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone

from ..models import Interaction, Lead
from .base import Event, Kind, Name, _add, _add_many, publish

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
            "from": self.previous,
            "to": self.to,
            "reason": self.reason,
            "rule": self.rule,
            "territory": self.territory,
            "team": self.team,
            "queue": self.queue,
            "skipped": self.skipped,
            "sla_due_at": self.sla_due_at.isoformat() if self.sla_due_at else None,
        }


def leads_assigned(
    *, assignments: Sequence[Assignment], by: User | None = None, occurred_at: datetime | None = None
) -> None:
    """Leads got an owner, changed owner, or entered a team's queue (`to` None, `queue` set)."""
    if not assignments:
        return
    occurred_at = occurred_at or timezone.now()
    _add_many(
        [
            Interaction(
                lead=item.lead,
                kind=Kind.ASSIGNMENT,
                actor=by,
                occurred_at=occurred_at,
                subject=item.subject,
                data=item.data(),
            )
            for item in assignments
        ]
    )
    queued = [item for item in assignments if item.to is None and item.queue is not None]
    owned = [item for item in assignments if item not in queued]
    for name, items in ((Name.ASSIGNED, owned), (Name.QUEUED, queued)):
        if items:
            publish(
                Event(
                    name,
                    tuple(item.lead.pk for item in items),
                    kind=Kind.ASSIGNMENT,
                    actor=by,
                    occurred_at=occurred_at,
                    leads=tuple(item.lead for item in items),
                )
            )


def lead_assigned(*, assignment: Assignment, by: User | None = None, occurred_at: datetime | None = None) -> None:
    """One lead's change of owner (see leads_assigned)."""
    leads_assigned(assignments=[assignment], by=by, occurred_at=occurred_at)


def leads_sla_breached(*, rows: Sequence[tuple[int, str | None, datetime]], occurred_at: datetime) -> None:
    """Leads whose first-contact SLA ran out without a contact: rows of (lead id, owner's username,
    when contact was due). No timeline entry here: the reassignment that follows writes one."""
    if rows:
        publish(
            Event(
                Name.SLA_BREACHED,
                tuple(pk for pk, _, _ in rows),
                kind=Kind.ASSIGNMENT,
                occurred_at=occurred_at,
                per_lead={pk: {"owner": owner, "sla_due_at": due.isoformat()} for pk, owner, due in rows},
            )
        )


# --- Enrichment and conversion --------------------------------------------------------------------


def leads_enriched(*, changes: Sequence[tuple[int, dict[str, Any]]], by: User | None, occurred_at: datetime) -> None:
    """Profiles filled in by enrichment: (lead id, {field: {from, to, provider…}}) per changed lead."""
    _add_many(
        [
            Interaction(
                lead_id=lead_id,
                kind=Kind.ENRICHMENT,
                actor=by,
                occurred_at=occurred_at,
                subject="Profile enriched: " + ", ".join(sorted(fields)),
                data={"fields": fields},
            )
            for lead_id, fields in changes
        ]
    )
    if changes:
        publish(
            Event(
                Name.ENRICHED,
                tuple(lead_id for lead_id, _ in changes),
                kind=Kind.ENRICHMENT,
                actor=by,
                occurred_at=occurred_at,
            )
        )


def lead_converted(
    *,
    lead: Lead,
    customer_id: int,
    customer_name: str,
    action: str,
    previous: str,
    by: User | None,
    occurred_at: datetime,
) -> Interaction:
    """The lead became (or was linked to) a customer."""
    data = {
        "customer": customer_id,
        "customer_name": customer_name,
        "action": action,
        "from": previous,
        "to": Lead.Status.CONVERTED,
    }
    entry = _add(lead=lead, kind=Kind.CONVERTED, actor=by, occurred_at=occurred_at, subject=customer_name, data=data)
    publish(
        Event(
            Name.CONVERTED, (lead.pk,), kind=Kind.CONVERTED, actor=by, occurred_at=occurred_at, data=data, leads=(lead,)
        )
    )
    return entry


def leads_score_changed(*, rows: Sequence[tuple[int, int, int, str, str]], occurred_at: datetime) -> None:
    """Scoring moved leads' score or grade: rows of (lead id, old score, new score, old grade, new
    grade). The rescore wrote the significant changes on the timeline first (`score_changes_log`)."""
    if rows:
        publish(
            Event(
                Name.SCORE_CHANGED,
                tuple(row[0] for row in rows),
                kind=Kind.SCORE_CHANGE,
                occurred_at=occurred_at,
                per_lead={
                    pk: {"from": old, "to": new, "grade_from": old_grade, "grade_to": new_grade}
                    for pk, old, new, old_grade, new_grade in rows
                },
            )
        )


# --- Nurturing and tracking (set-based) -----------------------------------------------------------


def leads_enrolled(
    *,
    lead_ids: Sequence[int],
    sequence_id: int,
    sequence_name: str,
    source: str,
    by: User | None,
    occurred_at: datetime,
) -> None:
    """Leads entered a nurture sequence."""
    data = {"sequence_id": sequence_id, "event": "enrolled", "source": source}
    _add_many(
        [
            Interaction(
                lead_id=lead_id,
                kind=Kind.SEQUENCE,
                actor=by,
                occurred_at=occurred_at,
                subject=f"Enrolled in {sequence_name}",
                data=data,
            )
            for lead_id in lead_ids
        ]
    )
    if lead_ids:
        publish(Event(Name.ENROLLED, tuple(lead_ids), kind=Kind.SEQUENCE, actor=by, occurred_at=occurred_at, data=data))


def sequences_exited(
    *,
    rows: Sequence[tuple[int, int, str]],
    reason: str,
    label: str,
    by: User | None,
    occurred_at: datetime,
) -> None:
    """Leads left sequences: rows of (lead id, sequence id, sequence name), with the reason."""
    _add_many(
        [
            Interaction(
                lead_id=lead_id,
                kind=Kind.SEQUENCE,
                actor=by,
                occurred_at=occurred_at,
                subject=f"Left {name}: {label}",
                data={"sequence_id": sequence_id, "event": "exited", "reason": reason},
            )
            for lead_id, sequence_id, name in rows
        ]
    )
    if rows:
        publish(
            Event(
                Name.EXITED,
                tuple(lead_id for lead_id, _, _ in rows),
                kind=Kind.SEQUENCE,
                actor=by,
                occurred_at=occurred_at,
                data={"reason": reason},
            )
        )


@dataclass(frozen=True)
class SentEmail:
    """One nurture email that left, for emails_sent."""

    lead_id: int
    subject: str
    body: str
    data: dict[str, Any]


def emails_sent(*, sent: Sequence[SentEmail], channel: str, occurred_at: datetime) -> None:
    """Emails went out to leads (a sequence step's batch); their last activity moves forward."""
    _add_many(
        [
            Interaction(
                lead_id=item.lead_id,
                kind=Kind.EMAIL_OUT,
                channel=channel,
                subject=item.subject,
                body=item.body,
                occurred_at=occurred_at,
                data=item.data,
            )
            for item in sent
        ]
    )
    ids = [item.lead_id for item in sent]
    Lead.objects.filter(pk__in=ids).filter(
        Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=occurred_at)
    ).update(last_activity_at=occurred_at)
    if ids:
        publish(Event(Name.EMAIL_SENT, tuple(ids), kind=Kind.EMAIL_OUT, occurred_at=occurred_at))


def page_views_identified(
    *,
    lead: Lead,
    views: Sequence[tuple[datetime, str, str, dict[str, Any]]],
    channel: str,
) -> None:
    """A visitor became a known lead: its past page views, (time, subject, url, data) each, join
    the lead's timeline and move its last activity."""
    _add_many(
        [
            Interaction(
                lead=lead,
                kind=Kind.PAGE_VIEW,
                channel=channel,
                occurred_at=occurred_at,
                subject=subject,
                body=url,
                data=data,
            )
            for occurred_at, subject, url, data in views
        ]
    )
    if views:
        latest = max(occurred_at for occurred_at, _, _, _ in views)
        Lead.objects.filter(pk=lead.pk).filter(
            Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=latest)
        ).update(last_activity_at=latest)
        publish(Event(Name.IDENTIFIED, (lead.pk,), kind=Kind.PAGE_VIEW, occurred_at=latest, leads=(lead,)))


# --- Email coming back ----------------------------------------------------------------------------


def email_bounced(
    *,
    lead: Lead,
    recipient: str,
    inbound_email_id: int,
    complaint: bool = False,
    status: str = "",
    action: str = "",
    diagnostic: str = "",
) -> Interaction:
    """Mail to the lead bounced, or the lead complained (marked it as spam)."""
    if complaint:
        subject, body, data = (
            f"Spam complaint from {recipient}",
            "",
            {"complaint": diagnostic, "inbound_email": inbound_email_id},
        )
    else:
        subject, body = f"Email to {recipient} bounced", diagnostic
        data = {"bounce": True, "status": status, "action": action, "inbound_email": inbound_email_id}
    entry = _add(lead=lead, kind=Kind.EVENT, channel=Lead.Source.EMAIL, subject=subject, body=body, data=data)
    publish(
        Event(
            Name.EMAIL_BOUNCED,
            (lead.pk,),
            kind=Kind.EVENT,
            occurred_at=entry.occurred_at,
            leads=(lead,),
            data={"email": recipient, "complaint": complaint},
        )
    )
    return entry


def email_replied(*, lead: Lead) -> None:
    """A known lead wrote back (its message is on the timeline already, written by capture)."""
    publish(Event(Name.EMAIL_REPLIED, (lead.pk,), kind=Kind.EMAIL_IN, occurred_at=timezone.now(), leads=(lead,)))


def email_clicked(
    *,
    lead: Lead,
    url: str,
    step_run_id: int,
    step_id: int,
    subject: str,
    occurred_at: datetime,
    visitor_key: str = "",
) -> Interaction:
    """The lead clicked a link in a nurture email (`visitor_key`: the browser it clicked from)."""
    data = {"step_run": step_run_id, "sequence_step": step_id, "url": url[:2000]}
    entry = _add(
        lead=lead, kind=Kind.EMAIL_CLICKED, channel="sequence", subject=subject, data=data, occurred_at=occurred_at
    )
    publish(
        Event(
            Name.EMAIL_CLICKED,
            (lead.pk,),
            kind=Kind.EMAIL_CLICKED,
            occurred_at=occurred_at,
            leads=(lead,),
            data={**data, "visitor_key": visitor_key},
        )
    )
    return entry
