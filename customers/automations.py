"""The automations' "convert" action, registered by path in leads.automations.actions.EXTERNAL_ACTIONS
(customers sit above leads: leads never imports this module, it names it)."""

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied

from leads.automations.actions import ActionFailed, ActionSkipped, Context
from leads.models import Lead

from .services import Outcome, lead_convert

NO_CONVERTER = "nobody may convert it: the automation's author is gone or not a manager"
NEEDS_CHOICE = "customers match the lead: a person chooses (create, link or leave it)"


def lead_convert_action(action: dict, lead: Lead, ctx: Context) -> str:
    """Convert the lead in the name of the automation's author (a manager): a clear match is linked,
    none creates a customer, several wait for a person; a converted lead is left alone."""
    by = User.objects.filter(pk=ctx.by_id, is_active=True).first() if ctx.by_id else None
    if by is None:
        raise ActionFailed(NO_CONVERTER)
    try:
        result = lead_convert(lead=lead, by=by, action="auto", pick_clear_match=True)
    except PermissionDenied as exc:
        raise ActionFailed(NO_CONVERTER) from exc
    if result.outcome == Outcome.ALREADY:
        raise ActionSkipped(f"converted already ({result.customer.name})")
    if result.outcome == Outcome.NEEDS_CHOICE:
        raise ActionSkipped(NEEDS_CHOICE)
    return f"converted: customer {result.customer.name} ({result.outcome})"
