"""The Settings pages: managers only (reps and marketers get 403), in the Manage menu, every list
in a fixed number of queries, and every change recorded with who, when, before and after."""

import pytest
from django.urls import reverse

from leads.models import Agent, ScoringRule, SettingsChange, TeamMembership, TeamSettings, Territory
from tests.factories import (
    AgentFactory,
    RepFactory,
    SettingsChangeFactory,
    TeamFactory,
    TeamMembershipFactory,
    TeamSettingsFactory,
    TerritoryFactory,
)
from tests.leads.settings_ui.conftest import all_urls

pytestmark = pytest.mark.django_db


@pytest.fixture
def things(team, rep):
    territory = TerritoryFactory(name="UK", rules={"country": ["GB"]})
    territory.teams.add(team)
    return {
        "team_id": team.pk,
        "user_id": rep.pk,
        "territory_id": territory.pk,
        "rule_id": ScoringRule.objects.first().pk,
    }


def test_managers_open_every_settings_page_from_the_manage_menu(manager_client, things):
    home = manager_client.get(reverse("leads:list"))
    assert reverse("leads:settings_ui:index").encode() in home.content and b'data-testid="nav-settings"' in home.content
    for url in all_urls(**things):
        assert manager_client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", ["rep", "marketer"])
def test_reps_and_marketers_get_403_on_every_page_and_post(request, client, things, role):
    client.force_login(request.getfixturevalue(role))
    for url in all_urls(**things):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"name": "x"}).status_code == 403, url
    delete = reverse("leads:settings_ui:territory_delete", args=[things["territory_id"]])
    assert client.post(delete).status_code == 403
    assert Territory.objects.filter(pk=things["territory_id"]).exists()
    assert b"nav-settings" not in client.get(reverse("leads:list")).content


def test_logged_out_visitors_are_sent_to_the_login_page(client, things):
    response = client.get(reverse("leads:settings_ui:teams"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def _team_post(**extra):
    data = {
        "name": "Enterprise",
        "sla_minutes": "30",
        "max_reassignments": "1",
        "keep_returning_owner": "on",
        "phone_numbers": "+44 20 7946 0000\n",
    }
    data.update(extra)
    return data


def test_saving_a_team_records_who_when_before_and_after(manager_client, manager, rep, other_rep):
    response = manager_client.post(
        reverse("leads:settings_ui:team_create"),
        _team_post(
            **{
                f"member_{rep.pk}": "on",
                f"weight_{rep.pk}": "2",
                f"member_{other_rep.pk}": "on",
                f"weight_{other_rep.pk}": "1",
            },
        ),
    )
    assert response.status_code == 302
    team = TeamSettings.objects.get(team__name="Enterprise").team
    assert team.routing.sla_minutes == 30 and team.routing.phone_numbers == ["+442079460000"]
    assert dict(TeamMembership.objects.filter(team=team).values_list("user__username", "weight")) == {
        "rep1": 2,
        "rep2": 1,
    }
    created = SettingsChange.objects.get()
    assert (created.by, created.area, created.action, created.before) == (manager, "team", "created", {})
    assert created.after["members"] == {"rep1": 2, "rep2": 1}

    # A change: rep2 leaves, the SLA tightens. Before and after are both kept.
    manager_client.post(
        reverse("leads:settings_ui:team_edit", args=[team.pk]),
        _team_post(
            sla_minutes="15",
            **{f"member_{rep.pk}": "on", f"weight_{rep.pk}": "2", f"weight_{other_rep.pk}": "1"},
        ),
    )
    changed = SettingsChange.objects.order_by("-id").first()
    assert changed.action == "changed"
    assert (changed.before["sla_minutes"], changed.after["sla_minutes"]) == (30, 15)
    assert (changed.before["members"], changed.after["members"]) == ({"rep1": 2, "rep2": 1}, {"rep1": 2})
    page = manager_client.get(reverse("leads:settings_ui:teams")).content.decode()
    assert "Sla minutes:</span> 30 → 15" in page and "manager" in page
    # Saved as it was: no change to record.
    manager_client.post(
        reverse("leads:settings_ui:team_edit", args=[team.pk]),
        _team_post(
            sla_minutes="15",
            **{f"member_{rep.pk}": "on", f"weight_{rep.pk}": "2", f"weight_{other_rep.pk}": "1"},
        ),
    )
    assert SettingsChange.objects.count() == 2
    index = manager_client.get(reverse("leads:settings_ui:index")).content.decode()
    assert index.count('data-testid="change-row"') == 2


def test_saving_an_agent_keeps_the_week_in_their_zone_and_records_it(manager_client, manager, rep):
    data = {
        "is_active": "on",
        "max_open_leads": "40",
        "time_zone": "America/New_York",
        "phone": "+1 212 555 0100",
        "out_of_office_from": "2030-08-01",
        "out_of_office_until": "2030-08-14",
        "out_of_office_reason": "Holiday",
        **{f"day{d}_from": "08:00" for d in range(4)},
        **{f"day{d}_to": "16:00" for d in range(4)},
        "day4_from": "10:00",
        "day4_to": "00:00",
    }
    response = manager_client.post(reverse("leads:settings_ui:agent_edit", args=[rep.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    agent = Agent.objects.get(user=rep)
    assert agent.working_hours == {
        "0": ["08:00", "16:00"],
        "1": ["08:00", "16:00"],
        "2": ["08:00", "16:00"],
        "3": ["08:00", "16:00"],
        "4": ["10:00", "24:00"],
        "5": [],
        "6": [],
    }
    assert (agent.time_zone, agent.phone, agent.max_open_leads, agent.out_of_office_reason) == (
        "America/New_York",
        "+12125550100",
        40,
        "Holiday",
    )
    change = SettingsChange.objects.get(area="agent")
    assert change.after["working_hours"]["4"] == ["10:00", "24:00"] and change.by == manager
    page = manager_client.get(reverse("leads:settings_ui:agents")).content.decode()
    assert "Mon–Thu 08:00–16:00; Fri 10:00–24:00" in page and "Holiday" in page


def test_deleting_a_territory_is_recorded(manager_client, team):
    territory = TerritoryFactory(name="Nordics", rules={"country": ["SE", "NO"]})
    territory.teams.add(team)
    manager_client.post(reverse("leads:settings_ui:territory_delete", args=[territory.pk]))
    change = SettingsChange.objects.get()
    assert (change.action, change.before["rules"], change.after) == ("deleted", {"country": ["SE", "NO"]}, {})


def test_the_order_of_territories_is_saved_by_number(manager_client, team):
    first = TerritoryFactory(name="A", priority=10, rules={"country": ["GB"]})
    second = TerritoryFactory(name="B", priority=20, rules={"country": ["DE"]})
    response = manager_client.post(
        reverse("leads:settings_ui:territories"), {f"priority_{first.pk}": "30", f"priority_{second.pk}": "20"}
    )
    assert response.status_code == 302
    assert list(Territory.objects.values_list("name", flat=True)) == ["B", "A"]
    assert SettingsChange.objects.get().after == {"priority": 30}
    bad = manager_client.post(reverse("leads:settings_ui:territories"), {f"priority_{first.pk}": "soon"})
    assert (
        bad.status_code == 400 and "Orders are whole numbers from 1 to 10,000: soon is not one." in bad.content.decode()
    )


def _many_teams_agents_territories(n: int) -> None:
    for i in range(n):
        team = TeamFactory(name=f"Team {i}")
        TeamSettingsFactory(team=team, phone_numbers=[f"+4420794600{i:02d}"])
        for j in range(2):
            rep = RepFactory(username=f"r{i}-{j}", password=None)
            TeamMembershipFactory(team=team, user=rep)
            AgentFactory(user=rep, max_open_leads=10)
        territory = TerritoryFactory(name=f"T{i}", priority=i + 1, rules={"country": ["GB"]})
        territory.teams.add(team)
        SettingsChangeFactory(area="team", object_repr=f"Team {i}", action="changed", before={"a": 1}, after={"a": 2})


@pytest.mark.parametrize("n", [1, 6])
def test_each_settings_list_costs_the_same_queries_for_one_or_many(manager_client, django_assert_num_queries, n):
    """Session, user with its roles; then the list's own queries (two each) and the history (one), whatever
    the number of rows."""
    _many_teams_agents_territories(n)
    expected = {"teams": 3, "agents": 3, "territories": 3, "scoring": 3, "index": 1}
    for name, own in expected.items():
        url = reverse(f"leads:settings_ui:{name}")
        with django_assert_num_queries(2 + own):
            assert manager_client.get(url).status_code == 200
