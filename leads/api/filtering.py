"""The filter backend every list endpoint shares (leads and customers alike)."""

from django_filters.rest_framework import DjangoFilterBackend


class SelectorFilterBackend(DjangoFilterBackend):
    """Documents the FilterSet in the schema; the selector has already applied it."""

    def filter_queryset(self, request, queryset, view):
        return queryset
