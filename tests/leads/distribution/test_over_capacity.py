"""An agent holding more open leads than their capacity is flagged where managers and the agent look."""

import pytest

from leads.models import Lead
from tests.factories import AgentFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def overloaded(rep, team):
    """106 open leads against a capacity of 40 (given by hand, or before the limit was set)."""
    AgentFactory(user=rep, max_open_leads=40)
    LeadFactory.create_batch(106, owner=rep, team=team, status=Lead.Status.NEW)
    return rep


def test_the_board_warns_about_an_agent_over_capacity(client, manager, overloaded, other_rep):
    """106 against 40 showed as a plain "106 / 40" with no warning anywhere."""
    AgentFactory(user=other_rep, max_open_leads=40)
    client.force_login(manager)
    body = " ".join(client.get("/distribution/").content.decode().split())
    assert 'data-testid="over-capacity"' in body and "<strong>rep1</strong> has 106 open leads against 40" in body
    assert "66 over capacity" in body and "rep2</strong>" not in body


def test_the_load_dashboard_warns_too(client, manager, overloaded):
    client.force_login(manager)
    chart = client.get("/dashboards/load/").content.decode()
    assert 'data-testid="over-capacity"' in chart and "rep1 (106 of 40)" in chart
    table = client.get("/dashboards/load/", {"view": "table"}).content.decode()
    assert "Over capacity by" in table and ">66<" in table


def test_the_agents_own_queue_warns_them(client, overloaded):
    client.force_login(overloaded)
    body = client.get("/my-queue/").content.decode()
    assert (
        'data-testid="over-capacity"' in body and "You have 106 open leads against a capacity of 40 (66 over)" in body
    )


def test_no_warning_within_capacity_or_without_a_limit(client, rep, team, manager):
    LeadFactory.create_batch(3, owner=rep, team=team, status=Lead.Status.NEW)
    client.force_login(rep)
    assert 'data-testid="over-capacity"' not in client.get("/my-queue/").content.decode()
    AgentFactory(user=rep, max_open_leads=3)
    assert 'data-testid="over-capacity"' not in client.get("/my-queue/").content.decode()
    client.force_login(manager)
    assert 'data-testid="over-capacity"' not in client.get("/distribution/").content.decode()


def test_the_marketers_navigation_links_to_their_dashboards(client, marketer, rep, manager):
    """Only staff had the Dashboards link: a marketer could open the sources dashboards but not find them."""
    client.force_login(marketer)
    page = client.get("/").content.decode()
    assert 'data-testid="nav-dashboards"' in page
    index = client.get("/dashboards/")
    assert (
        index.status_code == 200
        and b"/dashboards/sources/" in index.content
        and b"/dashboards/load/" not in index.content
    )
    client.force_login(manager)
    assert 'data-testid="nav-dashboards"' in client.get("/").content.decode()
    client.force_login(rep)
    assert 'data-testid="nav-dashboards"' not in client.get("/").content.decode()  # reps see none
