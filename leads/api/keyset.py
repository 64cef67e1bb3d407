"""Keyset (cursor) paging for the lead API: `next` and `previous` never depend on a count.

A page number is an OFFSET: deep pages read every row before them, and a lead inserted while a
client walks the list shifts every later page by one (a lead seen twice, another never). A cursor
names the last row a page showed, `(value of the sort column, id)`, and the next page starts after
it through the sort column's index, at any depth and whatever was inserted meanwhile.

Every ordering the list offers on a column (`created_at`, `score`, `probability`, `updated_at`,
`last_activity_at`, ascending or descending) is one column with NULLs last and the id as the
tie-break in the column's direction (`leads.filters.NullsLastOrderingFilter`). For a nullable column a page that crosses from
the values into the NULLs reads the two parts with one query each, so each query keeps its index
range. An ordering on several columns, or on the computed `callable_now`, pages by number as
before (with one extra row deciding `next`, so that, too, never depends on the count). `?page=`
keeps working for clients that page by number.

Up to `leads.common.matches.ids_limit(page_size)` matches the list reads their ids and sort values first
and serves every page, cursor or not, from them by primary key (`small_rows`): a rep with one match
among thousands elsewhere never waits for a walk of the whole sort index.

`count` and `count_exact` stay in the answer as information only.
"""

from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass

from django.core import signing
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import F, OrderBy, Q, QuerySet
from rest_framework.exceptions import ValidationError as APIValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from ..common.matches import Matches, ids_limit, matches_read, rows_by_ordered_keys, rows_by_pk, sort_key
from ..common.pagination import FastPageNumberPagination
from ..models import RANKED_FIELDS, RANKED_PATHS, Lead, unranked

CURSOR_INVALID = "This cursor is not valid for this list: follow the `next` and `previous` links as given."
CURSOR_SALT = "leads.api.keyset"
KEYSET_FIELDS = frozenset({"created_at", "score", "probability", "updated_at", "last_activity_at"})


@dataclass(frozen=True)
class SortKey:
    """The list's one sort column and its direction; the id, in the same direction, breaks ties
    (as do the NULLs, which come last)."""

    field: str
    descending: bool

    @property
    def nullable(self) -> bool:
        return Lead._meta.get_field(self.field).null

    @property
    def column(self) -> str:
        """What the queries order and compare on: the field, or its copy in the rank table
        (the score and probability, whose indexes are there: leads/models/rank.py)."""
        return RANKED_PATHS.get(self.field, self.field)


@dataclass(frozen=True)
class Cursor:
    """A position between two rows: after (or, going back, before) the row `(value, pk)`."""

    value: object
    pk: int
    backwards: bool


def sort_key_of(queryset: QuerySet) -> SortKey | None:
    """The single-column ordering a keyset can follow, or None (several columns, an annotation)."""
    order = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    if len(order) != 2:
        return None
    first = order[0]
    if isinstance(first, str):
        field, descending = first.lstrip("-"), first.startswith("-")
    elif isinstance(first, OrderBy) and isinstance(first.expression, F):
        field, descending = first.expression.name, first.descending
    else:
        return None
    if _id_direction(order[1]) != descending:
        return None
    field = RANKED_FIELDS.get(field, field)
    return SortKey(field=field, descending=descending) if field in KEYSET_FIELDS else None


def _id_direction(term) -> bool | None:
    """True for the id descending, False ascending, None for any other term."""
    if isinstance(term, str):
        return term.startswith("-") if term.lstrip("-") in ("id", "pk") else None
    if isinstance(term, OrderBy) and isinstance(term.expression, F) and term.expression.name in ("id", "pk"):
        return term.descending
    return None


def cursor_encode(cursor: Cursor, key: SortKey) -> str:
    """An opaque, signed token; the value travels as the field's own string form."""
    value = (
        None if cursor.value is None else Lead._meta.get_field(key.field).value_to_string(_Row(key.field, cursor.value))
    )
    return signing.dumps([key.field, value, cursor.pk, cursor.backwards], salt=CURSOR_SALT, compress=True)


class _Row:
    """What Field.value_to_string reads a value from."""

    def __init__(self, field: str, value):
        setattr(self, field, value)


def cursor_decode(token: str, key: SortKey) -> Cursor:
    """The cursor in `token`, or a 400 naming the parameter."""
    try:
        field, raw, pk, backwards = signing.loads(token, salt=CURSOR_SALT)
        if field != key.field or not isinstance(pk, int) or not isinstance(backwards, bool):
            raise ValueError
        value = None if raw is None else Lead._meta.get_field(field).to_python(raw)
    except (signing.BadSignature, ValueError, TypeError, ValidationError, FieldDoesNotExist):
        raise APIValidationError({"cursor": [CURSOR_INVALID]}) from None
    return Cursor(value=value, pk=pk, backwards=backwards)


def _ordered(queryset: QuerySet, key: SortKey, *, backwards: bool) -> QuerySet:
    """`queryset` (rows with a value in the sort column: the NULLs are read apart) in the walking
    order, written as the column's index orders it. A nullable column's indexes
    (`last_activity_at DESC NULLS LAST, id DESC`, the rank table's probability) put NULLs last going
    down, so first going up; PostgreSQL's defaults are the reverse (DESC NULLS FIRST, ASC NULLS
    LAST), and with them no index gave the order: a page of 15,000 `gmbh` leads read and sorted
    them all instead of walking the index (60–80 ms by probability; bench/README.md, issue 22 §1).
    Without NULLs among the rows the order is the same. The id follows the walking direction, so
    going up the index read backwards gives the whole order."""
    descending = key.descending != backwards
    column = F(key.column)
    if key.nullable:
        column = column.desc(nulls_last=True) if descending else column.asc(nulls_first=True)
    else:
        column = column.desc() if descending else column.asc()
    return queryset.order_by(column, F("id").desc() if descending else F("id").asc())


def _beyond(key: SortKey, value, pk: int, *, backwards: bool) -> Q:
    """Rows with non-NULL values past `(value, pk)` in the walking direction, as an index range:
    `col <= v AND (col < v OR id < pk)` (the first half bounds the index scan); the id walks the
    same way as the column."""
    towards_smaller = key.descending != backwards
    op, op_eq = ("lt", "lte") if towards_smaller else ("gt", "gte")
    id_op = "lt" if towards_smaller else "gt"
    return Q(**{f"{key.column}__{op_eq}": value}) & (Q(**{f"{key.column}__{op}": value}) | Q(**{f"id__{id_op}": pk}))


def _first(part: QuerySet, key: SortKey, *, backwards: bool, limit: int) -> list:
    """The first `limit` rows of `part` in the walking order (only those read whole)."""
    return rows_by_ordered_keys(_ordered(part, key, backwards=backwards), 0, limit)


def _first_nulls(part: QuerySet, *, ascending_ids: bool, limit: int) -> list:
    """The first `limit` rows of `part` by id (the NULLs' part of a list), as _first reads them."""
    return rows_by_ordered_keys(part.order_by("id" if ascending_ids else "-id"), 0, limit)


def rows_after(queryset: QuerySet, key: SortKey, cursor: Cursor | None, limit: int) -> list:
    """Up to `limit` rows following `cursor` in the list's order (from the start without one)."""
    nulls_tail = key.nullable
    if cursor is None:
        values_part = queryset.filter(**{f"{key.column}__isnull": False}) if nulls_tail else queryset
        rows = _first(values_part, key, backwards=False, limit=limit)
        start_of_nulls = None
    elif cursor.value is None:
        rows, start_of_nulls = [], Q(id__lt=cursor.pk) if key.descending else Q(id__gt=cursor.pk)
    else:
        part = queryset.filter(_beyond(key, cursor.value, cursor.pk, backwards=False))
        rows = _first(part, key, backwards=False, limit=limit)
        start_of_nulls = None
    if nulls_tail and len(rows) < limit:
        nulls = queryset.filter(**{f"{key.column}__isnull": True})
        if start_of_nulls is not None:
            nulls = nulls.filter(start_of_nulls)
        rows += _first_nulls(nulls, ascending_ids=not key.descending, limit=limit - len(rows))
    return rows


def rows_before(queryset: QuerySet, key: SortKey, cursor: Cursor, limit: int) -> list:
    """Up to `limit` rows preceding `cursor`, in the list's order."""
    rows: list = []
    if cursor.value is None:
        before = Q(id__gt=cursor.pk) if key.descending else Q(id__lt=cursor.pk)
        nulls = queryset.filter(before, **{f"{key.column}__isnull": True})
        rows = _first_nulls(nulls, ascending_ids=key.descending, limit=limit)
        if len(rows) < limit:
            values_part = queryset.filter(**{f"{key.column}__isnull": False})
            rows += _first(values_part, key, backwards=True, limit=limit - len(rows))
    else:
        part = queryset.filter(_beyond(key, cursor.value, cursor.pk, backwards=True))
        rows = _first(part, key, backwards=True, limit=limit)
    rows.reverse()
    return rows


def small_rows(queryset: QuerySet, matches: Matches, cursor: Cursor | None, limit: int) -> list:
    """rows_after / rows_before for a small result: the keys are all there, sorted, so the cursor
    is a position among them and the rows are fetched by primary key."""
    key = sort_key(matches.terms)
    keys = matches.keys
    if cursor is None:
        chosen = keys[:limit]
    elif cursor.backwards:
        end = bisect_left(keys, key(matches.comparable((cursor.value, cursor.pk))), key=key)
        chosen = keys[max(0, end - limit) : end]
    else:
        start = bisect_right(keys, key(matches.comparable((cursor.value, cursor.pk))), key=key)
        chosen = keys[start : start + limit]
    return rows_by_pk(queryset, matches.pks(chosen))


class LeadCursorPagination(FastPageNumberPagination):
    """`count`, `count_exact`, `next`, `previous`, `results`: `next`/`previous` carry a cursor;
    `?page=` pages by number; `?page_size=` up to 500."""

    cursor_query_param = "cursor"

    def paginate_queryset(self, queryset, request, view=None):
        key = sort_key_of(queryset)
        self.key = key
        if key is None or request.query_params.get(self.page_query_param) is not None:
            self.keyset = False
            return super().paginate_queryset(queryset, request, view)
        self.keyset = True
        self.request = request
        size = self.get_page_size(request)
        token = request.query_params.get(self.cursor_query_param)
        cursor = cursor_decode(token, key) if token else None
        first = size if cursor is None else 0  # the first page: probed for, and only its keys sent back
        matches = matches_read(
            unranked(queryset), limit=ids_limit(size), first_page=first, head=first + 1 if first else 0
        )
        self.count_info = (matches.count, matches.exact)
        # The rows as the view reads them (the lead list: named tuples of the serializer's columns).
        page_rows = getattr(view, "page_rows", None)
        source = page_rows(queryset) if page_rows is not None else queryset
        if matches.small:
            rows = small_rows(source, matches, cursor, size + 1)
        elif cursor is not None and cursor.backwards:
            rows = rows_before(source, key, cursor, size + 1)
        else:
            rows = rows_after(source, key, cursor, size + 1)
        if cursor is not None and cursor.backwards:
            more_before, more_after = len(rows) > size, True
            rows = rows[-size:] if more_before else rows
        else:
            more_before, more_after = cursor is not None, len(rows) > size
            rows = rows[:size]
        self.rows = rows
        self.more_before = more_before and bool(rows)
        self.more_after = more_after and bool(rows)
        return rows

    def _link(self, row, *, backwards: bool) -> str:
        cursor = Cursor(value=getattr(row, self.key.field), pk=row.pk, backwards=backwards)
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, cursor_encode(cursor, self.key))

    def get_next_link(self):
        if not self.keyset:
            return super().get_next_link()
        return self._link(self.rows[-1], backwards=False) if self.more_after else None

    def get_previous_link(self):
        if not self.keyset:
            return super().get_previous_link()
        return self._link(self.rows[0], backwards=True) if self.more_before else None

    def get_paginated_response(self, data):
        if not self.keyset:
            return super().get_paginated_response(data)
        count, exact = self.count_info
        return Response(
            OrderedDict(
                [
                    ("count", count),
                    ("count_exact", exact),
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("results", data),
                ]
            )
        )

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        parameters.append(
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "An opaque position from a `next` or `previous` link (keyset paging).",
                "schema": {"type": "string"},
            }
        )
        return parameters
