"""Polling the IMAP mailboxes configured in admin (imap-tools).

Each message not yet taken goes through email_ingest() and is then marked on the server:
\\Seen plus the keyword $LeadCRM. Messages are selected by the missing keyword, not by
\\Seen, so mail a person already opened in their client is still taken. On servers without
custom keywords (PERMANENTFLAGS lacks \\*) the poller falls back to UNSEEN + \\Seen. If a
mark is lost (a dropped connection after ingestion), the unique InboundEmail.message_id
still keeps the message from being taken twice.
"""

import imaplib
import logging
import socket
import ssl
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import DatabaseError
from django.utils import timezone
from imap_tools import AND, NOT, MailBox, MailBoxUnencrypted, MailMessage
from imap_tools.errors import ImapToolsError, MailboxFlagError, MailboxStarttlsError
from imap_tools.utils import check_command_status

from ...models import Mailbox
from .ingest import email_ingest

logger = logging.getLogger(__name__)

KEYWORD = "$LeadCRM"
TIMEOUT_SECONDS = 30
BATCH_LIMIT = 200  # messages per mailbox per poll: keeps one beat run well inside the task time limit
LOCK_SECONDS = 600
# Everything a server, the network or imap-tools can throw at one poll (ValueError: bad settings).
POLL_ERRORS = (ImapToolsError, imaplib.IMAP4.error, OSError, ssl.SSLError, socket.timeout, ValueError)
INGEST_FAILED = "{count} message(s) could not be stored and stay on the server for the next poll: {error}"
ALREADY_POLLING = "Another poll of this mailbox is still running."


class RawMailMessage(MailMessage):
    """imap-tools' message, keeping the exact bytes the server sent (MailMessage.obj is re-parsed)."""

    def __init__(self, fetch_data: list) -> None:
        super().__init__(fetch_data)
        self.raw: bytes = self._get_message_data_parts(fetch_data)[0]


@dataclass
class PollResult:
    mailbox: str
    taken: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    error: str = ""


def _open(mailbox: Mailbox):
    """A connection (TLS, or plain upgraded with STARTTLS when the server offers it), not yet logged in."""
    if mailbox.use_ssl:
        box = MailBox(mailbox.host, mailbox.port, timeout=TIMEOUT_SECONDS, ssl_context=ssl.create_default_context())
    else:
        box = MailBoxUnencrypted(mailbox.host, mailbox.port, timeout=TIMEOUT_SECONDS)
        if "STARTTLS" in box.client.capabilities:
            check_command_status(box.client.starttls(ssl.create_default_context()), MailboxStarttlsError)
    box.email_message_class = RawMailMessage
    return box


def _close(box) -> None:
    try:
        box.client.logout()
    except POLL_ERRORS:
        box.client.shutdown()  # the connection is already broken: just drop the socket


def _supports_keywords(box) -> bool:
    """Whether the selected folder keeps custom keywords (PERMANENTFLAGS contains \\*)."""
    flags = b" ".join(box.client.untagged_responses.get("PERMANENTFLAGS", []))
    return b"\\*" in flags or KEYWORD.encode() in flags


def _mark(box, uid: str, *, keyword: bool) -> None:
    # imap-tools' flag() expunges after storing, which would purge mail a person marked
    # \Deleted; a plain UID STORE leaves the rest of the mailbox alone.
    flags = f"(\\Seen {KEYWORD})" if keyword else "(\\Seen)"
    check_command_status(box.client.uid("STORE", uid, "+FLAGS", flags), MailboxFlagError)


def mailbox_poll(*, mailbox: Mailbox, limit: int = BATCH_LIMIT) -> PollResult:
    """Take one mailbox's new messages through the email channel, marking each on the server."""
    result = PollResult(mailbox=mailbox.name)
    lock = f"leadcrm:mailbox-poll:{mailbox.pk}"
    if not cache.add(lock, 1, LOCK_SECONDS):
        result.error = ALREADY_POLLING
        return result
    ingest_error = ""
    box = None
    try:
        box = _open(mailbox)
        box.login(mailbox.username, mailbox.password, initial_folder=mailbox.folder or "INBOX")
        keyword = _supports_keywords(box)
        criteria = NOT(keyword=KEYWORD) if keyword else AND(seen=False)
        for message in box.fetch(criteria, mark_seen=False, limit=limit, bulk=False):
            try:
                outcome = email_ingest(raw=message.raw, mailbox=mailbox)
            except DatabaseError as exc:
                # Not stored at all (the database is away): leave it unmarked for the next poll.
                logger.exception("mailbox %s: message uid %s not stored", mailbox.name, message.uid)
                result.failed += 1
                ingest_error = f"{type(exc).__name__}: {exc}"
                continue
            _mark(box, message.uid, keyword=keyword)
            result.taken += 1
            result.kinds[outcome.kind] = result.kinds.get(outcome.kind, 0) + 1
    except POLL_ERRORS as exc:
        result.error = f"{type(exc).__name__}: {exc}"[:2000]
        logger.warning("mailbox %s: poll failed: %s", mailbox.name, result.error)
    finally:
        if box is not None:
            _close(box)
        cache.delete(lock)
    if not result.error and result.failed:
        result.error = INGEST_FAILED.format(count=result.failed, error=ingest_error)[:2000]
    Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=timezone.now(), last_error=result.error)
    return result


def mailboxes_poll() -> list[PollResult]:
    """Poll every active mailbox once; one failing mailbox does not stop the others."""
    return [mailbox_poll(mailbox=mailbox) for mailbox in Mailbox.objects.filter(is_active=True).order_by("pk")]
