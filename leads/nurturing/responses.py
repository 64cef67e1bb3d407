"""What comes back from sent emails: opens, clicks, unsubscribes, bounces and complaints."""

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .. import events
from ..models import Interaction, Lead
from ..models.nurturing import EmailSuppression, Enrollment, StepRun
from .steps import lead_enrollments_exit
from .tokens import OPEN_SALT, UNSUBSCRIBE_SALT, click_token_read, token_unsign

logger = logging.getLogger(__name__)

# --- Tracking -----------------------------------------------------------------------------------


def _run_for(enrollment_id: int, step_id: int) -> StepRun | None:
    return StepRun.objects.select_related("lead").filter(enrollment_id=enrollment_id, step_id=step_id).first()


def email_open_record(*, token: str, now: datetime | None = None) -> bool:
    """An open pixel was loaded: the first open of a run goes on the timeline (feeds scoring)."""
    key = token_unsign(token, OPEN_SALT)
    if key is None:
        return False
    now = now or timezone.now()
    run = _run_for(*key)
    if run is None:
        return False
    with transaction.atomic():
        if StepRun.objects.filter(pk=run.pk, opened_at__isnull=True).update(opened_at=now):
            Lead.objects.filter(pk=run.lead_id).update(emails_opened=F("emails_opened") + 1)
            events.activity_recorded(
                lead=run.lead,
                kind=Interaction.Kind.EMAIL_OPENED,
                channel="sequence",
                subject=run.subject,
                data={"step_run": run.pk, "sequence_step": run.step_id},
                occurred_at=now,
            )
    return True


def email_click_record(
    *, token: str, visitor_key: str = "", now: datetime | None = None, record: bool = True
) -> str | None:
    """A tracked link was clicked: the URL to redirect to (None: forged or unknown token).
    `record`: put it on the timeline (False when the visitor is rate-limited)."""
    read = click_token_read(token=token)
    if read is None:
        return None
    enrollment_id, step_id, url = read
    run = _run_for(enrollment_id, step_id)
    if run is None:
        return None
    if not record:
        return url
    now = now or timezone.now()
    with transaction.atomic():
        first = StepRun.objects.filter(pk=run.pk, clicked_at__isnull=True).update(clicked_at=now)
        StepRun.objects.filter(pk=run.pk, opened_at__isnull=True).update(opened_at=now)  # a click is an open
        if first:
            Lead.objects.filter(pk=run.lead_id).update(emails_clicked=F("emails_clicked") + 1)
        # Capture reacts to the click (identifying the browser it came from, after commit).
        events.email_clicked(
            lead=run.lead,
            url=url,
            step_run_id=run.pk,
            step_id=run.step_id,
            subject=run.subject,
            occurred_at=now,
            visitor_key=visitor_key,
        )
    return url


def unsubscribe_run(*, token: str) -> StepRun | None:
    """The step run an unsubscribe token names (None: forged or unknown)."""
    key = token_unsign(token, UNSUBSCRIBE_SALT)
    return _run_for(*key) if key else None


def email_suppress(*, email: str, reason: str, lead: Lead | None) -> bool:
    """Never mail this address again; False if it was suppressed already."""
    if not email:
        return False
    try:
        with transaction.atomic():
            EmailSuppression.objects.create(email=email, reason=reason, lead=lead)
    except IntegrityError:
        return False
    return True


def email_unsubscribe(*, run: StepRun) -> bool:
    """One-click unsubscribe from every sequence: suppression, opt-in off, enrollments exit.
    Idempotent; False if the address was unsubscribed already."""
    email = run.to_email or run.lead.email
    with transaction.atomic():
        new = email_suppress(email=email, reason=EmailSuppression.Reason.UNSUBSCRIBE, lead=run.lead)
        Lead.objects.filter(pk=run.lead_id, email_opt_in=True).update(email_opt_in=False)
        lead_enrollments_exit(lead_id=run.lead_id, reason=Enrollment.ExitReason.UNSUBSCRIBED)
        if new:
            events.activity_recorded(
                lead=run.lead,
                kind=Interaction.Kind.UNSUBSCRIBE,
                channel="sequence",
                subject=f"Unsubscribed {email}",
                data={"step_run": run.pk, "email": email},
            )
    return new


def lead_email_bounced(*, lead: Lead, email: str, complaint: bool = False) -> None:
    """A bounce or complaint came back (capture/email/ingest.py): suppress the address, leave every sequence."""
    reason = EmailSuppression.Reason.COMPLAINT if complaint else EmailSuppression.Reason.BOUNCE
    email_suppress(email=email, reason=reason, lead=lead)
    lead_enrollments_exit(lead_id=lead.pk, reason=Enrollment.ExitReason.BOUNCED)
