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

REACTIONS: dict[str, tuple[str, ...]] = {
    "timeline.added": (
        "leads.distribution.reactions.first_contact_on_activity",  # speed to lead: the owner's first call/email/note
        "leads.engagement.form_submit_counted",  # the engagement summary counts forms
        "leads.scoring.reactions.rescore_on_scored_activity",  # page views, forms, emails… move the score
        "leads.outbound.reactions.deliveries_record",  # outbound webhooks: the outbox rows, in this transaction
    ),
    "lead.status_changed": (
        "leads.nurturing.reactions.sequences_exit_on_status",  # qualified, lost, converted leave their sequences
        "leads.outbound.reactions.deliveries_record",  # outbound webhooks: the outbox rows, in this transaction
    ),
    "lead.converted": (
        "leads.nurturing.reactions.sequences_exit_on_conversion",  # a customer gets no more lead nurturing
        "leads.outbound.reactions.deliveries_record",  # outbound webhooks: the outbox rows, in this transaction
    ),
    "lead.merged": (
        "customers.reactions.customer_follows_merge",  # the merged lead's customer link moves to the kept lead
        "leads.outbound.reactions.deliveries_record",  # outbound webhooks: the outbox rows, in this transaction
    ),
    "lead.created": (
        "leads.outbound.reactions.deliveries_record",  # outbound webhooks: the outbox rows, in this transaction
    ),
    "lead.updated": (
        "leads.outbound.reactions.deliveries_record",  # outbound webhooks: the outbox rows, in this transaction
    ),
    "lead.assigned": (
        "leads.outbound.reactions.deliveries_record",  # outbound webhooks: the outbox rows, in this transaction
    ),
    "lead.queued": (
        "leads.outbound.reactions.deliveries_record",  # outbound webhooks: the outbox rows, in this transaction
    ),
    "lead.enriched": (
        "leads.outbound.reactions.deliveries_record",  # outbound webhooks: the outbox rows, in this transaction
    ),
    "lead.note_added": (
        "leads.outbound.reactions.deliveries_record",  # outbound webhooks: the outbox rows, in this transaction
    ),
    "lead.task": (
        "leads.outbound.reactions.deliveries_record",  # outbound webhooks: the outbox rows, in this transaction
    ),
    "lead.call": (
        "leads.outbound.reactions.deliveries_record",  # outbound webhooks: the outbox rows, in this transaction
    ),
    "lead.enrolled": (
        "leads.outbound.reactions.deliveries_record",  # outbound webhooks: the outbox rows, in this transaction
    ),
    "lead.sequence_exited": (
        "leads.outbound.reactions.deliveries_record",  # outbound webhooks: the outbox rows, in this transaction
    ),
    "lead.email_sent": (
        "leads.outbound.reactions.deliveries_record",  # outbound webhooks: the outbox rows, in this transaction
    ),
    "lead.visitor_identified": (
        "leads.outbound.reactions.deliveries_record",  # outbound webhooks: the outbox rows, in this transaction
    ),
    "lead.qualified": (
        "leads.outbound.reactions.deliveries_record",  # outbound webhooks: the outbox rows, in this transaction
    ),
}


@cache
def handlers(name: str) -> tuple:
    """The functions that react to an event, imported once."""
    return tuple(import_string(path) for path in REACTIONS.get(name, ()))


def dispatch(event: Event) -> None:
    """Run the reactions to one event, in registration order."""
    for handler in handlers(event.name):
        handler(event)
