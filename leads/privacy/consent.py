"""Consent proof and withdrawal. A consent row keeps what the person agreed to (the exact text shown),
when, from where (the form, the IP address) and the capture record of the submission; a withdrawal
keeps that proof, marks it withdrawn, and stops every mail to the address: the opt-in is cleared and
the address suppressed, which sequence sending (and so every automation that enrolls) checks."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .. import events
from ..locks import lead_lock
from ..models import Consent, EmailSuppression, Enrollment, Interaction, Lead

CONSENT_WITHDRAWN = "Consent withdrawn"
CONSENT_ALREADY_WITHDRAWN = "This consent was already withdrawn."
WITHDRAWAL_NOTE_TOO_LONG = "Keep the note under 300 characters."


def lead_consents(*, lead: Lead) -> QuerySet[Consent]:
    """The lead's consents, newest first, with their form and capture record (one query)."""
    return (
        Consent.objects.filter(lead=lead)
        .select_related("web_form", "capture", "withdrawn_by")
        .order_by("-given_at", "-pk")
    )


def consent_withdraw(*, consent: Consent, by: User | None, note: str = "") -> Consent:
    """Withdraw a consent: keep the proof, clear the lead's opt-in, suppress its address and end its
    active sequences (one transaction)."""
    if consent.withdrawn_at is not None:
        raise ValueError(CONSENT_ALREADY_WITHDRAWN)
    if len(note) > Consent._meta.get_field("withdrawal_note").max_length:
        raise ValueError(WITHDRAWAL_NOTE_TOO_LONG)
    now = timezone.now()
    with transaction.atomic():
        lead = lead_lock(consent.lead_id)
        Consent.objects.filter(pk=consent.pk, withdrawn_at__isnull=True).update(
            withdrawn_at=now, withdrawn_by=by, withdrawal_note=note
        )
        if lead is not None:
            Lead.objects.filter(pk=lead.pk).update(email_opt_in=False, updated_at=now)
            if lead.email:
                EmailSuppression.objects.bulk_create(
                    [
                        EmailSuppression(
                            email=lead.email, reason=EmailSuppression.Reason.WITHDRAWN, lead=lead, created_at=now
                        )
                    ],
                    ignore_conflicts=True,
                )
            active = Enrollment.objects.filter(lead=lead, status=Enrollment.Status.ACTIVE)
            rows = list(active.values_list("lead_id", "sequence_id", "sequence__name"))
            active.update(
                status=Enrollment.Status.EXITED,
                exit_reason=Enrollment.ExitReason.UNSUBSCRIBED,
                finished_at=now,
                next_run_at=None,
            )
            events.sequences_exited(
                rows=rows, reason=Enrollment.ExitReason.UNSUBSCRIBED, label=CONSENT_WITHDRAWN, by=by, occurred_at=now
            )
            events.activity_recorded(
                lead=lead,
                kind=Interaction.Kind.UNSUBSCRIBE,
                actor=by,
                subject=CONSENT_WITHDRAWN,
                body=note,
                occurred_at=now,
            )
    consent.refresh_from_db()
    return consent
