"""What kind of message this is: our own mail, a bounce, an auto-reply, list traffic, or one for a
lead (and, for a reply, the lead of the thread it answers)."""

from email.utils import parseaddr

from django.conf import settings

from ...common.normalize import normalize_email
from ...models import InboundEmail, Lead, Mailbox, OutboundMessage
from .parse import ParsedEmail


def own_addresses() -> set[str]:
    """Addresses that are us: DEFAULT_FROM_EMAIL, SERVER_EMAIL and the mailboxes' usernames."""
    addresses = {normalize_email(parseaddr(settings.DEFAULT_FROM_EMAIL)[1])}
    addresses.add(normalize_email(parseaddr(getattr(settings, "SERVER_EMAIL", ""))[1]))
    addresses |= {
        normalize_email(u) for u in Mailbox.objects.filter(username__contains="@").values_list("username", flat=True)
    }
    return {address for address in addresses if address}


def _id_variants(ids: list[str]) -> list[str]:
    """Message-IDs as stored by us (with angle brackets) and by others (without)."""
    return [*ids, *(mid[1:-1] for mid in ids if mid.startswith("<") and mid.endswith(">"))]


def _is_auto_reply(parsed: ParsedEmail) -> bool:
    auto_submitted = parsed.headers.get("auto-submitted", "").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return True
    for name in ("x-autoreply", "x-autorespond"):
        if name in parsed.headers and parsed.headers[name].lower() not in ("no", "false", "0"):
            return True
    return (
        parsed.headers.get("precedence", "").lower() == "auto_reply" or parsed.report_type == "disposition-notification"
    )


def _is_bounce(parsed: ParsedEmail) -> bool:
    if parsed.content_type == "multipart/report" and parsed.report_type != "disposition-notification":
        return True
    local = parsed.from_address.split("@", 1)[0]
    return local in ("mailer-daemon", "postmaster") and parsed.headers.get("return-path", "").strip() in ("<>", "")


def _is_list(parsed: ParsedEmail) -> bool:
    return "list-id" in parsed.headers or parsed.headers.get("precedence", "").lower() in ("bulk", "list", "junk")


def _thread_lead(parsed: ParsedEmail) -> Lead | None:
    """The lead of the thread this message answers: our sent mail first, then earlier inbound mail."""
    if not parsed.references:
        return None
    order = {mid: rank for rank, mid in enumerate(parsed.references)}
    variants = _id_variants(parsed.references)
    sent = OutboundMessage.objects.filter(message_id__in=variants).values_list("message_id", "lead_id")
    received = InboundEmail.objects.filter(message_id__in=variants, lead__isnull=False).values_list(
        "message_id", "lead_id"
    )
    for rows in (sent, received):
        matches = sorted(rows, key=lambda row: order.get(row[0], order.get(f"<{row[0]}>", len(order))))
        if matches:
            return Lead.objects.filter(pk=matches[0][1]).first()
    return None


def _classify(parsed: ParsedEmail, own: set[str]) -> str:
    if parsed.fatal:
        return InboundEmail.Kind.MALFORMED
    if parsed.from_address in own or (
        parsed.message_id and OutboundMessage.objects.filter(message_id__in=_id_variants([parsed.message_id])).exists()
    ):
        return InboundEmail.Kind.OWN
    if _is_bounce(parsed):
        return InboundEmail.Kind.BOUNCE
    if _is_auto_reply(parsed):
        return InboundEmail.Kind.AUTO_REPLY
    if _is_list(parsed):
        return InboundEmail.Kind.LIST
    return InboundEmail.Kind.NEW_LEAD  # refined to known lead or reply once the leads are looked up
