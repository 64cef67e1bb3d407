"""How distribution reacts to events (registered in leads.reactions)."""

from ..events import Event
from .sla import lead_first_contact


def first_contact_on_activity(event: Event) -> None:
    """The owner's first call, email or note on the lead stops its first-contact SLA clock."""
    if event.actor is None or not event.leads:
        return
    lead = event.leads[0]
    if lead.owner_id == event.actor.pk and lead.first_contacted_at is None:
        lead_first_contact(lead=lead, kind=event.kind, at=event.occurred_at)
