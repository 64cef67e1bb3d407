"""The lead board in headless Chromium: a card's buttons, which submit the board's one move form
(form= and formaction=), move the lead through htmx without a reload; "Mark lost" sends that
card's reason; dragging a card onto a column moves it too (board.js)."""

import pytest

from leads.models import Lead
from tests.e2e.conftest import log_in
from tests.factories import LeadFactory


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_rep_moves_cards_with_the_buttons_and_by_dragging(page, live_server, rep, team):
    ada = LeadFactory(owner=rep, team=team, first_name="Ada", last_name="Lovelace", status=Lead.Status.NEW)
    alan = LeadFactory(owner=rep, team=team, first_name="Alan", last_name="Turing", status=Lead.Status.NEW)
    grace = LeadFactory(owner=rep, team=team, first_name="Grace", last_name="Hopper", status=Lead.Status.ACTIVE)
    log_in(page, live_server.url, "rep1")
    page.goto(f"{live_server.url}/board/")
    page.evaluate("window.__stayed = true")
    page.click(f"[data-testid=card-{ada.pk}] button[value=active]")
    page.wait_for_selector(f"[data-testid=column-active] [data-testid=card-{ada.pk}]")
    assert page.evaluate("window.__stayed === true")  # swapped by htmx, no reload
    ada.refresh_from_db()
    assert ada.status == Lead.Status.ACTIVE

    card = f"[data-testid=card-{grace.pk}]"
    page.click(f"{card} summary")
    page.fill(f"{card} input[name=lost_reason_{grace.pk}]", "No budget")
    page.click(f"{card} button[value=lost]")
    page.wait_for_selector(card, state="detached")
    grace.refresh_from_db()
    assert grace.status == Lead.Status.LOST and grace.lost_reason == "No budget"

    page.drag_and_drop(f"[data-testid=card-{alan.pk}]", "[data-testid=column-nurturing]")
    page.wait_for_selector(f"[data-testid=column-nurturing] [data-testid=card-{alan.pk}]")
    alan.refresh_from_db()
    assert alan.status == Lead.Status.NURTURING
