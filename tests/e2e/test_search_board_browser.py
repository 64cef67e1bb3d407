"""Issue 19 §2-§4 in headless Chromium (Debian's): the global search finds a lead by a phone typed
with spaces, a customer gets a note and a task on its page, and a card moves on the board with
the keyboard and with the mouse."""

import pytest
from django.utils import timezone

from customers.services import lead_convert
from leads.common.validation import LOST_REASON_REQUIRED
from leads.models import Interaction, Lead, Task
from tests.e2e.conftest import log_in
from tests.factories import LeadFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_global_search_finds_a_lead_by_a_phone_typed_with_spaces(page, live_server, rep, other_rep, team, shoot):
    ada = LeadFactory(
        owner=rep, team=team, first_name="Ada", last_name="Lovelace", phone="+442079460958", status="active"
    )
    LeadFactory(owner=other_rep, team=team, first_name="Edsger", last_name="Dijkstra", phone="+442079460959")
    log_in(page, live_server.url, "rep1")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "global-search"
    page.keyboard.type("+44 20 7946 0958")
    dropdown = page.locator("#global-search-results.show")
    dropdown.wait_for()
    assert "Ada Lovelace" in dropdown.inner_text() and "rep1" in dropdown.inner_text()
    shoot(page, "search-dropdown")
    page.keyboard.press("Enter")  # the results page, grouped by kind
    page.wait_for_url("**/search/?q=*")
    leads = page.locator("[data-testid=search-page] [data-testid=search-leads]")
    assert "Ada Lovelace" in leads.inner_text() and "Active" in leads.inner_text()
    assert "Dijkstra" not in page.inner_text("main")
    shoot(page, "search-page")
    # Ctrl-K from anywhere, the arrow key into the dropdown, Enter opens the lead.
    page.locator("main").click()
    page.keyboard.press("Control+k")
    assert page.evaluate("document.activeElement.id") == "global-search"
    page.keyboard.press("Control+a")
    page.keyboard.type("020 7946 0958")
    page.wait_for_function("document.querySelector('#global-search-results').textContent.includes('Ada Lovelace')")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{ada.get_absolute_url()}")


def test_a_customer_gets_a_note_and_a_task(page, live_server, rep, team, shoot):
    lead = LeadFactory(owner=rep, team=team, first_name="Grace", last_name="Hopper", company="Navy Computing")
    customer = lead_convert(lead=lead, by=rep, action="create").customer
    log_in(page, live_server.url, "rep1")
    page.goto(f"{live_server.url}/customers/{customer.pk}")
    page.get_by_text("Add a note, email or call to the timeline").click()
    form = page.locator("[data-testid=customer-note-form]")
    form.locator("textarea[name=body]").fill("Renewal in March, 20 seats")
    form.get_by_role("button", name="Add to timeline").click()
    page.wait_for_selector("text=Added to the timeline.")
    assert "Renewal in March, 20 seats" in page.inner_text("[data-testid=timeline]")
    page.get_by_text("Add a task").click()
    task_form = page.locator("[data-testid=customer-task-form]")
    task_form.locator("input[name=title]").fill("Send the renewal quote")
    task_form.locator("input[name=due_at]").fill(
        (timezone.localtime() + timezone.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    )
    task_form.get_by_role("button", name="Add task").click()
    page.wait_for_selector("text=Task added.")
    assert "Send the renewal quote" in page.inner_text("[data-testid=customer-open-tasks]")
    shoot(page, "customer-page")
    task = Task.objects.get(title="Send the renewal quote")
    assert task.lead_id == lead.pk and task.assigned_to_id == rep.pk
    assert Interaction.objects.filter(lead=lead, kind=Interaction.Kind.NOTE, body="Renewal in March, 20 seats").exists()


def test_a_card_moves_on_the_board_with_the_keyboard_and_the_mouse(page, live_server, rep, team, shoot):
    ada = LeadFactory(owner=rep, team=team, first_name="Ada", last_name="Lovelace", grade="A", status=Lead.Status.NEW)
    LeadFactory(owner=rep, team=team, first_name="Alan", last_name="Turing", status=Lead.Status.NURTURING)
    log_in(page, live_server.url, "rep1")
    page.goto(f"{live_server.url}/?grade=A")
    page.locator("[data-testid=show-board]").click()
    page.wait_for_url("**/board/?grade=A")
    assert "Alan Turing" not in page.inner_text("[data-testid=lead-board]")  # the list's filter applies
    shoot(page, "board")
    # The keyboard: Tab to the card's "Active →" button and press Enter.
    button = page.get_by_role("button", name="Move Ada Lovelace to Active")
    button.focus()
    page.keyboard.press("Enter")
    page.locator(f"[data-testid=column-active] [data-testid=card-{ada.pk}]").wait_for()
    ada.refresh_from_db()
    assert ada.status == Lead.Status.ACTIVE
    # The mouse: drag the card onto Qualified.
    page.drag_and_drop(f"[data-testid=card-{ada.pk}]", "[data-testid=column-qualified]")
    page.locator(f"[data-testid=column-qualified] [data-testid=card-{ada.pk}]").wait_for()
    ada.refresh_from_db()
    assert ada.status == Lead.Status.QUALIFIED
    # Lost still asks for a reason: without one the board says so and nothing changes.
    card = page.locator(f"[data-testid=card-{ada.pk}]")
    card.get_by_text("Lost…").click()
    card.get_by_role("button", name="Mark lost").click()
    assert LOST_REASON_REQUIRED in page.locator("[data-testid=move-error]").inner_text()
    ada.refresh_from_db()
    assert ada.status == Lead.Status.QUALIFIED
    assert "Alan Turing" not in page.inner_text("[data-testid=lead-board]")  # the swapped board kept the filter
