"""Reading a segment's leads (count, preview, members) and refreshing a dynamic segment's membership.

`segment_refresh` stores a dynamic segment's members (the snapshot its next refresh compares against)
in one statement, records its size over time, and enrolls the leads that entered in the sequences
that start from it.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from leads.nurturing.sequences import leads_enroll

from ...models import Lead, Segment, SegmentMember, SegmentSnapshot, Sequence
from ...selectors import visible_to
from .compiler import queryset_sql, segment_compile
from .validation import segment_definition_clean

logger = logging.getLogger(__name__)

PREVIEW_LIMIT = 20
REFRESH_MINUTES = getattr(settings, "SEGMENT_REFRESH_MINUTES", 15)

# --- Reading segments ---------------------------------------------------------------------------


def _members_q(segment: Segment) -> Q:
    return Q(Exists(SegmentMember.objects.filter(segment_id=segment.pk, lead_id=OuterRef("pk"))))


def segment_queryset(
    *,
    user: User | AnonymousUser,
    segment: Segment | None = None,
    definition: Any = None,
    now: datetime | None = None,
) -> QuerySet[Lead]:
    """The visible leads a segment (its current definition) or list (its members), or a draft definition,
    matches. A draft is cleaned first (ValidationError with per-field messages)."""
    leads = visible_to(user)
    if segment is not None and segment.kind == Segment.Kind.STATIC:
        return leads.filter(_members_q(segment))
    if definition is None:
        definition = segment.definition if segment is not None else {}
    cleaned = segment_definition_clean(definition=definition, segment=segment)
    return leads.filter(segment_compile(definition=cleaned, segment=segment, now=now))


def segment_count(*, user: User | AnonymousUser, segment: Segment | None = None, definition: Any = None) -> int:
    """How many visible leads the segment, list or draft definition matches (one COUNT in SQL)."""
    return segment_queryset(user=user, segment=segment, definition=definition).order_by().count()


def segment_preview(
    *,
    user: User | AnonymousUser,
    segment: Segment | None = None,
    definition: Any = None,
    limit: int = PREVIEW_LIMIT,
) -> list[Lead]:
    """The newest `limit` leads the segment, list or draft matches, with their owners."""
    leads = segment_queryset(user=user, segment=segment, definition=definition)
    return list(leads.select_related("owner").order_by("-created_at", "-id")[:limit])


def segment_members(*, user: User | AnonymousUser, segment: Segment) -> QuerySet[Lead]:
    """A list's (or a segment's last evaluation's) visible members, newest leads first."""
    membership = SegmentMember.objects.filter(segment_id=segment.pk, lead_id=OuterRef("pk"))
    return visible_to(user).filter(Exists(membership)).select_related("owner").order_by("-created_at", "-id")


def segment_snapshots(*, segment: Segment, limit: int = 90) -> list[SegmentSnapshot]:
    """The segment's latest sizes, oldest first (its size over time)."""
    return list(reversed(segment.snapshots.order_by("-taken_at")[:limit]))


# --- Refreshing dynamic segments ----------------------------------------------------------------


def segment_refresh(*, segment: Segment, now: datetime | None = None) -> tuple[list[int], int]:
    """Evaluate a segment in SQL and store who is in it now: (ids of the leads that entered, how many left).
    Records the size and a snapshot, then enrolls the entrants in the active sequences starting from it."""
    now = now or timezone.now()
    with transaction.atomic():
        # One refresh of a segment at a time (beat and a click on "Refresh" may meet).
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        if segment.kind == Segment.Kind.STATIC:
            entered, left = [], 0
            size = SegmentMember.objects.filter(segment_id=segment.pk).count()
        else:
            cleaned = segment_definition_clean(definition=segment.definition, segment=segment)
            matched = (
                Lead.objects.filter(segment_compile(definition=cleaned, segment=segment, now=now))
                .order_by()
                .values("id")
            )
            matched_sql, matched_params = queryset_sql(matched)
            member = SegmentMember._meta.db_table
            # One statement: entrants inserted, leavers deleted, the new size counted. All parts see the
            # same snapshot, so the DELETE does not see the INSERT's rows (they match anyway).
            sql = f"""
                WITH matched AS MATERIALIZED ({matched_sql}),
                entered AS (
                    INSERT INTO {member} (segment_id, lead_id, added_at)
                    SELECT %s, matched.id, %s FROM matched
                    ON CONFLICT (segment_id, lead_id) DO NOTHING
                    RETURNING lead_id
                ),
                gone AS (
                    DELETE FROM {member} AS m
                    WHERE m.segment_id = %s AND NOT EXISTS (SELECT 1 FROM matched WHERE matched.id = m.lead_id)
                    RETURNING m.lead_id
                )
                SELECT (SELECT coalesce(array_agg(lead_id ORDER BY lead_id), '{{}}') FROM entered),
                       (SELECT count(*) FROM gone),
                       (SELECT count(*) FROM matched)
            """  # f-string SQL: table names are ours; values are parameters
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute(sql, [*matched_params, segment.pk, now, segment.pk])
                    entered, left, size = cursor.fetchone()
                else:
                    entered, left, size = _refresh_portable(cursor, segment.pk, now, matched_sql, matched_params)
            entered = list(entered)
        Segment.objects.filter(pk=segment.pk).update(size=size, evaluated_at=now)
        SegmentSnapshot.objects.create(segment_id=segment.pk, size=size, taken_at=now)
        segment.size, segment.evaluated_at = size, now
        if entered:
            _enroll_entrants(segment=segment, lead_ids=entered)
    return entered, left


def _refresh_portable(
    cursor, segment_id: int, now: datetime, matched_sql: str, matched_params
) -> tuple[list[int], int, int]:
    """The same refresh in plain SQL statements, for the embedded SQLite default (no data-modifying CTEs)."""
    member = SegmentMember._meta.db_table
    cursor.execute(
        f"SELECT matched.id FROM ({matched_sql}) AS matched WHERE matched.id NOT IN "  # f-string SQL: our table
        f"(SELECT lead_id FROM {member} WHERE segment_id = %s) ORDER BY matched.id",
        [*matched_params, segment_id],
    )
    entered = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        f"INSERT INTO {member} (segment_id, lead_id, added_at) SELECT %s, matched.id, %s "
        f"FROM ({matched_sql}) AS matched WHERE true ON CONFLICT (segment_id, lead_id) DO NOTHING",
        [segment_id, now, *matched_params],
    )
    cursor.execute(
        f"DELETE FROM {member} WHERE segment_id = %s AND lead_id NOT IN (SELECT matched.id FROM ({matched_sql}) AS matched)",
        [segment_id, *matched_params],
    )
    left = max(cursor.rowcount, 0)
    cursor.execute(f"SELECT count(*) FROM {member} WHERE segment_id = %s", [segment_id])
    return entered, left, cursor.fetchone()[0]


def _enroll_entrants(*, segment: Segment, lead_ids: list[int]) -> None:
    sequences = list(Sequence.objects.filter(entry_segment_id=segment.pk, is_active=True))
    if not sequences:
        return

    for sequence in sequences:
        leads_enroll(sequence=sequence, lead_ids=lead_ids, source="segment", by=None)


def segments_due(*, now: datetime | None = None) -> QuerySet[Segment]:
    """Dynamic segments refreshed on a schedule whose last evaluation is older than the interval."""
    now = now or timezone.now()
    # A little slack, so a segment evaluated a few seconds after the previous beat is not skipped.
    cutoff = now - timedelta(minutes=REFRESH_MINUTES) + timedelta(minutes=1)
    return (
        Segment.objects.filter(kind=Segment.Kind.DYNAMIC, refresh_on_schedule=True)
        .filter(Q(evaluated_at__isnull=True) | Q(evaluated_at__lt=cutoff))
        .order_by("evaluated_at", "pk")
    )


def segments_refresh_due(*, now: datetime | None = None) -> int:
    """Refresh every due segment (the beat task); a segment whose definition broke is logged and skipped."""
    refreshed = 0
    for segment in segments_due(now=now).only("pk", "kind"):
        try:
            segment_refresh(segment=segment, now=now)
        except ValidationError as exc:
            logger.warning("segment %s not refreshed: %s", segment.pk, exc.messages)
            continue
        refreshed += 1
    return refreshed
