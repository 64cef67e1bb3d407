"""The dashboards' aggregates. Each is a fixed number of SQL queries whatever the data (GROUP BY in
PostgreSQL, never a Python loop over leads), starts from `visible_to(user)` when it reads leads, and
is cached for DASHBOARD_CACHE_SECONDS under a key made of the viewer's visibility and the filters.

Every lead figure is about the leads *created* in the period (a cohort): their current status, score
and grade. Speed to lead and agents' load reuse the distribution board's selectors."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Least
from django.utils import timezone

from ..distribution.selectors import ResponseReport, agent_board, response_times
from ..models import Interaction, Lead, Team, TeamMembership
from ..roles import sees_all_leads
from ..selectors import visible_to

T = TypeVar("T")
CACHE_VERSION = 1
DAY_BUCKETS_UP_TO = 31  # days in the range: daily buckets up to this, then weekly
WEEK_BUCKETS_UP_TO = 190  # then monthly
SCORE_BUCKETS = 10  # 0–9, 10–19 … 90–100
GRADES = ["A", "B", "C", "D", ""]  # "" = not graded yet
WON, LOST = Lead.Status.CONVERTED, Lead.Status.LOST


# --- Period, cache ------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Days start..end inclusive, in the site's time zone; optionally one team's leads."""

    start: date
    end: date
    team: Team | None = None

    @property
    def since(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def until(self) -> datetime:
        """The first moment after the period (exclusive upper bound)."""
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def key(self) -> str:
        return f"{self.start:%Y%m%d}-{self.end:%Y%m%d}-{self.team.pk if self.team else 'all'}"


def _scope(user) -> str:
    """Who sees what, for the cache key: everyone who sees every lead shares one entry."""
    return "all" if sees_all_leads(user) else f"user{user.pk}"


def cache_key(name: str, *, user, period: Period) -> str:
    raw = f"{name}:{_scope(user)}:{period.key()}:{timezone.get_current_timezone_name()}"
    return f"dashboard:v{CACHE_VERSION}:{hashlib.sha1(raw.encode()).hexdigest()}"


def _cached(name: str, *, user, period: Period, compute: Callable[[], T]) -> T:
    """compute() once per DASHBOARD_CACHE_SECONDS for this viewer's scope and filters (0: never cached)."""
    seconds = settings.DASHBOARD_CACHE_SECONDS
    if seconds <= 0:
        return compute()
    key = cache_key(name, user=user, period=period)
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value


def _leads(user, period: Period) -> QuerySet[Lead]:
    leads = visible_to(user).filter(created_at__gte=period.since, created_at__lt=period.until).order_by()
    if period.team is not None:
        leads = leads.filter(team_id=period.team.pk)
    return leads


# --- Funnel -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Funnel:
    total: int
    by_status: list[tuple[str, str, int]]  # (status, label, leads), in the lifecycle's order
    reached_qualified: int
    reached_converted: int


def _qualified_since(since: datetime) -> QuerySet[Interaction]:
    """Leads with a status change to qualified on their timeline since `since` (a lead created in
    the period can only have qualified after it was created). Not correlated: PostgreSQL hashes it
    once (from interaction_kind_time_idx) instead of probing every lost lead's whole timeline."""
    return Interaction.objects.filter(
        kind=Interaction.Kind.STATUS_CHANGE, occurred_at__gte=since, data__to=Lead.Status.QUALIFIED
    ).values("lead_id")


def dashboard_funnel(*, user, start: date, end: date, team: Team | None = None) -> Funnel:
    """Leads created in the period by current status, and how many reached qualified and converted. One query."""
    period = Period(start, end, team)

    def compute() -> Funnel:
        counts = {status: Count("pk", filter=Q(status=status)) for status in Lead.Status.values}
        reached = Q(status__in=[Lead.Status.QUALIFIED, WON]) | Q(status=LOST, pk__in=_qualified_since(period.since))
        row = _leads(user, period).aggregate(total=Count("pk"), reached=Count("pk", filter=reached), **counts)
        return Funnel(
            total=row["total"],
            by_status=[(status, str(label), row[status]) for status, label in Lead.Status.choices],
            reached_qualified=row["reached"],
            reached_converted=row[WON],
        )

    return _cached("funnel", user=user, period=period, compute=compute)


# --- Sources over time --------------------------------------------------------------------


def bucket_unit(period: Period) -> str:
    """Daily buckets for a month or less, weekly up to about half a year, then monthly."""
    if period.days <= DAY_BUCKETS_UP_TO:
        return "day"
    return "week" if period.days <= WEEK_BUCKETS_UP_TO else "month"


def bucket_starts(period: Period, unit: str) -> list[date]:
    """The first day of every bucket that overlaps the period (weeks start on Monday, as in PostgreSQL)."""
    if unit == "day":
        first, step = period.start, None
    elif unit == "week":
        first, step = period.start - timedelta(days=period.start.weekday()), None
    else:
        first, step = period.start.replace(day=1), "month"
    starts, current = [], first
    while current <= period.end:
        starts.append(current)
        if step == "month":
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            current += timedelta(days=1 if unit == "day" else 7)
    return starts


@dataclass(frozen=True)
class SourceSeries:
    unit: str  # day, week or month
    buckets: list[date]
    rows: list[tuple[date, str, str, int]]  # (bucket, source, source_detail, leads), non-zero only

    def by_source(self) -> dict[tuple[date, str], int]:
        totals: dict[tuple[date, str], int] = {}
        for bucket, source, _, n in self.rows:
            totals[(bucket, source)] = totals.get((bucket, source), 0) + n
        return totals


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def dashboard_sources(*, user, start: date, end: date, team: Team | None = None) -> SourceSeries:
    """Leads created per day/week/month bucket by source and channel (source_detail). One query."""
    period = Period(start, end, team)

    def compute() -> SourceSeries:
        unit = bucket_unit(period)
        buckets = bucket_starts(period, unit)
        # One filtered count per bucket, grouped by (source, channel): the planner knows that
        # grouping is small and hashes it, where GROUP BY date_trunc(…) made it sort every lead
        # (it cannot estimate how few buckets there are). Bounds are local midnights, DST-proof.
        bounds = [max(_local_midnight(b), period.since) for b in buckets] + [period.until]
        counts = {
            f"b{i}": Count("pk", filter=Q(created_at__gte=bounds[i], created_at__lt=bounds[i + 1]))
            for i in range(len(buckets))
        }
        rows = _leads(user, period).values("source", "source_detail").annotate(**counts).order_by()
        found = [
            (bucket, row["source"], row["source_detail"], row[f"b{i}"])
            for row in rows
            for i, bucket in enumerate(buckets)
            if row[f"b{i}"]
        ]
        return SourceSeries(unit=unit, buckets=buckets, rows=sorted(found))

    return _cached("sources", user=user, period=period, compute=compute)


# --- Conversion by source -----------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """Leads of one group: how many, converted (won), lost, and the rates."""

    name: str
    leads: int
    won: int
    lost: int

    @property
    def conversion_rate(self) -> float | None:
        return self.won / self.leads if self.leads else None

    @property
    def win_rate(self) -> float | None:
        decided = self.won + self.lost
        return self.won / decided if decided else None


def _outcomes(leads: QuerySet[Lead], key: str) -> dict[str, Outcome]:
    rows = (
        leads.values(key)
        .annotate(n=Count("pk"), won=Count("pk", filter=Q(status=WON)), lost=Count("pk", filter=Q(status=LOST)))
        .order_by(key)
    )
    return {row[key]: Outcome(name=row[key], leads=row["n"], won=row["won"], lost=row["lost"]) for row in rows}


def dashboard_conversion(*, user, start: date, end: date, team: Team | None = None) -> list[Outcome]:
    """Per source: leads created in the period, converted, lost, conversion and win rates. One query."""
    period = Period(start, end, team)

    def compute() -> list[Outcome]:
        found = _outcomes(_leads(user, period), "source")
        return [found.get(source) or Outcome(source, 0, 0, 0) for source in Lead.Source.values]

    return _cached("conversion", user=user, period=period, compute=compute)


# --- Won vs lost by grade -----------------------------------------------------------------


def dashboard_grades(*, user, start: date, end: date, team: Team | None = None) -> list[Outcome]:
    """Per grade (A–D, then ungraded): leads created in the period, converted and lost. One query."""
    period = Period(start, end, team)

    def compute() -> list[Outcome]:
        found = _outcomes(_leads(user, period), "grade")
        return [found.get(grade) or Outcome(grade, 0, 0, 0) for grade in GRADES]

    return _cached("grades", user=user, period=period, compute=compute)


# --- Score distribution -------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreHistogram:
    counts: dict[tuple[int, str], int]  # (bucket 0–9, grade) -> leads

    def total(self, bucket: int) -> int:
        return sum(n for (b, _), n in self.counts.items() if b == bucket)


def score_bucket_label(bucket: int) -> str:
    low = bucket * 10
    return f"{low}–{low + 9}" if bucket < SCORE_BUCKETS - 1 else f"{low}–100"


def dashboard_scores(*, user, start: date, end: date, team: Team | None = None) -> ScoreHistogram:
    """Leads created in the period per score band of 10 (90–100 together) and grade. One query."""
    period = Period(start, end, team)

    def compute() -> ScoreHistogram:
        bucket = Least(F("score") / Value(10), Value(SCORE_BUCKETS - 1))
        rows = _leads(user, period).annotate(bucket=bucket).values("bucket", "grade").annotate(n=Count("pk")).order_by()
        return ScoreHistogram(counts={(int(r["bucket"]), r["grade"]): r["n"] for r in rows})

    return _cached("scores", user=user, period=period, compute=compute)


# --- Speed to lead, agents' load (the distribution board's selectors) ----------------------


def _team_usernames(team: Team) -> set[str]:
    return set(TeamMembership.objects.filter(team_id=team.pk).values_list("user__username", flat=True))


def dashboard_speed(
    *, user, start: date, end: date, team: Team | None = None, now: datetime | None = None
) -> ResponseReport:
    """Median and p90 time to first contact and the share within SLA, per rep and team, for the
    assignments made in the period (the distribution board's response_times). Two or three queries."""
    period = Period(start, end, team)

    def compute() -> ResponseReport:
        until = min(period.until, now or timezone.now())
        report = response_times(now=until, window=max(until - period.since, timedelta(0)))
        if period.team is not None:
            members = _team_usernames(period.team)
            report.reps = [row for row in report.reps if row.name in members]
            report.teams = [row for row in report.teams if row.name == period.team.name]
        return report

    return _cached("speed", user=user, period=period, compute=compute)


@dataclass(frozen=True)
class AgentLoad:
    username: str
    name: str
    teams: list[str]
    open_leads: int
    capacity: int | None
    new_today: int
    daily_limit: int | None
    status: str

    @property
    def over_by(self) -> int:
        """Open leads above capacity (0 within it or with no limit)."""
        return max(self.open_leads - self.capacity, 0) if self.capacity is not None else 0


def dashboard_load(
    *, user, start: date, end: date, team: Team | None = None, now: datetime | None = None
) -> list[AgentLoad]:
    """Each agent's open leads against capacity and new leads today against the daily limit, right
    now (the date range does not apply; the team filter does). The distribution board's agent_board."""

    def compute() -> list[AgentLoad]:
        rows = agent_board(now=now or timezone.now())
        team_name = team.name if team is not None else None
        return [
            AgentLoad(
                username=row.user.username,
                name=row.user.get_full_name() or row.user.username,
                teams=row.teams,
                open_leads=row.open_leads,
                capacity=row.capacity,
                new_today=row.new_today,
                daily_limit=row.daily_limit,
                status=row.status,
            )
            for row in rows
            if team_name is None or team_name in row.teams
        ]

    # A snapshot of now: one cache entry whatever the dates.
    return _cached("load", user=user, period=Period(date.min, date.min, team), compute=compute)
