"""The reads behind "My work": the queue, today's tasks, recent activity, notifications and the
figures at a glance, each a fixed number of queries whatever the data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import connections
from django.db.models import Case, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

from ..models import Interaction, Lead, Notification, Task
from ..selectors import GRADE_ORDER, OPEN_STATUSES, visible_to
from .counts import capped_counts, visible_exists

QUEUE_LIMIT = 25
TASK_LIMIT = 50
RECENT_LIMIT = 15
NOTIFICATION_LIMIT = 10

# What "recently active" means on the home page: the lead did something.
RECENT_KINDS = (Interaction.Kind.PAGE_VIEW, Interaction.Kind.EMAIL_IN, Interaction.Kind.FORM_SUBMIT)


def end_of_today(*, now: datetime) -> datetime:
    """Midnight at the end of the user's today (in the active time zone)."""
    today = timezone.localtime(now).date()
    return timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min))


def _open_tasks(user) -> QuerySet[Task]:
    return Task.objects.filter(assigned_to_id=user.pk, done_at__isnull=True)


def home_queue(*, user, now: datetime) -> QuerySet[Lead]:
    """The user's own open leads that want something now: new ones awaiting a first contact (their
    deadline: the SLA) and those with a follow-up task due by the end of today (their deadline: the
    task). Overdue SLAs first, then grade (A first), then the nearest deadline.

    The due tasks are one hashed subquery (`id IN (…)`), and the task's due time is looked up only
    for the contacted leads (inside the CASE), never once per lead of a big book."""
    uncontacted = Q(first_contacted_at__isnull=True)
    due_lead_ids = _open_tasks(user).filter(due_at__lt=end_of_today(now=now)).values("lead_id")
    return (
        visible_to(user)
        .filter(owner_id=user.pk, status__in=OPEN_STATUSES)
        .filter(uncontacted | Q(pk__in=due_lead_ids))
        .annotate(
            sla_overdue=Case(
                When(uncontacted & Q(sla_due_at__lt=now), then=Value(0)), default=Value(1), output_field=IntegerField()
            ),
            deadline=Case(When(uncontacted, then=F("sla_due_at")), default=_next_task_at(user, end_of_today(now=now))),
        )
        .select_related("team")
        .order_by("sla_overdue", GRADE_ORDER, F("deadline").asc(nulls_last=True), "-score", "id")
    )


def _next_task_at(user, before: datetime):
    return Subquery(
        _open_tasks(user).filter(lead_id=OuterRef("pk"), due_at__lt=before).order_by("due_at").values("due_at")[:1]
    )


def home_tasks(*, user, now: datetime) -> QuerySet[Task]:
    """The user's open tasks due today or overdue, on leads they can see, the oldest due first."""
    return (
        _open_tasks(user)
        .filter(due_at__lt=end_of_today(now=now))
        .filter(visible_exists(user))
        .select_related("lead")
        .order_by("due_at", "id")
    )


def home_recent(*, user, limit: int = RECENT_LIMIT) -> list[Interaction]:
    """The newest page views, replies and form submits on leads the user can see. One indexed
    scan per kind (newest first, LIMITed), merged in one query: never a sort of every page view."""
    recent = Interaction.objects.filter(visible_exists(user)).select_related("lead").order_by("-occurred_at", "-id")
    if not connections[recent.db].features.supports_slicing_ordering_in_compound:  # SQLite (`make run`)
        return list(recent.filter(kind__in=RECENT_KINDS)[:limit])
    newest = [
        Interaction.objects.filter(kind=kind)
        .filter(visible_exists(user))
        .order_by("-occurred_at", "-id")
        .values("pk")[:limit]
        for kind in RECENT_KINDS
    ]
    return list(recent.filter(pk__in=newest[0].union(*newest[1:], all=True))[:limit])


def home_notifications(*, user, limit: int = NOTIFICATION_LIMIT) -> list[Notification]:
    """The user's latest notifications (assignments, qualified hand-offs, replies, tasks)."""
    return list(
        Notification.objects.filter(user_id=user.pk).select_related("lead").order_by("-created_at", "-id")[:limit]
    )


@dataclass
class HomeCounts:
    queue: tuple[int, bool]
    sla_overdue: tuple[int, bool]
    tasks_today: tuple[int, bool]
    tasks_overdue: tuple[int, bool]


def home_counts(*, user, now: datetime) -> HomeCounts:
    """The figures at a glance, capped, in one query."""
    tomorrow = end_of_today(now=now)
    mine = visible_to(user).filter(owner_id=user.pk, status__in=OPEN_STATUSES)
    tasks = _open_tasks(user).filter(visible_exists(user))
    counts = capped_counts(
        {
            "queue": home_queue(user=user, now=now),
            "sla_overdue": mine.filter(first_contacted_at__isnull=True, sla_due_at__lt=now),
            "tasks_today": tasks.filter(due_at__gte=now, due_at__lt=tomorrow),
            "tasks_overdue": tasks.filter(due_at__lt=now),
        }
    )
    return HomeCounts(**counts)


def home_task_get(*, user, pk: int) -> Task:
    """A task the user may complete: theirs, on a lead they can see (else Task.DoesNotExist)."""
    return Task.objects.filter(assigned_to_id=user.pk).filter(visible_exists(user)).select_related("lead").get(pk=pk)
