"""The rep's workspace: the reads behind "My work" and the lead list (queue, tasks, recent activity,
capped counts) and the small writes of the list (saved views, column choice, time zone).

Every lead query starts from visible_to(user). Each read is a fixed number of queries, whatever
the data: counts are capped (exact up to a limit, then "1,000+"), several in one statement.
"""
from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from urllib.parse import parse_qsl, urlencode

from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .distribution.availability import OPEN_STATUSES
from .distribution.selectors import GRADE_ORDER
from .models import Interaction, Lead, Notification, SavedView, Task, UserPreference
from .selectors import visible_to

COUNT_CAP = 1_000
STATUS_COUNT_CAP = 100  # past COUNT_CAP matches, each status tab counts up to this ("100+")
QUEUE_LIMIT = 25
TASK_LIMIT = 50
RECENT_LIMIT = 15
NOTIFICATION_LIMIT = 10
SAVED_VIEW_LIMIT = 50

# What "recently active" means on the home page: the lead did something.
RECENT_KINDS = (Interaction.Kind.PAGE_VIEW, Interaction.Kind.EMAIL_IN, Interaction.Kind.FORM_SUBMIT)

# Validation messages (tests assert on them).
VIEW_NAME_REQUIRED = _("Give the view a name.")
VIEW_NAME_TOO_LONG = _("A view name is at most 100 characters.")
VIEW_NAME_TAKEN = _("You already have a view with this name.")
VIEW_QUERY_TOO_LONG = _("This query is too long to save (at most 2,000 characters).")
VIEW_SHARE_FORBIDDEN = _("Only managers share views with everyone.")
UNKNOWN_COLUMN = _("Unknown column: %(column)s.")
NO_COLUMNS = _("Choose at least one column.")
UNKNOWN_TIME_ZONE = _("%(value)s is not a time zone such as Europe/Berlin.")


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


# --- "My work" ---------------------------------------------------------------------------------


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
        visible_to(user).filter(owner_id=user.pk, status__in=OPEN_STATUSES)
        .filter(uncontacted | Q(pk__in=due_lead_ids))
        .annotate(
            sla_overdue=Case(When(uncontacted & Q(sla_due_at__lt=now), then=Value(0)), default=Value(1), output_field=IntegerField()),
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
        _open_tasks(user).filter(due_at__lt=end_of_today(now=now)).filter(visible_exists(user))
        .select_related("lead").order_by("due_at", "id")
    )


def home_recent(*, user, limit: int = RECENT_LIMIT) -> list[Interaction]:
    """The newest page views, replies and form submits on leads the user can see. One indexed
    scan per kind (newest first, LIMITed), merged in one query: never a sort of every page view."""
    recent = Interaction.objects.filter(visible_exists(user)).select_related("lead").order_by("-occurred_at", "-id")
    if not connections[recent.db].features.supports_slicing_ordering_in_compound:  # SQLite (`make run`)
        return list(recent.filter(kind__in=RECENT_KINDS)[:limit])
    newest = [
        Interaction.objects.filter(kind=kind).filter(visible_exists(user)).order_by("-occurred_at", "-id").values("pk")[:limit]
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
    counts = capped_counts({
        "queue": home_queue(user=user, now=now),
        "sla_overdue": mine.filter(first_contacted_at__isnull=True, sla_due_at__lt=now),
        "tasks_today": tasks.filter(due_at__gte=now, due_at__lt=tomorrow),
        "tasks_overdue": tasks.filter(due_at__lt=now),
    })
    return HomeCounts(**counts)


def home_task_get(*, user, pk: int) -> Task:
    """A task the user may complete: theirs, on a lead they can see (else Task.DoesNotExist)."""
    return Task.objects.filter(assigned_to_id=user.pk).filter(visible_exists(user)).select_related("lead").get(pk=pk)


# --- Lead list: columns, saved views ------------------------------------------------------------

# (key, label, ordering field or "") — the columns a user may show; the order is the table's.
LEAD_COLUMNS = (
    ("company", _("Company"), ""),
    ("email", _("Email"), ""),
    ("phone", _("Phone"), ""),
    ("status", _("Status"), ""),
    ("score", _("Score"), "score"),
    ("probability", _("Probability"), "probability"),
    ("owner", _("Owner"), ""),
    ("source", _("Source"), ""),
    ("country", _("Country"), ""),
    ("time_zone", _("Local time zone"), "callable_now"),
    ("last_activity", _("Last activity"), "last_activity_at"),
    ("updated", _("Updated"), "updated_at"),
    ("created", _("Created"), "created_at"),
)
COLUMN_KEYS = tuple(key for key, _label, _order in LEAD_COLUMNS)
DEFAULT_COLUMNS = ("company", "email", "status", "score", "owner", "source", "created")


def preference_get(*, user) -> UserPreference:
    """The user's preferences (unsaved defaults when they have none yet)."""
    return UserPreference.objects.filter(user_id=user.pk).first() or UserPreference(user_id=user.pk)


def columns_for(preference: UserPreference) -> list[str]:
    """The columns to show: the saved choice (unknown keys dropped), else the defaults."""
    chosen = [key for key in preference.lead_columns or [] if key in COLUMN_KEYS]
    return chosen or list(DEFAULT_COLUMNS)


def preference_update(*, user, lead_columns: list[str] | None = None, time_zone: str | None = None) -> UserPreference:
    """Save the user's list columns and/or time zone (ValidationError with per-field messages)."""
    errors: dict[str, list] = {}
    if lead_columns is not None:
        unknown = [key for key in lead_columns if key not in COLUMN_KEYS]
        if unknown:
            errors["lead_columns"] = [ValidationError(UNKNOWN_COLUMN, params={"column": unknown[0]}).messages[0]]
        elif not lead_columns:
            errors["lead_columns"] = [str(NO_COLUMNS)]
    if time_zone:
        try:
            zoneinfo.ZoneInfo(time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = [ValidationError(UNKNOWN_TIME_ZONE, params={"value": time_zone[:64]}).messages[0]]
    if errors:
        raise ValidationError(errors)
    defaults = {}
    if lead_columns is not None:
        defaults["lead_columns"] = [key for key in COLUMN_KEYS if key in lead_columns]  # the table's order
    if time_zone is not None:
        defaults["time_zone"] = time_zone
    preference, _created = UserPreference.objects.update_or_create(user_id=user.pk, defaults=defaults)
    return preference


@dataclass(frozen=True)
class BuiltInView:
    name: str
    query: str
    pk: None = None
    is_shared: bool = True
    built_in: bool = True


def builtin_views(*, user) -> list[BuiltInView]:
    """The views everyone is offered: "My hot leads" (own grade A/B, best score first) and "Callable now"."""
    return [
        BuiltInView(name=_("My hot leads"), query=urlencode({"owner": user.username, "grade": "A,B", "ordering": "-score"})),
        BuiltInView(name=_("Callable now"), query=urlencode({"callable_now": "true", "ordering": "-score"})),
    ]


def saved_views_for(*, user) -> list[SavedView]:
    """The user's own views and everyone's shared ones (one query)."""
    return list(
        SavedView.objects.filter(Q(user_id=user.pk) | Q(is_shared=True)).order_by("position", "name", "id")[:SAVED_VIEW_LIMIT]
    )


def clean_list_query(query: str) -> str:
    """A list query string without the page and page size (a view is a filter, not a position)."""
    pairs = [(key, value) for key, value in parse_qsl(query, keep_blank_values=False) if key not in {"page", "view"}]
    return urlencode(pairs)


@transaction.atomic
def saved_view_create(*, user, name: str, query: str, is_shared: bool = False, may_share: bool = False) -> SavedView:
    """Save the list's current query under a name (shared with everyone when allowed)."""
    name = (name or "").strip()
    query = clean_list_query(query or "")
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [str(VIEW_NAME_REQUIRED)]
    elif len(name) > 100:
        errors["name"] = [str(VIEW_NAME_TOO_LONG)]
    elif SavedView.objects.filter(user_id=user.pk, name=name).exists():
        errors["name"] = [str(VIEW_NAME_TAKEN)]
    if len(query) > 2000:
        errors["query"] = [str(VIEW_QUERY_TOO_LONG)]
    if is_shared and not may_share:
        errors["is_shared"] = [str(VIEW_SHARE_FORBIDDEN)]
    if errors:
        raise ValidationError(errors)
    return SavedView.objects.create(user_id=user.pk, name=name, query=query, is_shared=is_shared)


def saved_view_delete(*, user, pk: int, may_delete_shared: bool = False) -> bool:
    """Delete one of the user's views (a manager may delete a shared one); True when deleted."""
    views = SavedView.objects.filter(pk=pk)
    views = views.filter(Q(user_id=user.pk) | Q(is_shared=True)) if may_delete_shared else views.filter(user_id=user.pk)
    deleted, _rows = views.delete()
    return bool(deleted)


# --- Lead list: counts by status ----------------------------------------------------------------


def status_counts(
    *, queryset: QuerySet[Lead], parts: list[QuerySet[Lead]] | None = None, cap: int = COUNT_CAP,
    status_cap: int = STATUS_COUNT_CAP, each_status: bool = True,
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
    for status in statuses:
        counted, part_params = [], []
        for n, part in enumerate(parts):
            each_sql, each_params = part.filter(status=status).values("pk")[: status_cap + 1].query.sql_with_params()
            counted.append(f"(SELECT COUNT(*) FROM ({each_sql}) AS part_{n})")
            part_params.extend(each_params)
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
