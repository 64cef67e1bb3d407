"""Placing leads: territory → team → next available rep, with the reason on the timeline, an
Assignment row, a notification and an email; returning leads; queues; first contact."""

import logging
from datetime import date, timedelta

import pytest

from leads.distribution.service import NOTIFY_NEW, lead_assign, queue_drain
from leads.events import activity_recorded
from leads.models import Assignment, Interaction, Lead, Notification, TeamSettings
from leads.pipeline import lead_process
from leads.workspace.tasks import notify_by_email_task
from tests.factories import LeadFactory, RepFactory, TeamSettingsFactory

from .conftest import agent, make_team, territory

pytestmark = pytest.mark.django_db


@pytest.fixture
def emea(now):
    """EMEA → Inside Sales (rep1, rep2, rep3); rep1 and rep3 are out of office today."""
    team, reps = make_team("Inside Sales", "rep1", "rep2", "rep3", sla_minutes=30)
    territory("EMEA", team, country=["DE", "FR", "GB"])
    for rep in (reps[0], reps[2]):
        agent(rep, out_of_office_from=now.date(), out_of_office_until=now.date())
    return team, reps


def test_a_lead_goes_to_the_next_available_rep_of_its_territorys_team(emea, now, mailoutbox):
    team, (rep1, rep2, rep3) = emea
    lead = LeadFactory(country="DE", first_name="Ada", last_name="Lovelace", company="Analytical")

    assignment = lead_assign(lead_id=lead.pk, now=now)

    lead.refresh_from_db()
    assert (lead.owner, lead.team, lead.assigned_at) == (rep2, team, now)
    assert lead.sla_due_at == now + timedelta(minutes=30)
    assert (assignment.agent, assignment.team, assignment.territory.name, assignment.reason) == (
        rep2,
        team,
        "EMEA",
        "round_robin",
    )
    entry = lead.interactions.get(kind=Interaction.Kind.ASSIGNMENT)
    assert entry.data["reason"] == "territory EMEA → team Inside Sales → rep2 (round robin, 2 skipped: out of office)"
    assert (entry.data["from"], entry.data["to"]) == (None, "rep2")
    assert entry.data["skipped"] == {"rep1": "out of office", "rep3": "out of office"}

    notification = Notification.objects.get(user=rep2)
    assert notification.message == NOTIFY_NEW.format(lead="Ada Lovelace (Analytical)")
    assert (notification.lead, notification.read_at) == (lead, None)
    assert notify_by_email_task([notification.pk]) == 1  # what the worker runs after the commit
    assert mailoutbox[0].to == ["rep2@example.com"]
    assert mailoutbox[0].subject == f"[LeadCRM] {notification.message}"


def test_a_team_set_by_the_channel_wins_over_the_territory(emea, now):
    partners, (pat,) = make_team("Partners", "pat")
    lead = LeadFactory(country="DE", team=partners)  # e.g. a partner web form's team
    lead_assign(lead_id=lead.pk, now=now)
    lead.refresh_from_db()
    assert lead.owner == pat
    assert (
        lead.interactions.get(kind="assignment").data["reason"] == "team Partners (the lead's team) → pat (round robin)"
    )


def test_a_territory_with_two_teams_overflows_to_the_second(now):
    first, (ann,) = make_team("A Inside", "ann")
    second, (bob,) = make_team("B Overflow", "bob")
    territory("DACH", first, second, country=["DE"])
    agent(ann, is_active=False)
    lead = LeadFactory(country="DE")
    lead_assign(lead_id=lead.pk, now=now)
    lead.refresh_from_db()
    assert (lead.owner, lead.team) == (bob, second)
    assert lead.interactions.get(kind="assignment").data["reason"] == (
        "territory DACH → team A Inside (nobody available: 1 inactive) → team B Overflow → bob (round robin)"
    )


def test_a_lead_no_territory_matches_stays_unassigned_and_is_logged(emea, now, caplog):
    lead = LeadFactory(country="US")
    with caplog.at_level(logging.INFO, logger="leads.distribution.service"):
        assert lead_assign(lead_id=lead.pk, now=now) is None
    lead.refresh_from_db()
    assert (lead.owner, lead.team) == (None, None)
    assert f"lead {lead.pk} left unassigned: no territory matches and the lead has no team" in caplog.text
    assert not Assignment.objects.exists()


def test_an_owned_lead_keeps_its_owner(emea, now):
    """The pipeline runs again on every capture of a returning lead: it must never move it."""
    team, (rep1, rep2, rep3) = emea
    lead = LeadFactory(country="DE", owner=rep3)
    assert lead_assign(lead_id=lead.pk, now=now) is None
    lead_process(lead_id=lead.pk)
    lead.refresh_from_db()
    assert lead.owner == rep3
    assert not lead.interactions.filter(kind="assignment").exists()


def test_a_closed_lead_is_not_assigned(emea, now):
    lead = LeadFactory(country="DE", status="lost", lost_reason="no budget")
    assert lead_assign(lead_id=lead.pk, now=now) is None


@pytest.fixture
def acme_owned_by_rep3(emea, now):
    team, (rep1, rep2, rep3) = emea
    agent(rep3)  # back in the office
    rep3.agent.out_of_office_from = rep3.agent.out_of_office_until = None
    rep3.agent.save()
    return LeadFactory(email="old@acme.example", email_kind="corporate", country="DE", owner=rep3, team=team)


def test_a_new_lead_from_a_company_someone_owns_goes_to_that_owner(acme_owned_by_rep3, now):
    lead = LeadFactory(email="new@acme.example", email_kind="corporate", country="DE")
    assignment = lead_assign(lead_id=lead.pk, now=now)
    assert (assignment.agent.username, assignment.reason) == ("rep3", "returning")
    assert assignment.detail == "returning: acme.example is owned by rep3 → team Inside Sales → rep3"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda team, rep3: TeamSettings.objects.filter(team=team).update(keep_returning_owner=False),
            id="setting off",
        ),
        pytest.param(lambda team, rep3: agent(rep3, is_active=False), id="owner inactive"),
        pytest.param(lambda team, rep3: agent(rep3, out_of_office_from=date(2026, 3, 1)), id="owner away"),
    ],
)
def test_a_returning_company_goes_round_robin_when_it_should_not_keep_its_owner(acme_owned_by_rep3, now, change):
    change(acme_owned_by_rep3.team, acme_owned_by_rep3.owner)
    lead = LeadFactory(email="new@acme.example", email_kind="corporate", country="DE")
    assert lead_assign(lead_id=lead.pk, now=now).reason == "round_robin"


def test_free_mail_is_not_a_company(acme_owned_by_rep3, now):
    LeadFactory(email="someone@gmail.example", email_kind="free", owner=acme_owned_by_rep3.owner)
    lead = LeadFactory(email="else@gmail.example", email_kind="free", country="DE")
    assert lead_assign(lead_id=lead.pk, now=now).reason == "round_robin"


def test_waiting_leads_are_assigned_best_score_first_when_a_rep_becomes_available(now):
    team, (solo,) = make_team("Inside Sales", "solo")
    territory("Everywhere", team, catch_all=True)
    profile = agent(solo, max_open_leads=0)
    low, best, middle = (LeadFactory(score=score) for score in (10, 90, 50))
    for lead in (low, best, middle):
        assert lead_assign(lead_id=lead.pk, now=now) is None
    assert Lead.objects.filter(team=team, owner__isnull=True).count() == 3
    assert queue_drain(now=now) == 0  # still nobody

    # A repeated pipeline run leaves a waiting lead in its queue, with one timeline entry.
    lead_process(lead_id=low.pk)
    assert low.interactions.filter(kind="assignment").count() == 1
    assert low.interactions.get(kind="assignment").subject == (
        "Waiting in the queue: territory Everywhere → team Inside Sales → queue (nobody available: 1 at capacity)"
    )

    profile.max_open_leads = 2
    profile.save()
    assert queue_drain(now=now) == 2
    assert set(Lead.objects.filter(owner=solo)) == {best, middle}
    entry = best.interactions.filter(kind="assignment").latest("id")
    assert entry.data["reason"] == "queue of team Inside Sales → solo (round robin)"
    assert Assignment.objects.get(lead=best).reason == "queue"
    assert Lead.objects.get(pk=low.pk).owner is None  # waits for the next free slot


def test_the_owners_first_call_email_or_note_is_the_first_contact(emea, now):
    team, (rep1, rep2, rep3) = emea
    lead = LeadFactory(country="DE")
    assignment = lead_assign(lead_id=lead.pk, now=now)
    lead.refresh_from_db()
    activity_recorded(lead=lead, kind=Interaction.Kind.EMAIL_IN, actor=None, occurred_at=now + timedelta(minutes=1))
    activity_recorded(
        lead=lead, kind=Interaction.Kind.NOTE, actor=rep1, occurred_at=now + timedelta(minutes=2)
    )  # not the owner
    activity_recorded(
        lead=lead, kind=Interaction.Kind.STATUS_CHANGE, actor=rep2, occurred_at=now + timedelta(minutes=3)
    )
    lead.refresh_from_db()
    assert lead.first_contacted_at is None
    activity_recorded(lead=lead, kind=Interaction.Kind.CALL_OUT, actor=rep2, occurred_at=now + timedelta(minutes=12))
    activity_recorded(lead=lead, kind=Interaction.Kind.NOTE, actor=rep2, occurred_at=now + timedelta(minutes=20))
    lead.refresh_from_db()
    assignment.refresh_from_db()
    assert lead.first_contacted_at == now + timedelta(minutes=12)
    assert assignment.first_contact_at == now + timedelta(minutes=12)


def test_a_rep_without_an_agent_profile_routes_with_the_defaults(now):
    team, (plain,) = make_team("Inside Sales", "plain")
    territory("Everywhere", team, catch_all=True)
    assert lead_assign(lead_id=LeadFactory().pk, now=now).agent == plain
    saturday = now + timedelta(days=3)
    TeamSettingsFactory(team=team, require_working_hours=True)
    assert lead_assign(lead_id=LeadFactory().pk, now=saturday) is None  # Monday–Friday 09:00–17:00


def test_a_new_member_joins_the_rotation(now):
    team, (ann,) = make_team("Inside Sales", "ann")
    territory("Everywhere", team, catch_all=True)
    assert lead_assign(lead_id=LeadFactory().pk, now=now).agent == ann
    newcomer = RepFactory(username="newcomer")
    team.memberships.create(user=newcomer)
    picked = [lead_assign(lead_id=LeadFactory().pk, now=now).agent.username for _ in range(4)]
    assert sorted(picked) == ["ann", "ann", "newcomer", "newcomer"]


def test_in_one_batch_two_leads_of_a_new_company_go_to_the_same_rep(now):
    from leads.distribution.service import leads_assign

    team, (ann, bob) = make_team("Inside Sales", "ann", "bob")
    territory("Everywhere", team, catch_all=True)
    first = LeadFactory(email="a@newco.example", email_kind="corporate")
    other = LeadFactory(email="x@gmail.example", email_kind="free")
    second = LeadFactory(email="b@newco.example", email_kind="corporate")
    assert leads_assign(lead_ids=[first.pk, other.pk, second.pk], now=now) == 3
    owners = {lead.pk: lead.owner.username for lead in Lead.objects.filter(pk__in=[first.pk, other.pk, second.pk])}
    assert (owners[first.pk], owners[other.pk], owners[second.pk]) == ("ann", "bob", "ann")
    assert Assignment.objects.get(lead=second).reason == "returning"


def test_a_batch_counts_each_turn_against_capacity(now):
    from leads.distribution.service import leads_assign

    team, (ann, bob) = make_team("Inside Sales", "ann", "bob")
    territory("Everywhere", team, catch_all=True)
    agent(ann, max_open_leads=2)
    leads = LeadFactory.create_batch(6)
    assert leads_assign(lead_ids=[lead.pk for lead in leads], now=now) == 6
    assert [Lead.objects.get(pk=lead.pk).owner.username for lead in leads] == ["ann", "bob", "ann", "bob", "bob", "bob"]


@pytest.mark.parametrize("count", [10, 60])
def test_a_batch_is_set_based(now, count, django_assert_num_queries):
    """A batch costs the same statements for 10 leads as for 60 (one transaction, one lock)."""
    from leads.distribution.service import leads_assign

    team, reps = make_team("Inside Sales", "ann", "bob", "cat")
    territory("Everywhere", team, catch_all=True)
    ids = [lead.pk for lead in LeadFactory.create_batch(count)]
    leads_assign(lead_ids=ids[:1], now=now)  # creates the rotation rows once
    # territories (2), savepoint, leads, team lock, members, rotation, one UPDATE per rep (3),
    # assignments, timeline entries, notifications, the email job's outbox row, release
    with django_assert_num_queries(15):
        assert leads_assign(lead_ids=ids[1:], now=now) == count - 1
