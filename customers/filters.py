"""Customer FilterSet, shared by the HTML list and the API."""
import django_filters as filters

from leads.filters import SEARCH_MAX_LENGTH, NullsLastOrderingFilter, substring_search

from .models import Customer


class CustomerFilter(filters.FilterSet):
    search = filters.CharFilter(
        method=substring_search, max_length=SEARCH_MAX_LENGTH, help_text="Substring of the name, company, email or phone."
    )
    owner = filters.CharFilter(field_name="owner__username", help_text="The owner's username.")
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    ordering = NullsLastOrderingFilter(fields=(("created_at", "created_at"),), help_text="created_at or -created_at.")

    class Meta:
        model = Customer
        fields = ["search", "owner", "created_after", "created_before", "ordering"]
