"""The event spine: one function per thing that happens to a lead.

Each function writes the lead's timeline entry (an Interaction) with the one payload shape of its
kind, then publishes an Event. Who reacts to which event (the next pipeline stage, nurturing exits,
first contact, engagement counters, customers, automations and outbound webhooks) is written
once, in `leads.reactions`. Nothing else builds an Interaction, and a stage never calls another
stage to tell it something happened: it calls the event function here.

Reactions run inside the caller's transaction; those that leave it (a task, an email) go through
`leads.jobs`/on_commit themselves, so a rolled-back change publishes nothing outward.

The functions live in modules by area (base, records, captures: the batch capture, scoring: the
rescore's set-based entries, stages,
automation, email: the rep's own email); callers use this
package: `from leads import events; events.lead_assigned(...)`.
"""

from .automation import AutomationRunRecord, automation_ran, automations_ran
from .base import ACTIVITY_KINDS, SCORED_KINDS, SUBJECT_MAX, Event, Kind, Name, publish
from .captures import CapturedInput, leads_captured_many
from .email import (
    rep_email_clicked,
    rep_email_failed,
    rep_email_logged,
    rep_email_opened,
    rep_email_scheduled,
    rep_email_sent,
)
from .records import (
    activity_recorded,
    call_ended,
    call_logged,
    lead_captured_entry,
    lead_captured_new,
    lead_created,
    lead_merged,
    lead_status_changed,
    lead_updated,
    leads_qualified_by_score,
    leads_status_changed,
    leads_updated,
    note_added,
    task_recorded,
    tasks_recorded,
)
from .scoring import qualified_by_score_log, score_changes_log
from .stages import (
    Assignment,
    SentEmail,
    email_bounced,
    email_clicked,
    email_replied,
    emails_sent,
    lead_assigned,
    lead_converted,
    leads_assigned,
    leads_enriched,
    leads_enrolled,
    leads_score_changed,
    leads_sla_breached,
    page_views_identified,
    sequences_exited,
)

__all__ = [
    "ACTIVITY_KINDS",
    "SCORED_KINDS",
    "SUBJECT_MAX",
    "Assignment",
    "AutomationRunRecord",
    "Event",
    "Kind",
    "Name",
    "CapturedInput",
    "SentEmail",
    "activity_recorded",
    "automation_ran",
    "automations_ran",
    "call_ended",
    "call_logged",
    "email_bounced",
    "email_clicked",
    "email_replied",
    "emails_sent",
    "lead_assigned",
    "lead_captured_entry",
    "lead_captured_new",
    "lead_converted",
    "lead_created",
    "lead_merged",
    "lead_status_changed",
    "lead_updated",
    "leads_assigned",
    "leads_captured_many",
    "leads_enriched",
    "leads_enrolled",
    "leads_qualified_by_score",
    "leads_score_changed",
    "leads_sla_breached",
    "leads_status_changed",
    "leads_updated",
    "note_added",
    "page_views_identified",
    "publish",
    "sequences_exited",
    "rep_email_clicked",
    "rep_email_failed",
    "rep_email_logged",
    "rep_email_opened",
    "rep_email_scheduled",
    "rep_email_sent",
    "task_recorded",
    "tasks_recorded",
    "score_changes_log",
    "qualified_by_score_log",
]
