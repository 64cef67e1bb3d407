"""How nurturing reacts to events (registered in leads.reactions)."""
from ..events import Event
from ..models import Enrollment
from .sequences import STATUS_EXIT_REASONS, lead_enrollments_exit, leads_enrollments_exit


def sequences_exit_on_status(event: Event) -> None:
    """Converted, lost or qualified (the hand-off to sales): the leads leave their nurture sequences."""
    status = event.data.get("to")
    if status in STATUS_EXIT_REASONS:
        leads_enrollments_exit(lead_ids=list(event.lead_ids), reason=STATUS_EXIT_REASONS[status], by=event.actor)


def sequences_exit_on_conversion(event: Event) -> None:
    """A lead that became a customer gets no more lead nurturing."""
    for lead_id in event.lead_ids:
        lead_enrollments_exit(lead_id=lead_id, reason=Enrollment.ExitReason.CONVERTED, by=event.actor)
