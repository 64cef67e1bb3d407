"""Read queries for leads. Every lead query starts from visible_to(user)."""

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Case, F, Func, IntegerField, Q, QuerySet, Subquery, Value, When

from .filters import LeadFilter
from .models import Interaction, Lead, TeamMembership
from .roles import is_manager, is_rep, sees_all_leads


class InList(Func):
    """`column IN (subquery)`, written `column = ANY(ARRAY(subquery))` on PostgreSQL: the subquery
    then runs once, before the scan (an InitPlan), and its values are an index condition. Inside an
    OR a plain IN stays a per-row filter (a hashed SubPlan): a rep's "unassigned in my teams" read
    every team's queue from the team-queue index (85,764 entries at a million leads, not the team's
    32,355) and could not be checked inside the bitmap, so the heap was read to filter it."""

    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra):
        column, subquery = (compiler.compile(expression) for expression in self.get_source_expressions())
        return f"{column[0]} IN {subquery[0]}", (*column[1], *subquery[1])

    def as_postgresql(self, compiler, connection, **extra):
        column, subquery = (compiler.compile(expression) for expression in self.get_source_expressions())
        return f"{column[0]} = ANY(ARRAY{subquery[0]})", (*column[1], *subquery[1])


def visible_to(user: User | AnonymousUser) -> QuerySet[Lead]:
    """The leads a user may see: all for managers and marketers; for a rep, the leads
    they own plus the unassigned leads of their teams; nothing for anyone else."""
    leads = Lead.objects.all()
    if sees_all_leads(user):
        return leads
    if is_rep(user):
        return leads.filter(_rep_sees(user))
    return leads.none()


def _rep_sees(user: User, path: str = "") -> Q:
    """A rep's leads: their own and their teams' unassigned ones, said on the lead (`path` "") or
    on a copy of its owner and team (the rank row: "rank__")."""
    team_ids = Subquery(TeamMembership.objects.filter(user_id=user.pk).values("team_id"))
    return Q(**{f"{path}owner_id": user.pk}) | (
        Q(**{f"{path}owner_id": None}) & Q(InList(F(f"{path}team_id"), team_ids))
    )


def rank_visible_to(user: User | AnonymousUser) -> Q:
    """visible_to(user)'s condition said again on the lead's rank row (its copy of the owner and
    team, leads.models.rank), for a read that walks the rank table: the walk then skips the rows
    the user may not see without looking their lead up (a rep's board column looked up every lead
    of the status by score, best first, to find their own). Never instead of visible_to: beside it."""
    if sees_all_leads(user):
        return Q()
    if is_rep(user):
        return _rep_sees(user, "rank__")
    return Q(pk__in=[])


def editable_by(user: User | AnonymousUser) -> QuerySet[Lead]:
    """The leads a user may change: all for managers, visible_to(user) for reps, none for
    marketers (who read every lead but change none) and anyone else."""
    if is_manager(user):
        return Lead.objects.all()
    if is_rep(user):
        return visible_to(user)
    return Lead.objects.none()


def visible_parts(user: User | AnonymousUser) -> list[QuerySet[Lead]]:
    """visible_to(user) as disjoint querysets without an OR (a rep: their own leads, and their teams'
    unassigned ones), for counts PostgreSQL answers from plain index ranges. Their union is visible_to(user)."""
    if is_rep(user) and not sees_all_leads(user):
        team_ids = TeamMembership.objects.filter(user_id=user.pk).values("team_id")
        return [Lead.objects.filter(owner_id=user.pk), Lead.objects.filter(owner__isnull=True, team_id__in=team_ids)]
    return [visible_to(user)]


def lead_filterset(*, user: User | AnonymousUser, data) -> LeadFilter:
    """A LeadFilter bound to `data` over the leads `user` may see (the HTML list renders its form)."""
    return LeadFilter(data, queryset=visible_to(user).select_related("owner", "team"))


def lead_list(*, user: User | AnonymousUser, filters=None) -> QuerySet[Lead]:
    """The visible leads matching `filters`; raises ValidationError with per-field messages."""
    filterset = lead_filterset(user=user, data=filters or {})
    if not filterset.is_valid():
        raise ValidationError({field: list(messages) for field, messages in filterset.errors.items()})
    return filterset.qs


def lead_get(*, user: User | AnonymousUser, pk) -> Lead:
    """One visible lead, or Lead.DoesNotExist (a 404 for the caller)."""
    return visible_to(user).select_related("owner", "team").get(pk=pk)


def lead_interactions(*, lead: Lead) -> QuerySet[Interaction]:
    """A lead's timeline, newest first."""
    return lead.interactions.select_related("actor").order_by("-occurred_at", "-id")


# The statuses of a lead still being worked (routing, SLAs, a rep's queue and home read them).
OPEN_STATUSES = ("new", "active", "nurturing", "qualified")
# Order by grade, A first and ungraded last (a rep's queue, "My work").
GRADE_ORDER = Case(
    When(grade="A", then=Value(0)),
    When(grade="B", then=Value(1)),
    When(grade="C", then=Value(2)),
    When(grade="D", then=Value(3)),
    default=Value(4),
    output_field=IntegerField(),
)
