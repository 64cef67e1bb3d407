"""How scoring reacts to events (registered in leads.reactions)."""

from ..events import SCORED_KINDS, Event
from ..services import lead_rescore_soon


def rescore_on_scored_activity(event: Event) -> None:
    """Activity that scoring rules count rescores the lead a few seconds later (debounced)."""
    if event.kind in SCORED_KINDS:
        for lead_id in event.lead_ids:
            lead_rescore_soon(lead_id=lead_id)
