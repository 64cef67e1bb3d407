"""Read queries for customers. Customers follow the same visibility idea as leads."""

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet

from leads.models import Interaction, Lead
from leads.roles import is_rep, sees_all_leads

from .filters import CustomerFilter
from .models import Customer


def customer_visible_to(user: User | AnonymousUser) -> QuerySet[Customer]:
    """All customers for managers and marketers, a rep's own customers, nothing otherwise."""
    customers = Customer.objects.all()
    if sees_all_leads(user):
        return customers
    if is_rep(user):
        return customers.filter(owner_id=user.pk)
    return customers.none()


def linked_leads_prefetch() -> Prefetch:
    """The leads converted into each customer (one query for a whole page of customers)."""
    return Prefetch(
        "leads", queryset=Lead.objects.select_related("owner").order_by("converted_at", "id"), to_attr="linked_leads"
    )


def customer_filterset(*, user: User | AnonymousUser, data) -> CustomerFilter:
    """A CustomerFilter bound to `data` over the customers `user` may see."""
    return CustomerFilter(
        data,
        queryset=customer_visible_to(user)
        .select_related("owner", "lead", "converted_by")
        .prefetch_related(linked_leads_prefetch()),
    )


def customer_list(*, user: User | AnonymousUser, filters=None) -> QuerySet[Customer]:
    """The visible customers matching `filters`; raises ValidationError with per-field messages."""
    filterset = customer_filterset(user=user, data=filters or {})
    if not filterset.is_valid():
        raise ValidationError({field: list(messages) for field, messages in filterset.errors.items()})
    return filterset.qs


def customer_get(*, user: User | AnonymousUser, pk) -> Customer:
    """One visible customer with its linked leads, or Customer.DoesNotExist (a 404 for the caller)."""
    return (
        customer_visible_to(user)
        .select_related("owner", "lead", "converted_by")
        .prefetch_related(linked_leads_prefetch())
        .get(pk=pk)
    )


def customer_lead_ids(*, customer: Customer) -> QuerySet:
    """The ids of every lead linked to the customer (converted into it, or the one it came from)."""
    return Lead.objects.filter(Q(converted_customer_id=customer.pk) | Q(pk=customer.lead_id)).values("pk")


def customer_timeline(*, customer: Customer) -> QuerySet[Interaction]:
    """The merged history of every lead linked to the customer, newest first."""
    return (
        Interaction.objects.filter(lead_id__in=customer_lead_ids(customer=customer))
        .select_related("actor", "lead")
        .order_by("-occurred_at", "-id")
    )
