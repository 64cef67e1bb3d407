"""How customers react to lead events (registered in leads.reactions by path: leads never imports customers)."""

from leads.events import Event

from .models import Customer


def customer_follows_merge(event: Event) -> None:
    """A merged lead's customer link moves to the lead it was merged into (unless that one has its own)."""
    keep_id, merged_id = event.lead_ids[0], event.data["merged_lead"]
    if not Customer.objects.filter(lead_id=keep_id).exists():
        Customer.objects.filter(lead_id=merged_id).update(lead_id=keep_id)
