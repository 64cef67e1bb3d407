"""Ids first, then the page: a list's small results never depend on the planner's guess.

A list's page query is `… WHERE visible AND filters ORDER BY column DESC, id DESC LIMIT 26`. When
many rows match, PostgreSQL walks the ordering column's index and stops after 26 visible matches: a
few milliseconds. When few match — a rep whose search finds 1 of their own leads among 15,000
matches elsewhere (bench/README.md, "point 3") — the same walk reads the whole index before it
gives up: one to two seconds, chosen or not depending on ANALYZE's random sample.

So a list first reads the primary key and the ordering values of at most `limit + 1` matches,
unordered (a bounded query the planner answers with bitmaps of the filters' indexes, the same
shape as the capped count it replaces), and counts them in the same statement (`keys_if_small`):
the rows travel to Python only when there are `limit` or fewer. With `limit` or fewer, the count is exact, the matches are
sorted by the list's own ordering (NULLs last, as `leads.filters.NullsLastOrderingFilter`
says, the id breaking ties in the column's direction; by PostgreSQL in the same statement, by Python on SQLite) and the page
is fetched by primary key: no walk, whatever the statistics say. With more, the count is the planner's estimate and the page is the ordered
`LIMIT` query as before: with more than `limit` visible matches the walk finds its rows early.

The first page in the default order (newest first) is looked for among the newest PROBE_ROWS
rows of the table before the matches are read (`walk_probe`, in the same statement): when it is
there, the ordered walk finds it there too, and the matches are not read; the count is then the
planner's estimate.

`limit` grows with the page size (`ROWS_READ_PER_ROW_SHOWN` matches per row shown), so a walk is
only ever taken when at least that many matches lie behind each row it must find: a page of 500
walks only past 20,000 matches.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.db import connections
from django.db.models import BigIntegerField, F, Func, Lookup, OrderBy, QuerySet
from django.db.models.query import ModelIterable

from .pgloaders import uses_c_loader

COUNT_EXACT_LIMIT = getattr(settings, "COUNT_EXACT_LIMIT", 1_000)
ROWS_READ_PER_ROW_SHOWN = 40
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)


def ids_limit(page_size: int) -> int:
    """How many matches are read by id before a list walks its ordering index instead."""
    return max(COUNT_EXACT_LIMIT, ROWS_READ_PER_ROW_SHOWN * page_size)


@dataclass(frozen=True)
class Term:
    """One ORDER BY term: a column (or annotation) name and its direction. NULLs sort last."""

    name: str
    descending: bool


def ordering_of(queryset: QuerySet) -> list[Term] | None:
    """The queryset's ordering as plain terms (`-id` appended when it is not there), or None when
    it holds something this module does not sort (an expression other than a column or annotation)."""
    order = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    # An ordering on a column's copy in another table (the lead's score in its rank row) sorts
    # the same values as the column itself: the keys are read from the column.
    copies = {path: name for name, path in getattr(queryset.model, "RANKED_PATHS", {}).items()}
    terms = []
    for item in order:
        if isinstance(item, str):
            name = item.lstrip("-")
            name = copies.get(name, name)
            if item == "?" or "__" in name:
                return None
            terms.append(Term(name=name, descending=item.startswith("-")))
        elif isinstance(item, OrderBy) and isinstance(item.expression, F):
            name = copies.get(item.expression.name, item.expression.name)
            if "__" in name:
                return None
            terms.append(Term(name=name, descending=item.descending))
        else:
            return None
    pk_name = queryset.model._meta.pk.name
    terms = [Term(name=pk_name if t.name == "pk" else t.name, descending=t.descending) for t in terms]
    if not all(_sorts_like_the_database(queryset, t.name) for t in terms):
        return None
    if not any(t.name == pk_name for t in terms):
        terms.append(Term(name=pk_name, descending=True))
    return terms


# Column types whose order Python and PostgreSQL agree on (text is left out: collations differ).
SORTABLE_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
        "DecimalField",
        "FloatField",
        "DateTimeField",
        "DateField",
        "BooleanField",
    }
)


def _sorts_like_the_database(queryset: QuerySet, name: str) -> bool:
    annotation = queryset.query.annotations.get(name)
    if annotation is not None:
        field = getattr(annotation, "output_field", None)
    else:
        try:
            field = queryset.model._meta.get_field(name)
        except FieldDoesNotExist:
            return False
    return field is not None and not field.is_relation and field.get_internal_type() in SORTABLE_TYPES


def _compare(a: tuple, b: tuple, terms: tuple[Term, ...]) -> int:
    for term, x, y in zip(terms, a, b):
        if x == y:
            continue
        if x is None:
            return 1  # NULLs last, in both directions
        if y is None:
            return -1
        smaller = -1 if x < y else 1
        return -smaller if term.descending else smaller
    return 0


def sort_in_place(keys: list[tuple], terms: list[Term]) -> None:
    """Sort value tuples as the database orders the rows: one stable pass per term, last term
    first, NULLs last in both directions (C-level tuple keys: 15,000 keys in a few milliseconds,
    where a comparison function took ~100 ms)."""
    for at in reversed(range(len(terms))):
        if terms[at].descending:
            keys.sort(key=lambda key: (key[at] is not None, key[at]), reverse=True)
        else:
            keys.sort(key=lambda key: (key[at] is None, key[at]))


def sort_key(terms: list[Term]):
    """A key that orders value tuples (one value per term) as the database orders the rows."""
    frozen = tuple(terms)
    return functools.cmp_to_key(lambda a, b: _compare(a, b, frozen))


@dataclass(frozen=True)
class Matches:
    """What a list found: `count` (exact or the planner's estimate) and, for a small result, every
    match's ordering values in the list's order (`keys`, one of them the primary key, at `pk_at`)."""

    count: int
    exact: bool
    terms: list[Term] | None = None
    keys: list[tuple] | None = None
    pk_at: int = 0
    # Positions of datetime terms read as microseconds since the epoch (see EpochMicroseconds).
    epoch_at: frozenset[int] = frozenset()
    # Columns read beside the terms, after them in each key (`extra` of matches_read).
    extra: tuple[str, ...] = ()

    @property
    def small(self) -> bool:
        return self.keys is not None

    def comparable(self, values: tuple) -> tuple:
        """A tuple of ordering values (a cursor's) in the form the keys hold, to compare with them."""
        return tuple(
            micros(value) if at in self.epoch_at and isinstance(value, datetime) else value
            for at, value in enumerate(values)
        )

    def pks(self, keys: list[tuple]) -> list:
        """The primary keys of these keys (the pk is always one of the terms)."""
        return [key[self.pk_at] for key in keys]

    def column(self, name: str) -> list:
        """Every match's value of one of the `extra` columns (a small result only)."""
        at = len(self.terms) + self.extra.index(name)
        return [key[at] for key in self.keys]


def _estimate(queryset: QuerySet) -> int:
    plan = json.loads(queryset.explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def matches_read(
    queryset: QuerySet,
    *,
    limit: int = COUNT_EXACT_LIMIT,
    extra: tuple[str, ...] = (),
    first_page: int = 0,
    head: int = 0,
) -> Matches:
    """One bounded, unordered query: the keys of at most `limit` matches, sorted; past the
    limit (one more query) the planner's estimate and no keys (see the module docstring).
    `extra`: columns read beside the ordering values (the lead list's status, for its tabs:
    `Matches.column`); the comparisons and sorts look at the terms only. `first_page`: the rows
    of the list's first page, when that is the page wanted (see `walk_probe`). `head`: only the
    first `head` keys are wanted (the API's first page: its rows and one more), so PostgreSQL sends
    those and keeps the count: 15,000 keys of a 500-lead page were ~8 ms of fetching in Python."""
    if not isinstance(queryset, QuerySet):
        return Matches(count=len(queryset), exact=True)
    unordered = queryset.order_by()
    plain = queryset._iterable_class is ModelIterable and not queryset.query.distinct and not queryset.query.combinator
    terms = ordering_of(queryset) if plain else None
    postgres = connections[queryset.db].vendor == "postgresql"
    if terms is None:
        if not postgres:
            return Matches(count=unordered.count(), exact=True)
        capped = unordered[: limit + 1].count()
        return (
            Matches(count=capped, exact=True)
            if capped <= limit
            else Matches(count=max(_estimate(unordered), capped), exact=False)
        )
    # Datetimes as integers when every key comes to Python and psycopg parses times in Python: 15,000
    # timestamps parsed so were ~40 ms of a 500-row page. Otherwise the times themselves: PostgreSQL's
    # EXTRACT is numeric arithmetic, 7 ms for those 15,000 (bench/README.md, issue 22 §1).
    slow_times = postgres and not head and not uses_c_loader(connections[queryset.db])
    epoch_at = frozenset(at for at, term in enumerate(terms) if slow_times and _is_datetime(queryset, term.name))
    epochs = {f"matches_key_{at}": EpochMicroseconds(F(terms[at].name)) for at in epoch_at}
    values = unordered.annotate(**epochs).values_list(
        *[f"matches_key_{at}" if at in epoch_at else t.name for at, t in enumerate(terms)], *extra
    )[: limit + 1]
    if not postgres:
        keys = list(values)
        if len(keys) > limit:
            return Matches(count=unordered.count(), exact=True)
        sort_in_place(keys, terms)
        capped = len(keys)
    else:
        probe = walk_probe(unordered, terms, wanted=first_page + 1) if first_page else None
        capped, keys = keys_if_small(values, limit=limit, terms=terms, probe=probe, head=head)
        if keys is None:
            # The estimate of the rows, not of their 75 columns and joins: compiled and planned faster.
            return Matches(count=max(_estimate(unordered.values("pk")), capped), exact=False)
    pk_at = [t.name for t in terms].index(queryset.model._meta.pk.name)
    return Matches(count=capped, exact=True, terms=terms, keys=keys, pk_at=pk_at, epoch_at=epoch_at, extra=tuple(extra))


class EpochMicroseconds(Func):
    """A timestamp as whole microseconds since 1970 (PostgreSQL's EXTRACT is exact numeric): an
    integer sorts as the timestamp does and costs nothing to read."""

    template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) * 1000000 AS BIGINT)"
    output_field = BigIntegerField()

    def get_db_converters(self, connection):
        return []  # a BIGINT arrives as a Python int: Django's int() per row would change nothing


def micros(value: datetime) -> int:
    """A datetime as EpochMicroseconds reads it (exact integer arithmetic)."""
    return (value - EPOCH) // ONE_MICROSECOND


def _is_datetime(queryset: QuerySet, name: str) -> bool:
    if name in queryset.query.annotations:
        return False
    try:
        return queryset.model._meta.get_field(name).get_internal_type() == "DateTimeField"
    except FieldDoesNotExist:
        return False


# The first page of a list in the order of a walkable index (the default, newest first) is looked
# for among the first PROBE_ROWS rows of that index before the matches are read: when it is there,
# the ordered page query finds it there too, within as many rows, whatever the statistics say, and
# reading the matches (the bitmaps of a common term and of a rep's book: 35 ms for a rep's "son" at
# a million leads) only to learn that there are more than 1,000 is skipped. The count is then the
# planner's estimate, as for any large result ("about …"). Only in a table of PROBE_MIN_TABLE rows
# or more (its statistics' reltuples): a page found among its newest PROBE_ROWS then says, unless
# the matches crowd into the newest rows, that there are more than ids_limit(page) of them; in a
# smaller table the walk would see most of it and say nothing about the count.
PROBE_ROWS = 4_000
PROBE_MIN_TABLE = 200_000
# (column, descending) of an ordering's first term that an index of the whole table walks, with
# the primary key after it: lead_created_idx (created_at DESC, id DESC).
PROBE_ORDERINGS = frozenset({("created_at", True)})


def walk_probe(unordered: QuerySet, terms: list[Term], *, wanted: int) -> tuple[str, list, int] | None:
    """SQL counting (up to `wanted`) the matches among the first PROBE_ROWS rows of the ordering,
    for keys_if_small; None when the ordering is not walked by an index of the whole table, or the
    list's filters read more than the lead table (a join: the walked rows could not stand in for it).
    The walked rows are aliased as the table, so the filters' own SQL applies to them unchanged."""
    if len(terms) != 2 or (terms[0].name, terms[0].descending) not in PROBE_ORDERINGS or not terms[1].descending:
        return None
    connection = connections[unordered.db]
    meta = unordered.model._meta
    if terms[1].name != meta.pk.name:
        return None
    table = connection.ops.quote_name(meta.db_table)
    try:
        sql, params = unordered.values("pk").query.sql_with_params()
    except EmptyResultSet:
        return None
    if sql.count(f"FROM {table}") != 1 or " JOIN " in sql:
        return None
    order = ", ".join(
        f"{connection.ops.quote_name(meta.get_field(t.name).column)} {'DESC' if t.descending else 'ASC'}" for t in terms
    )
    # Only the columns the filters name (Django qualifies each with the table): `SELECT *` carried
    # all ~70 columns of each walked row up to the filters, ~30 % of the probe (bench/README.md).
    named = sorted(set(re.findall(re.escape(table) + r'\.("[^"]+")', sql)))
    walked = f"(SELECT {', '.join(named) or '*'} FROM {table} ORDER BY {order} LIMIT {int(PROBE_ROWS)}) AS {table}"
    counted = f"SELECT count(*) FROM ({sql.replace(f'FROM {table}', f'FROM {walked}', 1)} LIMIT {int(wanted)}) AS w"
    # The branch not taken is never run (its subquery is an InitPlan, run on first use).
    probe = (
        f"SELECT CASE WHEN (SELECT reltuples FROM pg_class WHERE oid = %s::regclass) >= {int(PROBE_MIN_TABLE)} "
        f"THEN ({counted}) ELSE 0 END AS found"
    )
    return probe, [meta.db_table, *params], wanted


def keys_if_small(
    values: QuerySet, *, limit: int, terms: list[Term], probe: tuple[str, list, int] | None = None, head: int = 0
) -> tuple[int, list[tuple] | None]:
    """`values` (a `values_list` of `terms`, LIMITed to `limit + 1`) read in one statement that says
    how many there were and sends the rows, sorted by `terms`, only when there were `limit` or fewer:
    (count, rows), or (count, None) past the limit. The rows are bound in a MATERIALIZED CTE
    (planned as the LIMITed read it is) and counted there, so a large result sends PostgreSQL's
    count of 1,001 to Python instead of 1,001 rows of sort values to convert and throw away
    (bench/README.md, issue 22 §1). PostgreSQL sorts them (NULLs last in both directions, as
    `sort_in_place`; `terms` are numbers and times, on which both agree): 15,000 keys of a 500-row
    page were ~10 ms of Python sorting. With a `probe` (walk_probe) that finds the first page in
    the ordering's first rows, the matches are not read at all: (the rows found, None). With
    `head`, only the first `head` sorted rows are sent (the count is still of them all). PostgreSQL."""
    compiler = values.query.get_compiler(using=values.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # `.none()` or an empty IN (): nothing to read, as Django would answer
        return 0, []
    # The count first (after the probe's, with one), then the terms in the values_list's order.
    first = 2 if probe is None else 3
    order = ", ".join(
        f"{at + first} {'DESC' if term.descending else 'ASC'} NULLS LAST" for at, term in enumerate(terms)
    )
    statement = (
        f"WITH m AS MATERIALIZED ({sql}), c AS (SELECT count(*) AS total FROM m) "
        "SELECT c.total, m.* FROM c LEFT JOIN m ON c.total <= %s"
    )
    params = (*params, limit)
    if probe is not None:
        # The matches' read sits behind a condition on the probe's count alone: PostgreSQL gates
        # it (a one-time filter) and never starts it when the probe found the page.
        probe_sql, probe_params, wanted = probe
        statement = (
            f"WITH p AS MATERIALIZED ({probe_sql}) SELECT p.found, k.* FROM p "
            f"LEFT JOIN LATERAL ({statement} WHERE p.found < {int(wanted)}) AS k ON true"
        )
        params = (*probe_params, *params)
    with connections[values.db].cursor() as cursor:
        cursor.execute(f"{statement} ORDER BY {order}" + (f" LIMIT {int(head)}" if head else ""), params)
        rows = cursor.fetchall()
    if probe is not None:
        if rows[0][1] is None:  # the probe found the page: a large result, not read
            return rows[0][0], None
        rows = [row[1:] for row in rows]
    total = rows[0][0]
    if total > limit:
        return total, None
    if not total:
        return 0, []
    if compiler.get_converters([expression for expression, _sql, _alias in compiler.select]):
        return total, list(compiler.results_iter(results=[[row[1:] for row in rows]], tuple_expected=True))
    return total, [row[1:] for row in rows]  # psycopg's values are Django's: nothing to convert


def rows_by_pk(queryset: QuerySet, pks: list) -> list:
    """The rows of `queryset` with these primary keys, in the order given (one query; none when
    there are no keys). The queryset's own filters stay: a row must still match and be visible."""
    if not pks:
        return []
    if connections[queryset.db].vendor == "postgresql":
        # One array parameter, not 500: psycopg splits a query's text at every placeholder on
        # every execution (a 500-lead page spent ~10 % of its CPU there).
        chosen = queryset.order_by().filter(EqualsAny(F("pk"), list(pks)))
    else:
        chosen = queryset.order_by().filter(pk__in=pks)
    by_pk = {row.pk: row for row in chosen}
    return [by_pk[pk] for pk in pks if pk in by_pk]


def rows_by_ordered_keys(queryset: QuerySet, start: int, stop: int) -> list:
    """`queryset[start:stop]` in its own order, in one statement: the ordered slice picks the
    primary keys on narrow rows and only the rows picked are read whole (`pk IN (SELECT pk …
    ORDER BY … LIMIT n OFFSET m)`). Where an index gives the order, the inner walk is the walk the
    plain slice took. Where none does, PostgreSQL sorts every match: with the list's whole rows and
    joins that was 50–105 ms for 15,000 `gmbh` leads at a million, with their keys far less
    (bench/README.md, issue 22 §1). A DISTINCT or combined queryset is sliced as it is."""
    if queryset.query.distinct or queryset.query.combinator:
        return list(queryset[start:stop])
    return list(queryset.filter(pk__in=queryset.values("pk")[start:stop]))


class EqualsAny(Lookup):
    """`lhs = ANY(%s)` with the values as one array parameter (PostgreSQL)."""

    lookup_name = "equals_any"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        array = f"{self.lhs.output_field.db_type(connection)}[]"  # not the smallest type psycopg picks
        return f"{lhs} = ANY(%s::{array})", [*lhs_params, list(self.rhs)]
