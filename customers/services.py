"""Conversion: a qualified lead becomes a customer, or joins one that already exists (docs/conversion.md).

lead_convert runs in one transaction with the lead row locked (FOR UPDATE), so two people (or two
threads) converting the same lead at once make one customer: the second waits for the lock, then
finds the lead converted and returns the same customer. Lock order: the lead, then the customer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from leads import events, locks
from leads.enrichment.providers.email import email_kind, registered_domain
from leads.models import Lead
from leads.roles import is_manager, is_rep

from .models import Customer
from .selectors import customer_visible_to

logger = logging.getLogger(__name__)

# Messages users can act on (tests assert on them).
CONVERT_FORBIDDEN = "Only managers, or the rep who owns the lead, can convert it."
ACTION_INVALID = "Choose create, link or cancel."
CUSTOMER_REQUIRED = "Choose the customer to link this lead to."
CUSTOMER_UNKNOWN = "No such customer, or not one you can link to."
CUSTOMER_NOT_ALLOWED = "Link only to a customer you can see or one of the matches."
LEAD_IS_LOST = "A lost lead cannot be converted; reopen it first."
BULK_TOO_MANY = "Convert at most {limit} leads at a time."

ACTIONS = ("auto", "create", "link")
MAX_MATCHES = 10
BULK_LIMIT = 500


class Outcome:
    CREATED = "created"
    LINKED = "linked"
    ALREADY = "already"  # converted before: the existing customer
    NEEDS_CHOICE = "needs_choice"  # customers match: the user picks create, link or cancel


@dataclass
class ConversionResult:
    """What lead_convert did: the outcome, the customer (None when a choice is needed) and the matches."""

    outcome: str
    customer: Customer | None = None
    matches: list[Customer] = field(default_factory=list)
    lead: Lead | None = None

    @property
    def created(self) -> bool:
        return self.outcome == Outcome.CREATED


def company_domain(*, lead: Lead) -> str:
    """The lead's company domain: the registered domain of a corporate email, else of its website;
    never a free-mail or disposable domain ('' when there is none)."""
    email = (lead.email or "").strip().lower()
    if "@" in email:
        domain = email.rsplit("@", 1)[1].rstrip(".")
        registered = registered_domain(domain) if domain else ""
        if registered and email_kind(domain) == "corporate" and email_kind(registered) == "corporate":
            return registered
    website = (lead.website or "").strip().lower()
    if website:
        host = website.split("://", 1)[-1].split("/", 1)[0].split("@")[-1].split(":", 1)[0]
        registered = registered_domain(host) if host else ""
        if registered and email_kind(registered) == "corporate":
            return registered
    return ""


def customer_matches(*, lead: Lead, limit: int = MAX_MATCHES) -> list[Customer]:
    """Customers that look like this lead's company: the same email first, then the same company
    domain (free-mail domains never match), newest first. One query, on indexed columns."""
    email = (lead.email or "").strip().lower()
    domain = company_domain(lead=lead)
    condition = Q()
    if email:
        condition |= Q(email=email)
    if domain:
        condition |= Q(domain=domain)
    if not condition:
        return []
    rank = Case(When(email=email, then=Value(0)), default=Value(1), output_field=IntegerField()) if email else Value(1)
    return list(
        Customer.objects.filter(condition)
        .select_related("owner")
        .annotate(match_rank=rank)
        .order_by("match_rank", "-created_at", "-id")[:limit]
    )


def _clear_match(matches: list[Customer]) -> Customer | None:
    """The one customer a bulk conversion may link to without asking: the only email match, else
    the only domain match."""
    by_email = [c for c in matches if c.match_rank == 0]
    if len(by_email) == 1:
        return by_email[0]
    if not by_email and len(matches) == 1:
        return matches[0]
    return None


def lead_can_convert(*, lead: Lead, user: User) -> bool:
    """Managers convert any lead they see; reps their own leads; marketers never."""
    if not user.is_authenticated:
        return False
    return is_manager(user) or (is_rep(user) and lead.owner_id == user.pk)


def _customer_name(lead: Lead) -> str:
    return (lead.full_name or lead.company or lead.email or lead.phone or f"Lead #{lead.pk}")[:300]


def _customer_from(lead: Lead, *, by: User, domain: str) -> Customer:
    return Customer.objects.create(
        name=_customer_name(lead),
        company=lead.company,
        email=lead.email,
        phone=lead.phone,
        domain=domain,
        job_title=lead.job_title,
        website=lead.website,
        country=lead.country,
        city=lead.city,
        industry=lead.industry,
        attributes=dict(lead.attributes or {}),
        converted_by=by,
        owner=lead.owner if lead.owner_id else by,
        lead=lead,
    )


COPIED_FIELDS = ("company", "email", "phone", "job_title", "website", "country", "city", "industry")


def _fill_blanks(customer: Customer, lead: Lead, *, domain: str) -> None:
    """Linking keeps the customer's values and fills only its blanks from the lead."""
    changed = []
    for name in COPIED_FIELDS:
        if not getattr(customer, name) and getattr(lead, name):
            setattr(customer, name, getattr(lead, name))
            changed.append(name)
    if not customer.domain and domain:
        customer.domain = domain
        changed.append("domain")
    extra = {k: v for k, v in (lead.attributes or {}).items() if k not in (customer.attributes or {})}
    if extra:
        customer.attributes = {**(customer.attributes or {}), **extra}
        changed.append("attributes")
    if changed:
        customer.save(update_fields=[*changed, "updated_at"])


def _link_target(customer: Customer | int | None, *, by: User, matches: list[Customer]) -> Customer:
    if customer is None or customer == "":
        raise ValidationError({"customer": [CUSTOMER_REQUIRED]})
    customer_id = customer.pk if isinstance(customer, Customer) else customer
    if any(match.pk == customer_id for match in matches):
        return Customer.objects.select_for_update(of=("self",)).get(pk=customer_id)

    target = customer_visible_to(by).select_for_update(of=("self",)).filter(pk=customer_id).first()
    if target is None:
        raise ValidationError({"customer": [CUSTOMER_UNKNOWN]})
    return target


def lead_convert(
    *,
    lead: Lead,
    by: User,
    action: str = "auto",
    customer: Customer | int | None = None,
    pick_clear_match: bool = False,
) -> ConversionResult:
    """Convert a lead into a customer (new, or linked to a match) in one transaction; idempotent."""
    if action not in ACTIONS:
        raise ValidationError({"action": [ACTION_INVALID]})
    if not lead_can_convert(lead=lead, user=by):
        raise PermissionDenied(CONVERT_FORBIDDEN)
    with transaction.atomic():
        locked = locks.lead_lock(lead.pk, related=("owner",))
        if locked is None:
            raise Lead.DoesNotExist
        if locked.converted_customer_id is not None:
            existing = Customer.objects.select_related("owner").get(pk=locked.converted_customer_id)
            return ConversionResult(Outcome.ALREADY, existing, lead=locked)
        if not lead_can_convert(lead=locked, user=by):  # the owner changed meanwhile
            raise PermissionDenied(CONVERT_FORBIDDEN)
        if locked.status == Lead.Status.LOST:
            raise ValidationError({"status": [LEAD_IS_LOST]})
        domain = company_domain(lead=locked)
        matches = customer_matches(lead=locked) if action != "create" else []
        if action == "auto" and matches:
            clear = _clear_match(matches) if pick_clear_match else None
            if clear is None:
                return ConversionResult(Outcome.NEEDS_CHOICE, None, matches, lead=locked)
            action, customer = "link", clear
        if action == "link":
            target = _link_target(customer, by=by, matches=matches)
            _fill_blanks(target, locked, domain=domain)
            outcome = Outcome.LINKED
        else:
            target = _customer_from(locked, by=by, domain=domain)
            outcome = Outcome.CREATED
        now = timezone.now()
        Lead.objects.filter(pk=locked.pk).update(
            status=Lead.Status.CONVERTED,
            converted_customer=target,
            converted_at=now,
            converted_by=by,
            status_locked=True,
            updated_at=now,
        )
        previous = locked.status
        locked.status, locked.converted_customer, locked.converted_at, locked.converted_by = (
            Lead.Status.CONVERTED,
            target,
            now,
            by,
        )
        events.lead_converted(
            lead=locked,
            customer_id=target.pk,
            customer_name=target.name,
            action=outcome,
            previous=previous,
            by=by,
            occurred_at=now,
        )
    for name in ("status", "converted_customer", "converted_at", "converted_by"):
        setattr(lead, name, getattr(locked, name))
    return ConversionResult(outcome, target, matches, lead=locked)


@dataclass
class BulkConversionResult:
    """Counts of a bulk conversion, and the leads that need someone to choose (or were refused)."""

    created: int = 0
    linked: int = 0
    already: int = 0
    needs_choice: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)


def leads_bulk_convert(*, leads: QuerySet[Lead], by: User) -> BulkConversionResult:
    """Convert many visible leads, one transaction each: link a single clear match, create when
    none matches, and leave the ambiguous ones for a person to choose."""
    ids = list(leads.order_by("pk").values_list("pk", flat=True)[: BULK_LIMIT + 1])
    if len(ids) > BULK_LIMIT:
        raise ValidationError({"leads": [BULK_TOO_MANY.format(limit=BULK_LIMIT)]})
    result = BulkConversionResult()
    for lead in Lead.objects.filter(pk__in=ids).order_by("pk"):
        try:
            outcome = lead_convert(lead=lead, by=by, action="auto", pick_clear_match=True).outcome
        except (PermissionDenied, ValidationError):
            result.refused.append(lead.pk)
            continue
        if outcome == Outcome.NEEDS_CHOICE:
            result.needs_choice.append(lead.pk)
        else:
            setattr(result, outcome, getattr(result, outcome) + 1)
    return result
