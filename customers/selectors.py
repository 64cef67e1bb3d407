"""Read queries for customers. Customers follow the same visibility idea as leads."""
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from leads.models import Interaction
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


def customer_filterset(*, user: User | AnonymousUser, data) -> CustomerFilter:
    """A CustomerFilter bound to `data` over the customers `user` may see."""
    return CustomerFilter(data, queryset=customer_visible_to(user).select_related("owner", "lead"))


def customer_list(*, user: User | AnonymousUser, filters=None) -> QuerySet[Customer]:
    """The visible customers matching `filters`; raises ValidationError with per-field messages."""
    filterset = customer_filterset(user=user, data=filters or {})
    if not filterset.is_valid():
        raise ValidationError({field: list(messages) for field, messages in filterset.errors.items()})
    return filterset.qs


def customer_timeline(*, customer: Customer) -> QuerySet[Interaction]:
    """The history of the lead the customer came from, newest first."""
    if customer.lead_id is None:
        return Interaction.objects.none()
    return Interaction.objects.filter(lead_id=customer.lead_id).select_related("actor").order_by("-occurred_at", "-id")
