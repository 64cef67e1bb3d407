"""Sending a rep's message: claim the row (one UPDATE: scheduled or a due retry → sending), build the
multipart message (tracked links and pixel when asked), SMTP through the configured backend, then
record: sent (Message-ID kept, so the reply threads back; the timeline entry) or failed (retried
with backoff, then given up). A row left "sending" by a dead worker is never sent again: a second
copy in the lead's inbox is worse than a message marked failed for the rep to resend."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import events, jobs
from ..common.rendering import text_to_html
from ..models import OutboundMessage, RepEmail
from .compose import COUNTDOWN_MAX, SEND_TASK
from .tracking import click_url, open_url

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # longer than one SMTP conversation may take
SWEEP_BATCH = 200
INTERRUPTED = "The send was interrupted (the worker stopped); not retried, so that it is not sent twice. Check your sent mail, then resend."
REFUSED = "The mail server refused every recipient: {error}"


def retry_delays() -> tuple[float, ...]:
    """Seconds to wait after each failed attempt (settings.REP_EMAIL_RETRY_DELAYS)."""
    return tuple(settings.REP_EMAIL_RETRY_DELAYS)


def rep_email_claim(*, rep_email_id: int, now: datetime) -> RepEmail | None:
    """Take a due message for one attempt (None: not due, sent, or held by another worker)."""
    claimed = RepEmail.objects.filter(
        Q(status=RepEmail.Status.SCHEDULED) | Q(status=RepEmail.Status.FAILED, retrying=True),
        pk=rep_email_id,
        due_at__lte=now,
    ).update(status=RepEmail.Status.SENDING, claimed_until=now + LEASE, retrying=False)
    if not claimed:
        return None
    return RepEmail.objects.select_related("lead", "sender").get(pk=rep_email_id)


def message_build(*, message: RepEmail) -> EmailMultiAlternatives:
    """The multipart message: text as written, HTML made from it (links tracked, pixel) when tracked."""

    def link_for(url: str) -> str:
        return click_url(rep_email_id=message.pk, url=url) if message.tracked else url

    html_body = text_to_html(text=message.body, link_for=link_for)
    if message.tracked:
        html_body += f'\n<img src="{open_url(rep_email_id=message.pk)}" width="1" height="1" alt="" style="display:block;border:0">'
    headers = {"Message-ID": message.message_id}
    if message.in_reply_to:
        headers["In-Reply-To"] = message.in_reply_to
        headers["References"] = message.references or message.in_reply_to
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body,
        from_email=message.from_email,
        to=list(message.to),
        cc=list(message.cc) or None,
        headers=headers,
    )
    email.attach_alternative(
        f'<!doctype html>\n<html><head><meta charset="utf-8"></head><body>\n{html_body}\n</body></html>', "text/html"
    )
    return email


def rep_email_send(*, rep_email_id: int, now: datetime | None = None, connection=None) -> str:
    """One attempt at one message: returns its status afterwards ("skipped" when not claimed)."""
    now = now or timezone.now()
    message = rep_email_claim(rep_email_id=rep_email_id, now=now)
    if message is None:
        return "skipped"
    error, permanent = "", False
    try:
        email = message_build(message=message)
        email.connection = connection or get_connection()
        email.send()
    except smtplib.SMTPRecipientsRefused as exc:
        error, permanent = REFUSED.format(error=exc.recipients), True
    except (smtplib.SMTPException, OSError, BadHeaderError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    if error:
        logger.warning("rep email %s failed: %s", message.pk, error)
        return _failed(message, error=error[:1000], permanent=permanent)
    return _sent(message)


def _sent(message: RepEmail) -> str:
    now = timezone.now()
    with transaction.atomic():
        RepEmail.objects.filter(pk=message.pk).update(
            status=RepEmail.Status.SENT,
            sent_at=now,
            claimed_until=None,
            error="",
        )
        # Replies find the lead by this id (leads.capture.email.classify).
        OutboundMessage.objects.get_or_create(
            message_id=message.message_id,
            defaults={"lead_id": message.lead_id, "subject": message.subject[:300], "sent_at": now},
        )
        events.rep_email_sent(
            lead=message.lead,
            by=message.sender,
            rep_email_id=message.pk,
            message_id=message.message_id,
            subject=message.subject,
            body=message.body,
            to=message.to,
            cc=message.cc,
            in_reply_to=message.in_reply_to,
            tracked=message.tracked,
            override_reason=message.override_reason,
            occurred_at=now,
        )
    return RepEmail.Status.SENT


def _failed(message: RepEmail, *, error: str, permanent: bool) -> str:
    now = timezone.now()
    attempts = message.attempts + 1
    delays = retry_delays()
    retry = not permanent and attempts <= len(delays)
    with transaction.atomic():
        fields = {
            "status": RepEmail.Status.FAILED,
            "error": error,
            "attempts": attempts,
            "claimed_until": None,
            "retrying": retry,
        }
        if retry:
            delay = delays[attempts - 1]
            fields["due_at"] = now + timedelta(seconds=delay)
            RepEmail.objects.filter(pk=message.pk).update(**fields)
            if delay <= COUNTDOWN_MAX:
                jobs.enqueue(SEND_TASK, message.pk, countdown=delay)
        else:
            RepEmail.objects.filter(pk=message.pk).update(**fields)
            events.rep_email_failed(
                lead=message.lead,
                by=message.sender,
                rep_email_id=message.pk,
                subject=message.subject,
                error=error,
                attempts=attempts,
            )
    return RepEmail.Status.FAILED


def rep_email_retry(*, message: RepEmail) -> bool:
    """The rep asks to send a failed message again now (a fresh count of attempts)."""
    now = timezone.now()
    with transaction.atomic():
        changed = RepEmail.objects.filter(pk=message.pk, status=RepEmail.Status.FAILED).update(
            retrying=True,
            due_at=now,
            attempts=0,
            error="",
        )
        if changed:
            jobs.enqueue(SEND_TASK, message.pk)
    return bool(changed)


def rep_emails_sweep(*, now: datetime | None = None) -> int:
    """Send the due messages (scheduled ones and retries, whose job was lost or never made: a worker
    restart loses none), and mark those a dead worker left "sending" as failed."""
    now = now or timezone.now()
    stale = RepEmail.objects.filter(status=RepEmail.Status.SENDING, claimed_until__lt=now)
    for message in stale.select_related("lead", "sender")[:SWEEP_BATCH]:
        if RepEmail.objects.filter(pk=message.pk, status=RepEmail.Status.SENDING, claimed_until__lt=now).update(
            status=RepEmail.Status.FAILED,
            error=INTERRUPTED,
            claimed_until=None,
            retrying=False,
        ):
            events.rep_email_failed(
                lead=message.lead,
                by=message.sender,
                rep_email_id=message.pk,
                subject=message.subject,
                error=INTERRUPTED,
                attempts=message.attempts + 1,
            )
    ids = list(
        RepEmail.objects.filter(
            Q(status=RepEmail.Status.SCHEDULED) | Q(status=RepEmail.Status.FAILED, retrying=True), due_at__lte=now
        )
        .order_by("due_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for pk in ids:
        jobs.enqueue(SEND_TASK, pk)
    return len(ids)
