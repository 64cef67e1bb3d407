"""Fixtures for distribution: a frozen clock, agents, teams and territories."""

from datetime import UTC, datetime

import pytest

from leads.models import Agent, Territory
from tests.factories import (
    ManagerFactory,
    RepFactory,
    TeamFactory,
    TeamMembershipFactory,
    TeamSettingsFactory,
    TerritoryFactory,
)

# A Wednesday, 10:30 UTC: inside everyone's default working hours.
WEDNESDAY_MORNING = datetime(2026, 3, 11, 10, 30, tzinfo=UTC)


@pytest.fixture
def now():
    return WEDNESDAY_MORNING


def make_team(name: str, *usernames: str, weights: dict[str, int] | None = None, manager=None, **routing):
    """A team with reps (created in order, so membership ids follow it) and its routing settings."""
    team = TeamFactory(name=name, manager=manager)
    if routing:
        TeamSettingsFactory(team=team, **routing)
    reps = []
    for username in usernames:
        rep = RepFactory(username=username, password=None)  # no Argon2 hashing: these reps never log in
        TeamMembershipFactory(team=team, user=rep, weight=(weights or {}).get(username, 1))
        reps.append(rep)
    return team, reps


def agent(user, **fields) -> Agent:
    """The rep's routing profile with the given fields (all hours, everywhere, unless told)."""
    profile, _ = Agent.objects.update_or_create(user=user, defaults=fields)
    return profile


def territory(name: str, *teams, priority: int = 100, catch_all: bool = False, **rules) -> Territory:
    created = TerritoryFactory(
        name=name,
        priority=priority,
        is_catch_all=catch_all,
        rules={key.replace("__", "."): value for key, value in rules.items()},
    )
    created.teams.set(teams)
    return created


@pytest.fixture
def boss(db):
    return ManagerFactory(username="boss", password=None)
