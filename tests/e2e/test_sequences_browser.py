"""A marketer builds a sequence in headless Chromium: create it, add steps, move one up (htmx swaps
the step table in place), see the sandbox refuse a tag, preview the email. Photographed into
tests/e2e/screenshots/."""

import pytest

from leads.common.rendering import TAG_NOT_ALLOWED
from leads.models.nurturing import Sequence
from tests.e2e.conftest import log_in
from tests.factories import LeadFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _add_step(page, kind: str, **fields: str) -> None:
    form = page.locator("[data-testid=step-form]")
    form.locator("#id_kind").select_option(kind)
    for name, value in fields.items():
        form.locator(f"#id_{name}").fill(value)
    form.locator("button[type=submit]").click()


def test_a_marketer_builds_a_sequence_and_reorders_its_steps(page, live_server, marketer, shoot):
    LeadFactory(first_name="Ola", company="Initech", email="ola@initech.test")
    log_in(page, live_server.url, "marketer")
    page.goto(f"{live_server.url}/nurture/sequences/")
    page.fill("#id_name", "Trial follow-up")
    page.click("text=Create")
    page.wait_for_selector("[data-testid=step-form]")

    _add_step(
        page,
        "email",
        subject='Welcome {{ lead.first_name|default:"there" }}',
        body="Hi {{ lead.first_name }}, see https://acme.test/start",
    )
    page.wait_for_selector("[data-testid=step-row]")
    _add_step(page, "wait", wait_days="2")
    page.wait_for_function("document.querySelectorAll('[data-testid=step-row]').length === 2")

    # Refused: {% load %} in a body, with the sandbox's message under the field.
    _add_step(page, "email", subject="x", body="{% load static %}")
    assert page.get_by_text(TAG_NOT_ALLOWED.format(tag="load")).count() == 1
    page.goto(f"{live_server.url}/nurture/sequences/{Sequence.objects.get().pk}/")

    # Move the wait up: htmx swaps the table, the page stays.
    page.evaluate("window.__stayed = true")
    page.locator("[data-testid=step-row]").nth(1).get_by_role("button", name="Move up").click()
    page.wait_for_function("document.querySelector('[data-testid=step-row]').innerText.includes('Wait')")
    assert page.evaluate("window.__stayed === true")
    shoot(page, "sequence-editor")
    assert list(Sequence.objects.get().steps.order_by("position").values_list("kind", flat=True)) == ["wait", "email"]

    page.locator("[data-testid=step-row]").nth(1).get_by_role("link", name="Preview").click()
    page.fill("#id_lead", "ola@initech.test")
    page.get_by_role("button", name="Preview").click()
    assert page.locator("[data-testid=preview-subject]").inner_text() == "Welcome Ola"
    shoot(page, "sequence-preview")
