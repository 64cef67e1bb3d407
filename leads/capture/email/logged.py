"""The BCC/forward logging address (settings.EMAIL_LOGGING_ADDRESS): a rep who writes to a lead from
their own mail program BCCs (or forwards) the message to it, and the message is filed on the lead
it was sent to, as the rep's outgoing message in its thread. It never makes a lead of the rep.

A message is the rep's logged mail when the logging address is configured and the message reached it
(To/Cc, or Delivered-To / X-Original-To / Envelope-To of a BCC copy, or the mailbox polled is that
address), or when it comes from a user's own address. The lead: the first known lead among the
recipients (To, then Cc); for a forward, among the forwarded message's To/Cc, then its From."""

from __future__ import annotations

import re
from email.utils import getaddresses

from django.conf import settings
from django.contrib.auth.models import User

from ... import events
from ...common.normalize import normalize_email
from ...models import CaptureRecord, InboundEmail, Lead, Mailbox, OutboundMessage
from ..service import CaptureContext, capture_ignore, capture_log
from .parse import ParsedEmail

REASON_NO_LEAD = "logged mail: no known lead among its recipients"
FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|wg|tr)\s*:", re.IGNORECASE)
FORWARD_MARKER = re.compile(
    r"^-{2,}\s*(forwarded message|original message|weitergeleitete nachricht)\s*-{2,}\s*$", re.IGNORECASE | re.MULTILINE
)
FORWARD_HEADER = re.compile(r"^\s*>?\s*(from|to|cc|von|an)\s*:\s*(.+)$", re.IGNORECASE | re.MULTILINE)
FORWARD_HEADER_LINES = 12  # the forwarded block's header lines come right after the marker
BODY_MAX_CHARS = 100_000


def logging_address() -> str:
    return normalize_email(settings.EMAIL_LOGGING_ADDRESS or "")


def _user_for(address: str) -> User | None:
    return User.objects.filter(email__iexact=address, is_active=True).order_by("pk").first() if address else None


def email_is_logged(*, parsed: ParsedEmail, mailbox: Mailbox | None) -> User | None | bool:
    """The sending user (or True without one) when this message is a rep's logged mail, else False."""
    address = logging_address()
    if not address:
        return False
    delivered = {
        normalize_email(parsed.headers.get(name, "")) for name in ("delivered-to", "x-original-to", "envelope-to")
    }
    reached = (
        address in parsed.recipients
        or address in delivered
        or (mailbox is not None and normalize_email(mailbox.username) == address)
    )
    user = _user_for(parsed.from_address)
    if user is not None:
        return user
    return True if reached else False


def _forwarded(parsed: ParsedEmail) -> tuple[bool, list[str], list[str]]:
    """(is a forward, the forwarded message's To/Cc addresses, its From addresses)."""
    marker = FORWARD_MARKER.search(parsed.body)
    if not marker and not FORWARD_SUBJECT.match(parsed.subject):
        return False, [], []
    block = parsed.body[marker.end() :] if marker else parsed.body
    recipients, senders = [], []
    for line in block.strip().splitlines()[:FORWARD_HEADER_LINES]:
        found = FORWARD_HEADER.match(line)
        if found:
            addresses = [normalize_email(address) for _, address in getaddresses([found.group(2)]) if "@" in address]
            (senders if found.group(1).lower() in ("from", "von") else recipients).extend(addresses)
    return True, recipients, senders


def email_log(
    *, parsed: ParsedEmail, inbound: InboundEmail, context: CaptureContext, user: User | None, occurred_at
) -> tuple[Lead | None, CaptureRecord]:
    """File a rep's logged mail on its lead as the thread's outgoing message (or record that no lead matched)."""
    own = {logging_address(), normalize_email(parsed.from_address)}
    forwarded, original_to, original_from = _forwarded(parsed)
    candidates = original_to + original_from if forwarded else []
    candidates += parsed.recipients
    candidates = [address for address in dict.fromkeys(candidates) if address and address not in own]
    staff = set(User.objects.filter(email__in=candidates).values_list("email", flat=True)) if candidates else set()
    candidates = [address for address in candidates if address not in staff]
    leads = {lead.email: lead for lead in Lead.objects.filter(email__in=candidates)} if candidates else {}
    lead = next((leads[address] for address in candidates if address in leads), None)
    if lead is None:
        return None, capture_ignore(context=context, reason=REASON_NO_LEAD)
    to = [
        address for address in (original_to if forwarded and original_to else parsed.recipients) if address not in own
    ]
    events.rep_email_logged(
        lead=lead,
        by=user,
        message_id=parsed.message_id,
        subject=parsed.subject,
        body=parsed.body[:BODY_MAX_CHARS],
        to=to,
        in_reply_to=parsed.references[0] if parsed.references else "",
        inbound_email_id=inbound.pk,
        forwarded=forwarded,
        occurred_at=occurred_at,
    )
    if parsed.message_id and not forwarded:
        # The lead's reply answers this Message-ID: it threads back to the lead like our own mail.
        OutboundMessage.objects.get_or_create(
            message_id=parsed.message_id,
            defaults={"lead": lead, "subject": parsed.subject[:300], "sent_at": occurred_at},
        )
    return lead, capture_log(context=context, result=CaptureRecord.Result.ATTACHED, lead=lead)
