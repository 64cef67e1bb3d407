"""The demo's reps have routing profiles (hours in their zones, capacity), and the Settings pages
show them with the demo team and territories."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from leads.models import Agent, Territory

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_the_settings_pages_agents_a_team_and_territories(client):
    call_command("seed_demo", leads=0)
    agents = Agent.objects.select_related("user").order_by("user__username")
    assert [a.user.username for a in agents] == ["rep1", "rep2", "rep3"]
    assert all(a.working_hours and a.max_open_leads for a in agents)
    assert {a.time_zone for a in agents} == {"Europe/London", "Europe/Berlin", "America/New_York"}
    assert list(Territory.objects.values_list("name", flat=True)) == ["UK and Ireland", "DACH", "Everywhere"]
    client.force_login(User.objects.get(username="manager"))
    page = client.get(reverse("leads:settings_ui:agents")).content.decode()
    assert "Mon–Fri 09:00–17:30" in page and "Europe/London" in page
    teams = client.get(reverse("leads:settings_ui:teams")).content.decode()
    assert "rep1 ×1, rep2 ×1, rep3 ×1" in teams and "+442079460999" in teams
