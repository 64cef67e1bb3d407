"""One way in: every channel calls capture(). It finds or creates the lead in one
transaction, keeps the raw input, writes the timeline, and enqueues processing after commit."""
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ..models import CaptureRecord, Consent, Interaction, Lead, PossibleDuplicate, WebForm
from ..services import interaction_record, lead_enqueue_processing
from .cleaning import capture_clean
from .duplicates import duplicates_detect

logger = logging.getLogger(__name__)

NO_IDENTITY_RETRIES = 3
# The interaction each channel leaves on the timeline by default.
CHANNEL_KIND = {
    Lead.Source.WEB_FORM: Interaction.Kind.FORM_SUBMIT,
    Lead.Source.EMAIL: Interaction.Kind.EMAIL_IN,
    Lead.Source.CHAT: Interaction.Kind.CHAT,
    Lead.Source.WEBHOOK: Interaction.Kind.EVENT,
    Lead.Source.IMPORT: Interaction.Kind.IMPORT,
    Lead.Source.API: Interaction.Kind.CAPTURE,
    Lead.Source.MANUAL: Interaction.Kind.CAPTURE,
    Lead.Source.CALL: Interaction.Kind.CALL_IN,
}
# Merging fills only these (blank) fields; everything else a person typed stays.
MERGEABLE = (
    "first_name", "last_name", "email", "phone", "company", "job_title", "website", "country", "region", "city",
    "postal_code", "time_zone", "industry", "company_size", "utm_source", "utm_medium", "utm_campaign",
    "utm_term", "utm_content", "external_id",
)


@dataclass
class CaptureContext:
    """Where an input came from, kept with it in the capture record."""

    channel: str
    source_detail: str = ""
    ip: str | None = None
    user_agent: str = ""
    payload: Any = field(default_factory=dict)
    raw: str = ""
    web_form: WebForm | None = None
    actor: User | None = None
    received_at: datetime | None = None


@dataclass
class CaptureEvent:
    """The timeline entry the capture leaves (defaults to the channel's kind)."""

    kind: str | None = None
    subject: str = ""
    body: str = ""
    data: dict = field(default_factory=dict)
    occurred_at: datetime | None = None


@dataclass
class CaptureResult:
    lead: Lead | None
    created: bool
    record: CaptureRecord
    possible_duplicates: list[PossibleDuplicate] = field(default_factory=list)


class CaptureRejected(ValidationError):
    """Strict capture input was invalid; `record` logs the rejection."""

    def __init__(self, errors: dict[str, list[str]], record: CaptureRecord):
        super().__init__(errors)
        self.record = record


def capture_log(*, context: CaptureContext, result: str, reason: str = "", lead: Lead | None = None) -> CaptureRecord:
    """Log an input with the given result (e.g. stored for review, or added to a thread's lead)."""
    return _record(context, result=result, reason=reason, lead=lead)


def capture_reject(*, context: CaptureContext, reason: str) -> CaptureRecord:
    """Log an input that made no lead (spam, rate limit, invalid), with the reason."""
    return _record(context, result=CaptureRecord.Result.REJECTED, reason=reason)


def capture_ignore(*, context: CaptureContext, reason: str, lead: Lead | None = None) -> CaptureRecord:
    """Log an input that was deliberately not turned into a lead (a replayed event, an auto-reply)."""
    return _record(context, result=CaptureRecord.Result.IGNORED, reason=reason, lead=lead)


def _record(context: CaptureContext, *, result: str, reason: str = "", lead: Lead | None = None) -> CaptureRecord:
    payload = context.payload
    if not isinstance(payload, (dict, list)):
        payload = {"value": str(payload)}
    return CaptureRecord.objects.create(
        channel=context.channel, source_detail=context.source_detail[:200],
        received_at=context.received_at or timezone.now(), ip=context.ip or None,
        user_agent=(context.user_agent or "")[:500], payload=_strip_nul(payload), raw=context.raw.replace("\x00", ""),
        result=result, reason=reason[:500], lead=lead, web_form=context.web_form,
    )


def _strip_nul(value: Any) -> Any:
    """PostgreSQL's jsonb cannot hold NUL characters; the raw log keeps everything else."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_strip_nul(k): _strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_nul(v) for v in value]
    return value


def _advisory_lock(key: str) -> None:
    """Serialise captures of one phone number (no unique constraint can: phones may repeat)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])


def _find(fields: dict[str, Any]) -> Lead | None:
    leads = Lead.objects.select_for_update(of=("self",))
    if fields.get("external_id"):
        found = leads.filter(external_id=fields["external_id"]).first()
        if found:
            return found
    if fields.get("email"):
        found = leads.filter(email=fields["email"]).first()
        if found:
            return found
    if fields.get("phone"):
        # Same phone: the same person, unless the other lead has another email (a possible duplicate).
        email = fields.get("email", "")
        candidates = leads.filter(phone=fields["phone"]).order_by("id")
        for candidate in candidates[:5]:
            if not candidate.email or not email:
                return candidate
    return None


def _merge_into(lead: Lead, fields: dict[str, Any]) -> list[str]:
    """Fill the lead's blank fields from the capture; never overwrite. Returns the changed fields."""
    changed = []
    for name in MERGEABLE:
        value = fields.get(name)
        if value and not getattr(lead, name):
            setattr(lead, name, value)
            changed.append(name)
    new_attributes = fields.get("attributes") or {}
    if any(key not in lead.attributes for key in new_attributes):
        lead.attributes = {**new_attributes, **lead.attributes}
        changed.append("attributes")
    new_tags = set(fields.get("tags") or []) - set(lead.tags)
    if new_tags:
        lead.tags = sorted(set(lead.tags) | new_tags)
        changed.append("tags")
    if fields.get("email_opt_in") and not lead.email_opt_in:
        lead.email_opt_in = True
        changed.append("email_opt_in")
    return changed


def _upsert(
    fields: dict[str, Any], *, channel: str, source_detail: str, team_id: int | None, received_at, form_submits: int = 0
) -> tuple[Lead, bool]:
    """Find the lead (locked) and merge, or create it. A unique-constraint clash means a
    concurrent capture created it first: retry, and the retry finds and merges."""
    if fields.get("phone") and not fields.get("email") and not fields.get("external_id"):
        _advisory_lock(f"lead-phone:{fields['phone']}")
    for _attempt in range(NO_IDENTITY_RETRIES):
        existing = _find(fields)
        if existing is not None:
            changed = _merge_into(existing, fields)
            existing.processed_at = None  # new information: run the pipeline again
            try:
                with transaction.atomic():
                    existing.save(update_fields=[*changed, "processed_at", "updated_at"])
            except IntegrityError:
                # A filled-in email or external id belongs to another lead: keep the rest.
                for name in ("email", "external_id"):
                    if name in changed:
                        setattr(existing, name, "")
                        changed.remove(name)
                existing.save(update_fields=[*changed, "processed_at", "updated_at"])
            return existing, False
        lead = Lead(
            **{name: value for name, value in fields.items() if name in MERGEABLE},
            attributes=fields.get("attributes") or {},
            tags=fields.get("tags") or [],
            email_opt_in=bool(fields.get("email_opt_in")),
            source=channel,
            source_detail=source_detail or fields.get("source_detail", ""),
            team_id=team_id,
            created_at=received_at,
            last_activity_at=received_at,  # the capture itself is the first activity
            form_submits=form_submits,  # counted here: saves an UPDATE per new lead
        )
        try:
            with transaction.atomic():
                lead.save()
            return lead, True
        except IntegrityError:
            continue
    raise IntegrityError("capture could not settle on one lead after retries")


def capture(
    *,
    data: dict[str, Any],
    context: CaptureContext,
    event: CaptureEvent | None = None,
    strict: bool = False,
    consent_text: str = "",
    team_id: int | None = None,
) -> CaptureResult:
    """Capture one lead from any channel: validate, find-or-create (merging blanks), keep the
    raw input, record the interaction, and enqueue processing after commit."""
    fields, errors = capture_clean(data, strict=strict)
    if errors:
        record = _record(context, result=CaptureRecord.Result.REJECTED, reason=f"invalid: {', '.join(sorted(errors))}")
        raise CaptureRejected(errors, record)
    event = event or CaptureEvent()
    received_at = context.received_at or timezone.now()
    with transaction.atomic():
        kind = event.kind or CHANNEL_KIND.get(context.channel, Interaction.Kind.CAPTURE)
        lead, created = _upsert(
            fields, channel=context.channel, source_detail=context.source_detail, team_id=team_id,
            received_at=received_at, form_submits=1 if kind == Interaction.Kind.FORM_SUBMIT else 0,
        )
        record = _record(
            context, result=CaptureRecord.Result.CREATED if created else CaptureRecord.Result.MERGED, lead=lead
        )
        interaction_record(
            lead=lead, kind=kind, actor=context.actor, channel=context.channel, subject=event.subject,
            body=event.body, data={**event.data, "capture": record.pk, "created": created},
            occurred_at=event.occurred_at or received_at, counted=created,
        )
        if consent_text:
            Consent.objects.create(
                lead=lead, text=consent_text, given_at=received_at, ip=context.ip or None,
                web_form=context.web_form, capture=record,
            )
        duplicates = duplicates_detect(lead=lead) if created else []
        lead_enqueue_processing(lead_id=lead.pk)
    return CaptureResult(lead=lead, created=created, record=record, possible_duplicates=duplicates)
