"""Working a customer like a lead (issue 19 §3, docs/reps.md): edit its fields, and
notes, tasks and logged calls through the leads' own services and events.

One timeline, no second one: a customer's history is the merged timeline of the leads converted
into it (selectors.customer_timeline). What a person does on the customer's page is written on
its *primary lead* — the lead it was created from, else the first lead converted into it — by
the same event functions as on the lead page (`events.note_added`, `workspace.followups.task_create`,
`followups.call_log`, `followups.task_complete`), so it shows on the customer's timeline and on
that lead's, reactions (webhooks, automations, notifications) hear it as they hear the lead page,
and nothing new builds an Interaction. A customer with no lead at all (made by hand through the
API) can be edited but has no timeline to write on.

Who may: everyone who sees the customer reads it (customer_visible_to: reps their own, managers
and marketers all); managers and reps (permissions.can_write) change the customers they see;
marketers only read, as on leads. Only managers give a customer to another owner.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from leads import events
from leads.common.normalize import normalize_email, normalize_phone
from leads.models import Interaction, Lead, Task
from leads.permissions import can_write
from leads.roles import is_manager

from .models import Customer
from .selectors import customer_lead_ids

# Messages users can act on (tests assert on them).
NO_PRIMARY_LEAD = "This customer has no lead to keep its history on; notes, tasks and calls need one."
NAME_REQUIRED = "Give the customer a name."

EDITABLE_FIELDS = ("name", "company", "email", "phone", "job_title", "website", "country", "city", "industry", "domain")
OPEN_TASKS_LIMIT = 50


def customer_can_write(*, user: User | AnonymousUser) -> bool:
    """Managers and reps change the customers they see (reps: their own); marketers only read."""
    return can_write(user)


def customer_primary_lead(*, customer: Customer, linked: list[Lead] | None = None) -> Lead | None:
    """The lead a customer's notes, tasks and calls are written on: the one it came from, else the
    first converted into it (from `linked`, the page's prefetched leads, when given)."""
    if customer.lead_id:
        return customer.lead
    if linked is not None:
        return linked[0] if linked else None
    return Lead.objects.filter(converted_customer_id=customer.pk).order_by("converted_at", "id").first()


def customer_open_tasks(*, customer: Customer) -> QuerySet[Task]:
    """The open tasks on every lead linked to the customer, the soonest due first."""
    return (
        Task.objects.filter(lead_id__in=customer_lead_ids(customer=customer), done_at__isnull=True)
        .select_related("assigned_to", "lead")
        .order_by("due_at", "id")
    )


def customer_task_get(*, customer: Customer, pk: int) -> Task:
    """One task on a lead linked to the customer (Task.DoesNotExist otherwise)."""
    return Task.objects.select_related("lead").get(pk=pk, lead_id__in=customer_lead_ids(customer=customer))


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned = dict(data)
    if "name" in cleaned and not (cleaned["name"] or "").strip():
        errors["name"] = [NAME_REQUIRED]
    if "email" in cleaned:
        cleaned["email"] = normalize_email(cleaned["email"])
    if "phone" in cleaned:
        try:
            cleaned["phone"] = normalize_phone(cleaned["phone"])
        except ValueError as exc:
            errors["phone"] = [str(exc)]
    if "domain" in cleaned:
        cleaned["domain"] = (cleaned["domain"] or "").strip().lower()
    if errors:
        raise ValidationError(errors)
    return cleaned


def _shown(value: Any) -> Any:
    if isinstance(value, User):
        return value.username
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


@transaction.atomic
def customer_update(*, customer: Customer, data: dict[str, Any], by: User) -> Customer:
    """Change a customer's fields (the owner: managers only); the change is noted on the timeline
    of its primary lead ("Details edited", the customer's fields)."""
    if "owner" in data and not is_manager(by):
        raise ValidationError({"owner": ["Only managers give a customer to someone else."]})
    data = _clean(data)
    locked = Customer.objects.select_for_update(of=("self",)).get(pk=customer.pk)
    changed = {name: value for name, value in data.items() if getattr(locked, name) != value}
    if not changed:
        return customer
    fields = {name: {"from": _shown(getattr(locked, name)), "to": _shown(value)} for name, value in changed.items()}
    for name, value in changed.items():
        setattr(customer, name, value)
    customer.save(update_fields=[*changed, "updated_at"])
    primary = customer_primary_lead(customer=customer)
    if primary is not None:
        # The customer's own record: a timeline entry of the lead's "Details edited" kind, marked as
        # the customer's, without the lead.updated event (the lead itself did not change).
        events.activity_recorded(
            lead=primary,
            kind=Interaction.Kind.UPDATE,
            actor=by,
            subject=f"Customer details edited: {customer.name}",
            data={"fields": fields, "customer": customer.pk},
        )
    return customer


def customer_note_add(*, customer: Customer, by: User, kind: str, subject: str, body: str) -> Interaction:
    """A note (or a manual call/email entry) on the customer's timeline, through events.note_added."""
    primary = customer_primary_lead(customer=customer)
    if primary is None:
        raise ValidationError({"body": [NO_PRIMARY_LEAD]})
    return events.note_added(lead=primary, kind=kind, by=by, subject=subject, body=body)
