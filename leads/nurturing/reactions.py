"""How nurturing reacts to events (registered in leads.reactions)."""

from datetime import timedelta

from django.conf import settings

from ..events import Event
from ..models import Enrollment, Segment
from .responses import lead_email_bounced
from .segments import list_add_leads
from .sequences import STATUS_EXIT_REASONS
from .steps import lead_enrollments_exit, leads_enrollments_exit


def sequences_exit_on_status(event: Event) -> None:
    """Converted, lost or qualified (the hand-off to sales): the leads leave their nurture sequences."""
    status = event.data.get("to")
    if status in STATUS_EXIT_REASONS:
        leads_enrollments_exit(lead_ids=list(event.lead_ids), reason=STATUS_EXIT_REASONS[status], by=event.actor)


def sequences_exit_on_conversion(event: Event) -> None:
    """A lead that became a customer gets no more lead nurturing."""
    for lead_id in event.lead_ids:
        lead_enrollments_exit(lead_id=lead_id, reason=Enrollment.ExitReason.CONVERTED, by=event.actor)


def suppress_on_bounce(event: Event) -> None:
    """A bounce or complaint: suppress the address, and the lead leaves every sequence."""
    lead_email_bounced(lead=event.leads[0], email=event.data["email"], complaint=event.data["complaint"])


def sequences_exit_on_reply(event: Event) -> None:
    """A lead that writes back is talking to a person now: its nurturing ends."""
    for lead_id in event.lead_ids:
        lead_enrollments_exit(lead_id=lead_id, reason=Enrollment.ExitReason.REPLIED)


def sequences_pause_on_rep_email(event: Event) -> None:
    """A rep emailed the lead in person: its active sequences wait REP_EMAIL_PAUSES_NURTURE_DAYS
    (0: they go on), so a nurture step does not land beside the rep's message."""
    days = settings.REP_EMAIL_PAUSES_NURTURE_DAYS
    if days <= 0 or event.actor is None or "rep_email" not in event.data:
        return
    until = event.occurred_at + timedelta(days=days)
    Enrollment.objects.filter(
        lead_id__in=event.lead_ids,
        status=Enrollment.Status.ACTIVE,
        next_run_at__lt=until,
    ).update(next_run_at=until)


def list_join_on_capture(event: Event) -> None:
    """A batch capture (an import) that names a static list: every lead it created or matched joins it."""
    list_id = event.data.get("list")
    if list_id and event.lead_ids:
        segment = Segment.objects.get(pk=list_id)
        list_add_leads(segment=segment, lead_ids=list(event.lead_ids), by=event.actor)
