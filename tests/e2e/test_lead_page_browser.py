"""The lead page in headless Chromium: the score explanation opens in place, a call, an inline
edit, a task and a status change swap their sections without a reload, and conversion offers the
matching customer. Photographed into tests/e2e/screenshots/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Customer
from leads.common.validation import LOST_REASON_REQUIRED
from leads.models import Interaction, Lead, Task
from tests.e2e.conftest import log_in
from tests.factories import CustomerFactory, LeadFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ada(rep, team):
    now = timezone.now()
    return LeadFactory(
        owner=rep,
        team=team,
        first_name="Ada",
        last_name="Lovelace",
        company="Analytical Engines",
        job_title="CTO",
        email="ada@analytical.co.uk",
        phone="+442079460958",
        time_zone="Europe/London",
        score=81,
        grade="A",
        assigned_at=now - timedelta(minutes=5),
        sla_due_at=now + timedelta(minutes=55),
    )


def _no_reload_marker(page):
    page.evaluate("window.__stayed = true")


def _stayed(page) -> bool:
    return page.evaluate("window.__stayed === true")


def test_a_rep_works_a_lead_without_reloading(page, live_server, rep, ada, shoot):
    log_in(page, live_server.url, "rep1")
    page.goto(f"{live_server.url}/leads/{ada.pk}")
    _no_reload_marker(page)
    shoot(page, "lead-page")

    page.click("[data-testid=score-why]")
    page.wait_for_selector("#score-explanation [data-testid=score-explanation]")

    call = page.locator("[data-testid=call-form]")
    call.locator("select[name=outcome]").select_option("connected")
    call.locator("textarea[name=notes]").fill("Wants a demo next week")
    call.get_by_role("button", name="Log call").click()
    page.wait_for_selector("#lead-timeline >> text=Wants a demo next week")
    page.wait_for_selector("[data-testid=sla-clock] >> text=contacted")

    page.click("#field-company >> text=edit")
    page.fill("#field-company input[name=company]", "Analytical Engines Ltd")
    page.click("#field-company >> button:has-text('Save')")
    page.wait_for_selector("#field-company >> text=Analytical Engines Ltd")

    page.click("#lead-tasks summary")
    page.fill("[data-testid=task-form] input[name=title]", "Send the demo invite")
    page.fill("[data-testid=task-form] input[name=due_at]", "2030-01-15T10:30")
    page.click("[data-testid=task-form] button:has-text('Add task')")
    page.wait_for_selector("[data-testid=open-tasks] >> text=Send the demo invite")

    status = page.locator("[data-testid=status-form]")
    status.locator("select[name=status]").select_option("lost")
    status.get_by_role("button", name="Change status").click()
    page.wait_for_selector(f"#lead-manage >> text={LOST_REASON_REQUIRED}")

    assert _stayed(page)  # every step swapped a fragment: no full reload
    lead = Lead.objects.get(pk=ada.pk)
    assert (
        lead.first_contacted_at is not None
        and lead.company == "Analytical Engines Ltd"
        and lead.status == Lead.Status.NEW
    )
    assert Task.objects.filter(lead=lead, title="Send the demo invite").exists()
    assert lead.interactions.filter(kind=Interaction.Kind.CALL_OUT).count() == 1
    shoot(page, "lead-page-worked")


def test_converting_offers_the_matching_customer(page, live_server, rep, ada, shoot):
    existing = CustomerFactory(name="Analytical Engines Group", domain="analytical.co.uk", email="")
    log_in(page, live_server.url, "rep1")
    page.goto(f"{live_server.url}/leads/{ada.pk}")
    form = page.locator("[data-testid=convert-form]")
    assert "Analytical Engines Group" in form.inner_text()
    shoot(page, "lead-page-convert-choice")
    form.get_by_role("button", name="Link to the chosen customer").click()
    page.wait_for_selector("[data-testid=converted] >> text=Analytical Engines Group")
    assert Lead.objects.get(pk=ada.pk).converted_customer == existing
    assert Customer.objects.count() == 1
