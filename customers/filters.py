"""Customer FilterSet, shared by the HTML list and the API."""

import django_filters as filters
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from leads.filters import (
    SEARCH_MAX_LENGTH,
    HumanFilterSet,
    NullsLastOrderingFilter,
    UTCIsoDateTimeFilter,
    substring_search,
)

from .models import Customer


class CustomerFilter(HumanFilterSet):
    search = filters.CharFilter(
        method=substring_search,
        max_length=SEARCH_MAX_LENGTH,
        label=_("Search"),
        help_text="Substring of the name, company, email, phone or job title.",
    )
    owner = filters.CharFilter(
        field_name="owner__username", label=_("Owner (username)"), help_text="The owner's username."
    )
    country = filters.ChoiceFilter(choices=list(countries), label=_("Country"), help_text="ISO 3166 code, e.g. DE.")
    industry = filters.CharFilter(
        field_name="industry",
        lookup_expr="iexact",
        max_length=100,
        label=_("Industry"),
        help_text="The industry (any case).",
    )
    domain = filters.CharFilter(
        method="filter_domain", max_length=254, label=_("Domain"), help_text="The company domain."
    )
    created_after = UTCIsoDateTimeFilter(field_name="created_at", lookup_expr="gte", label=_("Customer since"))
    created_before = UTCIsoDateTimeFilter(field_name="created_at", lookup_expr="lt", label=_("Customer before"))
    ordering = NullsLastOrderingFilter(
        fields=(("created_at", "created_at"), ("name", "name"), ("updated_at", "updated_at")),
        field_labels={"created_at": _("Customer since"), "name": _("Name"), "updated_at": _("Updated")},
        label=_("Sort by"),
        help_text="created_at, name or updated_at; prefix - for descending.",
    )

    def filter_domain(self, queryset, name, value):
        """Domains are stored lower-case: an exact match on the lowered value uses the index."""
        return queryset.filter(domain=value.strip().lower())

    class Meta:
        model = Customer
        fields = ["search", "owner", "country", "industry", "domain", "created_after", "created_before", "ordering"]
