"""A manager builds an automation in the browser (trigger, a condition, two actions), dry-runs it on
a lead, and watches it run on a real status change through the real worker: the run shows on the
automation's page and on the lead's timeline."""
import pytest

from leads.models import Automation, Lead
from leads.services import lead_update
from tests.e2e.conftest import log_in
from tests.factories import LeadFactory
from tests.helpers import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_manager_builds_an_automation_that_runs_on_a_real_event(page, live_server, manager, rep, celery_worker_live, shoot):
    lead = LeadFactory(first_name="Quinn", email="quinn@example.com", score=75, owner=rep, status="active")
    log_in(page, live_server.url, "manager")
    # The manager's bar stays one line at 1280 px (five more entries side by side wrapped it).
    assert page.evaluate("document.querySelector('nav.navbar').offsetHeight") < 80
    page.click("[data-testid=nav-manage] > a")  # the managers' menu
    page.click("[data-testid=nav-automations]")
    page.click("[data-testid=new-automation]")
    page.fill("#id_name", "Qualified follow-up")
    page.fill("#id_description", "Book the demo the day a lead qualifies")
    page.check("#id_enabled")
    # The trigger's inputs follow the chosen trigger (the form redraws itself).
    page.select_option("[data-testid=trigger-select]", "status_changed")
    page.locator("#id_p-to").wait_for()
    page.select_option("#id_p-to", "qualified")
    # One condition, with the segment builder's own rows: score ≥ 50.
    page.click("button[value='add:r']")
    page.locator("#id_r\\.0-field").wait_for()
    page.select_option("#id_r\\.0-field", "score")
    page.locator("#id_r\\.0-op option[value=gte]").wait_for(state="attached")
    page.select_option("#id_r\\.0-op", "gte")
    page.locator("#id_r\\.0-value[type=number]").wait_for()
    page.fill("#id_r\\.0-value", "50")
    # Action 1: a task for the owner due in a day; action 2: tag the lead.
    page.select_option("[data-testid=a-0-type]", "create_task")
    page.locator("#id_a-0-title").wait_for()
    page.fill("#id_a-0-title", "Book the demo")
    page.fill("#id_a-0-amount", "1")
    page.select_option("#id_a-0-unit", "days")
    page.click("[data-testid=add-action]")
    page.locator("[data-testid=a-1-type]").wait_for()
    page.fill("#id_a-1-value", "qualified-by-automation")
    shoot(page, "automation-builder")
    page.click("[data-testid=save-automation]")
    page.wait_for_url("**/automations/*/")
    automation = Automation.objects.get(name="Qualified follow-up")
    assert automation.enabled and automation.trigger_params == {"to": "qualified"}
    assert [action["type"] for action in automation.actions] == ["create_task", "add_tags"]
    # Test mode: what it would do to Quinn.
    page.fill("[data-testid=dry-run-lead]", "quinn@example.com")
    page.click("[data-testid=dry-run]")
    report = page.locator("[data-testid=dry-run-report]").inner_text()
    assert "would create task ‘Book the demo’" in report
    # A real event: the lead qualifies; the worker runs the automation.
    lead_update(lead=Lead.objects.get(pk=lead.pk), data={"status": "qualified"}, by=manager)
    assert wait_for(lambda: automation.runs.filter(status="done").exists(), timeout=30)
    page.goto(f"{live_server.url}/automations/{automation.pk}/")
    runs = page.locator("[data-testid=run-row]")
    assert runs.count() == 1 and "created task ‘Book the demo’" in runs.first.inner_text()
    shoot(page, "automation-detail")
    page.goto(f"{live_server.url}/leads/{lead.pk}")
    assert "Automation ‘Qualified follow-up’" in page.locator("main").inner_text()
