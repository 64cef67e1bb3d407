"""What the lead and customer pages show of a rep's email: the compose form and the latest messages
with their status (scheduled, sending, sent, failed with the error, bounced). Registered for the lead
page in settings.LEAD_PAGE_EXTENSIONS; the customer page calls compose_context for its lead."""

from __future__ import annotations

from django.http import HttpRequest

from ..models import Lead, RepEmail
from ..permissions import can_write
from ..selectors import visible_to
from .compose import preference_for
from .forms import ComposeForm
from .threads import lead_threads

MESSAGES_LIMIT = 10


def compose_initial(*, user, lead: Lead, in_reply_to: str = "", subject: str = "") -> dict:
    """A blank message to the lead: its address, the rep's tracking choice and signature."""
    preference = preference_for(user=user)
    body = f"\n\n--\n{preference.signature}" if preference.signature else ""
    return {
        "to": lead.email,
        "tracked": preference.track_by_default,
        "body": body,
        "in_reply_to": in_reply_to,
        "subject": subject,
    }


def compose_context(
    *, request: HttpRequest, lead: Lead, form: ComposeForm | None = None, preview=None, back: str = ""
) -> dict:
    """The compose section's context (nothing for users who may not write)."""
    if not can_write(request.user):
        return {}
    form = form or ComposeForm(initial=compose_initial(user=request.user, lead=lead), user=request.user, lead=lead)
    recent = list(
        RepEmail.objects.filter(lead_id=lead.pk)
        .exclude(status=RepEmail.Status.SENT)
        .order_by("-created_at", "-id")[:MESSAGES_LIMIT]
    )
    return {
        "email_lead": lead,
        "compose_form": form,
        "email_preview": preview,
        "email_outgoing": recent,
        "email_back": back,
        "email_zone": form.zone.key,
    }


def lead_page_context(*, request: HttpRequest, lead: Lead, writer: bool, forms: dict) -> dict:
    """The lead page's compose section (settings.LEAD_PAGE_EXTENSIONS)."""
    if not writer:
        return {}
    return compose_context(
        request=request, lead=lead, form=forms.get("compose_form"), preview=forms.get("email_preview")
    )


def customer_email_context(*, request: HttpRequest, leads: list[Lead]) -> dict:
    """The customer page's email block: compose to the customer's lead (the first one the user sees
    with an address) and that lead's email conversations. The messages are the lead's."""
    candidates = [lead for lead in leads if lead.email]
    visible = set(visible_to(request.user).filter(pk__in=[lead.pk for lead in candidates]).values_list("pk", flat=True))
    lead = next((lead for lead in candidates if lead.pk in visible), None)
    if lead is None:
        return {}
    threads = list({id(thread): thread for thread in lead_threads(lead_id=lead.pk).values()}.values())
    return compose_context(request=request, lead=lead, back=request.path) | {
        "email_threads": threads,
        "email_lead": lead,
    }
