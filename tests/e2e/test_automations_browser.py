"""A manager builds an automation in the browser (trigger, a condition, two actions), dry-runs it on
a lead, and watches it run on a real status change through the real worker: the run shows on the
automation's page and on the lead's timeline."""

import pytest

from leads.models import Automation, Lead
from leads.services import lead_update
from tests.e2e.conftest import log_in
from tests.factories import LeadFactory, SequenceFactory, SequenceStepFactory
from tests.helpers import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_manager_builds_an_automation_that_runs_on_a_real_event(
    page, live_server, manager, rep, celery_worker_live, shoot
):
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


def _action(page, index: int, kind: str, **values) -> None:
    """Set row `index` to `kind` (the form redraws with its inputs) and fill them."""
    if index:
        page.click("[data-testid=add-action]")
        page.locator(f"[data-testid=a-{index}-type]").wait_for()
    page.select_option(f"[data-testid=a-{index}-type]", kind)
    for key, value in values.items():
        locator = page.locator(f"#id_a-{index}-{key}")
        locator.wait_for()
        if locator.evaluate("element => element.tagName") == "SELECT":
            page.select_option(f"#id_a-{index}-{key}", value)
        else:
            locator.fill(value)


def _open_builder(page, base_url: str, name: str, description: str) -> None:
    page.goto(f"{base_url}/automations/new")
    page.fill("#id_name", name)
    page.fill("#id_description", description)
    page.check("#id_enabled")


def _status_is_new_or_active(page) -> None:
    page.click("button[value='add:r']")
    page.locator("#id_r\\.0-field").wait_for()
    page.select_option("#id_r\\.0-field", "status")
    page.locator("#id_r\\.0-op option[value=in]").wait_for(state="attached")
    page.select_option("#id_r\\.0-op", "in")
    page.locator("#id_r\\.0-value[multiple]").wait_for()
    page.select_option("#id_r\\.0-value", ["new", "active"])


def test_a_manager_builds_the_two_seeded_examples_and_the_quiet_one_runs_in_the_worker(
    page,
    live_server,
    manager,
    team,
    rep,
    celery_worker_live,
):
    """The issue's two examples, built by hand as seed_demo builds them with the service."""
    from datetime import timedelta

    from django.utils import timezone

    from leads.automations.services import automations_scan_inactive
    from leads.models import Enrollment, Interaction

    sequence = SequenceFactory(name="Nurture")
    SequenceStepFactory(sequence=sequence, position=0, kind="email", subject="Hello", body="Hi {{ lead.first_name }}")
    log_in(page, live_server.url, "manager")

    _open_builder(
        page, live_server.url, "Hot inbound", "A hot web-form lead goes to Inside Sales with a call due in 15 minutes"
    )
    page.select_option("#id_p-source", "web_form")
    _status_is_new_or_active(page)
    _action(page, 0, "wait", amount="2", unit="minutes")
    _action(page, 1, "branch", bfield="score", bop="gte", bvalue="60", skip="2")
    _action(page, 2, "assign_team", team=str(team.pk))
    _action(page, 3, "create_task", title="Call the hot inbound lead", amount="15", unit="minutes")
    page.click("[data-testid=save-automation]")
    page.wait_for_url("**/automations/*/")
    hot = Automation.objects.get(name="Hot inbound")
    assert hot.trigger == "lead_created" and hot.trigger_params == {"source": "web_form"}
    assert hot.conditions["conditions"][0] == {"field": "status", "op": "in", "value": ["new", "active"]}
    assert hot.actions == [
        {"type": "wait", "amount": 2, "unit": "minutes"},
        {
            "type": "branch",
            "conditions": {"match": "all", "conditions": [{"field": "score", "op": "gte", "value": 60}]},
            "skip": 2,
        },
        {"type": "assign_team", "team": team.pk},
        {"type": "create_task", "title": "Call the hot inbound lead", "amount": 15, "unit": "minutes"},
    ]

    _open_builder(page, live_server.url, "Quiet for 14 days", "An open lead quiet for 14 days moves to nurturing")
    page.select_option("[data-testid=trigger-select]", "inactive")
    page.locator("#id_p-days").wait_for()
    page.fill("#id_p-days", "14")
    _status_is_new_or_active(page)
    _action(page, 0, "set_status", status="nurturing")
    _action(page, 1, "enroll", sequence=str(sequence.pk))
    page.click("[data-testid=save-automation]")
    page.wait_for_url("**/automations/*/")
    quiet = Automation.objects.get(name="Quiet for 14 days")
    assert quiet.trigger_params == {"days": 14}
    assert quiet.actions == [{"type": "set_status", "status": "nurturing"}, {"type": "enroll", "sequence": sequence.pk}]

    lead = LeadFactory(
        first_name="Sam", email="sam@example.com", status="active", last_activity_at=timezone.now() - timedelta(days=20)
    )
    assert automations_scan_inactive() == 1  # the hourly scan; the run goes to the worker
    assert wait_for(lambda: quiet.runs.filter(status="done").exists(), timeout=30), list(
        quiet.runs.values("status", "error")
    )
    assert Lead.objects.get(pk=lead.pk).status == "nurturing"
    assert Enrollment.objects.filter(lead=lead, sequence=sequence).exists()
    page.goto(f"{live_server.url}/automations/{quiet.pk}/")
    assert "set status to nurturing" in page.locator("[data-testid=run-row]").first.inner_text()
    entry = Interaction.objects.get(lead=lead, kind=Interaction.Kind.AUTOMATION)
    assert entry.subject == "Automation \u2018Quiet for 14 days\u2019: set status to nurturing; enrolled in Nurture"
