"""Events of the email a rep writes to a lead (leads/rep_email): sent, scheduled, failed, logged
through the BCC/forward address, opened and clicked. Each writes its timeline entry (one payload
shape per kind) and publishes the event, as every spine function does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User

from ..models import Interaction, Lead
from .base import Event, Name, _add, publish

Kind = Interaction.Kind
CHANNEL = "email"


def _thread_data(*, message_id: str, in_reply_to: str, to: Sequence[str], cc: Sequence[str]) -> dict[str, Any]:
    data: dict[str, Any] = {"message_id": message_id, "to_addresses": list(to)[:50], "cc": list(cc)[:50]}
    if in_reply_to:
        data["in_reply_to"] = in_reply_to
    return data


def rep_email_sent(
    *,
    lead: Lead,
    by: User | None,
    rep_email_id: int,
    message_id: str,
    subject: str,
    body: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    in_reply_to: str = "",
    tracked: bool = False,
    override_reason: str = "",
    occurred_at: datetime | None = None,
) -> Interaction:
    """A rep's email to the lead left through our mail server (the owner's first one is the first
    contact; it is activity; nurturing may pause). `override_reason`: the rep mailed a lead who
    must not be mailed, and said why."""
    data = {
        **_thread_data(message_id=message_id, in_reply_to=in_reply_to, to=to, cc=cc),
        "rep_email": rep_email_id,
        "tracked": tracked,
    }
    if override_reason:
        data["override"] = override_reason
    entry = _add(
        lead=lead,
        kind=Kind.EMAIL_OUT,
        actor=by,
        channel=CHANNEL,
        subject=subject,
        body=body,
        data=data,
        occurred_at=occurred_at,
    )
    publish(
        Event(
            Name.EMAIL_SENT,
            (lead.pk,),
            kind=Kind.EMAIL_OUT,
            actor=by,
            occurred_at=entry.occurred_at,
            data=data,
            leads=(lead,),
        )
    )
    return entry


def rep_email_scheduled(*, lead: Lead, by: User | None, rep_email_id: int, subject: str, due_at: datetime) -> None:
    """A rep scheduled an email to the lead (it goes on the timeline when it is sent)."""
    data = {"rep_email": rep_email_id, "subject": subject, "due_at": due_at.isoformat()}
    publish(
        Event(
            Name.EMAIL_SCHEDULED,
            (lead.pk,),
            kind=Kind.EMAIL_OUT,
            actor=by,
            occurred_at=due_at,
            data=data,
            leads=(lead,),
        )
    )


def rep_email_failed(
    *,
    lead: Lead,
    by: User | None,
    rep_email_id: int,
    subject: str,
    error: str,
    attempts: int,
    occurred_at: datetime | None = None,
) -> Interaction:
    """A rep's email could not be sent, and will not be tried again."""
    data = {"rep_email": rep_email_id, "error": error[:1000], "attempts": attempts, "failed": True}
    entry = _add(
        lead=lead,
        kind=Kind.EVENT,
        actor=by,
        channel=CHANNEL,
        subject=f"Email not sent: {subject}",
        body=error[:1000],
        data=data,
        occurred_at=occurred_at,
    )
    publish(
        Event(
            Name.EMAIL_FAILED,
            (lead.pk,),
            kind=Kind.EVENT,
            actor=by,
            occurred_at=entry.occurred_at,
            data=data,
            leads=(lead,),
        )
    )
    return entry


def rep_email_logged(
    *,
    lead: Lead,
    by: User | None,
    message_id: str,
    subject: str,
    body: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    in_reply_to: str = "",
    inbound_email_id: int,
    forwarded: bool = False,
    occurred_at: datetime | None = None,
) -> Interaction:
    """A rep's email sent from their own mail program reached the logging address (BCC or forward):
    it is filed as the thread's outgoing message."""
    data = {
        **_thread_data(message_id=message_id, in_reply_to=in_reply_to, to=to, cc=cc),
        "logged": True,
        "forwarded": forwarded,
        "inbound_email": inbound_email_id,
    }
    entry = _add(
        lead=lead,
        kind=Kind.EMAIL_OUT,
        actor=by,
        channel=CHANNEL,
        subject=subject,
        body=body,
        data=data,
        occurred_at=occurred_at,
    )
    publish(
        Event(
            Name.EMAIL_LOGGED,
            (lead.pk,),
            kind=Kind.EMAIL_OUT,
            actor=by,
            occurred_at=entry.occurred_at,
            data=data,
            leads=(lead,),
        )
    )
    return entry


def rep_email_opened(*, lead: Lead, rep_email_id: int, subject: str, occurred_at: datetime) -> Interaction:
    """The lead opened a rep's tracked email (its first open)."""
    data = {"rep_email": rep_email_id}
    entry = _add(
        lead=lead, kind=Kind.EMAIL_OPENED, channel=CHANNEL, subject=subject, data=data, occurred_at=occurred_at
    )
    publish(
        Event(Name.EMAIL_OPENED, (lead.pk,), kind=Kind.EMAIL_OPENED, occurred_at=occurred_at, data=data, leads=(lead,))
    )
    return entry


def rep_email_clicked(
    *,
    lead: Lead,
    rep_email_id: int,
    url: str,
    subject: str,
    occurred_at: datetime,
    visitor_key: str = "",
) -> Interaction:
    """The lead clicked a link in a rep's tracked email (`visitor_key`: the browser it clicked from)."""
    data = {"rep_email": rep_email_id, "url": url[:2000]}
    entry = _add(
        lead=lead, kind=Kind.EMAIL_CLICKED, channel=CHANNEL, subject=subject, data=data, occurred_at=occurred_at
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
