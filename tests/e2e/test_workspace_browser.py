"""The rep's workspace in headless Chromium (Debian's): My work, the lead list with its keyboard
shortcuts and bulk reassignment, read-only and forbidden leads, phone width. Each main page is
photographed into tests/e2e/screenshots/ on every run."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Customer
from leads.models import Interaction, Lead, Task
from tests.e2e.conftest import log_in
from tests.factories import InteractionFactory, LeadFactory, NotificationFactory, TaskFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(rep, other_rep, team):
    """rep1's leads (one SLA overdue, one with a call-back due), a team lead and rep2's lead."""
    now = timezone.now()
    leads = {
        "ada": LeadFactory(
            owner=rep,
            team=team,
            first_name="Ada",
            last_name="Lovelace",
            company="Analytical Engines",
            grade="A",
            score=88,
            sla_due_at=now + timedelta(hours=1),
            phone="+442079460958",
        ),
        "alan": LeadFactory(
            owner=rep,
            team=team,
            first_name="Alan",
            last_name="Turing",
            company="Bletchley",
            grade="B",
            score=70,
            sla_due_at=now - timedelta(minutes=20),
        ),
        "grace": LeadFactory(
            owner=rep,
            team=team,
            first_name="Grace",
            last_name="Hopper",
            company="Navy Computing",
            grade="B",
            score=60,
            first_contacted_at=now - timedelta(days=1),
        ),
        "edsger": LeadFactory(
            owner=other_rep, team=team, first_name="Edsger", last_name="Dijkstra", company="Eindhoven", grade="A"
        ),
    }
    TaskFactory(lead=leads["grace"], assigned_to=rep, title="Call Grace back", due_at=now - timedelta(hours=2))
    InteractionFactory(lead=leads["ada"], kind=Interaction.Kind.PAGE_VIEW, subject="/pricing")
    NotificationFactory(user=rep, kind="assigned", lead=leads["ada"], message="New lead assigned to you: Ada Lovelace")
    return leads


def test_a_rep_starts_the_day_on_my_work(page, live_server, rep, desk, shoot):
    log_in(page, live_server.url, "rep1")
    assert page.url.endswith("/home/")
    queue = page.locator("[data-testid=home-queue] tbody tr")
    # The overdue first contact first, then grade A, then the B with a call-back due.
    assert queue.nth(0).inner_text().startswith("Alan Turing")
    assert queue.nth(1).inner_text().startswith("Ada Lovelace")
    assert queue.nth(2).inner_text().startswith("Grace Hopper")
    assert "Edsger" not in page.inner_text("main")
    assert "/pricing" in page.inner_text("[data-testid=home-recent]")
    assert "Ada Lovelace" in page.inner_text("[data-testid=home-notifications]")
    shoot(page, "home")
    # Mark the call-back done inline (htmx swaps the row, no reload).
    task = page.locator("[data-testid=home-task]", has_text="Call Grace back")
    task.get_by_role("button", name="Mark done").click()
    page.wait_for_selector("[data-testid=home-task] s")
    assert Task.objects.get(title="Call Grace back").done_at is not None


def test_keyboard_navigation_on_the_list(page, live_server, rep, desk, shoot):
    log_in(page, live_server.url, "rep1")
    page.goto(f"{live_server.url}/?ordering=-score")
    rows = page.locator("[data-testid=lead-table] tbody tr")
    page.keyboard.press("j")
    assert "is-selected" in rows.nth(0).get_attribute("class")
    page.keyboard.press("j")
    assert "is-selected" in rows.nth(1).get_attribute("class") and "is-selected" not in (
        rows.nth(0).get_attribute("class") or ""
    )
    assert page.evaluate("document.activeElement === document.querySelectorAll('[data-testid=lead-table] tbody tr')[1]")
    page.keyboard.press("k")
    assert "is-selected" in rows.nth(0).get_attribute("class")
    page.keyboard.press("x")
    assert rows.nth(0).locator("input.row-check").is_checked()
    page.keyboard.press("x")
    assert not rows.nth(0).locator("input.row-check").is_checked()
    page.keyboard.press("?")
    page.wait_for_selector("#shortcut-help.show")
    page.wait_for_function("document.activeElement && document.activeElement.closest('#shortcut-help')")  # shown
    shoot(page, "lead-list-help")
    page.keyboard.press("Escape")
    page.wait_for_selector("#shortcut-help", state="hidden")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "id_search"
    page.keyboard.type("lovelace")
    page.keyboard.press("Enter")  # submits the filter form
    page.wait_for_url("**search=lovelace**")
    assert page.locator("[data-testid=lead-table] tbody tr").count() == 1
    assert "Search: lovelace" in page.inner_text("[data-testid=filter-chips]")
    shoot(page, "lead-list-filtered")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/leads/{desk['ada'].pk}")
    assert page.inner_text("[data-testid=lead-name]") == "Ada Lovelace"
    shoot(page, "lead-page-from-list")


def test_a_manager_reassigns_a_lead_and_it_shows_in_the_other_reps_queue(
    browser, page, live_server, manager, rep, other_rep, desk, shoot
):
    log_in(page, live_server.url, "manager")
    page.goto(f"{live_server.url}/?search=lovelace")
    page.locator("[data-testid=lead-table] tbody tr").first.locator("input.row-check").check()
    page.select_option("#bulk-action", "assign")
    page.select_option("#bulk-owner", "rep2")
    shoot(page, "lead-list-manager-bulk")
    page.locator("[data-testid=bulk-form] button[type=submit]", has_text="Apply").click()
    page.wait_for_selector(".alert-success")
    assert "1 lead(s) assigned to rep2" in page.inner_text(".alert-success")
    assert Lead.objects.get(pk=desk["ada"].pk).owner == other_rep

    other = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        rep2 = other.new_page()
        log_in(rep2, live_server.url, "rep2")
        assert rep2.url.endswith("/home/")
        assert "Ada Lovelace" in rep2.inner_text("[data-testid=home-queue]")
        rep2.goto(f"{live_server.url}/my-queue/")
        assert "Ada Lovelace" in rep2.inner_text("[data-testid=my-queue]")
    finally:
        other.close()


def test_a_marketer_opens_a_lead_read_only(page, live_server, marketer, desk, shoot):
    log_in(page, live_server.url, "marketer")
    assert page.url.rstrip("/") == live_server.url  # marketers land on the list
    lead = desk["ada"]
    page.goto(f"{live_server.url}/leads/{lead.pk}")
    assert page.inner_text("[data-testid=lead-name]") == "Ada Lovelace"
    for form in ("status-form", "reassign-form", "convert-form", "call-form", "note-form"):
        assert page.locator(f"[data-testid={form}]").count() == 0, form
    shoot(page, "lead-page-marketer")
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    refused = page.request.post(
        f"{live_server.url}/leads/{lead.pk}/status",
        form={"status": "lost", "lost_reason": "nope"},
        headers={"X-CSRFToken": token, "Referer": live_server.url + "/"},
    )
    assert refused.status == 403
    assert Lead.objects.get(pk=lead.pk).status == "new"


def test_a_rep_cannot_open_another_reps_lead_by_its_url(page, live_server, rep, desk):
    log_in(page, live_server.url, "rep1")
    response = page.goto(f"{live_server.url}/leads/{desk['edsger'].pk}")
    assert response.status == 404
    assert page.goto(f"{live_server.url}/leads/{desk['ada'].pk}").status == 200


def test_phone_width_list_and_home(phone_page, live_server, rep, desk, shoot):
    log_in(phone_page, live_server.url, "rep1")
    toggler = phone_page.locator(".navbar-toggler")
    assert toggler.is_visible()
    assert not phone_page.locator("[data-testid=nav-leads]").is_visible()  # the menu is collapsed
    shoot(phone_page, "home-phone")
    toggler.click()
    phone_page.wait_for_selector("[data-testid=nav-leads]", state="visible")
    phone_page.click("[data-testid=nav-leads]")
    phone_page.wait_for_selector("[data-testid=lead-table]")
    assert not phone_page.locator("#id_search").is_visible()  # filters folded away on a phone
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1, f"the page scrolls sideways ({width}px)"
    shoot(phone_page, "lead-list-phone")


def test_a_rep_finds_a_lead_logs_a_call_changes_the_status_and_converts_it(page, live_server, rep, desk, shoot):
    """The whole road on the rep's side: search, open, call, status, convert into a customer."""
    log_in(page, live_server.url, "rep1")
    page.click("[data-testid=nav-leads]")
    page.fill("#id_search", "analytical")
    page.locator("[data-testid=lead-filters] button[type=submit]").click()
    page.wait_for_url("**search=analytical**")
    page.click("[data-testid=lead-table] >> text=Ada Lovelace")
    page.wait_for_selector("[data-testid=lead-name]")
    assert page.inner_text("[data-testid=lead-name]") == "Ada Lovelace"

    call = page.locator("[data-testid=call-form]")
    call.locator("select[name=outcome]").select_option("connected")
    call.locator("textarea[name=notes]").fill("Budget approved, wants to start")
    call.get_by_role("button", name="Log call").click()
    page.wait_for_selector("#lead-timeline >> text=Budget approved, wants to start")

    status = page.locator("[data-testid=status-form]")
    status.locator("select[name=status]").select_option("qualified")
    status.get_by_role("button", name="Change status").click()
    page.wait_for_selector("[data-testid=lead-status] >> text=Qualified")

    page.locator("[data-testid=convert-form]").get_by_role("button", name="Convert to customer").click()
    page.wait_for_selector("[data-testid=converted]")
    shoot(page, "lead-page-converted")
    lead = Lead.objects.get(pk=desk["ada"].pk)
    assert lead.status == Lead.Status.CONVERTED and lead.converted_customer is not None
    assert lead.first_contacted_at is not None
    assert Customer.objects.filter(pk=lead.converted_customer_id).exists()
    assert lead.interactions.filter(kind=Interaction.Kind.CALL_OUT).count() == 1


def test_the_list_and_my_work_work_without_javascript(browser, live_server, rep, desk, shoot):
    """Progressive enhancement: with scripts off, filters, bulk actions and "Mark done" still post."""
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        log_in(page, live_server.url, "rep1")
        page.locator("[data-testid=home-task]", has_text="Call Grace back").get_by_role(
            "button", name="Mark done"
        ).click()
        page.wait_for_selector(".alert-success")
        assert Task.objects.get(title="Call Grace back").done_at is not None
        page.goto(f"{live_server.url}/")
        page.fill("#id_search", "turing")
        page.locator("[data-testid=lead-filters] button[type=submit]").click()
        page.wait_for_url("**search=turing**")
        page.locator("[data-testid=lead-table] input.row-check").first.check()
        page.select_option("#bulk-action", "status")
        page.select_option("#bulk-status", "active")
        page.locator("[data-testid=bulk-form] button[type=submit]", has_text="Apply").click()
        page.wait_for_selector(".alert-success")
        assert "search=turing" in page.url  # back on the same filtered list
        assert Lead.objects.get(pk=desk["alan"].pk).status == Lead.Status.ACTIVE
        shoot(page, "lead-list-no-js")
    finally:
        context.close()
