"""Pagination that stays fast at a million rows.

A plain COUNT(*) over a large match costs more than the page itself. The count
here is exact up to COUNT_EXACT_LIMIT matches (counted over a LIMITed subquery,
so it never reads more than that many index entries); beyond it, PostgreSQL's
planner estimate is used and the response says the count is approximate.
"""
import json
from collections import OrderedDict

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

# Measured at 1,000,000 leads: counting up to 10,000 matches was most of the SQL time of a
# common search (50 of 54 ms); up to 1,000 it is a few milliseconds (bench/README.md).
COUNT_EXACT_LIMIT = getattr(settings, "COUNT_EXACT_LIMIT", 1_000)
MAX_PAGE_SIZE = 500


def queryset_count(queryset: QuerySet, *, exact_limit: int = COUNT_EXACT_LIMIT) -> tuple[int, bool]:
    """Count a queryset cheaply: (count, is_exact)."""
    if not isinstance(queryset, QuerySet):
        return len(queryset), True
    unordered = queryset.order_by()
    if connections[queryset.db].vendor != "postgresql":
        return unordered.count(), True
    capped = unordered[: exact_limit + 1].count()
    if capped <= exact_limit:
        return capped, True
    plan = json.loads(unordered.explain(format="json"))
    estimate = int(plan[0]["Plan"]["Plan Rows"])
    return max(estimate, capped), False


class FastCountPaginator(Paginator):
    """Django's Paginator with queryset_count() instead of a full COUNT(*)."""

    @cached_property
    def _counted(self) -> tuple[int, bool]:
        return queryset_count(self.object_list)

    @cached_property
    def count(self) -> int:
        return self._counted[0]

    @property
    def count_is_exact(self) -> bool:
        return self._counted[1]


class FastPageNumberPagination(PageNumberPagination):
    """`count`, `count_exact`, `next`, `previous`, `results`; `?page_size=` up to 500."""

    django_paginator_class = FastCountPaginator
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_paginated_response(self, data):
        return Response(
            OrderedDict(
                [
                    ("count", self.page.paginator.count),
                    ("count_exact", self.page.paginator.count_is_exact),
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("results", data),
                ]
            )
        )

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count_exact"] = {
            "type": "boolean",
            "description": "False when `count` is the database's estimate (more than 1,000 matches).",
        }
        return response
