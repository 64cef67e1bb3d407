"""Fixtures for the Settings pages: a manager's client, and the URLs of every page."""

import pytest
from django.urls import reverse


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def all_urls(*, team_id: int, user_id: int, territory_id: int, rule_id: int) -> list[str]:
    """Every page of the Settings area (GET)."""
    s = "leads:settings_ui:"
    return [
        reverse(f"{s}index"),
        reverse(f"{s}teams"),
        reverse(f"{s}team_create"),
        reverse(f"{s}team_edit", args=[team_id]),
        reverse(f"{s}agents"),
        reverse(f"{s}agent_edit", args=[user_id]),
        reverse(f"{s}territories"),
        reverse(f"{s}territory_create"),
        reverse(f"{s}territory_tester"),
        reverse(f"{s}territory_edit", args=[territory_id]),
        reverse(f"{s}scoring"),
        reverse(f"{s}scoring_rule_create"),
        reverse(f"{s}scoring_rule_edit", args=[rule_id]),
    ]
