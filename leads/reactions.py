"""Who reacts to which event: the one registry.

Each event name (see `leads.events.Name`) maps to the dotted paths of the functions that react to
it, in order. Paths, not imports: the spine sits below the stage packages and must not import them
(import-linter enforces that), and a stage registers a reaction by adding one line here. Every
handler takes one `leads.events.Event`, runs inside the caller's transaction, and sends anything
that leaves it (a task, an email) on commit through `leads.jobs`.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from .events import Event

# Outbound webhooks hear every event: an outbox row per subscription and lead, in the event's transaction.
WEBHOOKS = "leads.outbound.reactions.deliveries_record"

REACTIONS: dict[str, tuple[str, ...]] = {
    "timeline.added": (
        "leads.distribution.reactions.first_contact_on_activity",  # speed to lead: the owner's first call/email/note
        "leads.engagement.form_submit_counted",  # the engagement summary counts forms
        "leads.scoring.reactions.rescore_on_scored_activity",  # page views, forms, emails… move the score
        "leads.automations.reactions.on_timeline_entry",  # automations: form submitted, page visited, replied, bounced
        WEBHOOKS,
    ),
    "lead.created": (
        "leads.automations.reactions.on_lead_created",  # automations: lead created (and a new lead's first form)
        WEBHOOKS,
    ),
    "lead.updated": (
        "leads.automations.reactions.on_lead_updated",  # automations: field changed
        WEBHOOKS,
    ),
    "lead.assigned": (
        "leads.automations.reactions.on_assigned",  # automations: assigned or reassigned
        WEBHOOKS,
    ),
    "lead.status_changed": (
        "leads.nurturing.reactions.sequences_exit_on_status",  # qualified, lost, converted leave their sequences
        "leads.automations.reactions.on_status_changed",  # automations: status changed, qualified
        WEBHOOKS,
    ),
    "lead.converted": (
        "leads.nurturing.reactions.sequences_exit_on_conversion",  # a customer gets no more lead nurturing
        WEBHOOKS,
    ),
    "lead.email_bounced": (
        "leads.nurturing.reactions.suppress_on_bounce",  # the address is suppressed, the lead leaves its sequences
        "leads.rep_email.reactions.message_bounced",  # the rep's last message to that address shows "bounced"
        "leads.automations.reactions.on_email_bounced",  # automations: email bounced or unsubscribed
        WEBHOOKS,
    ),
    "lead.email_replied": (
        "leads.nurturing.reactions.sequences_exit_on_reply",  # a reply ends the nurturing
        WEBHOOKS,
    ),
    "lead.email_clicked": (
        "leads.capture.reactions.visitor_identify_on_click",  # the browser a nurture link was clicked from
        WEBHOOKS,
    ),
    "lead.merged": (
        "customers.reactions.customer_follows_merge",  # the merged lead's customer link moves to the kept lead
        WEBHOOKS,
    ),
    "leads.captured_many": (
        "leads.nurturing.reactions.list_join_on_capture",  # an import's leads join the static list it names
    ),
    "lead.queued": (WEBHOOKS,),
    "lead.enriched": (WEBHOOKS,),
    "lead.note_added": (WEBHOOKS,),
    "lead.task": (WEBHOOKS,),
    "lead.call": (WEBHOOKS,),
    "lead.enrolled": (WEBHOOKS,),
    "lead.sequence_exited": (WEBHOOKS,),
    "lead.email_sent": (
        "leads.nurturing.reactions.sequences_pause_on_rep_email",  # a rep talks to the lead: nurturing waits (a setting)
        WEBHOOKS,
    ),
    "lead.email_scheduled": (WEBHOOKS,),
    "lead.email_failed": (WEBHOOKS,),
    "lead.email_logged": (WEBHOOKS,),
    "lead.email_opened": (WEBHOOKS,),
    "lead.visitor_identified": (WEBHOOKS,),
    "lead.qualified": (WEBHOOKS,),
    "lead.score_changed": (
        "leads.automations.reactions.on_score_changed",  # automations: score or grade crossed a threshold
        WEBHOOKS,
    ),
    "lead.sla_breached": (
        "leads.automations.reactions.on_sla_breached",  # automations: SLA breached
        WEBHOOKS,
    ),
    "lead.automation_ran": (WEBHOOKS,),
}


@cache
def handlers(name: str) -> tuple:
    """The functions that react to an event, imported once."""
    return tuple(import_string(path) for path in REACTIONS.get(name, ()))


def dispatch(event: Event) -> None:
    """Run the reactions to one event, in registration order."""
    for handler in handlers(event.name):
        handler(event)
