"""What a webhook carries: the event names a subscription may ask for (the spine's), each with a
description and the shape of its `data.event`, and the payload built for one lead."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..events import Event, Name

# Every event a subscription can ask for: the spine's names, described for the docs and the form.
EVENT_DESCRIPTIONS: dict[str, str] = {
    Name.LEAD_CREATED: "A new lead: created by a person, the API or an import, or captured by a channel.",
    Name.LEAD_UPDATED: "A person edited the lead's details. event: {fields: {name: {from, to}}}.",
    Name.LEAD_MERGED: "Another lead was merged into this one. event: {merged_lead, merged_values, picks}.",
    Name.STATUS_CHANGED: "The lead's status changed. event: {from, to, lost_reason, reason}.",
    Name.ASSIGNED: "The lead got an owner or changed owner.",
    Name.QUEUED: "The lead entered a team's assignment queue (no owner yet).",
    Name.ENRICHED: "Enrichment filled in profile fields.",
    Name.CONVERTED: "The lead became a customer. event: {customer, customer_name, action, from, to}.",
    Name.NOTE_ADDED: "A person wrote a note (or a manual call/email entry) on the timeline.",
    Name.TASK: "A task on the lead was created or done. event: {action, task, due_at, assigned_to, source}.",
    Name.CALL: "A phone call was logged, or a routed call ended (logged false). event: {outcome, duration, logged}.",
    Name.ENROLLED: "The lead entered a nurture sequence. event: {sequence_id, event, source}.",
    Name.EXITED: "The lead left nurture sequences. event: {reason}.",
    Name.EMAIL_SENT: "An email went out to the lead: a nurture step's, or a rep's (event: {message_id, rep_email, to_addresses, cc, tracked, override}).",
    Name.EMAIL_SCHEDULED: "A rep scheduled an email to the lead. event: {rep_email, subject, due_at}.",
    Name.EMAIL_FAILED: "A rep's email could not be sent and will not be retried. event: {rep_email, error, attempts}.",
    Name.EMAIL_LOGGED: "A rep's email from their own mail program reached the logging address. event: {message_id, forwarded}.",
    Name.EMAIL_OPENED: "The lead opened a rep's tracked email. event: {rep_email}.",
    Name.IDENTIFIED: "An anonymous visitor became this lead: its past page views joined the timeline.",
    Name.QUALIFIED: "The lead was qualified.",
    Name.EMAIL_BOUNCED: "Mail to the lead bounced, or the lead complained. event: {email, complaint}.",
    Name.EMAIL_REPLIED: "A known lead wrote back (its message is a timeline entry of kind email_in).",
    Name.EMAIL_CLICKED: "The lead clicked a link in a nurture email (event: {step_run, sequence_step, url}) or a rep's (event: {rep_email, url}).",
    Name.AUTOMATION_RAN: "An automation ran on the lead. event: {automation, run, status, steps, error}.",
    Name.SCORE_CHANGED: "Scoring moved the lead's score or grade. event: {from, to, grade_from, grade_to}.",
    Name.SLA_BREACHED: "The owner's first-contact time (SLA) ran out without a contact. event: {owner, sla_due_at}.",
    Name.TIMELINE: "Any timeline entry written one at a time (kind in data.kind): the firehose.",
}
EVENT_NAMES: tuple[str, ...] = tuple(EVENT_DESCRIPTIONS)
EVENT_CHOICES = [(name, name) for name in EVENT_NAMES]

# The lead's public fields: what every payload says about the lead, read in one query per event.
LEAD_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "status",
    "score",
    "grade",
    "source",
    "created_at",
)
LEAD_VALUES = (*LEAD_FIELDS, "owner__username", "team__name")


def lead_public(row: dict[str, Any]) -> dict[str, Any]:
    """The lead's public fields from one `values(*LEAD_VALUES)` row."""
    lead = {name: row[name] for name in LEAD_FIELDS}
    lead["name"] = " ".join(part for part in (row["first_name"], row["last_name"]) if part)
    lead["owner"] = row["owner__username"]
    lead["team"] = row["team__name"]
    return lead


def payload_build(
    *,
    event: Event,
    occurred_at: datetime,
    lead_id: int,
    lead: dict[str, Any] | None,
    sequence: int,
) -> dict[str, Any]:
    """The Standard Webhooks payload of one event for one lead: type, timestamp, data."""
    return {
        "type": event.name,
        "timestamp": occurred_at.isoformat(),
        "data": {
            "lead": lead,
            "sequence": sequence,
            "kind": event.kind,
            "actor": event.actor.username if event.actor else None,
            "event": event.lead_data(lead_id),
        },
    }
