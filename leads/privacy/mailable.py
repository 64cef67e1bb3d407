"""Whether a lead may be mailed: do-not-contact, an erased person (tombstones), a bouncing or
suppressed address, and the consent a form asked for. One rule for every email we send: sequence
steps (nurturing), the rep's own email and automation emails."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from ..models import CaptureRecord, Consent, EmailSuppression, Lead
from . import tombstones

NOT_MAILABLE_NO_EMAIL = "The lead has no email address."
NOT_MAILABLE_DO_NOT_CONTACT = "The lead is marked do-not-contact."
NOT_MAILABLE_BOUNCING = "The lead's address bounces."
NOT_MAILABLE_SUPPRESSED = "The address is suppressed (unsubscribed, bounced or complained)."
NOT_MAILABLE_NO_CONSENT = "The lead came from a form that asks for consent, and gave none."


def mailability_annotations(*, lead_id: str = "pk", email: str = "email") -> dict:
    """What decides whether a lead may be mailed, as EXISTS annotations over the outer query's
    lead id and email columns (a lead query's own, or an enrollment's "lead_id"/"lead__email")."""
    consent_form = CaptureRecord.objects.filter(lead_id=OuterRef(lead_id), web_form__isnull=False).exclude(
        web_form__consent_text=""
    )
    return {
        "_suppressed": Exists(EmailSuppression.objects.filter(email=OuterRef(email))),
        "_consent_asked": Exists(consent_form),
        "_consented": Exists(Consent.objects.filter(lead_id=OuterRef(lead_id), withdrawn_at__isnull=True)),
    }


def mailable_leads(queryset):
    """Annotate a lead queryset with what decides whether it may be mailed (one query)."""
    return queryset.annotate(**mailability_annotations())


def lead_not_mailable_reason(*, lead: Lead) -> str | None:
    """Why this lead must not get mail from us (None: it may). The lead comes from mailable_leads()."""
    if not lead.email:
        return NOT_MAILABLE_NO_EMAIL
    if lead.do_not_contact:
        return NOT_MAILABLE_DO_NOT_CONTACT
    if tombstones.email_erased(email=lead.email):
        return tombstones.NOT_MAILABLE_ERASED
    if lead.email_bouncing:
        return NOT_MAILABLE_BOUNCING
    if getattr(lead, "_suppressed", None) is None:
        lead = mailable_leads(Lead.objects.filter(pk=lead.pk)).get()
    if lead._suppressed:
        return NOT_MAILABLE_SUPPRESSED
    if lead._consent_asked and not lead._consented and not lead.email_opt_in:
        return NOT_MAILABLE_NO_CONSENT
    return None
