"""The engagement summary on each lead (page views and visits in 7 and 30 days, form submits),
kept up to date incrementally: each event adds to the lead's counters and to its per-day
bucket, and an hourly job re-sums only the leads whose oldest counted day just left a window."""

from datetime import date, timedelta

from django.db import connection
from django.db.models import F, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Lead, LeadActivityDay

WINDOWS = (7, 30)


def _bucket_add(*, lead_id: int, day: date, page_views: int, visits: int) -> None:
    """One atomic upsert that adds to the day's bucket (PostgreSQL and SQLite share the syntax)."""
    table = connection.ops.quote_name(LeadActivityDay._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (lead_id, day, page_views, visits) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT (lead_id, day) DO UPDATE SET page_views = {table}.page_views + EXCLUDED.page_views, "
            f"visits = {table}.visits + EXCLUDED.visits",
            [lead_id, day, page_views, visits],
        )


def engagement_add(*, lead_id: int, day: date, page_views: int = 0, visits: int = 0, form_submits: int = 0) -> None:
    """Count events of one lead on one day (one upsert and one UPDATE, whatever the numbers)."""
    today = timezone.localdate()
    if page_views or visits:
        _bucket_add(lead_id=lead_id, day=day, page_views=page_views, visits=visits)
    changes = {}
    for window in WINDOWS:
        if day > today - timedelta(days=window):
            if page_views:
                changes[f"page_views_{window}d"] = F(f"page_views_{window}d") + page_views
            if visits:
                changes[f"visits_{window}d"] = F(f"visits_{window}d") + visits
    if form_submits:
        changes["form_submits"] = F("form_submits") + form_submits
    if changes:
        Lead.objects.filter(pk=lead_id).update(**changes)


def engagement_roll_windows(*, today: date | None = None) -> int:
    """Re-sum the 7- and 30-day counters of the leads that had activity on the days that just
    left a window (set-based, and safe to run any number of times). Returns leads touched."""
    today = today or timezone.localdate()
    touched = 0
    for window in WINDOWS:
        start = today - timedelta(days=window)
        # Leads whose counted days include one that has now left the window (a 3-day margin
        # covers a missed run or two).
        leaving = LeadActivityDay.objects.filter(day__lte=start, day__gt=start - timedelta(days=3)).values("lead_id")

        def window_sum(column: str, start=start):
            return Coalesce(
                Subquery(
                    LeadActivityDay.objects.filter(lead_id=OuterRef("pk"), day__gt=start)
                    .values("lead_id")
                    .annotate(total=Sum(column))
                    .values("total")[:1],
                    output_field=IntegerField(),
                ),
                Value(0),
            )

        touched += Lead.objects.filter(pk__in=leaving).update(
            **{f"page_views_{window}d": window_sum("page_views"), f"visits_{window}d": window_sum("visits")}
        )
    return touched


def form_submit_counted(event) -> None:
    """A form submitted on the timeline counts in the lead's engagement summary (unless the
    capture already counted it). A reaction to `timeline.added` (leads.reactions)."""
    if event.kind == "form_submit" and not event.counted:
        engagement_add(lead_id=event.lead_ids[0], day=timezone.localdate(event.occurred_at), form_submits=1)
