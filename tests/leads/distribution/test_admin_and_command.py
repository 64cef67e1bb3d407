"""Managers set routing up in admin; `manage.py assign_leads` assigns on demand."""

import json

import pytest
from django.core.management import CommandError, call_command

from leads.common.normalize import INVALID_PHONE
from leads.distribution.availability import HOURS_BAD_TIME
from leads.distribution.territories import RULE_KEYS, RULE_UNKNOWN_KEY
from leads.models import Agent, Lead, TeamSettings, Territory
from tests.factories import LeadFactory

from .conftest import agent, make_team, territory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client, boss):
    client.force_login(boss)
    return client


def test_a_territory_with_an_unknown_rule_is_refused_with_a_message(admin):
    team, _ = make_team("Inside Sales", "rep1")
    response = admin.post(
        "/admin/leads/territory/add/",
        {
            "name": "Mars",
            "priority": 10,
            "is_active": "on",
            "rules": json.dumps({"planet": ["Mars"]}),
            "teams": [team.pk],
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["rules"] == [RULE_UNKNOWN_KEY.format(key="planet", keys=", ".join(RULE_KEYS))]
    saved = admin.post(
        "/admin/leads/territory/add/",
        {
            "name": "UK",
            "priority": 10,
            "is_active": "on",
            "rules": json.dumps({"country": "GB"}),
            "teams": [team.pk],
        },
    )
    assert saved.status_code == 302
    assert Territory.objects.get(name="UK").rules == {"country": ["GB"]}


def test_an_agent_with_bad_hours_or_phone_is_refused(admin):
    team, (rep,) = make_team("Inside Sales", "rep1")
    response = admin.post(
        "/admin/leads/agent/add/",
        {
            "user": rep.pk,
            "is_active": "on",
            "time_zone": "Europe/London",
            "working_hours": json.dumps({"0": ["9am", "5pm"]}),
            "phone": "12",
            "languages": "[]",
            "skills": "[]",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert (errors["working_hours"], errors["phone"]) == ([HOURS_BAD_TIME.format(value="9am")], [INVALID_PHONE])
    saved = admin.post(
        "/admin/leads/agent/add/",
        {
            "user": rep.pk,
            "is_active": "on",
            "time_zone": "Europe/London",
            "working_hours": json.dumps({"0": ["09:00", "17:00"]}),
            "phone": "+44 20 7946 0001",
            "languages": "[]",
            "skills": "[]",
            "max_open_leads": "30",
        },
    )
    assert saved.status_code == 302
    assert Agent.objects.get(user=rep).phone == "+442079460001"


def test_the_team_page_has_its_routing_inline(admin):
    team, _ = make_team("Inside Sales", "rep1")
    page = admin.get(f"/admin/leads/team/{team.pk}/change/")
    assert page.status_code == 200 and b"Routing" in page.content
    data = {
        "name": "Inside Sales",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "routing-TOTAL_FORMS": "1",
        "routing-INITIAL_FORMS": "0",
        "routing-0-sla_minutes": "15",
        "routing-0-max_reassignments": "1",
        "routing-0-keep_returning_owner": "on",
        "routing-0-phone_numbers": '["+44 20 7946 0000"]',
    }
    response = admin.post(f"/admin/leads/team/{team.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert TeamSettings.objects.get(team=team).phone_numbers == ["+442079460000"]


@pytest.mark.parametrize("path", ["assignment", "call", "notification", "agent", "territory"])
def test_the_distribution_lists_open(admin, path):
    assert admin.get(f"/admin/leads/{path}/").status_code == 200


def test_assign_leads_assigns_the_unassigned_and_leaves_the_owned(capsys):
    team, (ann, bob) = make_team("Inside Sales", "ann", "bob")
    territory("Everywhere", team, catch_all=True)
    owned = LeadFactory(owner=bob)
    waiting = LeadFactory.create_batch(3)
    LeadFactory(status="converted")
    call_command("assign_leads")
    assert "3 of 3 unassigned lead(s) assigned" in capsys.readouterr().out
    assert all(Lead.objects.get(pk=lead.pk).owner in (ann, bob) for lead in waiting)
    assert Lead.objects.get(pk=owned.pk).owner == bob


def test_assign_leads_queue_drains_the_queues(capsys):
    team, (ann,) = make_team("Inside Sales", "ann")
    territory("Everywhere", team, catch_all=True)
    profile = agent(ann, max_open_leads=0)
    LeadFactory.create_batch(2)
    call_command("assign_leads")
    assert Lead.objects.filter(team=team, owner__isnull=True).count() == 2
    profile.max_open_leads = None
    profile.save()
    call_command("assign_leads", "--queue", "--team", str(team.pk))
    assert "2 lead(s) assigned from the queues." in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("assign_leads", "--team", str(team.pk))
