"""Speed to lead: a first contact not made within the team's SLA (in business hours) moves the
lead to the next rep, at most max_reassignments times, then to the team's manager."""

from datetime import UTC, datetime, timedelta

import pytest

from leads.distribution.service import lead_assign
from leads.distribution.sla import NO_MANAGER, NOTIFY_ESCALATION, NOTIFY_SLA, sla_reassign_overdue
from leads.events import activity_recorded
from leads.models import Assignment, Interaction, Lead, Notification
from leads.services import lead_update
from tests.factories import LeadFactory

from .conftest import make_team, territory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(boss):
    team, reps = make_team("Inside Sales", "rep1", "rep2", "rep3", manager=boss, sla_minutes=30, max_reassignments=2)
    territory("Everywhere", team, catch_all=True)
    return team


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def test_an_sla_miss_moves_the_lead_on_then_escalates_to_the_manager(team, boss, now):
    lead = LeadFactory(first_name="Grace", last_name="Hopper", company="")
    lead_assign(lead_id=lead.pk, now=now)
    assert Lead.objects.get(pk=lead.pk).owner.username == "rep1"

    assert sla_reassign_overdue(now=now + minutes(29)) == 0  # still within the 30 minutes
    assert sla_reassign_overdue(now=now + minutes(31)) == 1
    lead.refresh_from_db()
    assert (lead.owner.username, lead.reassignments, lead.sla_due_at) == ("rep2", 1, now + minutes(61))
    moved = Assignment.objects.filter(lead=lead).latest("assigned_at")
    assert (moved.reason, moved.detail) == (
        "sla",
        "SLA missed by rep1 → team Inside Sales → rep2 (round robin, 1 skipped: missed the SLA)",
    )
    assert Notification.objects.get(user__username="rep2").message == NOTIFY_SLA.format(
        previous="rep1", lead="Grace Hopper"
    )
    entry = lead.interactions.filter(kind="assignment").latest("id")
    assert (entry.data["from"], entry.data["to"]) == ("rep1", "rep2")

    assert sla_reassign_overdue(now=now + minutes(62)) == 1  # rep2 missed it too
    lead.refresh_from_db()
    assert (lead.owner.username, lead.reassignments) == ("rep3", 2)  # the rotation's next, skipping rep2

    assert sla_reassign_overdue(now=now + minutes(93)) == 1  # the third miss: max_reassignments reached
    lead.refresh_from_db()
    assert (lead.owner, lead.reassignments, lead.sla_due_at) == (boss, 3, None)
    escalation = Assignment.objects.filter(lead=lead).latest("assigned_at")
    assert escalation.reason == "escalation"
    assert escalation.detail == "SLA missed by rep3 (3 missed) → manager of team Inside Sales → boss"
    assert Notification.objects.get(user=boss).message == NOTIFY_ESCALATION.format(times=3, lead="Grace Hopper")
    assert sla_reassign_overdue(now=now + timedelta(days=7)) == 0  # the manager has it now


def test_a_contacted_lead_stays(team, now):
    lead = LeadFactory()
    lead_assign(lead_id=lead.pk, now=now)
    lead.refresh_from_db()
    activity_recorded(lead=lead, kind=Interaction.Kind.EMAIL_OUT, actor=lead.owner, occurred_at=now + minutes(20))
    assert sla_reassign_overdue(now=now + minutes(45)) == 0
    assert Lead.objects.get(pk=lead.pk).owner.username == "rep1"


def test_the_sla_clock_stops_outside_business_hours(team, now):
    friday_late = datetime(2026, 3, 13, 16, 45, tzinfo=UTC)
    lead = LeadFactory()
    lead_assign(lead_id=lead.pk, now=friday_late)
    lead.refresh_from_db()
    assert lead.sla_due_at == datetime(2026, 3, 16, 9, 15, tzinfo=UTC)  # Monday morning
    assert sla_reassign_overdue(now=datetime(2026, 3, 14, 12, 0, tzinfo=UTC)) == 0  # Saturday: not overdue
    assert sla_reassign_overdue(now=datetime(2026, 3, 16, 9, 16, tzinfo=UTC)) == 1


def test_an_owner_set_by_hand_carries_no_sla(team, boss, now):
    lead = LeadFactory()
    lead_assign(lead_id=lead.pk, now=now)
    lead.refresh_from_db()
    rep3 = team.members.get(username="rep3")
    lead_update(lead=lead, data={"owner": rep3}, by=boss)  # a manager's deliberate choice
    assert sla_reassign_overdue(now=now + minutes(45)) == 0
    lead.refresh_from_db()
    assert (lead.owner, lead.sla_due_at) == (rep3, None)


def test_without_a_manager_the_lead_stays_and_the_timeline_says_why(now):
    team, reps = make_team("Solo", "only", sla_minutes=10, max_reassignments=0)
    territory("Everywhere", team, catch_all=True)
    lead = LeadFactory()
    lead_assign(lead_id=lead.pk, now=now)
    assert sla_reassign_overdue(now=now + minutes(11)) == 0
    lead.refresh_from_db()
    assert (lead.owner.username, lead.sla_due_at) == ("only", None)
    assert lead.interactions.filter(kind="assignment").latest("id").subject == NO_MANAGER.format(team="Solo")


def test_with_nobody_else_available_a_miss_escalates_at_once(boss, now):
    team, (only,) = make_team("Solo", "only", manager=boss, sla_minutes=10, max_reassignments=3)
    territory("Everywhere", team, catch_all=True)
    lead = LeadFactory()
    lead_assign(lead_id=lead.pk, now=now)
    assert sla_reassign_overdue(now=now + minutes(11)) == 1
    assert Lead.objects.get(pk=lead.pk).owner == boss
