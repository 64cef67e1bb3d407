"""Assignment: territory → team → the next available rep by smooth weighted round robin, the
team queues (first contact and the SLA's reassignment and escalation are in sla.py).

Every placing of a lead writes, in the transaction that takes the turn: the lead's owner, team,
assigned_at and sla_due_at; an Assignment row; an "assignment" Interaction whose data carries
the reason ("territory EMEA → team Inside Sales → rep2 (round robin, 2 skipped: out of office)");
a Notification for the new owner, emailed by notify_by_email_task after the commit.

One engine places one lead (the pipeline) or a batch (admin, assign_leads, the queue drain):
the batch locks its leads, then its teams once, takes the turns in memory and writes them in
set-based SQL, so a batch of 100 costs about as many statements as a single lead.

Lock order, always: the leads (FOR UPDATE, in id order), then the teams (FOR NO KEY UPDATE, in
id order).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from .. import events, jobs, locks
from ..models import Agent, Assignment, Interaction, Lead, Notification, Team, TeamMembership, ranked
from .availability import OPEN_STATUSES, sla_due, unavailable_reason
from .round_robin import Rotation, Turn, rotation_take, rotations_lock, rotations_save, team_settings
from .territories import TerritoryRoute, territories_active, territory_match
from .texts import lead_label, nobody_text, turn_text

logger = logging.getLogger(__name__)

BATCH = 100  # leads per transaction in a batch: the teams stay locked for one batch at most
EMAIL_BATCH = 500

# Notification texts (the email subject is "[LeadCRM] " + the text).
NOTIFY_NEW = "New lead assigned to you: {lead}"
NO_ROUTE = "no territory matches and the lead has no team"
NO_TEAM_FOR_TERRITORY = "territory {territory} is served by no team"


@dataclass
class Placement:
    """Where a lead goes and why."""

    user: User
    agent: Agent | None
    team: Team | None
    reason: str  # Assignment.Reason
    detail: str
    territory_id: int | None = None
    territory_name: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    with_sla: bool = True
    notify: str = ""  # the notification text; NOTIFY_NEW when empty
    extra: dict = field(default_factory=dict)  # more lead fields to write (reassignments)


@dataclass
class _Owner:
    """A company domain's current owner, for returning leads."""

    user: User
    agent: Agent | None
    teams: list[Team]


def _email_later(notification_ids: list[int]) -> None:

    for start in range(0, len(notification_ids), EMAIL_BATCH):
        jobs.enqueue("leads.workspace.tasks.notify_by_email_task", notification_ids[start : start + EMAIL_BATCH])


def _write(placed: list[tuple[Lead, Placement]], *, now: datetime, emails: list[int] | None) -> list[Assignment]:
    """Write placings of locked leads: one UPDATE per (owner, team, deadline), and one INSERT each
    for the assignments, the timeline entries and the notifications. Emails go after the commit
    (or into `emails`, for a caller that sends one email task at its end)."""
    if not placed:
        return []
    deadlines: dict[tuple, datetime | None] = {}
    groups: dict[tuple, list[int]] = defaultdict(list)
    rows = []
    for lead, placement in placed:
        due = None
        if placement.with_sla and placement.team is not None:
            minutes = team_settings(placement.team).sla_minutes
            key = (placement.user.pk, minutes)
            if key not in deadlines:
                deadlines[key] = sla_due(start=now, minutes=minutes, agent=placement.agent)
            due = deadlines[key]
        team_id = placement.team.pk if placement.team is not None else lead.team_id
        groups[(placement.user.pk, team_id, due, tuple(sorted(placement.extra.items())))].append(lead.pk)
        rows.append((lead, placement, due, lead.owner.username if lead.owner_id else None))
    # updated_at stays: the pipeline stamps processed_at only if no new data arrived while it ran
    # (updated_at ≤ its start), and its own assignment is not new data.
    for (owner_id, team_id, due, extra), ids in groups.items():
        Lead.objects.filter(pk__in=ids).update(
            owner_id=owner_id, team_id=team_id, assigned_at=now, sla_due_at=due, **dict(extra)
        )
    assignments = Assignment.objects.bulk_create(
        [
            Assignment(
                lead=lead,
                agent=p.user,
                team=p.team,
                territory_id=p.territory_id,
                reason=p.reason,
                detail=p.detail[:300],
                assigned_at=now,
                sla_due_at=due,
            )
            for lead, p, due, _ in rows
        ]
    )
    events.leads_assigned(
        assignments=[
            events.Assignment(
                lead=lead,
                previous=previous,
                to=p.user.username,
                reason=p.detail,
                rule=p.reason,
                territory=p.territory_name,
                team=p.team.name if p.team else None,
                skipped=p.skipped,
                sla_due_at=due,
            )
            for lead, p, due, previous in rows
        ],
        occurred_at=now,
    )
    notifications = Notification.objects.bulk_create(
        [
            Notification(
                user=p.user,
                kind=Notification.Kind.ASSIGNED,
                lead=lead,
                message=(p.notify or NOTIFY_NEW.format(lead=lead_label(lead)))[:300],
            )
            for lead, p, _, _ in rows
        ]
    )
    ids = [n.pk for n in notifications]
    if emails is None:
        _email_later(ids)
    else:
        emails.extend(ids)
    for lead, p, due, _ in rows:  # keep the caller's objects in step with the database
        lead.owner, lead.assigned_at, lead.sla_due_at = p.user, now, due
        if p.team is not None:
            lead.team = p.team
        for name, value in p.extra.items():
            setattr(lead, name, value)
    return assignments


def placement_apply(*, lead: Lead, placement: Placement, now: datetime, emails: list[int] | None = None) -> Assignment:
    """Write one placing (inside the caller's transaction, the lead locked)."""
    return _write([(lead, placement)], now=now, emails=emails)[0]


def _queue_many(entries: list[tuple[Lead, int, str, str | None]], *, now: datetime) -> None:
    """Nobody can take these leads: each waits in its team's queue (owner empty, team set), and
    its timeline says why. The drain (beat, every minute) assigns it once someone is free."""
    if not entries:
        return
    moving: dict[int, list[int]] = defaultdict(list)
    for lead, team_id, _, _ in entries:
        if lead.team_id != team_id:
            moving[team_id].append(lead.pk)
            lead.team_id = team_id
    for team_id, ids in moving.items():
        Lead.objects.filter(pk__in=ids).update(team_id=team_id)
    events.leads_assigned(
        assignments=[
            events.Assignment(
                lead=lead,
                previous=None,
                to=None,
                queue=team_id,
                reason=detail,
                territory=territory_name,
                subject=f"Waiting in the queue: {detail}",
            )
            for lead, team_id, detail, territory_name in entries
        ],
        occurred_at=now,
    )


def queue_enter(*, lead: Lead, team_id: int, detail: str, territory_name: str | None, now: datetime) -> None:
    """Put one lead in a team's queue, with the reason on its timeline."""
    _queue_many([(lead, team_id, detail, territory_name)], now=now)


def lead_waiting_in_queue(lead: Lead) -> bool:
    """Placed in its team's queue before (so it waits there, rather than being routed again)."""
    return Interaction.objects.filter(
        lead_id=lead.pk, kind=Interaction.Kind.ASSIGNMENT, data__queue=lead.team_id
    ).exists()


def _queue_markers(leads: list[Lead]) -> set[tuple[int, int]]:
    """(lead id, team id) for each lead placed in a team's queue before."""
    ids = [lead.pk for lead in leads if lead.team_id]
    if not ids:
        return set()
    rows = Interaction.objects.filter(lead_id__in=ids, kind=Interaction.Kind.ASSIGNMENT, data__has_key="queue")
    return {(lead_id, queue) for lead_id, queue in rows.values_list("lead_id", "data__queue") if isinstance(queue, int)}


def teams_take_turn(team_ids: list[int], *, now: datetime, **take) -> tuple[Turn | None, list[Turn]]:
    """Take a turn in each team in order until one has someone available. A team with nobody
    gives its lock back at once (its savepoint is rolled back) rather than holding it."""
    tried: list[Turn] = []
    for index, team_id in enumerate(team_ids):
        last = index == len(team_ids) - 1
        savepoint = None if last else transaction.savepoint()
        turn = rotation_take(team_id=team_id, now=now, **take)
        if turn is not None and turn.user is not None:
            if savepoint:
                transaction.savepoint_commit(savepoint)
            return turn, tried
        if savepoint:
            transaction.savepoint_rollback(savepoint)
        if turn is not None:
            tried.append(turn)
    return None, tried


def lead_lock(lead_id: int, *, skip_locked: bool = False) -> Lead | None:
    """The lead with its owner and team, locked (leads.locks' order)."""
    return locks.lead_lock(lead_id, related=("owner", "team"), skip_locked=skip_locked)


def _lock_unowned(lead_ids: list[int]) -> list[Lead]:
    """The unowned open leads among `lead_ids`, locked in id order, returned in the given order."""
    locked = {
        lead.pk: lead
        for lead in locks.leads_lock(
            Lead.objects.filter(pk__in=lead_ids, owner__isnull=True, status__in=OPEN_STATUSES), related=("team",)
        )
    }
    return [locked[pk] for pk in dict.fromkeys(lead_ids) if pk in locked]


def _domain_owners(leads: list[Lead]) -> dict[str, _Owner]:
    """Company domains of the corporate leads that someone active already owns (two queries)."""
    domains = {lead.email_domain for lead in leads if lead.email_kind == Lead.EmailKind.CORPORATE and lead.email_domain}
    if not domains:
        return {}
    owned = (
        Lead.objects.filter(email_domain__in=domains, owner__isnull=False, owner__is_active=True)
        .exclude(pk__in=[lead.pk for lead in leads])
        .order_by("email_domain", F("assigned_at").desc(nulls_last=True), "-id")
    )
    if connection.vendor == "postgresql":
        owned = owned.distinct("email_domain")  # one row per domain, not every lead of a big company
    owner_of: dict[str, int] = {}
    for domain, owner_id in owned.values_list("email_domain", "owner_id"):
        owner_of.setdefault(domain, owner_id)
    memberships = defaultdict(list)
    for m in (
        TeamMembership.objects.filter(user_id__in=set(owner_of.values()))
        .select_related("user", "user__agent", "team", "team__routing")
        .order_by("pk")
    ):
        memberships[m.user_id].append(m)
    owners = {}
    for domain, owner_id in owner_of.items():
        if memberships.get(owner_id):  # an agent: in a team (not, say, a manager a lead escalated to)
            user = memberships[owner_id][0].user
            try:
                agent = user.agent
            except Agent.DoesNotExist:
                agent = None
            owners[domain] = _Owner(user=user, agent=agent, teams=[m.team for m in memberships[owner_id]])
    return owners


def _returning(lead: Lead, owner: _Owner | None, *, now: datetime, preferred: list[int]) -> Placement | None:
    """A new lead from a company someone owns goes to that owner, when the team's
    keep_returning_owner says so and the owner is active and in the office."""
    if owner is None:
        return None
    by_id = {team.pk: team for team in owner.teams}
    team = next((by_id[tid] for tid in [lead.team_id, *preferred] if tid in by_id), owner.teams[0])
    if not team_settings(team).keep_returning_owner:
        return None
    if unavailable_reason(user=owner.user, agent=owner.agent, now=now, working_hours=False):
        return None
    name = owner.user.username
    return Placement(
        user=owner.user,
        agent=owner.agent,
        team=team,
        reason=Assignment.Reason.RETURNING,
        detail=f"returning: {lead.email_domain} is owned by {name} → team {team.name} → {name}",
    )


@dataclass
class _Plan:
    """Where one lead may go, decided before any team is locked."""

    lead: Lead
    team_ids: list[int]
    path: str
    from_queue: bool = False
    own_team: bool = False
    route: TerritoryRoute | None = None


def _plan(lead: Lead, *, markers: set, territories: list[TerritoryRoute] | None) -> _Plan | None:
    if lead.team_id and (lead.pk, lead.team_id) in markers:
        return _Plan(lead=lead, team_ids=[lead.team_id], path=f"queue of team {lead.team.name}", from_queue=True)
    if lead.team_id:  # set by its channel (a web form's team) or a manager: it wins over territories
        return _Plan(lead=lead, team_ids=[lead.team_id], path=f"team {lead.team.name} (the lead's team)", own_team=True)
    route = territory_match(lead=lead, territories=territories)
    if route is None:
        logger.info("lead %s left unassigned: %s", lead.pk, NO_ROUTE)
        return None
    if not route.team_ids:
        logger.warning(
            "lead %s left unassigned: %s", lead.pk, NO_TEAM_FOR_TERRITORY.format(territory=route.territory.name)
        )
        return None
    return _Plan(lead=lead, team_ids=list(route.team_ids), path=f"territory {route.territory.name}", route=route)


def _place(plan: _Plan, rotations: dict[int, Rotation], *, now: datetime):
    """Take turns in the plan's teams, in order: a Placement, (team id, why) for the queue, or
    None when every team of the plan is gone."""
    full: list[Turn] = []
    for team_id in plan.team_ids:
        rotation = rotations.get(team_id)
        if rotation is None:
            continue  # deleted meanwhile
        turn = rotation.take(now=now)
        if turn.user is None:
            full.append(turn)
            continue
        if plan.from_queue:
            reason, detail = Assignment.Reason.QUEUE, f"{plan.path} → {turn_text(turn)}"
        elif plan.own_team:
            reason, detail = Assignment.Reason.ROUND_ROBIN, f"{plan.path} → {turn_text(turn)}"
        else:
            overflow = [f"team {t.team.name} ({nobody_text(t)})" for t in full]
            reason, detail = (
                Assignment.Reason.ROUND_ROBIN,
                " → ".join([plan.path, *overflow, f"team {turn.team.name}", turn_text(turn)]),
            )
        return Placement(
            user=turn.user,
            agent=turn.agent,
            team=turn.team,
            reason=reason,
            detail=detail,
            skipped=turn.skipped,
            territory_id=plan.route.territory.pk if plan.route else None,
            territory_name=plan.route.territory.name if plan.route else None,
        )
    queue_team = next((tid for tid in plan.team_ids if tid in rotations), None)
    if queue_team is None:
        logger.warning("lead %s left unassigned: its teams %s are gone", plan.lead.pk, plan.team_ids)
        return None
    if plan.own_team or plan.from_queue or not full:
        detail = f"{plan.path} → queue ({nobody_text(full[0])})" if full else f"{plan.path} → queue"
    elif len(full) == 1:
        detail = f"{plan.path} → team {full[0].team.name} → queue ({nobody_text(full[0])})"
    else:
        detail = " → ".join([plan.path, *(f"team {t.team.name} ({nobody_text(t)})" for t in full)]) + " → queue"
    return queue_team, detail


def _assign_locked(
    leads: list[Lead],
    *,
    now: datetime,
    territories: list[TerritoryRoute] | None,
    emails: list[int] | None,
) -> dict[int, Assignment]:
    """Place locked, unowned, open leads in the given order (the caller's transaction)."""
    if not leads:
        return {}
    markers = _queue_markers(leads)
    needs_territory = any(not lead.team_id for lead in leads)
    if needs_territory and territories is None:
        territories = territories_active()
    plans = [plan for lead in leads if (plan := _plan(lead, markers=markers, territories=territories))]
    owners = _domain_owners([plan.lead for plan in plans if not plan.from_queue])
    rotations = rotations_lock({tid for plan in plans for tid in plan.team_ids}, now=now)

    placed: list[tuple[Lead, Placement]] = []
    queued: list[tuple[Lead, int, str, str | None]] = []
    for plan in plans:
        lead = plan.lead
        domain = lead.email_domain if lead.email_kind == Lead.EmailKind.CORPORATE else ""
        outcome = None if plan.from_queue else _returning(lead, owners.get(domain), now=now, preferred=plan.team_ids)
        if outcome is None:
            outcome = _place(plan, rotations, now=now)
        if isinstance(outcome, Placement):
            placed.append((lead, outcome))
            if domain and domain not in owners and outcome.team is not None:
                # The next lead of this company in the batch is a returning one, as it would be one by one.
                owners[domain] = _Owner(user=outcome.user, agent=outcome.agent, teams=[outcome.team])
        elif outcome is not None and not plan.from_queue:  # a lead already waiting gets no second entry
            queued.append((lead, outcome[0], outcome[1], plan.route.territory.name if plan.route else None))
    rotations_save(rotations.values())
    assignments = _write(placed, now=now, emails=emails)
    _queue_many(queued, now=now)
    return {assignment.lead_id: assignment for assignment in assignments}


def lead_assign(
    *,
    lead_id: int,
    now: datetime | None = None,
    territories: list[TerritoryRoute] | None = None,
    emails: list[int] | None = None,
) -> Assignment | None:
    """Give an unowned open lead to the right rep: its company's owner (returning), else its team
    or its territory's teams by round robin. None when it stays unassigned: owned already, closed,
    waiting in a queue, or with nowhere to go (no territory and no team: logged)."""
    now = now or timezone.now()
    with transaction.atomic():
        # An owned lead keeps its owner: a returning lead is never re-routed by the pipeline.
        leads = _lock_unowned([lead_id])
        return _assign_locked(leads, now=now, territories=territories, emails=emails).get(lead_id)


def leads_assign(*, lead_ids: list[int], now: datetime | None = None, emails: list[int] | None = None) -> int:
    """Place many leads, BATCH per transaction, in the given order; returns how many got an owner.
    The new owners' emails go in one task at the end (or into `emails`)."""
    now = now or timezone.now()
    territories, collected = territories_active(), ([] if emails is None else emails)
    assigned = 0
    try:
        for start in range(0, len(lead_ids), BATCH):
            with transaction.atomic():
                leads = _lock_unowned(lead_ids[start : start + BATCH])
                assigned += len(_assign_locked(leads, now=now, territories=territories, emails=collected))
    finally:
        if emails is None:
            _email_later(collected)  # every assignment above is committed
    return assigned


def _waiting(team_id: int | None = None):
    leads = Lead.objects.filter(owner__isnull=True, team__isnull=False, status__in=OPEN_STATUSES)
    return leads.filter(team_id=team_id) if team_id else leads


def queue_drain(*, team_id: int | None = None, now: datetime | None = None) -> int:
    """Assign the leads waiting in team queues, best score first, while someone is available;
    returns how many were assigned."""
    now = now or timezone.now()
    team_ids = sorted(set(_waiting(team_id).order_by().values_list("team_id", flat=True).distinct()))
    emails: list[int] = []
    assigned = 0
    try:
        for tid in team_ids:
            assigned += _drain_team(tid, now=now, emails=emails)
    finally:
        _email_later(emails)
    return assigned


def _drain_team(team_id: int, *, now: datetime, emails: list[int]) -> int:
    assigned, seen = 0, set()
    while True:
        # Best first, from the rank table's team-queue index (leads/models/rank.py).
        best_first = ranked(_waiting(team_id)).filter(rank__owner_id__isnull=True, rank__team_id=team_id)
        batch = list(best_first.order_by("-rank__score", "created_at", "id").values_list("pk", flat=True)[:BATCH])
        if not batch or seen.issuperset(batch):
            return assigned
        seen.update(batch)
        assigned += leads_assign(lead_ids=batch, now=now, emails=emails)
        if _waiting(team_id).filter(pk__in=batch).exists():
            return assigned  # nobody in this team can take a lead now; the next run tries again
