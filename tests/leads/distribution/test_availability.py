"""Capacity, out of office and working hours, with a frozen clock passed to the services."""

from datetime import UTC, date, datetime, timedelta

import pytest

from leads.distribution.availability import (
    HOURS_BAD_DAY,
    HOURS_BAD_TIME,
    in_working_hours,
    sla_due,
    working_hours_parse,
)
from leads.distribution.service import lead_assign
from leads.models import Agent, Interaction, Lead
from tests.factories import LeadFactory

from .conftest import agent, make_team, territory


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if "+" not in text else datetime.fromisoformat(text)


@pytest.mark.parametrize(
    "hours, zone, moment, inside",
    [
        ({}, "UTC", "2026-03-11 09:00", True),  # default week: Monday–Friday 09:00–17:00
        ({}, "UTC", "2026-03-11 17:00", False),  # the end is exclusive
        ({}, "UTC", "2026-03-14 10:00", False),  # Saturday
        ({}, "America/New_York", "2026-03-11 13:30", True),  # 09:30 in New York
        ({}, "America/New_York", "2026-03-11 12:30", False),  # 08:30 in New York
        ({}, "Asia/Tokyo", "2026-03-11 01:00", True),  # 10:00 in Tokyo
        ({"5": ["10:00", "14:00"]}, "UTC", "2026-03-14 11:00", True),  # a Saturday shift
        ({"5": ["10:00", "14:00"]}, "UTC", "2026-03-11 11:00", False),  # and only that
        ({"2": [["08:00", "12:00"], ["13:00", "17:00"]]}, "UTC", "2026-03-11 12:30", False),  # lunch break
        ({"2": ["22:00", "06:00"]}, "UTC", "2026-03-12 03:00", True),  # Wednesday's night shift, on Thursday morning
        ({"2": ["22:00", "24:00"]}, "UTC", "2026-03-11 23:59", True),
    ],
)
def test_working_hours_in_the_agents_own_time_zone(hours, zone, moment, inside):
    assert in_working_hours(Agent(working_hours=hours, time_zone=zone), at(moment)) is inside


@pytest.mark.parametrize(
    "hours, message",
    [
        ({"7": ["09:00", "17:00"]}, HOURS_BAD_DAY.format(day="7")),
        ({"0": ["9am", "5pm"]}, HOURS_BAD_TIME.format(value="9am")),
    ],
)
def test_bad_working_hours_are_refused_with_a_message(hours, message):
    with pytest.raises(ValueError) as error:
        working_hours_parse(hours)
    assert str(error.value) == message


@pytest.mark.parametrize(
    "start, minutes, zone, due",
    [
        ("2026-03-11 10:30", 60, "UTC", "2026-03-11 11:30"),
        ("2026-03-13 16:30", 60, "UTC", "2026-03-16 09:30"),  # Friday afternoon → Monday morning
        ("2026-03-14 12:00", 30, "UTC", "2026-03-16 09:30"),  # a Saturday lead: the clock starts on Monday
        ("2026-03-11 07:00", 15, "UTC", "2026-03-11 09:15"),  # before the day starts
        ("2026-03-11 16:00", 120, "UTC", "2026-03-12 10:00"),  # over the evening
        ("2026-03-11 16:00", 60, "America/New_York", "2026-03-11 17:00"),  # 12:00 in New York: within the day
    ],
)
def test_the_sla_counts_business_hours_only(start, minutes, zone, due):
    assert sla_due(start=at(start), minutes=minutes, agent=Agent(time_zone=zone)) == at(due)


def test_an_sla_for_someone_who_never_works_is_plain_minutes():
    never = Agent(working_hours={str(day): [] for day in range(7)})
    assert sla_due(start=at("2026-03-11 10:00"), minutes=30, agent=never) == at("2026-03-11 10:30")


@pytest.fixture
def team_of_three(db):
    team, reps = make_team("Inside Sales", "ann", "bob", "cat")
    territory("Everywhere", team, catch_all=True)
    return team, reps


def owners(now, count: int) -> list[str]:
    result = []
    for _ in range(count):
        assignment = lead_assign(lead_id=LeadFactory().pk, now=now)
        result.append(assignment.agent.username if assignment else None)
    return result


def test_a_rep_at_capacity_is_skipped_until_a_lead_closes(team_of_three, now):
    team, (ann, bob, cat) = team_of_three
    agent(ann, max_open_leads=2)
    LeadFactory.create_batch(2, owner=ann, team=team, status="active")
    LeadFactory(owner=ann, team=team, status="lost", lost_reason="budget")  # closed leads do not count
    assert owners(now, 4) == ["bob", "cat", "bob", "cat"]
    reason = Interaction.objects.filter(kind="assignment").order_by("id").first().data["reason"]
    assert reason == "territory Everywhere → team Inside Sales → bob (round robin, 1 skipped: at capacity)"
    Lead.objects.filter(owner=ann, status="active").update(status="converted")
    assert sorted(owners(now, 3)) == ["ann", "bob", "cat"]


def test_a_daily_limit_counts_from_the_reps_own_midnight(team_of_three, now):
    team, (ann, bob, cat) = team_of_three
    agent(ann, max_new_per_day=1, time_zone="Asia/Tokyo")  # 19:30 in Tokyo on the frozen clock
    assert owners(now, 4) == ["ann", "bob", "cat", "bob"]
    tokyo_midnight = datetime(2026, 3, 11, 15, 0, tzinfo=UTC)  # 00:00 on the 12th in Tokyo
    assert "ann" not in owners(tokyo_midnight - timedelta(minutes=1), 3)
    assert sorted(owners(tokyo_midnight + timedelta(minutes=1), 3)) == ["ann", "bob", "cat"]  # a new day there


def test_out_of_office_uses_the_dates_inclusive(team_of_three, now):
    team, (ann, bob, cat) = team_of_three
    agent(bob, out_of_office_from=date(2026, 3, 9), out_of_office_until=date(2026, 3, 11))
    agent(cat, out_of_office_from=date(2026, 3, 11))  # open-ended
    assert owners(now, 2) == ["ann", "ann"]
    reason = Interaction.objects.filter(kind="assignment").order_by("id").first().data["reason"]
    assert reason == "territory Everywhere → team Inside Sales → ann (round robin, 2 skipped: out of office)"
    back = now + timedelta(days=1)  # bob is back on the 12th
    assert owners(back, 4) == ["ann", "bob", "ann", "bob"]


def test_working_hours_count_only_when_the_team_requires_them(db, now):
    team, (ann, bob) = make_team("Follow the sun", "ann", "bob", require_working_hours=True)
    territory("Everywhere", team, catch_all=True)
    agent(ann, time_zone="Europe/London")  # 10:30 in London
    agent(bob, time_zone="America/Los_Angeles")  # 03:30 in Los Angeles
    assert owners(now, 2) == ["ann", "ann"]
    evening = now.replace(hour=18)  # 18:00 in London, 11:00 in Los Angeles
    assert owners(evening, 2) == ["bob", "bob"]
    night = now.replace(hour=3)  # both asleep: the lead waits in the queue
    assert owners(night, 1) == [None]
    queued = Lead.objects.get(owner__isnull=True)
    assert queued.team == team
    entry = queued.interactions.get(kind="assignment")
    assert (
        entry.data["reason"]
        == "territory Everywhere → team Follow the sun → queue (nobody available: 2 outside working hours)"
    )


def test_an_inactive_user_or_agent_gets_nothing(team_of_three, now):
    team, (ann, bob, cat) = team_of_three
    ann.is_active = False
    ann.save()
    agent(bob, is_active=False)
    assert owners(now, 2) == ["cat", "cat"]
