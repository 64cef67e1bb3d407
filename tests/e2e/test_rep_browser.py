"""A rep logs in with headless Chromium (Debian's) and opens one of their leads."""

import pytest

from tests.factories import InteractionFactory, LeadFactory


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_rep_logs_in_and_opens_a_lead(browser, live_server, rep, other_rep):
    grace = LeadFactory(owner=rep, first_name="Grace", last_name="Hopper", company="Navy Computing")
    InteractionFactory(lead=grace, subject="Met at the COBOL conference")
    LeadFactory(owner=other_rep, first_name="Not", last_name="Mine")
    page = browser.new_page()
    try:
        page.goto(f"{live_server.url}/")
        assert "/accounts/login/" in page.url
        page.fill("input[name=username]", "rep1")
        page.fill("input[name=password]", "secret-pass-123")
        page.click("button[type=submit]")
        page.wait_for_selector("[data-testid=lead-table]")
        table = page.inner_text("[data-testid=lead-table]")
        assert "Grace Hopper" in table and "Not Mine" not in table
        page.click("text=Grace Hopper")
        page.wait_for_selector("[data-testid=lead-name]")
        assert page.inner_text("[data-testid=lead-name]") == "Grace Hopper"
        assert "Navy Computing" in page.content()
        assert "Met at the COBOL conference" in page.inner_text("[data-testid=timeline]")
    finally:
        page.close()
