"""The global search: one box over leads and customers, results grouped by kind (docs/reps.md).

It lives with customers because it reads both (customers import leads, never the reverse); the
leads' half, its term parsing and its ranking are `leads.search`. Each kind is ONE query, LIMITed,
over what the user may see: `visible_to(user)` for leads, `customer_visible_to(user)` for
customers (reps see their own). Two queries in all, whatever the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser, User

from leads.models import Lead
from leads.search import (
    CANDIDATES,
    GROUP_LIMIT,
    SearchTerms,
    exact_condition,
    ids_union,
    lead_search,
    ranked,
    search_terms_parse,
)

from .models import Customer
from .selectors import customer_visible_to

# What ranking and a result line read (the candidates' whole rows cost more CPU than the page).
RESULT_FIELDS = ("name", "company", "email", "phone", "job_title", "created_at", "owner__username")


@dataclass
class SearchResults:
    """What the search found, by kind (each list at most `limit` long; `*_more` when there is more)."""

    terms: SearchTerms
    leads: list[Lead] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    leads_more: bool = False
    customers_more: bool = False

    @property
    def found(self) -> bool:
        return bool(self.leads or self.customers)


def customer_search(*, user: User | AnonymousUser, terms: SearchTerms, limit: int = GROUP_LIMIT) -> list[Customer]:
    """The customers the user may see matching the terms, best first: at most limit + 1, in one query."""
    if terms.empty:
        return []
    visible = customer_visible_to(user).order_by()
    parts = []
    exact = exact_condition(terms, external_id=False)
    if exact is not None:
        parts.append(visible.filter(exact).values_list("pk", flat=True)[: limit + 1])
    if terms.text:
        parts.append(visible.filter(search_text__contains=terms.text).values_list("pk", flat=True)[:CANDIDATES])
    if not parts:
        return []
    rows = list(Customer.objects.filter(pk__in=ids_union(parts)).select_related("owner").only(*RESULT_FIELDS))

    def is_exact(customer: Customer) -> bool:
        return bool((terms.email and customer.email == terms.email) or (terms.phone and customer.phone == terms.phone))

    return ranked(rows, terms, exact=is_exact, name=lambda customer: customer.name, limit=limit)


def search_everything(*, user: User | AnonymousUser, term: str, limit: int = GROUP_LIMIT) -> SearchResults:
    """Leads and customers matching what the user typed, grouped by kind (two queries)."""
    terms = search_terms_parse(term=term)
    results = SearchResults(terms=terms)
    if terms.empty:
        return results
    leads = lead_search(user=user, terms=terms, limit=limit)
    customers = customer_search(user=user, terms=terms, limit=limit)
    results.leads, results.leads_more = leads[:limit], len(leads) > limit
    results.customers, results.customers_more = customers[:limit], len(customers) > limit
    return results
