"""Counts and visibility the rep's pages share: capped counts (exact up to a limit, then "1,000+"),
several in one statement, the lead list's tabs by status, and EXISTS(the row's lead is visible).
Every lead query starts from visible_to(user); each read is a fixed number of queries."""

from __future__ import annotations

from django.db import connections
from django.db.models import Exists, OuterRef, QuerySet

from ..models import Lead
from ..selectors import visible_to

COUNT_CAP = 1_000
STATUS_COUNT_CAP = 100  # past COUNT_CAP matches, each status tab counts up to this ("100+")


def visible_exists(user, lead_field: str = "lead_id") -> Exists:
    """EXISTS(the row's lead is visible to the user): a correlated lookup per row, cheap when the
    rows are few (a user's tasks, the newest interactions), never a scan of a million lead ids."""
    return Exists(visible_to(user).filter(pk=OuterRef(lead_field)))


def capped_counts(querysets: dict[str, QuerySet], *, cap: int = COUNT_CAP) -> dict[str, tuple[int, bool]]:
    """Count several querysets in ONE statement, each over a LIMITed subquery so none reads more
    than cap + 1 index entries: {name: (count, is_exact)}; past the cap, (cap, False)."""
    if not querysets:
        return {}
    parts, params = [], []
    for queryset in querysets.values():
        sql, part_params = queryset.order_by().values("pk")[: cap + 1].query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS capped)")
        params.extend(part_params)
    first = next(iter(querysets.values()))
    with connections[first.db].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return {name: (min(n, cap), n <= cap) for name, n in zip(querysets, row)}


def status_counts(
    *,
    queryset: QuerySet[Lead],
    parts: list[QuerySet[Lead]] | None = None,
    cap: int = COUNT_CAP,
    status_cap: int = STATUS_COUNT_CAP,
    each_status: bool = True,
) -> dict[str, tuple[int, bool]]:
    """How many leads of `queryset` have each status, plus "all", in ONE statement, fast at a
    million leads: (count, is_exact), shown as "12" or "1,000+".

    The first cap + 1 matches are read once (a LIMITed, materialised scan); when they are all the
    matches, every status is counted exactly from them. Only when there are more does PostgreSQL
    count each status, up to `status_cap` ("100+"): its InitPlans run on first use, so the CASE
    branch not taken costs nothing. (Counting each status up to 1,000 cost a rep ~35 ms at a
    million leads, up to 100 ~10 ms: bench/README.md.) `each_status=False` (a substring search:
    each status would repeat the trigram scan, 100-250 ms for a common term) keeps to the sample:
    past the cap, each status gets the lower bound seen in it, (n, False), shown as "n+".
    `parts`: disjoint querysets whose union is `queryset` (selectors.visible_parts with the same
    filters): a rep's "own OR team queue" is then counted as own + queue, two plain ranges of
    lead_owner_status_idx, instead of one OR answered with a bitmap over every matching entry."""
    statuses = list(Lead.Status.values)
    base = queryset.order_by()
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":  # `make run` on SQLite: plain counts are fine there
        total = base[: cap + 1].count()
        limit = cap if total <= cap else status_cap
        result = {"all": (min(total, cap), total <= cap)}
        for status in statuses:
            n = base.filter(status=status)[: limit + 1].count()
            result[status] = (min(n, limit), n <= limit)
        return result
    parts = [part.order_by() for part in parts] if parts else [base]
    # The sample: up to cap + 1 matches of each (disjoint) part, each read from its own index (a
    # search reads the whole queryset once: per part, it would repeat the trigram scan).
    samples = [part.values("status")[: cap + 1] for part in (parts if each_status else [base])]
    sample = samples[0].union(*samples[1:], all=True) if len(samples) > 1 else samples[0]
    sample_sql, params = sample.query.sql_with_params()
    params = list(params)
    columns = ["(SELECT COUNT(*) FROM sample)"]
    # Each part's per-status count compiled once, the status a parameter (compiling it per status
    # and part was 12 ORM compilations for a rep, ~2.5 ms of CPU).
    per_status = [_status_capped_sql(part, status_cap) for part in parts] if each_status else []
    for status in statuses:
        counted, part_params = [], []
        for n, (each_sql, each_params, at) in enumerate(per_status):
            counted.append(f"(SELECT COUNT(*) FROM ({each_sql}) AS part_{n})")
            part_params.extend([status if i == at else value for i, value in enumerate(each_params)])
        if not each_status:
            columns.append("(SELECT COUNT(*) FROM sample WHERE status = %s)")
            params.append(status)
            continue
        columns.append(
            "CASE WHEN (SELECT COUNT(*) FROM sample) <= %s THEN (SELECT COUNT(*) FROM sample WHERE status = %s) "
            f"ELSE {' + '.join(counted)} END"
        )
        params.extend([cap, status, *part_params])
    sql = f"WITH sample AS MATERIALIZED ({sample_sql}) SELECT " + ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        total, *each = cursor.fetchone()
    if total <= cap:
        return {"all": (total, True), **{status: (n, True) for status, n in zip(statuses, each)}}
    if not each_status:
        return {"all": (cap, False), **{status: (n, False) for status, n in zip(statuses, each)}}
    return {"all": (cap, False), **{status: (min(n, status_cap), n <= status_cap) for status, n in zip(statuses, each)}}


_STATUS_SLOT = "\x00status\x00"  # a value no status has: it marks the status's parameter


def _status_capped_sql(part: QuerySet[Lead], status_cap: int) -> tuple[str, list, int]:
    """`part` with one status, LIMITed to status_cap + 1 ids, as SQL: (sql, params, the index of
    the status among the params)."""
    sql, params = part.filter(status=_STATUS_SLOT).values("pk")[: status_cap + 1].query.sql_with_params()
    params = list(params)
    return sql, params, params.index(_STATUS_SLOT)
