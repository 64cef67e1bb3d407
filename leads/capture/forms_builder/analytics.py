"""Form analytics: views, starts and steps reached are counted by one upsert per hit into a day row
(FormDayCount); submissions, refusals and the leads made come from the capture log itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from ...models import CaptureRecord, FormDayCount, Lead, WebForm

METRICS = ("view", "start")
MAX_STEP_METRIC = 10
MADE = (CaptureRecord.Result.CREATED, CaptureRecord.Result.MERGED, CaptureRecord.Result.ATTACHED)
REFUSED = (CaptureRecord.Result.REJECTED, CaptureRecord.Result.HELD)
MAX_RANGE_DAYS = 366
REFUSALS_SHOWN = 20


def metric_valid(*, metric: str) -> bool:
    """view, start or step:<2..10> (step 1 is the start)."""
    if metric in METRICS:
        return True
    if metric.startswith("step:") and metric[5:].isdigit():
        return 2 <= int(metric[5:]) <= MAX_STEP_METRIC
    return False


def form_count(*, web_form_id: int, metric: str, day: date | None = None) -> None:
    """Add one to a form's counter for the day: a single INSERT … ON CONFLICT DO UPDATE."""
    table = connection.ops.quote_name(FormDayCount._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (web_form_id, day, metric, count) VALUES (%s, %s, %s, 1) "  # f-string SQL: our table
            f"ON CONFLICT (web_form_id, day, metric) DO UPDATE SET count = {table}.count + 1",
            [web_form_id, day or timezone.localdate(), metric],
        )


@dataclass
class FormStats:
    start: date
    end: date
    days: list[date]
    views: dict[date, int] = field(default_factory=dict)
    starts: dict[date, int] = field(default_factory=dict)
    submissions: dict[date, int] = field(default_factory=dict)
    refused: dict[date, int] = field(default_factory=dict)
    steps: dict[int, int] = field(default_factory=dict)  # visitors who reached step n (1: started)
    partials: int = 0  # first steps captured (visitors who moved on to step 2)
    leads: int = 0
    qualified: int = 0
    customers: int = 0
    refusals: list[dict] = field(default_factory=list)  # the latest refused submissions, with their reason

    @property
    def total_views(self) -> int:
        return sum(self.views.values())

    @property
    def total_starts(self) -> int:
        return sum(self.starts.values())

    @property
    def total_submissions(self) -> int:
        return sum(self.submissions.values())

    @property
    def total_refused(self) -> int:
        return sum(self.refused.values())

    @property
    def conversion(self) -> float | None:
        """Submissions per view, in per cent (None without views)."""
        return 100.0 * self.total_submissions / self.total_views if self.total_views else None

    def drop_off(self, step_count: int) -> list[tuple[str, int, float | None]]:
        """(stage, visitors, share of the starts) from the start through each step to the submit."""
        starts = self.total_starts
        rows = [("Step 1 (started)", starts)]
        rows += [(f"Step {n}", self.steps.get(n, 0)) for n in range(2, step_count + 1)]
        rows.append(("Submitted", self.total_submissions))
        return [(name, count, 100.0 * count / starts if starts else None) for name, count in rows]


def form_stats(*, web_form: WebForm, start: date, end: date) -> FormStats:
    """A form's counts per day between start and end (inclusive), its step drop-off and its leads' fate."""
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    stats = FormStats(start=start, end=end, days=days)
    for day, metric, count in FormDayCount.objects.filter(web_form=web_form, day__gte=start, day__lte=end).values_list(
        "day", "metric", "count"
    ):
        if metric == "view":
            stats.views[day] = stats.views.get(day, 0) + count
        elif metric == "start":
            stats.starts[day] = stats.starts.get(day, 0) + count
        elif metric.startswith("step:"):
            stats.steps[int(metric[5:])] = stats.steps.get(int(metric[5:]), 0) + count
    tz = timezone.get_current_timezone()
    # Bounds as times (not received_at__date): the (web_form, -received_at) index serves the range.
    since = timezone.make_aware(datetime.combine(start, time.min), tz)
    until = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz)
    records = CaptureRecord.objects.filter(web_form=web_form, received_at__gte=since, received_at__lt=until)
    partial = Q(payload__has_key="_partial")
    for row in (
        records.annotate(day=TruncDate("received_at", tzinfo=tz))
        .values("day")
        .annotate(
            made=Count("id", filter=Q(result__in=MADE) & ~partial),
            partials=Count("id", filter=Q(result__in=MADE) & partial),
            refused=Count("id", filter=Q(result__in=REFUSED)),
        )
    ):
        stats.submissions[row["day"]] = row["made"]
        stats.refused[row["day"]] = row["refused"]
        stats.partials += row["partials"]
    fate = Lead.objects.filter(pk__in=records.filter(result__in=MADE, lead__isnull=False).values("lead_id")).aggregate(
        leads=Count("id"),
        qualified=Count("id", filter=Q(status=Lead.Status.QUALIFIED)),
        customers=Count("id", filter=Q(status=Lead.Status.CONVERTED)),
    )
    stats.leads, stats.qualified, stats.customers = fate["leads"], fate["qualified"], fate["customers"]
    stats.refusals = list(
        records.filter(result__in=REFUSED)
        .order_by("-received_at", "-id")
        .values("received_at", "result", "reason")[:REFUSALS_SHOWN]
    )
    return stats
