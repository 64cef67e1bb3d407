"""Managers' dashboards in headless Chromium: the overview loads every chart by itself (htmx), the
Chart/Table toggle swaps a card in place, and a bad range shows its message under the field.
Photographed into tests/e2e/screenshots/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.reporting.dashboards import DASHBOARDS
from leads.reporting.forms import END_BEFORE_START
from tests.e2e.conftest import log_in
from tests.factories import LeadFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def leads(team):
    now = timezone.now()
    for i, (source, status, score, grade) in enumerate(
        [
            ("web_form", "converted", 91, "A"),
            ("web_form", "lost", 20, "D"),
            ("email", "new", 45, "C"),
            ("chat", "qualified", 70, "B"),
            ("web_form", "active", 35, "C"),
        ]
    ):
        LeadFactory(
            source=source,
            status=status,
            score=score,
            grade=grade,
            team=team,
            lost_reason="No budget" if status == "lost" else "",
            created_at=now - timedelta(days=i),
        )


def test_a_manager_reads_the_dashboards_and_flips_a_chart_to_its_table(
    page, live_server, manager, leads, settings, shoot
):
    settings.DASHBOARD_CACHE_SECONDS = 0
    log_in(page, live_server.url, "manager")
    page.click("[data-testid=nav-dashboards]")
    for slug in DASHBOARDS:
        page.wait_for_selector(f"[data-testid=dashboard-{slug}] [data-testid=chart-{slug}]")
    assert page.locator("[data-testid=chart-funnel] rect title", has_text="Created: 5").count() == 1
    shoot(page, "dashboards")
    page.evaluate("window.__stayed = true")

    card = page.locator("[data-testid=dashboard-conversion]")
    card.locator("[data-testid=toggle-table]").click()
    page.wait_for_selector("[data-testid=table-conversion]")
    assert page.locator("[data-testid=table-conversion] tr", has_text="Web form").inner_text().split("\t")[:4] == [
        "Web form",
        "3",
        "1",
        "1",
    ]
    page.locator("[data-testid=dashboard-conversion] [data-testid=toggle-chart]").click()
    page.wait_for_selector("[data-testid=dashboard-conversion] [data-testid=chart-conversion]")
    assert page.evaluate("window.__stayed === true")  # swapped in place, no reload

    today = timezone.localdate()
    page.fill("#id_start", today.isoformat())
    page.fill("#id_end", (today - timedelta(days=3)).isoformat())
    page.click("[data-testid=dashboard-filters] button[type=submit]")
    assert page.locator("[data-testid=error-end]").inner_text() == str(END_BEFORE_START)
