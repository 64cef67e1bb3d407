"""How reps' email reacts to events (registered in leads.reactions)."""

from datetime import timedelta

from ..events import Event
from ..models import RepEmail

BOUNCE_WINDOW = timedelta(days=14)  # a bounce names the address, not the message: the latest one sent to it


def message_bounced(event: Event) -> None:
    """A bounce for the lead's address: the rep's latest message sent to it shows "bounced"."""
    if event.data.get("complaint"):
        return
    address = event.data.get("email", "")
    since = (event.occurred_at or event.leads[0].updated_at) - BOUNCE_WINDOW
    latest = (
        RepEmail.objects.filter(
            lead_id__in=event.lead_ids, status=RepEmail.Status.SENT, sent_at__gte=since, to__contains=[address]
        )
        .order_by("-sent_at", "-id")
        .values_list("pk", flat=True)[:1]
    )
    RepEmail.objects.filter(pk__in=list(latest)).update(status=RepEmail.Status.BOUNCED, error=f"Bounced: {address}")
