"""Pagination that stays fast at a million rows.

A plain COUNT(*) over a large match costs more than the page itself. The count
here is exact up to COUNT_EXACT_LIMIT matches (or 40 per row of a larger page); beyond it,
PostgreSQL's planner estimate is used and the response says the count is approximate.
Up to that limit the paginator reads the matches' ids and ordering values instead of counting
them, and fetches the page by id (leads/common/matches.py: "ids first, then the page"), so a small
result never waits for an ordered walk of a large index.

The estimate is information only: it never decides whether there is a next page. When the count
is approximate, a page reads one row more than it shows, and `next` exists exactly when that row
does (a planner estimate on a freshly imported table once ended an API walk at 1,001 of 9,200 leads).
"""

import json
from collections import OrderedDict

from django.conf import settings
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from .matches import Matches, ids_limit, matches_read, rows_by_ordered_keys, rows_by_pk

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


class OpenEndedPage(Page):
    """A page that knows from one extra row whether another page follows, whatever the count says."""

    def __init__(self, object_list, number, paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more

    def end_index(self) -> int:
        return (self.number - 1) * self.paginator.per_page + len(self.object_list)


class FastCountPaginator(Paginator):
    """Django's Paginator with queryset_count() instead of a full COUNT(*); beyond the exact limit
    the pages are open-ended (see the module docstring)."""

    def validate_number(self, number):
        """Beyond an estimated count any page number from 1 on is valid until a page comes back empty."""
        if self.count_is_exact:
            return super().validate_number(number)
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from exc
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number

    def page(self, number):
        """The page; with an estimated count, read per_page + 1 rows to know whether a next page exists."""
        number = self.validate_number(number)
        if self.matches.small:
            bottom = (number - 1) * self.per_page
            keys = self.matches.keys[bottom : bottom + self.per_page]
            return self._get_page(rows_by_pk(self.object_list, self.matches.pks(keys)), number, self)
        if self.count_is_exact:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = (
            rows_by_ordered_keys(self.object_list, bottom, bottom + self.per_page + 1)
            if isinstance(self.object_list, QuerySet)
            else list(self.object_list[bottom : bottom + self.per_page + 1])
        )
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        return OpenEndedPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)

    # Columns the matches' read brings along for a small result (the lead list's status, for its
    # status tabs): set on the instance before the first page.
    matches_extra: tuple[str, ...] = ()
    # What the matches (their keys and count) are read from, when not the list itself: the same
    # rows without joins the keys do not need (the lead list's rank join: leads.models.unranked).
    matches_source: QuerySet | None = None
    # Whether the first page is the one wanted (matches_read's probe; set by the view).
    first_page_wanted = False

    @cached_property
    def matches(self) -> Matches:
        return matches_read(
            self.object_list if self.matches_source is None else self.matches_source,
            limit=ids_limit(self.per_page),
            extra=self.matches_extra,
            first_page=self.per_page if self.first_page_wanted else 0,
        )

    @cached_property
    def count(self) -> int:
        return self.matches.count

    @property
    def count_is_exact(self) -> bool:
        return self.matches.exact


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
            "description": "False when `count` is the database's estimate (more than 1,000 matches, or 40 per row of a "
            "larger page; or a first page found among the newest leads of a large table).",
        }
        return response
