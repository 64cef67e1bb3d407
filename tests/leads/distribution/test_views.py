"""The managers' board, a rep's queue, response-time figures, and notifications."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.distribution.selectors import response_times
from leads.distribution.service import lead_assign
from leads.distribution.sla import sla_reassign_overdue
from leads.events import activity_recorded
from leads.models import Interaction, Notification
from tests.factories import LeadFactory, ManagerFactory, NotificationFactory, RepFactory, TeamMembershipFactory

from .conftest import agent, make_team, territory

pytestmark = pytest.mark.django_db


def test_response_times_per_rep_and_team_median_p90_and_share_within_sla(now):
    team, (rep1,) = make_team("Inside Sales", "rep1", sla_minutes=30)
    territory("Everywhere", team, catch_all=True)
    for minutes in (10, 20, 40, None):  # None: never contacted, and the SLA ran out
        lead = LeadFactory()
        lead_assign(lead_id=lead.pk, now=now)
        lead.refresh_from_db()
        if minutes is not None:
            activity_recorded(
                lead=lead, kind=Interaction.Kind.CALL_OUT, actor=rep1, occurred_at=now + timedelta(minutes=minutes)
            )
    report = response_times(now=now + timedelta(hours=2))
    for row in (report.reps[0], report.teams[0]):
        assert (row.assignments, row.contacted, row.median, row.p90) == (4, 3, 1200, 2160)  # 20 min; 20 + 0.8 × 20 min
        assert (row.decided, row.within_sla, row.within_sla_share) == (4, 2, 0.5)
    assert (report.reps[0].name, report.teams[0].name) == ("rep1", "Inside Sales")


def test_the_python_figures_match_postgresql(now):
    from leads.distribution.selectors import _percentile

    assert _percentile([600, 1200, 2400], 0.9) == 2160
    assert _percentile([600, 1200, 2400], 0.5) == 1200
    assert _percentile([], 0.5) is None


@pytest.fixture
def board(now, boss):
    """A team with load: open leads, a capacity, a waiting lead, a breach and a reassignment."""
    team, (rep1, rep2) = make_team("Inside Sales", "rep1", "rep2", manager=boss, sla_minutes=30)
    territory("Everywhere", team, catch_all=True)
    always = {str(d): ["00:00", "24:00"] for d in range(7)}  # the board reads the real clock
    agent(rep1, max_open_leads=5, max_new_per_day=20, working_hours=always)
    agent(rep2, working_hours=always)
    real_now = timezone.now()
    for _ in range(3):
        lead_assign(lead_id=LeadFactory().pk, now=real_now - timedelta(hours=2))
    sla_reassign_overdue(now=real_now - timedelta(minutes=30))
    LeadFactory(team=team, score=77, first_name="Waiting", last_name="Person")
    return team


def test_managers_see_load_capacity_queues_breaches_reassignments_and_response_times(client, board, boss):
    client.force_login(boss)
    response = client.get("/distribution/")
    assert response.status_code == 200
    html = response.content.decode()
    rows = {row.user.username: row for row in response.context["agents"]}
    assert (rows["rep1"].open_leads, rows["rep1"].capacity, rows["rep1"].daily_limit) == (1, 5, 20)
    assert rows["rep2"].open_leads == 2
    assert response.context["queues"].teams[0]["waiting"] == 1
    assert "Waiting Person" in html
    assert response.context["breach_count"] == 3  # each moved on once, and late again
    assert any(a.reason == "sla" for a in response.context["log"])
    assert "SLA missed by" in html
    assert [r.name for r in response.context["response"].teams] == ["Inside Sales"]


def test_only_managers_open_the_board(client, board):
    client.force_login(RepFactory(username="nosy"))
    assert client.get("/distribution/").status_code == 403


def _grow(team, n: int):
    for i in range(n):
        rep = RepFactory(username=f"extra{n}-{i}", password=None)
        TeamMembershipFactory(team=team, user=rep)
        agent(rep, max_open_leads=10)
        LeadFactory.create_batch(
            2, owner=rep, team=team, sla_due_at=timezone.now() - timedelta(minutes=5), assigned_at=timezone.now()
        )
        LeadFactory(team=team)


# session, user (with the unread count and role groups), agents, their memberships, today's
# assignments, queue per team, queued leads, unrouted count, breach count, breaches,
# reassignment log, response times per rep, per team
BOARD_QUERIES = 13


@pytest.mark.parametrize("extra", [0, 6])
def test_the_board_takes_the_same_queries_however_many_agents_and_leads(
    client, board, boss, extra, django_assert_num_queries
):
    _grow(board, extra)
    client.force_login(boss)
    with django_assert_num_queries(BOARD_QUERIES):
        response = client.get("/distribution/")
    assert response.status_code == 200
    assert len(response.context["agents"]) == 2 + extra


@pytest.fixture
def rep_with_queue(now):
    team, (rep,) = make_team("Inside Sales", "rep1")
    soon = timezone.now() + timedelta(minutes=25)
    later = timezone.now() + timedelta(hours=3)
    LeadFactory(owner=rep, team=team, grade="B", sla_due_at=soon, first_name="B", last_name="soon")
    LeadFactory(owner=rep, team=team, grade="A", sla_due_at=later, first_name="A", last_name="later")
    LeadFactory(owner=rep, team=team, grade="A", sla_due_at=soon, first_name="A", last_name="soon")
    LeadFactory(owner=rep, team=team, grade="", sla_due_at=None, first_name="No", last_name="grade")
    LeadFactory(
        owner=rep,
        team=team,
        grade="A",
        sla_due_at=timezone.now() - timedelta(minutes=65),
        first_name="A",
        last_name="late",
    )
    LeadFactory(
        owner=rep, team=team, grade="A", first_contacted_at=timezone.now(), first_name="Already", last_name="called"
    )
    LeadFactory(team=team)  # waiting in the team queue
    return rep


def test_a_reps_queue_is_sorted_by_grade_then_sla_with_the_time_left(client, rep_with_queue):
    client.force_login(rep_with_queue)
    response = client.get("/my-queue/")
    assert response.status_code == 200
    names = [str(lead) for lead in response.context["page"].object_list]
    assert names == ["A late", "A soon", "A later", "B soon", "No grade"]
    html = response.content.decode()
    assert "overdue by 1 h 05 min" in html or "overdue by 1 h 04 min" in html
    assert "24 min left" in html or "25 min left" in html
    assert "no SLA" in html
    assert response.context["team_waiting"] == 1


@pytest.mark.parametrize("extra", [0, 30])
def test_a_reps_queue_takes_the_same_queries_however_long(client, rep_with_queue, extra, django_assert_num_queries):
    team = rep_with_queue.sales_teams.get()
    LeadFactory.create_batch(extra, owner=rep_with_queue, team=team, grade="C")
    client.force_login(rep_with_queue)
    # session, user with its role groups, count, page, team queue count, own response times, own load
    # against capacity
    with django_assert_num_queries(7):
        response = client.get("/my-queue/")
    assert len(response.context["page"].object_list) == 5 + extra


def test_notifications_unread_count_in_the_nav_open_and_mark_read(client, now):
    rep = RepFactory(username="rep1")
    other = RepFactory(username="rep2", password=None)
    lead = LeadFactory(owner=rep)
    first = NotificationFactory(user=rep, kind="assigned", lead=lead, message="New lead assigned to you: First")
    NotificationFactory(user=rep, kind="qualified", lead=lead, message="Lead #1 is qualified (score 80)")
    NotificationFactory(user=rep, kind="assigned", message="Old news", read_at=timezone.now())
    foreign = NotificationFactory(user=other, kind="assigned", message="Not yours")
    client.force_login(rep)

    page = client.get("/")
    assert page.status_code == 200
    assert '<span class="badge rounded-pill text-bg-danger" data-testid="nav-unread">2</span>' in page.content.decode()
    listing = client.get("/notifications/")
    assert listing.context["unread"] == 2
    assert "New lead assigned to you: First" in listing.content.decode() and "Not yours" not in listing.content.decode()

    opened = client.get(f"/notifications/{first.pk}")
    assert opened.status_code == 302 and opened["Location"] == f"/leads/{lead.pk}"
    assert Notification.objects.get(pk=first.pk).read_at is not None
    assert client.get(f"/notifications/{foreign.pk}").status_code == 404
    assert Notification.objects.get(pk=foreign.pk).read_at is None

    assert client.post("/notifications/read", {"all": "1"}).status_code == 302
    assert not Notification.objects.filter(user=rep, read_at__isnull=True).exists()
    assert 'data-testid="nav-unread"' not in client.get("/notifications/").content.decode()


@pytest.mark.parametrize("count", [1, 20])
def test_the_notification_list_takes_the_same_queries(client, count, django_assert_num_queries):
    rep = RepFactory(username="reader")
    Notification.objects.bulk_create(
        Notification(user=rep, kind="assigned", lead=LeadFactory(), message=f"n{i}") for i in range(count)
    )
    client.force_login(rep)
    with django_assert_num_queries(4):  # session, user (with the unread count), count, page
        response = client.get("/notifications/")
    assert response.context["unread"] == count


def test_the_nav_shows_the_queue_to_reps_and_the_board_to_managers(client, rep_with_queue):
    client.force_login(rep_with_queue)
    html = client.get("/").content.decode()
    assert 'href="/my-queue/"' in html and 'href="/distribution/"' not in html
    client.force_login(ManagerFactory(username="mgr", password=None))
    html = client.get("/").content.decode()
    assert 'href="/distribution/"' in html
