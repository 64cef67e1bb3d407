"""Reads behind the distribution pages: agents' load, queues, SLA breaches, the reassignment log,
response times, and a rep's own queue. Each is a fixed number of queries, whatever the data."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from ..models import Agent, Assignment, Lead, TeamMembership, ranked
from ..selectors import GRADE_ORDER, visible_to
from .availability import OPEN_STATUSES, Load, assignments_today, unavailable_reason

RESPONSE_WINDOW = timedelta(days=30)
LIST_LIMIT = 25
LOG_LIMIT = 50


@dataclass
class AgentRow:
    user: User
    agent: Agent | None
    teams: list[str]
    open_leads: int
    new_today: int
    status: str  # "available" or why not

    @property
    def capacity(self) -> int | None:
        return self.agent.max_open_leads if self.agent else None

    @property
    def daily_limit(self) -> int | None:
        return self.agent.max_new_per_day if self.agent else None

    @property
    def over_by(self) -> int:
        """How many open leads above capacity (0 when within it or without a limit)."""
        return over_capacity(open_leads=self.open_leads, capacity=self.capacity)


def over_capacity(*, open_leads: int, capacity: int | None) -> int:
    """Open leads above the capacity (0 within it or with no limit): routing skips such an agent,
    but leads given by hand, by a territory or before the limit was set stay theirs."""
    return max(open_leads - capacity, 0) if capacity is not None else 0


def agent_own_load(*, user) -> tuple[int, int | None]:
    """(open leads, capacity) of one agent: the numbers behind the warning on the rep's queue."""
    row = (
        Agent.objects.filter(user_id=user.pk, max_open_leads__isnull=False)
        .annotate(
            open_leads=Coalesce(
                Subquery(
                    Lead.objects.filter(owner_id=OuterRef("user_id"), status__in=OPEN_STATUSES)
                    .order_by()
                    .values("owner_id")
                    .annotate(n=Count("*"))
                    .values("n")[:1],
                    output_field=IntegerField(),
                ),
                Value(0),
            )
        )
        .values_list("open_leads", "max_open_leads")
        .first()
    )  # one query; none at all is counted for an agent without a limit
    return row if row is not None else (0, None)


def _open_count():
    return Coalesce(
        Subquery(
            Lead.objects.filter(owner_id=OuterRef("pk"), status__in=OPEN_STATUSES)
            .order_by()
            .values("owner_id")
            .annotate(n=Count("*"))
            .values("n")[:1],  # count(*): an index-only count
            output_field=IntegerField(),
        ),
        Value(0),
    )


def agent_board(*, now: datetime) -> list[AgentRow]:
    """Every rep in a team (or with a routing profile): teams, open leads against capacity, new
    leads today against the daily limit, and whether they can take a lead right now."""
    users = list(
        User.objects.filter(Q(team_memberships__isnull=False) | Q(agent__isnull=False))
        .distinct()
        .select_related("agent")
        .annotate(open_leads=_open_count())
        .prefetch_related(
            Prefetch("team_memberships", queryset=TeamMembership.objects.select_related("team").order_by("team__name"))
        )
        .order_by("username")
    )
    agents = {user.pk: _agent(user) for user in users}
    today = assignments_today(agents=agents, now=now) if users else {}
    rows = []
    for user in users:
        agent = agents[user.pk]
        load = Load(open_leads=user.open_leads, new_today=today.get(user.pk, 0))
        why = unavailable_reason(user=user, agent=agent, now=now, working_hours=True, load=load)
        rows.append(
            AgentRow(
                user=user,
                agent=agent,
                teams=[m.team.name for m in user.team_memberships.all()],
                open_leads=user.open_leads,
                new_today=load.new_today,
                status=why or "available",
            )
        )
    return rows


def _agent(user: User) -> Agent | None:
    try:
        return user.agent
    except Agent.DoesNotExist:
        return None


def _waiting(user) -> QuerySet[Lead]:
    return visible_to(user).filter(owner__isnull=True, team__isnull=False, status__in=OPEN_STATUSES)


@dataclass
class QueueSummary:
    teams: list[dict]
    leads: list[Lead]
    unrouted: int


def queue_summary(*, user) -> QueueSummary:
    """Leads waiting in team queues: per team (how many, the oldest, the best score), the best
    ones first, and how many open leads have no team at all (no territory matched)."""
    teams = list(
        _waiting(user)
        .order_by()
        .values("team_id", "team__name")
        .annotate(waiting=Count("pk"), oldest=Min("created_at"), best=Max("score"))
        .order_by("team__name")
    )
    best_first = ranked(_waiting(user)).filter(rank__owner_id__isnull=True)  # the rank table's team-queue index
    leads = list(best_first.select_related("team").order_by("-rank__score", "created_at", "id")[:LIST_LIMIT])
    unrouted = (
        visible_to(user)
        .filter(owner__isnull=True, team__isnull=True, status__in=OPEN_STATUSES, processed_at__isnull=False)
        .count()
    )
    return QueueSummary(teams=teams, leads=leads, unrouted=unrouted)


def sla_breaches(*, user, now: datetime) -> tuple[int, list[Lead]]:
    """Open leads whose first contact is overdue: how many, and the most overdue first."""
    overdue = visible_to(user).filter(
        sla_due_at__lt=now, first_contacted_at__isnull=True, owner__isnull=False, status__in=OPEN_STATUSES
    )
    return overdue.count(), list(overdue.select_related("owner", "team").order_by("sla_due_at", "id")[:LIST_LIMIT])


def reassignment_log(*, limit: int = LOG_LIMIT) -> list[Assignment]:
    """The latest SLA reassignments and escalations."""
    return list(
        Assignment.objects.filter(reason__in=[Assignment.Reason.SLA, Assignment.Reason.ESCALATION])
        .select_related("lead", "agent", "team")
        .order_by("-assigned_at", "-id")[:limit]
    )


# --- Response times ---------------------------------------------------------------------------


class _Epoch(Func):
    """Seconds in an interval (PostgreSQL)."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()


class _Percentile(Aggregate):
    """PostgreSQL's percentile_cont; NULLs (assignments never contacted) are left out."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


@dataclass
class ResponseTimes:
    """First-contact times of assignments (seconds) and the share within the SLA."""

    name: str
    assignments: int = 0
    contacted: int = 0
    median: float | None = None
    p90: float | None = None
    decided: int = 0  # with an SLA that was met or ran out
    within_sla: int = 0

    @property
    def within_sla_share(self) -> float | None:
        return self.within_sla / self.decided if self.decided else None


@dataclass
class ResponseReport:
    since: datetime
    reps: list[ResponseTimes] = field(default_factory=list)
    teams: list[ResponseTimes] = field(default_factory=list)


def _decided(now: datetime) -> Q:
    return Q(sla_due_at__isnull=False) & (Q(first_contact_at__isnull=False) | Q(sla_due_at__lt=now))


def _within() -> Q:
    return Q(first_contact_at__isnull=False, sla_due_at__isnull=False, first_contact_at__lte=F("sla_due_at"))


def _grouped_sql(assignments: QuerySet[Assignment], key: str, now: datetime) -> list[ResponseTimes]:
    seconds = _Epoch(F("first_contact_at") - F("assigned_at"))
    rows = (
        assignments.exclude(**{f"{key}__isnull": True})
        .order_by()
        .values(key)
        .annotate(
            n=Count("pk"),
            contacted=Count("pk", filter=Q(first_contact_at__isnull=False)),
            median=_Percentile(seconds, fraction=0.5),
            p90=_Percentile(seconds, fraction=0.9),
            decided=Count("pk", filter=_decided(now)),
            within=Count("pk", filter=_within()),
        )
        .order_by(key)
    )
    return [
        ResponseTimes(
            name=row[key],
            assignments=row["n"],
            contacted=row["contacted"],
            median=row["median"],
            p90=row["p90"],
            decided=row["decided"],
            within_sla=row["within"],
        )
        for row in rows
    ]


def _percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks: the same as PostgreSQL's percentile_cont."""
    if not values:
        return None
    values = sorted(values)
    position = (len(values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def _grouped_python(assignments: QuerySet[Assignment], key: str, now: datetime) -> list[ResponseTimes]:
    """The same figures on databases without percentile_cont (SQLite, for `make run`)."""
    groups: dict[str, list[tuple]] = {}
    for row in assignments.exclude(**{f"{key}__isnull": True}).values_list(
        key, "assigned_at", "first_contact_at", "sla_due_at"
    ):
        groups.setdefault(row[0], []).append(row[1:])
    report = []
    for name in sorted(groups):
        rows = groups[name]
        times = [(contact - assigned).total_seconds() for assigned, contact, _ in rows if contact is not None]
        decided = [(contact, due) for _, contact, due in rows if due is not None and (contact is not None or due < now)]
        report.append(
            ResponseTimes(
                name=name,
                assignments=len(rows),
                contacted=len(times),
                median=statistics.median(times) if times else None,
                p90=_percentile(times, 0.9),
                decided=len(decided),
                within_sla=sum(1 for contact, due in decided if contact is not None and contact <= due),
            )
        )
    return report


def response_times(
    *, now: datetime, window: timedelta = RESPONSE_WINDOW, agent_id: int | None = None
) -> ResponseReport:
    """Per rep and per team, over the assignments of the last `window`: median and p90 time to
    first contact, and the share of first contacts within the SLA. Two queries."""
    since = now - window
    assignments = Assignment.objects.filter(assigned_at__gte=since, assigned_at__lte=now)
    if agent_id is not None:
        assignments = assignments.filter(agent_id=agent_id)
    grouped = _grouped_sql if connection.vendor == "postgresql" else _grouped_python
    return ResponseReport(
        since=since,
        reps=grouped(assignments, "agent__username", now),
        teams=[] if agent_id is not None else grouped(assignments, "team__name", now),
    )


# --- A rep's own queue ------------------------------------------------------------------------


def rep_queue(*, user) -> QuerySet[Lead]:
    """The rep's leads still waiting for a first contact, by priority: grade (A first), then
    the SLA deadline (soonest first; none last)."""
    return (
        visible_to(user)
        .filter(owner_id=user.pk, status__in=OPEN_STATUSES, first_contacted_at__isnull=True)
        .select_related("team")
        .order_by(GRADE_ORDER, F("sla_due_at").asc(nulls_last=True), "-score", "id")
    )


def rep_team_waiting(*, user) -> int:
    """Unassigned leads waiting in the rep's teams' queues."""
    return _waiting(user).count()
