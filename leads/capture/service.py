"""One way in: every channel calls capture(). It finds or creates the lead in one
transaction, keeps the raw input, writes the timeline, and enqueues processing after commit."""

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .. import events
from ..events import ACTIVITY_KINDS
from ..locks import advisory_lock
from ..models import CaptureRecord, Consent, Interaction, Lead, PossibleDuplicate, WebForm
from ..privacy import tombstones
from ..services import lead_enqueue_processing
from .cleaning import capture_clean
from .duplicates import duplicates_detect
from .merge import PHONE_CANDIDATES, fields_merge, lead_new, person_find
from .new_lead import new_lead_insert

logger = logging.getLogger(__name__)

NO_IDENTITY_RETRIES = 3
_SURROGATES = re.compile("[\ud800-\udfff]")
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
    # The capture matched a lead outside `within` and was kept apart for a manager's review.
    held_for_review: bool = False


# A capture that matches a lead its sender cannot see keeps the clashing identity here.
HELD_IDENTITY_ATTRIBUTES = {"email": "captured_email", "external_id": "captured_external_id"}


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


def capture_hold(*, context: CaptureContext, reason: str) -> CaptureRecord:
    """Keep an input that made no lead for now, for a manager to release (capture_released) or leave."""
    return _record(context, result=CaptureRecord.Result.HELD, reason=reason)


def capture_ignore(*, context: CaptureContext, reason: str, lead: Lead | None = None) -> CaptureRecord:
    """Log an input that was deliberately not turned into a lead (a replayed event, an auto-reply)."""
    return _record(context, result=CaptureRecord.Result.IGNORED, reason=reason, lead=lead)


def _record_new(
    context: CaptureContext, *, result: str, reason: str = "", lead: Lead | None = None, received_at=None
) -> CaptureRecord:
    payload = context.payload
    if not isinstance(payload, (dict, list)):
        payload = {"value": str(payload)}
    return CaptureRecord(
        channel=context.channel,
        source_detail=context.source_detail.replace("\x00", "")[:200],  # PostgreSQL text holds no NUL
        received_at=received_at or context.received_at or timezone.now(),
        ip=context.ip or None,
        user_agent=(context.user_agent or "").replace("\x00", "")[:500],
        payload=_strip_nul(payload),
        raw=context.raw.replace("\x00", ""),
        result=result,
        reason=reason.replace("\x00", "\ufffd")[:500],
        lead=lead,
        web_form=context.web_form,
    )


def _record(context: CaptureContext, *, result: str, reason: str = "", lead: Lead | None = None) -> CaptureRecord:
    record = _record_new(context, result=result, reason=reason, lead=lead)
    record.save(force_insert=True)
    return record


def _strip_nul(value: Any) -> Any:
    """PostgreSQL's jsonb cannot hold NUL characters, and no text can hold a lone surrogate:
    both become \ufffd; the raw log keeps everything else."""
    if isinstance(value, str):
        return _SURROGATES.sub("\ufffd", value.replace("\x00", "\ufffd"))
    if isinstance(value, dict):
        return {_strip_nul(k): _strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_nul(v) for v in value]
    return value


def _find(fields: dict[str, Any]) -> Lead | None:
    """The lead (locked) the fields belong to, by merge.person_find's rules: one query per identity tried."""
    leads = Lead.objects.select_for_update(of=("self",))

    def lookup(name: str, value: str):
        if name == "phone":
            return leads.filter(phone=value).order_by("id")[:PHONE_CANDIDATES]
        found = leads.filter(**{name: value}).first()
        return [found] if found is not None else []

    return person_find(fields, lookup=lookup)[0]


def _merge_into(lead: Lead, fields: dict[str, Any]) -> list[str]:
    """Fill the lead's blank fields from the capture; never overwrite. Returns the changed fields."""
    return fields_merge(lead, fields).changed


def _held_apart(fields: dict[str, Any]) -> dict[str, Any]:
    """The capture's fields for a lead of its own: the unique identity (which belongs to a lead the
    sender cannot see) moves into attributes, where a manager finds it when reviewing the pair."""
    held = {name: value for name, value in fields.items() if name not in HELD_IDENTITY_ATTRIBUTES}
    moved = {HELD_IDENTITY_ATTRIBUTES[name]: fields[name] for name in HELD_IDENTITY_ATTRIBUTES if fields.get(name)}
    held["attributes"] = {**(fields.get("attributes") or {}), **moved}
    return held


def _upsert(
    fields: dict[str, Any],
    *,
    channel: str,
    source_detail: str,
    team_id: int | None,
    received_at,
    form_submits: int = 0,
    within=None,
) -> tuple[Lead, bool, Lead | None]:
    """Find the lead (locked) and merge, or create it. A unique-constraint clash means a
    concurrent capture created it first: retry, and the retry finds and merges. A match outside
    `within` (a queryset of leads) is never changed: a new lead is created instead and the match
    is returned third, for the caller to flag the pair as a possible duplicate."""
    if fields.get("phone") and not fields.get("email") and not fields.get("external_id"):
        # Serialise captures of one phone number (no unique constraint can: phones may repeat).
        advisory_lock(f"lead-phone:{fields['phone']}")
    for _attempt in range(NO_IDENTITY_RETRIES):
        existing = _find(fields)
        if existing is not None and within is not None and not within.filter(pk=existing.pk).exists():
            lead = _lead_new(
                _held_apart(fields),
                channel=channel,
                source_detail=source_detail,
                team_id=team_id,
                received_at=received_at,
                form_submits=form_submits,
            )
            lead.save()
            return lead, True, existing
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
            return existing, False, None
        lead = _lead_new(
            fields,
            channel=channel,
            source_detail=source_detail,
            team_id=team_id,
            received_at=received_at,
            form_submits=form_submits,
        )
        try:
            with transaction.atomic():
                lead.save()
            return lead, True, None
        except IntegrityError:
            continue
    raise IntegrityError("capture could not settle on one lead after retries")


def _lead_new(
    fields: dict[str, Any], *, channel: str, source_detail: str, team_id: int | None, received_at, form_submits: int
) -> Lead:
    return lead_new(
        fields,
        source=channel,
        source_detail=source_detail or fields.get("source_detail", ""),
        team_id=team_id,
        created_at=received_at,
        last_activity_at=received_at,  # the capture itself is the first activity
        form_submits=form_submits,  # counted here: saves an UPDATE per new lead
    )


def capture(
    *,
    data: dict[str, Any],
    context: CaptureContext,
    event: CaptureEvent | None = None,
    strict: bool = False,
    consent_text: str = "",
    team_id: int | None = None,
    detect_duplicates: bool = False,
    within=None,
) -> CaptureResult:
    """Capture one lead from any channel: validate, find-or-create (merging blanks), keep the
    raw input, record the interaction, and enqueue processing after commit. Possible duplicates
    are recorded by the processing pipeline; `detect_duplicates` also looks for them now and
    returns them (the API answers with them). With `within` (the sender's visible_to), a match
    outside it is left untouched: the capture becomes a new lead flagged as its possible duplicate."""
    fields, errors = capture_clean(data, strict=strict)
    if errors:
        record = _record(context, result=CaptureRecord.Result.REJECTED, reason=f"invalid: {', '.join(sorted(errors))}")
        raise CaptureRejected(errors, record)
    if tombstones.email_erased(email=fields.get("email")):  # an erased person: refused, and nothing of it kept
        record = _record(
            tombstones.capture_context_scrubbed(context),
            result=CaptureRecord.Result.REJECTED,
            reason=tombstones.CAPTURE_REFUSED_REASON,
        )
        raise CaptureRejected({"email": [tombstones.CAPTURE_REFUSED]}, record)
    event = event or CaptureEvent()
    received_at = context.received_at or timezone.now()
    occurred_at = event.occurred_at or received_at
    kind = event.kind or CHANNEL_KIND.get(context.channel, Interaction.Kind.CAPTURE)
    form_submits = 1 if kind == Interaction.Kind.FORM_SUBMIT else 0
    if not fields.get("phone") and connection.vendor == "postgresql":
        # Without a phone, only unique columns (email, external id) identify the person, so the
        # database settles "new or known" by itself: insert, and find and merge only on a conflict.
        # (PostgreSQL only: SQLite, the embedded default, has no INSERT inside WITH.) `within`
        # matters only when a lead matched, that is on a conflict, which takes the path below.
        result = _capture_new(
            fields,
            context=context,
            event=event,
            kind=kind,
            received_at=received_at,
            occurred_at=occurred_at,
            consent_text=consent_text,
            team_id=team_id,
            form_submits=form_submits,
        )
        if result is not None:
            if detect_duplicates:
                result.possible_duplicates = duplicates_detect(lead=result.lead)
            return _logged(result, context)
    with transaction.atomic():
        lead, created, hidden = _upsert(
            fields,
            channel=context.channel,
            source_detail=context.source_detail,
            team_id=team_id,
            received_at=received_at,
            form_submits=form_submits,
            within=within,
        )
        record = _record(
            context, result=CaptureRecord.Result.CREATED if created else CaptureRecord.Result.MERGED, lead=lead
        )
        events.activity_recorded(
            lead=lead,
            kind=kind,
            actor=context.actor,
            channel=context.channel,
            subject=event.subject,
            body=event.body,
            data={**event.data, "capture": record.pk, "created": created},
            occurred_at=occurred_at,
            counted=created,
        )
        if consent_text:
            Consent.objects.create(
                lead=lead,
                text=consent_text,
                given_at=received_at,
                ip=context.ip or None,
                web_form=context.web_form,
                capture=record,
            )
        duplicates = duplicates_detect(lead=lead) if created and detect_duplicates else []
        if hidden is not None:
            low, high = sorted((lead.pk, hidden.pk))
            PossibleDuplicate.objects.bulk_create(
                [PossibleDuplicate(lead_id=low, other_id=high, reason=PossibleDuplicate.Reason.SAME_IDENTITY)],
                ignore_conflicts=True,
            )
        lead_enqueue_processing(lead_id=lead.pk)
    return _logged(
        CaptureResult(
            lead=lead,
            created=created,
            record=record,
            possible_duplicates=duplicates,
            held_for_review=hidden is not None,
        ),
        context,
    )


def _logged(result: CaptureResult, context: CaptureContext) -> CaptureResult:
    """One log line per capture: with the request id on it, an operator follows the lead into the worker."""
    logger.info(
        "lead %s %s by %s (capture record %s)",
        result.lead.pk,
        "created" if result.created else "merged",
        context.channel,
        result.record.pk,
    )
    return result


def _capture_new(
    fields: dict[str, Any],
    *,
    context: CaptureContext,
    event: CaptureEvent,
    kind: str,
    received_at,
    occurred_at,
    consent_text: str,
    team_id: int | None,
    form_submits: int,
) -> CaptureResult | None:
    """A new person: the lead, its capture record, timeline entry, consent and processing job
    (for the outbox relay) in one statement. None (nothing written) if the lead already exists."""
    lead = _lead_new(
        fields,
        channel=context.channel,
        source_detail=context.source_detail,
        team_id=team_id,
        received_at=received_at,
        form_submits=form_submits,
    )
    if kind in ACTIVITY_KINDS and occurred_at > received_at:
        lead.last_activity_at = occurred_at
    record = _record_new(context, result=CaptureRecord.Result.CREATED, lead=lead, received_at=received_at)
    # The timeline entry goes into the same single statement as the lead. The TIMELINE reactions
    # have nothing to do for a new lead (no owner yet, the activity time and the form submit are
    # already on the row) except a debounced rescore, which the pipeline enqueued below makes
    # redundant: it scores the lead itself.
    entry = events.lead_captured_entry(
        lead=lead,
        kind=kind,
        actor=context.actor,
        channel=context.channel,
        subject=event.subject,
        body=event.body,
        data=event.data,
        occurred_at=occurred_at,
    )
    consent = None
    if consent_text:
        consent = Consent(
            lead=lead, text=consent_text, given_at=received_at, ip=context.ip or None, web_form=context.web_form
        )
    if new_lead_insert(lead=lead, record=record, interaction=entry, consent=consent) is None:
        return None
    events.lead_captured_new(lead=lead, entry=entry)
    # The processing job's row went in with the lead: the outbox relay in the workers publishes it
    # (in batches when captures come fast); this request never talks to the broker.
    return CaptureResult(lead=lead, created=True, record=record)
