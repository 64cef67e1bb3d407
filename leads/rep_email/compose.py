"""Composing a rep's email: the placeholders (nurturing's sandbox, the same safe names), the
recipients, whether the lead may be mailed (and the recorded override), the sender, and the
message row that the send claims (now, or at a time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import make_msgid
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.template import Context
from django.utils import timezone

from .. import events, jobs
from ..common.normalize import normalize_email
from ..common.rendering import RenderError, header_safe, lead_context, template_compile
from ..models import (
    EmailSuppression,
    EmailTemplate,
    InboundEmail,
    Interaction,
    Lead,
    OutboundMessage,
    RepEmail,
    RepEmailPreference,
)
from ..privacy.mailable import (
    NOT_MAILABLE_DO_NOT_CONTACT,
    NOT_MAILABLE_SUPPRESSED,
    lead_not_mailable_reason,
    mailable_leads,
)

RECIPIENTS_MAX = 20
SCHEDULE_MAX = timedelta(days=365)
SEND_TASK = "leads.rep_email.tasks.rep_email_send_task"
COUNTDOWN_MAX = 15 * 60  # a send due later than this is left to the sweep (Redis re-delivers long countdowns)

NO_RECIPIENT = "Enter at least one address to send to."
BAD_ADDRESS = "Not an email address: {address}"
TOO_MANY_RECIPIENTS = f"At most {RECIPIENTS_MAX} recipients."
OVERRIDE_REQUIRED = "{reason} To send anyway, tick “Send anyway” and say why; it is recorded on the message."
OVERRIDE_REASON_REQUIRED = "Say why you send anyway (it is recorded on the message and the timeline)."
SCHEDULE_IN_PAST = "Choose a time in the future, or send now."
SCHEDULE_TOO_FAR = "Schedule at most a year ahead."
SENDER_NO_ADDRESS = "Your user account has no email address to send from; add one in your profile or ask an admin."
UNKNOWN_THREAD = "That conversation is not on this lead."
BODY_EMPTY = "Write a message."


@dataclass
class Draft:
    """What the rep typed, before rendering."""

    to: str
    cc: str = ""
    subject: str = ""
    body: str = ""
    template: EmailTemplate | None = None
    tracked: bool = True
    send_at: datetime | None = None
    override: bool = False
    override_reason: str = ""
    in_reply_to: str = ""


@dataclass
class Rendered:
    subject: str
    body: str


def preference_for(*, user: User) -> RepEmailPreference:
    """The user's email preferences (unsaved defaults when they have none)."""
    return RepEmailPreference.objects.filter(user_id=user.pk).first() or RepEmailPreference(user_id=user.pk)


def sender_for(*, user: User) -> dict[str, str]:
    """The From name and address: the rep's own, or the team address (settings.REP_EMAIL_FROM)."""
    name = user.get_full_name() or user.username
    if settings.REP_EMAIL_FROM == "team":
        team_name, team_email = parseaddr(settings.REP_EMAIL_TEAM_FROM or settings.DEFAULT_FROM_EMAIL)
        return {"name": name or team_name, "email": team_email}
    if not user.email:
        raise ValidationError({"to": [SENDER_NO_ADDRESS]})
    return {"name": name, "email": user.email}


def from_header(*, sender: dict[str, str]) -> str:
    return formataddr((header_safe(value=sender["name"], field="From name"), sender["email"]))


def draft_render(*, lead: Lead, user: User, subject: str, body: str) -> Rendered:
    """Fill in the placeholders ({{ lead.first_name }}, {{ sender.name }}…) in nurturing's sandbox;
    ValidationError names the refused tag or variable."""
    sender = sender_for(user=user)
    context = Context(
        {"lead": lead_context(lead=lead), "sender": dict(sender), "unsubscribe_url": ""}, autoescape=False
    )
    errors: dict[str, list[str]] = {}
    rendered = {}
    for field, source in (("subject", subject), ("body", body)):
        try:
            rendered[field] = template_compile(source=source, field=field).render(context).strip()
        except RenderError as exc:
            errors[field] = [str(exc)]
    if not errors:
        try:
            header_safe(value=rendered["subject"], field="subject")
        except RenderError as exc:
            errors["subject"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return Rendered(subject=rendered["subject"], body=rendered["body"].replace("\r\n", "\n"))


def recipients_parse(*, value: str, field: str) -> list[str]:
    """Addresses from a comma/semicolon separated field, normalised, without repeats."""
    addresses: list[str] = []
    for part in value.replace(";", ",").split(","):
        address = parseaddr(part.strip())[1] if part.strip() else ""
        if not part.strip():
            continue
        try:
            validate_email(address)
            header_safe(value=address, field=field)
        except (ValidationError, RenderError) as exc:
            raise ValidationError({field: [BAD_ADDRESS.format(address=part.strip()[:100])]}) from exc
        address = normalize_email(address)
        if address not in addresses:
            addresses.append(address)
    if len(addresses) > RECIPIENTS_MAX:
        raise ValidationError({field: [TOO_MANY_RECIPIENTS]})
    return addresses


def mail_block_reason(*, lead: Lead, addresses: list[str]) -> str | None:
    """Why these addresses of this lead must not be mailed (do-not-contact, unsubscribed, bouncing,
    no consent), or None. The same rules as nurture mail."""
    if lead.do_not_contact:
        return NOT_MAILABLE_DO_NOT_CONTACT
    if lead.email:
        reason = lead_not_mailable_reason(lead=mailable_leads(Lead.objects.filter(pk=lead.pk)).get())
        if reason:
            return reason
    if EmailSuppression.objects.filter(email__in=addresses).exists():
        return NOT_MAILABLE_SUPPRESSED
    return None


def thread_message_known(*, lead: Lead, message_id: str) -> bool:
    """A Message-ID of this lead's mail (ours, logged or received): what a reply may answer."""
    return (
        OutboundMessage.objects.filter(lead_id=lead.pk, message_id=message_id).exists()
        or InboundEmail.objects.filter(lead_id=lead.pk, message_id=message_id).exists()
        or Interaction.objects.filter(
            Q(kind=Interaction.Kind.EMAIL_IN) | Q(kind=Interaction.Kind.EMAIL_OUT),
            lead_id=lead.pk,
            data__message_id=message_id,
        ).exists()
    )


def _check_schedule(send_at: datetime | None, now: datetime) -> None:
    if send_at is None:
        return
    if send_at <= now:
        raise ValidationError({"send_at": [SCHEDULE_IN_PAST]})
    if send_at > now + SCHEDULE_MAX:
        raise ValidationError({"send_at": [SCHEDULE_TOO_FAR]})


def rep_email_create(*, lead: Lead, user: User, draft: Draft, now: datetime | None = None) -> RepEmail:
    """Check and store a rep's message to the lead, to go now (through a job) or at `send_at` (the
    sweep); ValidationError with per-field messages when it may not go."""
    now = now or timezone.now()
    to = recipients_parse(value=draft.to, field="to")
    cc = recipients_parse(value=draft.cc, field="cc")
    if not to:
        raise ValidationError({"to": [NO_RECIPIENT]})
    if not draft.body.strip():
        raise ValidationError({"body": [BODY_EMPTY]})
    _check_schedule(draft.send_at, now)
    rendered = draft_render(lead=lead, user=user, subject=draft.subject, body=draft.body)
    if not rendered.subject:
        raise ValidationError({"subject": ["The subject renders empty."]})
    if draft.in_reply_to and not thread_message_known(lead=lead, message_id=draft.in_reply_to):
        raise ValidationError({"in_reply_to": [UNKNOWN_THREAD]})
    reason = mail_block_reason(lead=lead, addresses=to + cc)
    override_reason = ""
    if reason:
        if not draft.override:
            raise ValidationError({"override": [OVERRIDE_REQUIRED.format(reason=reason)]})
        override_reason = draft.override_reason.strip()
        if not override_reason:
            raise ValidationError({"override_reason": [OVERRIDE_REASON_REQUIRED]})
        override_reason = f"{reason} Sent anyway: {override_reason}"[:500]
    sender = sender_for(user=user)
    domain = sender["email"].rpartition("@")[2] or "localhost"
    with transaction.atomic():
        message = RepEmail.objects.create(
            lead=lead,
            sender=user,
            from_email=from_header(sender=sender),
            to=to,
            cc=cc,
            subject=rendered.subject,
            body=rendered.body,
            template=draft.template,
            message_id=make_msgid(idstring="rep", domain=domain),
            in_reply_to=draft.in_reply_to,
            references=draft.in_reply_to,
            tracked=draft.tracked,
            override_reason=override_reason,
            due_at=draft.send_at or now,
            created_at=now,
        )
        if draft.send_at is not None:
            events.rep_email_scheduled(
                lead=lead, by=user, rep_email_id=message.pk, subject=message.subject, due_at=draft.send_at
            )
        rep_email_enqueue(message=message, now=now)
    return message


def rep_email_enqueue(*, message: RepEmail, now: datetime) -> None:
    """Hand the send to a job on commit (a later one waits for the sweep, which also picks up any
    whose job was lost)."""
    delay = (message.due_at - now).total_seconds()
    if delay <= COUNTDOWN_MAX:
        jobs.enqueue(SEND_TASK, message.pk, countdown=max(delay, 0) or None)


def rep_email_cancel(*, message: RepEmail) -> bool:
    """Cancel a scheduled message that has not been claimed yet; True when cancelled."""
    return bool(RepEmail.objects.filter(pk=message.pk, status=RepEmail.Status.SCHEDULED).delete()[0])
