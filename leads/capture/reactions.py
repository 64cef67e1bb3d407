"""How capture reacts to events (registered in leads.reactions)."""

from django.db import transaction

from ..events import Event
from .tracking import visitor_identify


def visitor_identify_on_click(event: Event) -> None:
    """A nurture link clicked from a browser we track: that visitor is the lead, and its past page
    views join the timeline. After commit, as identification requires (lock order: visitor, then lead)."""
    visitor_key, lead = event.data.get("visitor_key"), event.leads[0]
    if visitor_key:
        transaction.on_commit(lambda: visitor_identify(site_key=None, visitor_key=visitor_key, lead=lead))
