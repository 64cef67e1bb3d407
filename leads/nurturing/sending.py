"""Sending sequence emails (what comes back is in responses.py, the signed links in tokens.py).

The email step runs for a whole batch of enrollments at once: lock them → check each lead may be
mailed → render in the sandbox → count this hour's sends in SQL under an advisory lock (over a
limit: defer) → claim the StepRuns in one INSERT (the idempotency key; a row another worker holds
is skipped) → commit → SMTP over one connection → record the Message-IDs (StepRun and
OutboundMessage, so replies thread back), the timeline entries, and move the enrollments on.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection, make_msgid
from django.db import connection as db_connection
from django.db import transaction
from django.urls import reverse

from .. import events
from ..common.rendering import RenderError, email_render, header_safe, text_to_html
from ..locks import advisory_lock
from ..models import Lead, OutboundMessage
from ..models.nurturing import Enrollment, Sequence, SequenceStep, StepRun
from ..privacy.mailable import lead_not_mailable_reason, mailability_annotations
from .steps import (
    CLOSED_STATUSES,
    DEFER,
    Reason,
    enrollments_finish,
    enrollments_move_on,
    sequence_steps,
    step_after,
    taken_step_resolve,
)
from .tokens import absolute_url, click_token, open_token, unsubscribe_url

logger = logging.getLogger(__name__)

TEST_SEND_NO_ADDRESS = "Your user account has no email address to send the test to."


# --- Building a message -----------------------------------------------------------------------


def sender_for(*, sequence: Sequence, lead: Lead) -> dict[str, str]:
    """The From name and address: the sequence's, else the owner's name, else the default sender."""
    default_name, default_email = parseaddr(settings.DEFAULT_FROM_EMAIL)
    name = sequence.from_name
    if not name and lead.owner_id:
        name = lead.owner.get_full_name() or ""
    return {"name": name or default_name, "email": sequence.from_email or default_email}


@dataclass
class BuiltEmail:
    message: EmailMultiAlternatives
    subject: str
    message_id: str


def email_build(
    *,
    sequence: Sequence,
    step: SequenceStep,
    lead: Lead,
    enrollment_id: int | None,
    to_email: str | None = None,
    tracked: bool = True,
) -> BuiltEmail:
    """The multipart message of one email step for one lead (RenderError if refused)."""
    sender = sender_for(sequence=sequence, lead=lead)
    header_safe(value=sender["name"], field="From name")
    to = header_safe(value=to_email or lead.email, field="To")
    if tracked and enrollment_id is not None:
        unsubscribe = unsubscribe_url(enrollment_id=enrollment_id, step_id=step.pk)
    else:
        unsubscribe = settings.PUBLIC_BASE_URL + reverse("nurture_unsubscribe", args=["preview"])
    rendered = email_render(subject=step.subject, body=step.body, lead=lead, sender=sender, unsubscribe_url=unsubscribe)

    def link_for(url: str) -> str:
        if not tracked or enrollment_id is None or url == unsubscribe:
            return url
        return absolute_url("nurture_click", click_token(enrollment_id=enrollment_id, step_id=step.pk, url=url))

    body_html = text_to_html(text=rendered.text, link_for=link_for)
    if tracked and enrollment_id is not None:
        pixel = absolute_url("nurture_open", open_token(enrollment_id=enrollment_id, step_id=step.pk))
        body_html += f'\n<img src="{pixel}" width="1" height="1" alt="" style="display:block;border:0">'
    html_document = f'<!doctype html>\n<html><head><meta charset="utf-8"></head><body>\n{body_html}\n</body></html>'
    domain = sender["email"].rpartition("@")[2] or "localhost"
    message_id = make_msgid(idstring="nurture", domain=domain)
    headers = {
        "Message-ID": message_id,
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    mailto = settings.NURTURE_UNSUBSCRIBE_MAILTO
    if mailto:
        headers["List-Unsubscribe"] += f", <mailto:{mailto}?subject=unsubscribe>"
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=formataddr((sender["name"], sender["email"])),
        to=[to],
        reply_to=[sequence.reply_to] if sequence.reply_to else None,
        headers=headers,
    )
    message.attach_alternative(html_document, "text/html")
    return BuiltEmail(message=message, subject=rendered.subject, message_id=message_id)


# --- Rate limits --------------------------------------------------------------------------------

# Taken by every batch while it counts and claims, so concurrent workers count each other's claims.
RATE_LOCK_KEY = 7_310_001


def _sent_this_hour(*, domains: list[str], now: datetime, cap: int) -> tuple[dict[str, int], int]:
    """Sends claimed in the last hour per receiving domain (these ones) and in all (counted up to
    `cap`, so the cost stays bounded), on the partial indexes steprun_domain_idx and steprun_sent_time_idx."""
    since = now - timedelta(hours=1)
    table = StepRun._meta.db_table
    with db_connection.cursor() as cursor:
        if db_connection.vendor == "postgresql":
            among, among_params = "to_domain = ANY(%s)", [domains]
        else:  # the embedded SQLite default has no arrays
            among, among_params = f"to_domain IN ({', '.join(['%s'] * len(domains))})", list(domains)
        cursor.execute(
            f"SELECT to_domain, count(*) FROM {table} WHERE {among} AND to_domain <> '' AND claimed_at > %s GROUP BY to_domain",
            [*among_params, since],
        )
        per_domain = dict(cursor.fetchall())
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE to_domain <> '' AND claimed_at > %s LIMIT %s) recent",
            [since, cap],
        )
        return per_domain, cursor.fetchone()[0]


# --- The email step, for a batch of enrollments ---------------------------------------------------


@dataclass
class _Send:
    enrollment: Enrollment
    lead: Lead
    step: SequenceStep
    following: SequenceStep | None
    built: BuiltEmail | None = None
    error: str = ""
    run_id: int | None = None


def _enrollments_locked(ids: list[int]) -> list[Enrollment]:
    """The enrollments (rows locked), with their lead and what decides whether it may be mailed: one query."""
    rows = list(
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("sequence", "step", "lead", "lead__owner")
        .filter(pk__in=ids, status=Enrollment.Status.ACTIVE)
        .annotate(**mailability_annotations(lead_id="lead_id", email="lead__email"))
        .order_by("pk")
    )
    for row in rows:
        row.lead._suppressed, row.lead._consent_asked, row.lead._consented = (
            row._suppressed,
            row._consent_asked,
            row._consented,
        )
    return rows


def _claim_rows(sends: list[_Send], *, now: datetime) -> None:
    """Insert the step runs of a batch in one statement; a row another worker holds is not returned."""
    if not sends:
        return
    columns = "(enrollment_id, step_id, lead_id, status, claimed_at, to_email, to_domain, subject, message_id, error, finished_at)"
    values, params = [], []
    for send in sends:
        failed = bool(send.error)
        values.append("(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
        params += [
            send.enrollment.pk,
            send.step.pk,
            send.lead.pk,
            StepRun.Status.FAILED if failed else StepRun.Status.CLAIMED,
            now,
            "" if failed else send.lead.email,
            "" if failed else send.lead.email.rpartition("@")[2].lower(),
            send.built.subject[:300] if send.built else "",
            send.built.message_id if send.built else "",
            send.error[:2000],
            now if failed else None,
        ]
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {StepRun._meta.db_table} {columns} VALUES {', '.join(values)} "
            "ON CONFLICT (enrollment_id, step_id) DO NOTHING RETURNING enrollment_id, id",
            params,
        )
        claimed = dict(cursor.fetchall())
    for send in sends:
        send.run_id = claimed.get(send.enrollment.pk)


def _deliver(sends: list[_Send], *, smtp) -> None:
    """SMTP, one message at a time over one connection; a refusal marks that send failed."""
    for send in sends:
        try:
            send.built.message.connection = smtp
            send.built.message.send()
        except (smtplib.SMTPException, OSError, BadHeaderError) as exc:
            # The claim stays, marked failed: we cannot be sure nothing went out, and a second copy
            # is worse than a missing one.
            send.error = str(exc)[:2000] or type(exc).__name__
            logger.warning("sequence email %s failed: %s", send.run_id, exc)
            if isinstance(exc, smtplib.SMTPServerDisconnected) and smtp is not None:
                smtp.close()


def _record(sends: list[_Send], *, now: datetime) -> None:
    """After SMTP: the runs' outcome, Message-IDs (so replies thread back), timeline entries, and
    every enrollment moved on. Asynchronous commit: losing it in a crash leaves a claimed run,
    which is never sent again (the claim row was committed before SMTP)."""
    sent = [send for send in sends if not send.error]
    with transaction.atomic():
        if db_connection.vendor == "postgresql":
            with db_connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        # The enrollments first: the lock order of every path is enrollment, then its step run (a
        # second worker holding the enrollment and probing the claim must not wait on us).
        enrollments_move_on(moves=[(s.enrollment.pk, s.step.pk, s.following) for s in sends], now=now)
        if sent:
            StepRun.objects.filter(pk__in=[send.run_id for send in sent]).update(
                status=StepRun.Status.SENT, finished_at=now
            )
            OutboundMessage.objects.bulk_create(
                [
                    OutboundMessage(
                        message_id=s.built.message_id, lead_id=s.lead.pk, subject=s.built.subject[:300], sent_at=now
                    )
                    for s in sent
                ]
            )
            events.emails_sent(
                sent=[
                    events.SentEmail(
                        lead_id=s.lead.pk,
                        subject=s.built.subject,
                        body=s.built.message.body[:2000],
                        data={
                            "sequence_id": s.step.sequence_id,
                            "step_id": s.step.pk,
                            "message_id": s.built.message_id,
                            "step_run": s.run_id,
                        },
                    )
                    for s in sent
                ],
                channel="sequence",
                occurred_at=now,
            )
        for send in sends:
            if send.error:
                StepRun.objects.filter(pk=send.run_id).update(
                    status=StepRun.Status.FAILED, error=send.error, finished_at=now
                )


def emails_send(
    *, claimed: list[tuple[int, int | None]], now: datetime, smtp=None, cache: dict | None = None
) -> dict[int, object]:
    """Run the email step of a batch of enrollments [(id, step id)]: check, render, claim (under the
    rate limits), send, record, move on. Returns {enrollment id: outcome} for those whose current
    step was an email: (next step id, due) to go on, or None to stop; others are not in it."""
    cache = {} if cache is None else cache
    expected = dict(claimed)
    outcomes: dict[int, object] = {}
    with transaction.atomic():
        rows = [
            e
            for e in _enrollments_locked(list(expected))
            if e.step is not None
            and e.step.kind == SequenceStep.Kind.EMAIL
            and e.sequence.is_active
            and (expected[e.pk] is None or e.step_id == expected[e.pk])
        ]
        exits: dict[str, list[int]] = {}
        sends: list[_Send] = []
        for enrollment in rows:
            lead, step = enrollment.lead, enrollment.step
            outcomes[enrollment.pk] = None
            if lead.status in CLOSED_STATUSES:
                exits.setdefault(Reason.CONVERTED if lead.status == Lead.Status.CONVERTED else Reason.LOST, []).append(
                    enrollment.pk
                )
                continue
            if lead_not_mailable_reason(lead=lead):
                exits.setdefault(Reason.NOT_MAILABLE, []).append(enrollment.pk)
                continue
            send = _Send(
                enrollment=enrollment,
                lead=lead,
                step=step,
                following=step_after(sequence_steps(enrollment.sequence_id, cache), step.pk),
            )
            try:
                send.built = email_build(
                    sequence=enrollment.sequence, step=step, lead=lead, enrollment_id=enrollment.pk
                )
            except RenderError as exc:
                send.error = str(exc)  # recorded on the run; the sequence goes on
            sends.append(send)
        for reason, ids in exits.items():
            enrollments_finish(enrollments=Enrollment.objects.filter(pk__in=ids), reason=reason, now=now)
        mailing = [s for s in sends if not s.error]
        deferred: list[int] = []
        if mailing:
            advisory_lock(RATE_LOCK_KEY)
            domain_limit, total_limit = settings.NURTURE_DOMAIN_HOURLY_LIMIT, settings.NURTURE_HOURLY_LIMIT
            domains = sorted({s.lead.email.rpartition("@")[2].lower() for s in mailing})
            per_domain, total = _sent_this_hour(domains=domains, now=now, cap=total_limit + 1)
            for send in mailing:
                domain = send.lead.email.rpartition("@")[2].lower()
                if total >= total_limit or per_domain.get(domain, 0) >= domain_limit:
                    deferred.append(send.enrollment.pk)
                    continue
                total += 1
                per_domain[domain] = per_domain.get(domain, 0) + 1
            held = set(deferred)
            sends = [s for s in sends if s.error or s.enrollment.pk not in held]
        if deferred:
            Enrollment.objects.filter(pk__in=deferred).update(next_run_at=now + DEFER)
        _claim_rows(sends, now=now)
        taken = [s for s in sends if s.run_id is None]
        sends = [s for s in sends if s.run_id is not None]
        failed = [s for s in sends if s.error]
        if failed:
            enrollments_move_on(moves=[(s.enrollment.pk, s.step.pk, s.following) for s in failed], now=now)
            for s in failed:
                outcomes[s.enrollment.pk] = (s.following.pk if s.following else None, now)
        for send in taken:
            moved = taken_step_resolve(
                enrollment=send.enrollment,
                step=send.step,
                steps=sequence_steps(send.enrollment.sequence_id, cache),
                now=now,
            )
            if moved is not None:
                target, due = moved
                enrollments_move_on(moves=[(send.enrollment.pk, send.step.pk, target)], now=now)
                outcomes[send.enrollment.pk] = (target.pk if target else None, due)
    mailing = [s for s in sends if not s.error]
    if mailing:
        _deliver(mailing, smtp=smtp)
        _record(mailing, now=now)
        for send in mailing:
            outcomes[send.enrollment.pk] = (send.following.pk if send.following else None, now)
    return outcomes


def mail_connection():
    """One SMTP connection for a batch of sends (closed by the caller)."""
    return get_connection()


def email_test_send(*, step: SequenceStep, lead: Lead, to_email: str) -> str:
    """Send a step's email rendered for a lead to the marketer's own address (untracked); the subject."""
    if not to_email:
        raise RenderError(TEST_SEND_NO_ADDRESS)
    built = email_build(
        sequence=step.sequence, step=step, lead=lead, enrollment_id=None, to_email=to_email, tracked=False
    )
    built.message.subject = f"[Test] {built.subject}"
    built.message.send()
    return built.subject
