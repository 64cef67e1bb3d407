"""Exporting a person (GDPR art. 15 and 20, CCPA access): everything held about them as a zip of
JSON files, with the emails they sent and were sent as .eml. The archive is written as it is read
(rows in chunks, the zip without seeking), so a long history never sits in memory or on disk."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Iterator
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet
from django.utils import timezone

from ..models import (
    Assignment,
    AutomationRun,
    Call,
    Consent,
    EmailSuppression,
    EnrichmentValue,
    Enrollment,
    InboundEmail,
    Interaction,
    Lead,
    LeadActivityDay,
    Notification,
    OutboundMessage,
    PageView,
    PrivacyRequest,
    RunStep,
    SegmentMember,
    StepRun,
    Task,
    Visitor,
    WebhookDelivery,
)
from .erase import _customer_model
from .person import Person, person_captures, person_find

EXPORT_NOTHING = "Nothing is held about this person."
CHUNK_BYTES = 64 * 1024
ROWS_PER_QUERY = 500
README = """Everything LeadCRM holds about one person, exported {at}.

Each .json file is a list of records (UTF-8, times in ISO 8601 UTC):
{files}
messages/in/*.eml are the emails received from the person as they arrived; messages/out/*.eml are
the emails the CRM sent them (rebuilt from the timeline: subject, body, date and Message-ID).
manifest.json counts the records of each file.
"""
# The files of the archive: name, what it holds.
FILES = {
    "leads.json": "the lead records (every field, including scores, tags and custom attributes)",
    "customers.json": "customers the person was converted into",
    "timeline.json": "every timeline entry (captures, emails, calls, notes, status changes, scores…)",
    "notes.json": "the notes and logged calls among them",
    "captures.json": "every input received about them, with its raw payload",
    "emails_in.json": "received emails (sender, subject, classification)",
    "emails_out.json": "emails sent to them (sequence sends and Message-IDs)",
    "tracking.json": "browsers (visitor ids) linked to them, and their page views",
    "consents.json": "consents given (text shown, when, form, IP, capture record) and withdrawals",
    "enrollments.json": "nurture sequences they were in",
    "lists.json": "segments and lists they belong to",
    "scores.json": "enrichment values and daily engagement behind the score",
    "tasks.json": "follow-up tasks about them",
    "notifications.json": "notifications users received about them",
    "automation_runs.json": "automation runs on their leads, with each step",
    "webhook_deliveries.json": "outbound webhook deliveries about them, with their bodies",
    "calls.json": "phone calls",
    "assignments.json": "how their leads were assigned to sales reps",
    "suppressions.json": "addresses of theirs we must never mail (unsubscribed, bounced, withdrawn)",
}


class _Sink:
    """A write-only file for zipfile: it keeps what was written until it is taken."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self.position = 0

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        self._size += len(data)
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    @property
    def full(self) -> bool:
        return self._size >= CHUNK_BYTES

    def take(self) -> bytes:
        data, self._chunks, self._size = b"".join(self._chunks), [], 0
        return data


def _rows(queryset: QuerySet, fields: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
    values = queryset.values(*fields) if fields else queryset.values()
    return values.iterator(chunk_size=ROWS_PER_QUERY)


def _lead_rows(person: Person) -> Iterator[dict[str, Any]]:
    fields = [
        f.attname for f in Lead._meta.concrete_fields if f.attname not in ("search_text", "email_base", "email_domain")
    ]
    yield from _rows(Lead.objects.filter(pk__in=person.lead_ids).order_by("pk"), fields)


def _tracking_rows(person: Person) -> Iterator[dict[str, Any]]:
    for visitor in _rows(Visitor.objects.filter(lead_id__in=person.lead_ids).order_by("pk")):
        views = PageView.objects.filter(visitor_id=visitor["id"]).order_by("occurred_at", "pk")
        yield {**visitor, "page_views": list(_rows(views, ("url", "title", "referrer", "occurred_at", "visit_number")))}


def _run_rows(person: Person) -> Iterator[dict[str, Any]]:
    runs = AutomationRun.objects.filter(lead_id__in=person.lead_ids).select_related("automation").order_by("pk")
    for run in runs.iterator(chunk_size=ROWS_PER_QUERY):
        steps = RunStep.objects.filter(run_id=run.pk).order_by("position")
        yield {
            "id": run.pk,
            "lead": run.lead_id,
            "automation": run.automation.name,
            "trigger": run.trigger_event,
            "status": run.status,
            "created_at": run.created_at,
            "finished_at": run.finished_at,
            "error": run.error,
            "steps": list(
                _rows(steps, ("position", "action", "outcome", "detail", "error", "claimed_at", "finished_at"))
            ),
        }


def _consent_rows(person: Person) -> Iterator[dict[str, Any]]:
    consents = (
        Consent.objects.filter(lead_id__in=person.lead_ids)
        .select_related("web_form", "capture")
        .order_by("given_at", "pk")
    )
    for consent in consents.iterator(chunk_size=ROWS_PER_QUERY):
        yield {
            "id": consent.pk,
            "lead": consent.lead_id,
            "text": consent.text,
            "given_at": consent.given_at,
            "ip": consent.ip,
            "form": consent.web_form.name if consent.web_form else None,
            "capture": {
                "id": consent.capture_id,
                "channel": consent.capture.channel,
                "received_at": consent.capture.received_at,
            }
            if consent.capture
            else None,
            "withdrawn_at": consent.withdrawn_at,
            "withdrawal_note": consent.withdrawal_note,
        }


def _members(person: Person) -> list[tuple[str, Iterable[dict[str, Any]]]]:
    """The JSON files and their rows (lazy: each is read when it is written)."""
    ids = person.lead_ids
    Customer = _customer_model()
    customers = Customer.objects.filter(
        Q(lead_id__in=ids)
        | Q(pk__in=Lead.objects.filter(pk__in=ids).values("converted_customer_id"))
        | Q(email__in=person.emails)
    ).order_by("pk")
    timeline = Interaction.objects.filter(lead_id__in=ids).order_by("occurred_at", "pk")
    captures = person_captures(person).order_by("received_at", "pk")
    return [
        ("leads.json", _lead_rows(person)),
        (
            "customers.json",
            _rows(customers, [f.attname for f in Customer._meta.concrete_fields if f.attname != "search_text"]),
        ),
        ("timeline.json", _rows(timeline)),
        (
            "notes.json",
            _rows(
                timeline.filter(kind__in=[Interaction.Kind.NOTE, Interaction.Kind.CALL_IN, Interaction.Kind.CALL_OUT])
            ),
        ),
        ("captures.json", _rows(captures, [f.attname for f in captures.model._meta.concrete_fields])),
        ("emails_in.json", _rows(InboundEmail.objects.filter(lead_id__in=ids).order_by("received_at", "pk"))),
        (
            "emails_out.json",
            [
                *_rows(StepRun.objects.filter(lead_id__in=ids).order_by("claimed_at", "pk")),
                *_rows(OutboundMessage.objects.filter(lead_id__in=ids).order_by("sent_at", "pk")),
            ],
        ),
        ("tracking.json", _tracking_rows(person)),
        ("consents.json", _consent_rows(person)),
        (
            "enrollments.json",
            _rows(
                Enrollment.objects.filter(lead_id__in=ids).order_by("pk"),
                ("id", "lead", "sequence__name", "status", "source", "exit_reason", "enrolled_at", "finished_at"),
            ),
        ),
        (
            "lists.json",
            _rows(SegmentMember.objects.filter(lead_id__in=ids).order_by("pk"), ("lead", "segment__name", "added_at")),
        ),
        (
            "scores.json",
            [
                *_rows(EnrichmentValue.objects.filter(lead_id__in=ids).order_by("pk")),
                *_rows(LeadActivityDay.objects.filter(lead_id__in=ids).order_by("day")),
            ],
        ),
        ("tasks.json", _rows(Task.objects.filter(lead_id__in=ids).order_by("pk"))),
        (
            "notifications.json",
            _rows(
                Notification.objects.filter(lead_id__in=ids).order_by("pk"),
                ("id", "lead", "kind", "message", "created_at", "read_at"),
            ),
        ),
        ("automation_runs.json", _run_rows(person)),
        (
            "webhook_deliveries.json",
            _rows(
                WebhookDelivery.objects.filter(lead_id__in=ids).order_by("pk"),
                ("id", "event_type", "lead_id", "payload", "status", "created_at", "delivered_at"),
            ),
        ),
        (
            "calls.json",
            _rows(Call.objects.filter(Q(lead_id__in=ids) | Q(from_number__in=person.phones)).order_by("pk")),
        ),
        ("assignments.json", _rows(Assignment.objects.filter(lead_id__in=ids).order_by("pk"))),
        (
            "suppressions.json",
            _rows(EmailSuppression.objects.filter(Q(email__in=person.emails) | Q(lead_id__in=ids)).order_by("pk")),
        ),
    ]


def _eml_out(entry: Interaction, to: str) -> bytes:
    message = EmailMessage()
    message["From"] = settings.DEFAULT_FROM_EMAIL
    message["To"] = to
    message["Subject"] = entry.subject.replace("\r", " ").replace("\n", " ")
    message["Date"] = format_datetime(entry.occurred_at)
    message["Message-ID"] = str((entry.data or {}).get("message_id") or make_msgid(idstring=f"timeline{entry.pk}"))
    message.set_content(entry.body or "")
    return message.as_bytes()


def _messages(person: Person) -> Iterator[tuple[str, bytes]]:
    """The emails, as .eml: received ones as they came (the capture's raw message), sent ones rebuilt."""
    raw = person_captures(person).filter(channel=Lead.Source.EMAIL).exclude(raw="").order_by("received_at", "pk")
    for pk, text in raw.values_list("pk", "raw").iterator(chunk_size=50):
        yield f"messages/in/{pk}.eml", text.encode("utf-8", "surrogateescape")
    addresses = dict(Lead.objects.filter(pk__in=person.lead_ids).values_list("pk", "email"))
    sent = Interaction.objects.filter(lead_id__in=person.lead_ids, kind=Interaction.Kind.EMAIL_OUT).order_by(
        "occurred_at", "pk"
    )
    for entry in sent.iterator(chunk_size=50):
        yield f"messages/out/{entry.pk}.eml", _eml_out(entry, addresses.get(entry.lead_id) or person.email)


def person_exists(*, person: Person) -> bool:
    """Whether anything at all is held about the person (a lead, or an input naming their address)."""
    return bool(person.lead_ids) or person_captures(person).exists()


def person_export_stream(*, person: Person) -> Iterator[bytes]:
    """The person's archive, as chunks of a zip file (written while it is read)."""
    sink = _Sink()
    counts: dict[str, int] = {}
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        now = timezone.now()
        archive.writestr(
            "README.txt", README.format(at=now.isoformat(), files="\n".join(f"- {n}: {d}" for n, d in FILES.items()))
        )
        for name, rows in _members(person):
            count = 0
            with archive.open(name, mode="w", force_zip64=True) as member:
                member.write(b"[")
                for row in rows:
                    member.write(
                        (b",\n" if count else b"\n")
                        + json.dumps(row, cls=DjangoJSONEncoder, ensure_ascii=False).encode()
                    )
                    count += 1
                    if sink.full:
                        yield sink.take()
                member.write(b"\n]\n")
            counts[name] = count
            yield sink.take()
        messages = 0
        for name, content in _messages(person):
            archive.writestr(name, content)
            messages += 1
            if sink.full:
                yield sink.take()
        counts["messages"] = messages
        manifest = {"generated_at": now, "subject": person.email, "leads": person.lead_ids, "counts": counts}
        archive.writestr("manifest.json", json.dumps(manifest, cls=DjangoJSONEncoder, indent=2))
    yield sink.take()


def person_export_record(*, person: Person, by: User | None, via: str) -> PrivacyRequest:
    """Log that the person's data was exported (who, when; the subject only as its keyed hash)."""
    return PrivacyRequest.objects.create(
        action=PrivacyRequest.Action.EXPORT,
        subject_digest=person.digest,
        actor=by,
        via=via,
        counts={"leads": len(person.lead_ids)},
    )


def person_export(
    *, email: str = "", lead: Lead | None = None, by: User | None, via: str
) -> tuple[Person, Iterator[bytes]]:
    """Find the person, log the export, and return the archive's chunks (LookupError: nothing held)."""
    person = person_find(email=email, lead=lead)
    if not person_exists(person=person):
        raise LookupError(EXPORT_NOTHING)
    person_export_record(person=person, by=by, via=via)
    return person, person_export_stream(person=person)
