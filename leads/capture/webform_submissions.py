"""A web form submission turned into a lead, and held submissions a manager releases.

A submission sent faster than the form's minimum fill time is refused as a likely bot (the visitor
is thanked all the same), but people are sometimes that quick (autofill, a pasted address). It is
held (CaptureRecord.Result.HELD, with the seconds it took as the reason) and listed on the web forms
page, where a manager can release it: it then goes through the same validation and capture as any
submission.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from ..models import CaptureRecord, Consent, Lead, WebForm
from .forms_builder.public_form import public_form_bind
from .service import CaptureContext, CaptureEvent, CaptureResult, capture
from .webforms import PublicLeadForm

HELD_NOT_FOUND = "This submission is not held any more (released already, or not a held submission)."
HELD_FORM_GONE = "The form of this submission was deleted: it cannot be released."
HELD_INVALID = "This submission does not pass the form's checks ({fields}), so it cannot become a lead."


def web_form_submission_capture(*, web_form: WebForm, form: PublicLeadForm, context: CaptureContext) -> CaptureResult:
    """Capture a valid submission of `form` (raises CaptureRejected as capture does)."""
    meta = {name: form.cleaned_data.get(name, "") for name in ("referrer", "landing_page", "visitor_id")}
    # A built form's first step, sent when the visitor moves on: already a lead; the full submit merges.
    partial = bool(getattr(form, "partial", False))
    event = CaptureEvent(
        subject=f"{'Started' if partial else 'Submitted'} {web_form.name}",
        body=form.cleaned_data.get("message", ""),
        data={
            **{k: v for k, v in meta.items() if v},
            "submitted": form.submitted(),
            **({"partial": True} if partial else {}),
        },
    )
    consents = form.consents()
    result = capture(
        data=form.lead_data(),
        context=context,
        event=event,
        strict=True,
        consent_text=consents[0][0] if consents else "",
        team_id=web_form.team_id,
    )
    if result.lead is not None and (len(consents) > 1 or (consents and consents[0][1])):
        # Built forms: one proof per ticked box, each with its purpose and legal basis.
        Consent.objects.filter(capture=result.record).update(purpose=consents[0][1], legal_basis=consents[0][2])
        Consent.objects.bulk_create(
            [
                Consent(
                    lead=result.lead,
                    text=text,
                    purpose=purpose,
                    legal_basis=basis,
                    given_at=result.record.received_at,
                    ip=context.ip or None,
                    web_form=web_form,
                    capture=result.record,
                )
                for text, purpose, basis in consents[1:]
            ]
        )
    return result


def held_submission_release(*, record_id: int, by: User) -> CaptureResult:
    """Capture a held submission now, as if it had passed the fill-time check; once only."""
    with transaction.atomic():
        record = (
            CaptureRecord.objects.select_for_update(of=("self",))
            .select_related("web_form")
            .filter(pk=record_id, result=CaptureRecord.Result.HELD, released_at__isnull=True)
            .first()
        )
        if record is None:
            raise ValidationError(HELD_NOT_FOUND)
        web_form = record.web_form
        if web_form is None:
            raise ValidationError(HELD_FORM_GONE)
        form = public_form_bind(web_form=web_form, data=record.payload if isinstance(record.payload, dict) else {})
        if not form.is_valid():
            raise ValidationError(HELD_INVALID.format(fields=", ".join(sorted(form.errors))))
        context = CaptureContext(
            channel=Lead.Source.WEB_FORM,
            source_detail=web_form.name,
            ip=record.ip,
            user_agent=record.user_agent,
            web_form=web_form,
            payload=record.payload,
            actor=by,
        )
        result = web_form_submission_capture(web_form=web_form, form=form, context=context)
        record.released_at = timezone.now()
        record.released_by = by
        record.lead = result.lead
        record.save(update_fields=["released_at", "released_by", "lead"])
    return result


def held_submissions(*, web_form: WebForm | None = None, limit: int = 100) -> list[CaptureRecord]:
    """Held submissions not released yet, newest first."""
    records = CaptureRecord.objects.filter(result=CaptureRecord.Result.HELD, released_at__isnull=True)
    if web_form is not None:
        records = records.filter(web_form=web_form)
    return list(records.select_related("web_form").order_by("-received_at", "-id")[:limit])


def web_form_stats() -> list[WebForm]:
    """Every web form with its counts (one query): submissions that made or updated a lead, held
    (too fast; `released` of them were let through) and other refusals (honeypot, origin, rate, invalid)."""
    made = Q(
        captures__result__in=[CaptureRecord.Result.CREATED, CaptureRecord.Result.MERGED, CaptureRecord.Result.ATTACHED]
    )
    held = Q(captures__result=CaptureRecord.Result.HELD)
    return list(
        WebForm.objects.annotate(
            captured=Count("captures", filter=made),
            held=Count("captures", filter=held),
            held_waiting=Count("captures", filter=held & Q(captures__released_at__isnull=True)),
            released=Count("captures", filter=held & Q(captures__released_at__isnull=False)),
            refused=Count("captures", filter=Q(captures__result=CaptureRecord.Result.REJECTED)),
        )
        .select_related("team")
        .order_by("name")
    )
