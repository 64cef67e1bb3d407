"""The smooth weighted round robin of a team (nginx's algorithm), settled in the database.

Each turn: every eligible member adds its weight to its running current_weight; the member with
the highest current_weight wins (ties go to the lowest membership id) and the total of the
eligible weights is subtracted from the winner. Weights a=5, b=1, c=1 give a a b a c a a; 2:1
gives a b a, a b a, …: exactly 2:1 over every cycle, and spread out rather than in bursts.
Members who are unavailable (inactive, out of office, outside working hours, at capacity) sit the
turn out without gaining weight, so they neither lose their place nor get a burst when back.

Concurrency: the team row is locked (SELECT … FOR NO KEY UPDATE) before the states are read and
held until the caller's transaction commits, so two workers never use the same turn twice nor
skip one. NO KEY UPDATE, not UPDATE: leads and assignments referencing the team (a capture with
a team) take KEY SHARE locks on it, and must not wait for a rotation. Several teams are locked
in id order. A batch takes many turns under one lock (Rotation.take), then saves them at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction

from ..models import Agent, RotationState, Team, TeamMembership, TeamSettings
from .availability import MISSED_SLA, Load, agent_loads, unavailable_reason


@dataclass
class Member:
    membership_id: int
    user: object
    agent: Agent | None
    weight: int
    current_weight: int = 0
    won: int = 0  # turns won since the last save


@dataclass
class Turn:
    """The outcome of one turn: the chosen user (None: nobody available) and who sat it out."""

    team: Team
    settings: TeamSettings
    user: object | None = None
    agent: Agent | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # username → why, in membership order
    members: int = 0


def swrr_pick(members: list[tuple[int, int, int]]) -> tuple[int, dict[int, int]] | None:
    """One smooth-WRR turn over eligible (id, weight, current_weight) triples: the chosen id and
    every member's new current_weight. Pure, for the sequence tests."""
    if not members:
        return None
    total = sum(weight for _, weight, _ in members)
    raised = {member_id: current + weight for member_id, weight, current in members}
    chosen = min(raised, key=lambda member_id: (-raised[member_id], member_id))
    raised[chosen] -= total
    return chosen, raised


def team_settings(team: Team) -> TeamSettings:
    """The team's routing settings, or the defaults when none were saved."""
    try:
        return team.routing
    except TeamSettings.DoesNotExist:
        return TeamSettings(team=team)


def _agent_of(user) -> Agent | None:
    try:
        return user.agent
    except Agent.DoesNotExist:
        return None


def _rotation_state(membership: TeamMembership) -> RotationState | None:
    try:
        return membership.rotation
    except RotationState.DoesNotExist:
        return None


class Rotation:
    """A locked team's members and their running weights; turns are taken in memory and written
    back by save(). `loads` is shared by the rotations of one batch (an agent may be in two teams)."""

    def __init__(self, team: Team, members: list[Member], loads: dict[int, Load]):
        self.team = team
        self.settings = team_settings(team)
        self.members = members
        self.loads = loads

    def take(
        self,
        *,
        now: datetime,
        exclude_user_ids: Iterable[int] = (),
        working_hours: bool | None = None,
        need_phone: bool = False,
        check_capacity: bool = True,
    ) -> Turn:
        """One turn: the next available member by smooth WRR (Turn.user None: nobody)."""
        if working_hours is None:
            working_hours = self.settings.require_working_hours
        excluded = set(exclude_user_ids)
        turn = Turn(team=self.team, settings=self.settings, members=len(self.members))
        eligible = []
        for member in self.members:
            if member.user.pk in excluded:
                turn.skipped[member.user.username] = MISSED_SLA
                continue
            why = unavailable_reason(
                user=member.user,
                agent=member.agent,
                now=now,
                working_hours=working_hours,
                need_phone=need_phone,
                load=self.loads.get(member.user.pk) if check_capacity else None,
            )
            if why:
                turn.skipped[member.user.username] = why
            else:
                eligible.append(member)
        picked = swrr_pick([(m.membership_id, m.weight, m.current_weight) for m in eligible])
        if picked is None:
            return turn
        chosen_id, weights = picked
        for member in eligible:
            member.current_weight = weights[member.membership_id]
        chosen = next(m for m in eligible if m.membership_id == chosen_id)
        chosen.won += 1
        if chosen.user.pk in self.loads:
            load = self.loads[chosen.user.pk]
            self.loads[chosen.user.pk] = Load(open_leads=load.open_leads + 1, new_today=load.new_today + 1)
        turn.user, turn.agent = chosen.user, chosen.agent
        return turn


def rotations_save(rotations: Iterable[Rotation]) -> None:
    """Write every member's current_weight and the turns won, for all the rotations, in one
    statement (plain SQL: building a CASE per member through the ORM costs more than the turns)."""
    members = [m for rotation in rotations if any(m.won for m in rotation.members) for m in rotation.members]
    if not members:  # no turn taken: nothing changed
        return
    table = connection.ops.quote_name(RotationState._meta.db_table)
    rows = " UNION ALL ".join(["SELECT %s AS mid, %s AS w, %s AS won"] * len(members))
    params: list[int] = []
    for member in members:
        params += [member.membership_id, member.current_weight, member.won]
        member.won = 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET current_weight = v.w, assigned_total = assigned_total + v.won "
            f"FROM ({rows}) AS v WHERE {table}.membership_id = v.mid",
            params,
        )


def rotations_lock(team_ids: Iterable[int], *, now: datetime) -> dict[int, Rotation]:
    """Lock the teams (in id order), then read their members, rotation states and loads.

    The lock and the read are separate statements on purpose. Folding the lock into the read
    (… FOR NO KEY UPDATE OF team) looks equivalent but is not: a statement that waited for the
    lock re-checks only the locked row, and returns the rotation rows as they were when it
    started, before the other worker's turn committed. Under 16 threads that gave 508 vs 492
    leads instead of 500 each. A statement run after the lock is granted sees every committed
    turn (READ COMMITTED takes a new snapshot per statement)."""
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("rotations_lock needs the caller's transaction")
    ids = sorted(set(team_ids))
    if not ids:
        return {}
    teams = list(
        Team.objects.select_for_update(no_key=True, of=("self",))
        .select_related("routing", "manager")
        .filter(pk__in=ids)
        .order_by("pk")
    )
    memberships = list(
        TeamMembership.objects.filter(team_id__in=ids).select_related("user", "user__agent", "rotation").order_by("pk")
    )
    missing = [m for m in memberships if _rotation_state(m) is None]
    if missing:
        RotationState.objects.bulk_create([RotationState(membership_id=m.pk) for m in missing], ignore_conflicts=True)
    by_team: dict[int, list[Member]] = {team.pk: [] for team in teams}
    agents: dict[int, Agent | None] = {}
    for m in memberships:
        state = _rotation_state(m)
        agent = _agent_of(m.user)
        agents[m.user.pk] = agent
        by_team.setdefault(m.team_id, []).append(
            Member(
                membership_id=m.pk,
                user=m.user,
                agent=agent,
                weight=m.weight,
                current_weight=state.current_weight if state else 0,
            )
        )
    loads = agent_loads(agents=agents, now=now)
    return {team.pk: Rotation(team, by_team[team.pk], loads) for team in teams}


def rotation_take(*, team_id: int, now: datetime, **take) -> Turn | None:
    """Take one turn of a team (inside the caller's transaction, which keeps the team locked
    until it commits). None if the team is gone; Turn.user None if nobody is available."""
    rotation = rotations_lock([team_id], now=now).get(team_id)
    if rotation is None:
        return None
    turn = rotation.take(now=now, **take)
    if turn.user is not None:
        rotations_save([rotation])
    return turn
