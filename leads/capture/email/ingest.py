"""One raw RFC 822 message in, one decision out: a new or known lead, a reply on its thread, copies on
known leads' timelines, a bounce flagged, or a message that makes no lead; idempotent on Message-ID."""

import base64
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from ... import events
from ...models import CaptureRecord, InboundEmail, Interaction, Lead, Mailbox
from ...services import lead_enqueue_processing
from ..service import CaptureContext, CaptureEvent, capture, capture_ignore, capture_log
from .classify import _classify, _thread_lead, own_addresses
from .logged import REASON_NO_LEAD, email_is_logged, email_log
from .parse import NO_MESSAGE_ID, ParsedEmail, email_parse
from .signature import name_split, signature_extract

logger = logging.getLogger(__name__)

STORE_FAILED = "Could not be processed ({error}); stored for review."

# Reasons on the CaptureRecord of messages that make no lead.
REASON_OWN = "our own outgoing mail"
REASON_BOUNCE = "bounce / delivery report"
REASON_AUTO_REPLY = "auto-reply"
REASON_LIST = "mailing-list traffic"

BODY_MAX_CHARS = 100_000  # a timeline entry, not an archive: the raw message keeps everything


@dataclass
class EmailIngestResult:
    """What became of one message."""

    kind: str
    lead: Lead | None = None
    created: bool = False
    duplicate: bool = False
    inbound: InboundEmail | None = None
    record: CaptureRecord | None = None
    linked_leads: list[int] = field(default_factory=list)
    reason: str = ""


def _raw_text(raw: bytes) -> tuple[str, bool]:
    """The raw message as text for the capture log, and whether that text is lossless."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace"), False
    return text, "\x00" not in text


def _content_id(raw: bytes) -> str:
    return f"sha256:{hashlib.sha256(raw).hexdigest()}"


def _occurred_at(parsed: ParsedEmail) -> datetime:
    """The Date header when it is plausible; a forged or broken one must not skew activity dates."""
    now = timezone.now()
    if parsed.date and now - timedelta(days=365) <= parsed.date <= now:
        return parsed.date
    return now


def _event_data(parsed: ParsedEmail, inbound: InboundEmail, mailbox: Mailbox | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "message_id": parsed.message_id,
        "from": parsed.from_address,
        "inbound_email": inbound.pk,
        "recipients": parsed.recipients[:50],
    }
    if mailbox:
        data["mailbox"] = mailbox.name
    if parsed.references:
        data["in_reply_to"] = parsed.references[0]
    if parsed.attachments:
        data["attachments"] = parsed.attachments[:50]
    return data


def _lead_data(parsed: ParsedEmail) -> dict[str, Any]:
    first, last = name_split(parsed.from_name)
    data = {"email": parsed.from_address, "first_name": first, "last_name": last}
    data.update(
        signature_extract(body=parsed.body, first_name=first, last_name=last, email_address=parsed.from_address)
    )
    return {key: value for key, value in data.items() if value}


def _link_copies(
    parsed: ParsedEmail, *, addresses: set[str], inbound: InboundEmail, exclude: set[int], mailbox: Mailbox | None
) -> list[int]:
    """Known leads among the copied addresses get the message on their timelines too."""
    addresses = {address for address in addresses if address}
    if not addresses:
        return []
    linked = []
    for lead in Lead.objects.filter(email__in=addresses).exclude(pk__in=exclude).order_by("pk"):
        events.activity_recorded(
            lead=lead,
            kind=Interaction.Kind.EMAIL_IN,
            channel=Lead.Source.EMAIL,
            subject=parsed.subject,
            body=parsed.body[:BODY_MAX_CHARS],
            occurred_at=_occurred_at(parsed),
            data={**_event_data(parsed, inbound, mailbox), "copied": True},
        )
        linked.append(lead.pk)
    return linked


def _mark_bounces(parsed: ParsedEmail, inbound: InboundEmail) -> list[Lead]:
    failed = [
        entry
        for entry in parsed.delivery_status
        if entry["action"] == "failed" or (not entry["action"] and entry["status"].startswith("5"))
    ]
    bounced = []
    for entry in failed:
        lead = Lead.objects.filter(email=entry["recipient"]).first() if entry["recipient"] else None
        if lead is None:
            continue
        Lead.objects.filter(pk=lead.pk).update(email_bouncing=True, updated_at=timezone.now())
        lead.email_bouncing = True
        # Nurturing reacts: the address is suppressed and the lead leaves its sequences.
        events.email_bounced(
            lead=lead,
            recipient=entry["recipient"],
            inbound_email_id=inbound.pk,
            status=entry["status"],
            action=entry["action"],
            diagnostic=entry["diagnostic"],
        )
        bounced.append(lead)
    for entry in (entry for entry in parsed.delivery_status if entry["action"] == "complaint"):
        lead = Lead.objects.filter(email=entry["recipient"]).first()
        if lead is None:
            continue
        events.email_bounced(
            lead=lead,
            recipient=entry["recipient"],
            inbound_email_id=inbound.pk,
            complaint=True,
            diagnostic=entry["diagnostic"],
        )
        bounced.append(lead)
    return bounced


def _claim(*, message_id: str, parsed: ParsedEmail, kind: str, mailbox: Mailbox | None) -> InboundEmail | None:
    """Insert the InboundEmail row first: its unique Message-ID decides which of two concurrent
    ingestions of one message goes on (None: it was taken before)."""
    error = parsed.fatal or " ".join(parsed.problems)
    try:
        with transaction.atomic():
            return InboundEmail.objects.create(
                message_id=message_id,
                mailbox=mailbox,
                from_address=parsed.from_address[:254],
                subject=parsed.subject[:300],
                kind=kind,
                error=error,
            )
    except IntegrityError:
        return None


def _duplicate(message_id: str) -> EmailIngestResult:
    existing = InboundEmail.objects.select_related("lead").get(message_id=message_id)
    return EmailIngestResult(
        kind=existing.kind, lead=existing.lead, duplicate=True, inbound=existing, reason="already taken"
    )


def _ingest(
    parsed: ParsedEmail, *, message_id: str, context: CaptureContext, mailbox: Mailbox | None
) -> EmailIngestResult:
    if InboundEmail.objects.filter(message_id=message_id).exists():
        return _duplicate(message_id)
    own = own_addresses()
    kind = _classify(parsed, own)
    sender_lead = thread_lead = None
    logged = email_is_logged(parsed=parsed, mailbox=mailbox) if kind == InboundEmail.Kind.NEW_LEAD else False
    if logged:
        kind = InboundEmail.Kind.LOGGED  # a rep's own mail to a lead: filed on it, never a lead of the rep
    if kind == InboundEmail.Kind.NEW_LEAD:
        thread_lead = _thread_lead(parsed)
        sender_lead = Lead.objects.filter(email=parsed.from_address).first()
        kind = (
            InboundEmail.Kind.REPLY
            if thread_lead
            else InboundEmail.Kind.KNOWN_LEAD
            if sender_lead
            else InboundEmail.Kind.NEW_LEAD
        )
    inbound = _claim(message_id=message_id, parsed=parsed, kind=kind, mailbox=mailbox)
    if inbound is None:
        return _duplicate(message_id)
    context.payload = {**context.payload, "kind": kind, "inbound_email": inbound.pk}
    result = EmailIngestResult(kind=kind, inbound=inbound)

    if kind == InboundEmail.Kind.MALFORMED:
        result.record = capture_log(
            context=context, result=CaptureRecord.Result.FAILED, reason=f"malformed: {parsed.fatal}"
        )
        result.reason = parsed.fatal
        logger.warning("malformed email %s stored for review: %s", message_id, parsed.fatal)
    elif kind in (InboundEmail.Kind.OWN, InboundEmail.Kind.AUTO_REPLY, InboundEmail.Kind.LIST):
        reason = {InboundEmail.Kind.OWN: REASON_OWN, InboundEmail.Kind.AUTO_REPLY: REASON_AUTO_REPLY}.get(
            kind, REASON_LIST
        )
        known = Lead.objects.filter(email=parsed.from_address).first() if kind != InboundEmail.Kind.OWN else None
        result.record = capture_ignore(context=context, reason=reason, lead=known)
        result.lead, result.reason = known, reason
    elif kind == InboundEmail.Kind.LOGGED:
        user = logged if isinstance(logged, User) else None
        result.lead, result.record = email_log(
            parsed=parsed, inbound=inbound, context=context, user=user, occurred_at=_occurred_at(parsed)
        )
        result.reason = "" if result.lead else REASON_NO_LEAD
    elif kind == InboundEmail.Kind.BOUNCE:
        bounced = _mark_bounces(parsed, inbound)
        addresses = ", ".join(lead.email for lead in bounced)
        reason = f"{REASON_BOUNCE}: {addresses} bouncing" if bounced else REASON_BOUNCE
        result.record = capture_ignore(context=context, reason=reason, lead=bounced[0] if bounced else None)
        result.lead, result.reason = (bounced[0] if bounced else None), reason
        result.linked_leads = [lead.pk for lead in bounced[1:]]
    else:
        event = CaptureEvent(
            kind=Interaction.Kind.EMAIL_IN,
            subject=parsed.subject,
            body=parsed.body[:BODY_MAX_CHARS],
            data=_event_data(parsed, inbound, mailbox),
            occurred_at=_occurred_at(parsed),
        )
        if thread_lead is not None and thread_lead.email != parsed.from_address:
            # Someone else answered our thread (a colleague, a private address): the thread's
            # lead gets it; the sender's details are not that lead's, so nothing is merged.
            events.activity_recorded(
                lead=thread_lead,
                kind=event.kind,
                channel=Lead.Source.EMAIL,
                subject=event.subject,
                body=event.body,
                data=event.data,
                occurred_at=event.occurred_at,
            )
            result.record = capture_log(context=context, result=CaptureRecord.Result.ATTACHED, lead=thread_lead)
            lead_enqueue_processing(lead_id=thread_lead.pk)
            result.lead = thread_lead
        else:
            captured = capture(
                data=_lead_data(parsed),
                context=context,
                event=event,
                strict=False,
                team_id=mailbox.team_id if mailbox else None,
            )
            result.lead, result.created, result.record = captured.lead, captured.created, captured.record
            if kind == InboundEmail.Kind.NEW_LEAD and not captured.created:
                result.kind = InboundEmail.Kind.KNOWN_LEAD  # a concurrent message created the lead first
            elif kind == InboundEmail.Kind.KNOWN_LEAD and captured.created:
                result.kind = InboundEmail.Kind.NEW_LEAD
        if not result.created:
            events.email_replied(lead=result.lead)  # nurturing reacts: a reply ends the nurturing
        copies = {address for address in parsed.recipients if address not in own}
        if sender_lead is not None and sender_lead.pk != result.lead.pk:
            copies.add(sender_lead.email)  # the sender is a lead too, but not the thread's
        copies.discard(result.lead.email)
        result.linked_leads = _link_copies(
            parsed, addresses=copies, inbound=inbound, exclude={result.lead.pk}, mailbox=mailbox
        )
    InboundEmail.objects.filter(pk=inbound.pk).update(
        kind=result.kind,
        lead=result.lead,
        capture=result.record,
    )
    inbound.kind, inbound.lead, inbound.capture = result.kind, result.lead, result.record
    return result


def email_ingest(
    *,
    raw: bytes,
    mailbox: Mailbox | None = None,
    source_detail: str = "",
    ip: str | None = None,
    user_agent: str = "",
    actor: User | None = None,
) -> EmailIngestResult:
    """Take one raw RFC 822 message through the email channel (idempotent; malformed mail is stored)."""
    parsed = email_parse(raw=raw)
    if not parsed.message_id and not parsed.fatal:
        parsed.problems.append(NO_MESSAGE_ID)
    message_id = parsed.message_id or _content_id(raw)
    raw_text, lossless = _raw_text(raw)
    payload: dict[str, Any] = {
        "message_id": parsed.message_id,
        "from": parsed.from_address,
        "from_name": parsed.from_name,
        "recipients": parsed.recipients[:50],
        "subject": parsed.subject,
        "size": len(raw),
        "date": parsed.date.isoformat() if parsed.date else None,
        "problems": parsed.problems,
        "attachments": parsed.attachments[:50],
    }
    if mailbox:
        payload["mailbox"] = mailbox.name
    if not lossless:
        payload["raw_base64"] = base64.b64encode(raw).decode("ascii")  # the text log alone would lose bytes
    context = CaptureContext(
        channel=Lead.Source.EMAIL,
        source_detail=source_detail or (mailbox.name if mailbox else ""),
        ip=ip,
        user_agent=user_agent,
        payload=payload,
        raw=raw_text,
        actor=actor,
    )
    try:
        with transaction.atomic():
            return _ingest(parsed, message_id=message_id, context=context, mailbox=mailbox)
    except (DatabaseError, UnicodeEncodeError) as exc:
        # A value the database refused (or could not be sent: a lone surrogate), or a bug in a rule: keep the message for review
        # rather than lose it. A dead connection fails here again and reaches the caller.
        logger.exception("email ingestion failed for %s; storing it as malformed", message_id)
        parsed.fatal = STORE_FAILED.format(error=f"{type(exc).__name__}: {exc}"[:300])
        context.payload = payload
        with transaction.atomic():
            return _ingest(parsed, message_id=message_id, context=context, mailbox=mailbox)
