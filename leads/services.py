"""Write services shared by views, the API, admin, commands and tasks."""
import logging
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from . import jobs
from .models import Interaction, Lead
from .validation import EMAIL_TAKEN, EXTERNAL_ID_TAKEN

logger = logging.getLogger(__name__)

# Kinds that are the lead doing something (or us talking to it): they move last_activity_at.
ACTIVITY_KINDS = frozenset(
    {
        Interaction.Kind.FORM_SUBMIT, Interaction.Kind.EMAIL_IN, Interaction.Kind.EMAIL_OUT,
        Interaction.Kind.CHAT, Interaction.Kind.PAGE_VIEW, Interaction.Kind.CALL_IN,
        Interaction.Kind.CALL_OUT, Interaction.Kind.NOTE,
    }
)
# Kinds that scoring rules count: a new one rescores the lead (debounced).
SCORED_KINDS = frozenset(
    {
        Interaction.Kind.PAGE_VIEW, Interaction.Kind.FORM_SUBMIT, Interaction.Kind.EMAIL_IN,
        Interaction.Kind.EMAIL_OPENED, Interaction.Kind.EMAIL_CLICKED, Interaction.Kind.CALL_IN,
        Interaction.Kind.CALL_OUT, Interaction.Kind.UNSUBSCRIBE,
    }
)
# Fields people type: an edit of these is one "Details edited" timeline entry.
TRACKED_FIELDS = (
    "first_name", "last_name", "email", "phone", "company", "job_title", "website", "country", "region",
    "city", "postal_code", "time_zone", "industry", "company_size", "source", "source_detail",
    "external_id", "email_opt_in", "do_not_contact", "attributes", "team",
)


class DuplicateLeadError(Exception):
    """Another lead already holds this unique value (email or external id)."""

    def __init__(self, *, field: str, message: str, existing_id: int | None):
        super().__init__(message)
        self.field = field
        self.message = message
        self.existing_id = existing_id


def interaction_record(
    *,
    lead: Lead,
    kind: str,
    actor: User | None = None,
    channel: str = "",
    subject: str = "",
    body: str = "",
    data: dict | None = None,
    occurred_at=None,
    counted: bool = False,
) -> Interaction:
    """Add one entry to a lead's timeline (and move last_activity_at for activity kinds).
    `counted`: the caller already counted it in the lead's engagement summary."""
    occurred_at = occurred_at or timezone.now()
    interaction = Interaction.objects.create(
        lead=lead, kind=kind, actor=actor, channel=channel, subject=subject[:300], body=body,
        data=data or {}, occurred_at=occurred_at,
    )
    if kind in ACTIVITY_KINDS and (lead.last_activity_at is None or lead.last_activity_at < occurred_at):
        Lead.objects.filter(pk=lead.pk).filter(
            Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=occurred_at)
        ).update(last_activity_at=occurred_at)
        lead.last_activity_at = max(filter(None, [lead.last_activity_at, occurred_at]))
    if actor is not None and lead.owner_id == actor.pk and lead.first_contacted_at is None:
        from .distribution.service import lead_first_contact  # speed to lead: the owner's first call/email/note

        lead_first_contact(lead=lead, kind=kind, at=occurred_at)
    if kind == Interaction.Kind.FORM_SUBMIT and not counted:
        from .engagement import engagement_add

        engagement_add(lead_id=lead.pk, day=timezone.localdate(occurred_at), form_submits=1)
    if kind in SCORED_KINDS:
        lead_rescore_soon(lead_id=lead.pk)
    return interaction


def _duplicate_from(exc: IntegrityError, *, email: str, external_id: str) -> DuplicateLeadError | None:
    text = str(exc)
    if "lead_email_unique" in text or ("leads_lead.email" in text and "UNIQUE" in text):
        existing = Lead.objects.filter(email=email).values_list("pk", flat=True).first()
        return DuplicateLeadError(field="email", message=EMAIL_TAKEN, existing_id=existing)
    if "lead_external_id_unique" in text or ("leads_lead.external_id" in text and "UNIQUE" in text):
        existing = Lead.objects.filter(external_id=external_id).values_list("pk", flat=True).first()
        return DuplicateLeadError(field="external_id", message=EXTERNAL_ID_TAKEN, existing_id=existing)
    return None


def _save_unique(lead: Lead, **save_kwargs) -> None:
    """Save inside a savepoint; a unique-constraint clash becomes DuplicateLeadError."""
    try:
        with transaction.atomic():
            lead.save(**save_kwargs)
    except IntegrityError as exc:
        duplicate = _duplicate_from(exc, email=lead.email, external_id=lead.external_id)
        if duplicate is None:
            raise
        raise duplicate from exc


RESCORE_DEBOUNCE_SECONDS = 5
PROCESS_LEAD_TASK = "leads.tasks.process_lead_task"


def lead_rescore_soon(*, lead_id: int) -> None:
    """Rescore a lead a few seconds after an event; the events in between fold into that one run."""
    jobs.enqueue_debounced(f"rescore:{lead_id}", "leads.tasks.rescore_leads_task", [lead_id], seconds=RESCORE_DEBOUNCE_SECONDS)


def lead_enqueue_processing(*, lead_id: int) -> None:
    """Run the processing pipeline for a lead once the current transaction commits."""

    jobs.enqueue(PROCESS_LEAD_TASK, lead_id)


@transaction.atomic
def lead_create(*, data: dict[str, Any], by: User | None) -> Lead:
    """Create a lead from validated data, record it on the timeline and start processing."""
    lead = Lead(**data)
    _save_unique(lead)
    interaction_record(lead=lead, kind=Interaction.Kind.CREATED, actor=by, channel=lead.source)
    if lead.owner_id:
        interaction_record(
            lead=lead, kind=Interaction.Kind.ASSIGNMENT, actor=by,
            data={"from": None, "to": lead.owner.username, "reason": "set on creation"},
        )
    lead_enqueue_processing(lead_id=lead.pk)
    return lead


def _display(value: Any) -> Any:
    if isinstance(value, User):
        return value.username
    if hasattr(value, "pk"):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool, dict, list)):
        return value
    return str(value)


@transaction.atomic
def lead_update(*, lead: Lead, data: dict[str, Any], by: User | None) -> Lead:
    """Apply validated changes to a lead, leaving a timeline entry for each kind of change."""
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    before = {name: getattr(locked, name) for name in data}
    changed = [name for name, value in data.items() if before[name] != value]
    for name, value in data.items():
        setattr(lead, name, value)
    if not changed:
        return lead
    # A person's choice of status or grade is kept: scoring will not recompute it away.
    if "status" in changed and by is not None:
        lead.status_locked = True
        changed.append("status_locked")
    if "grade" in changed and by is not None:
        lead.grade_locked = True
        changed.append("grade_locked")
    _save_unique(lead, update_fields=[*changed, "updated_at"])
    lead_rescore_soon(lead_id=lead.pk)
    if "status" in changed:
        interaction_record(
            lead=lead, kind=Interaction.Kind.STATUS_CHANGE, actor=by,
            data={"from": before["status"], "to": lead.status, "lost_reason": lead.lost_reason},
        )
        _sequences_exit_on_status(lead_ids=[lead.pk], status=lead.status, by=by)
    if "owner" in changed:
        interaction_record(
            lead=lead, kind=Interaction.Kind.ASSIGNMENT, actor=by,
            data={"from": _display(before["owner"]), "to": _display(lead.owner), "reason": "manual"},
        )
    edited = [name for name in changed if name in TRACKED_FIELDS]
    if edited:
        interaction_record(
            lead=lead, kind=Interaction.Kind.UPDATE, actor=by,
            data={"fields": {name: {"from": _display(before[name]), "to": _display(getattr(lead, name))} for name in edited}},
        )
    return lead


@transaction.atomic
def lead_bulk_assign(*, leads: QuerySet[Lead], owner: User | None, by: User | None) -> int:
    """Give many leads to one owner in set-based SQL, one timeline entry per changed lead."""
    now = timezone.now()
    changing = leads.exclude(owner=owner) if owner else leads.exclude(owner__isnull=True)
    rows = list(changing.select_for_update(of=("self",)).values_list("pk", "owner__username"))
    if not rows:
        return 0
    Lead.objects.filter(pk__in=[pk for pk, _ in rows]).update(owner=owner, updated_at=now)
    Interaction.objects.bulk_create(
        Interaction(
            lead_id=pk, kind=Interaction.Kind.ASSIGNMENT, actor=by, occurred_at=now,
            data={"from": previous, "to": owner.username if owner else None, "reason": "bulk assign"},
        )
        for pk, previous in rows
    )
    return len(rows)


@transaction.atomic
def lead_bulk_set_status(*, leads: QuerySet[Lead], status: str, lost_reason: str = "", by: User | None) -> int:
    """Move many leads to one status in set-based SQL, one timeline entry per changed lead."""
    from django.core.exceptions import ValidationError

    from .validation import LOST_REASON_REQUIRED

    if status == Lead.Status.LOST and not lost_reason.strip():
        raise ValidationError({"lost_reason": [LOST_REASON_REQUIRED]})
    now = timezone.now()
    rows = list(leads.exclude(status=status).select_for_update().values_list("pk", "status"))
    if not rows:
        return 0
    Lead.objects.filter(pk__in=[pk for pk, _ in rows]).update(
        status=status, lost_reason=lost_reason if status == Lead.Status.LOST else "", updated_at=now,
        status_locked=True,  # set by a person: scoring keeps it
    )
    Interaction.objects.bulk_create(
        Interaction(
            lead_id=pk, kind=Interaction.Kind.STATUS_CHANGE, actor=by, occurred_at=now,
            data={"from": previous, "to": status, "lost_reason": lost_reason, "reason": "bulk"},
        )
        for pk, previous in rows
    )
    _sequences_exit_on_status(lead_ids=[pk for pk, _ in rows], status=status, by=by)
    return len(rows)


def _sequences_exit_on_status(*, lead_ids: list[int], status: str, by: User | None) -> None:
    """Converted, lost or qualified (the hand-off to sales): the leads leave their nurture sequences."""
    from .nurturing.sequences import STATUS_EXIT_REASONS, leads_enrollments_exit

    if status in STATUS_EXIT_REASONS:
        leads_enrollments_exit(lead_ids=lead_ids, reason=STATUS_EXIT_REASONS[status], by=by)
