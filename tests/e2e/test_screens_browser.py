"""What only a browser shows (issue 23, "the lead page tells the truth" and "other screens"): the
lead's own clock, a header and score explanation that follow an inline edit, unique ids; the lead
list as cards on a 390 px phone and its keyboard after the help; the segment preview at 1366 px;
an error page in the site's layout with a favicon. Screenshots go to tests/e2e/screenshots/."""

import zoneinfo
from datetime import datetime, timedelta

import pytest

from tests.e2e.conftest import log_in, screenshot
from tests.factories import LeadFactory, UserPreferenceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DUPLICATE_IDS = """() => {
  const seen = {}, dup = [];
  document.querySelectorAll('[id]').forEach(e => { if (seen[e.id]) dup.push(e.id); seen[e.id] = true; });
  return dup;
}"""
ORPHAN_LABELS = """() => [...document.querySelectorAll('label[for]')]
  .filter(l => !document.getElementById(l.htmlFor) || !document.getElementById(l.htmlFor).matches('input,select,textarea,button'))
  .map(l => l.htmlFor)"""
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def phone_390(browser, request):
    """A 390 px wide phone (an iPhone 12-15)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        screenshot(page, f"FAILED-{request.node.name}")
    context.close()


@pytest.fixture
def wide_1366(browser, request):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        screenshot(page, f"FAILED-{request.node.name}")
    context.close()


def test_the_lead_page_shows_the_leads_clock_and_follows_an_inline_edit(page, live_server, rep, team, shoot):
    """A viewer in Tokyo saw a New York lead's "local time" in Tokyo time; the header and an opened
    score explanation kept their old text after an inline edit; two fields shared id="id_notes"."""
    UserPreferenceFactory(user=rep, time_zone="Asia/Tokyo")
    lead = LeadFactory(
        owner=rep,
        team=team,
        first_name="Grace",
        last_name="Hopper",
        company="Navy Labs",
        job_title="Engineer",
        time_zone="America/New_York",
        email="grace@navylabs.example",
    )
    log_in(page, live_server.url, "rep1")
    page.goto(f"{live_server.url}/leads/{lead.pk}")
    shown = page.inner_text("[data-testid=local-time] time")
    new_york = datetime.now(zoneinfo.ZoneInfo("America/New_York"))
    tokyo = datetime.now(zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert shown in {(new_york - timedelta(minutes=m)).strftime("%H:%M") for m in (0, 1)}
    assert shown not in {(tokyo - timedelta(minutes=m)).strftime("%H:%M") for m in (0, 1)}
    assert "America/New_York" in page.inner_text("[data-testid=local-time]")
    assert page.evaluate(DUPLICATE_IDS) == [] and page.evaluate(ORPHAN_LABELS) == []
    # The task form's "Notes" label focuses the task's notes, not the call's.
    page.click("#lead-tasks summary")
    page.click("label[for=task_notes]")
    assert page.evaluate("document.activeElement.id") == "task_notes"
    shoot(page, "lead-page-local-time")

    page.click("[data-testid=score-why]")
    page.wait_for_selector("#score-explanation [data-testid=score-explanation]")
    page.evaluate("document.getElementById('score-explanation-body').dataset.stale = 'yes'")
    page.click("#field-job_title >> text=edit")
    page.fill("#field-job_title input[name=job_title]", "Rear Admiral")
    page.click("#field-job_title >> button:has-text('Save')")
    page.wait_for_selector("[data-testid=lead-title] >> text=Rear Admiral at Navy Labs")
    # The opened explanation was fetched again (the marked copy is gone) and is still open.
    page.wait_for_selector("#score-explanation-body:not([data-stale])", state="attached")
    assert page.is_visible("#score-explanation [data-testid=score-explanation]")
    page.click("#field-first_name >> text=edit")
    page.fill("#field-first_name input[name=first_name]", "Amazing Grace")
    page.click("#field-first_name >> button:has-text('Save')")
    page.wait_for_selector("[data-testid=lead-name] >> text=Amazing Grace Hopper")
    assert page.evaluate(DUPLICATE_IDS) == []
    shoot(page, "lead-page-after-inline-edit")


def test_the_rep_lead_list_on_a_phone_is_a_stack_of_cards(phone_390, live_server, rep, team, shoot):
    """At 390 px the desktop table scrolled sideways."""
    for i in range(4):
        LeadFactory(
            owner=rep,
            team=team,
            first_name=f"Card{i}",
            last_name="Holder",
            company="A Rather Long Company Name Ltd",
            email=f"someone.with.a.long.address{i}@example-company.example",
        )
    page = phone_390
    log_in(page, live_server.url, "rep1")
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("[data-testid=lead-table]")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    rows = page.locator("[data-testid=lead-table] tbody tr")
    assert rows.count() == 4
    boxes = [rows.nth(i).bounding_box() for i in range(2)]
    assert all(box["width"] <= 390 for box in boxes)
    assert boxes[1]["y"] >= boxes[0]["y"] + boxes[0]["height"]  # stacked, one under the other
    assert (
        page.evaluate("getComputedStyle(document.querySelector('[data-testid=lead-table] tbody tr')).display")
        == "block"
    )
    assert page.locator("[data-testid=lead-table] thead").bounding_box()["height"] <= 1  # read by screen readers only
    assert "Holder" in rows.first.inner_text()
    # Each value says what it is (the label is drawn before it from data-label).
    label = page.evaluate(
        "getComputedStyle(document.querySelector('[data-testid=lead-table] tbody td[data-label=Status]'), '::before').content"
    )
    assert label == '"Status: "'
    shoot(page, "lead-list-phone")


def _help_shown(page):
    """The help dialog has faded in and holds the focus (as a person sees it before pressing Esc)."""
    page.wait_for_function("document.activeElement && document.activeElement.closest('#shortcut-help.show') !== null")


def test_question_mark_then_escape_then_enter_opens_a_lead(page, live_server, rep, team):
    """After the help was opened with ? and closed with Esc, Enter did nothing."""
    first = LeadFactory(owner=rep, team=team, first_name="Alpha", score=90)
    LeadFactory(owner=rep, team=team, first_name="Beta", score=10)
    log_in(page, live_server.url, "rep1")
    page.goto(f"{live_server.url}/?ordering=-score")
    page.wait_for_selector("[data-testid=lead-table]")
    page.keyboard.press("?")
    _help_shown(page)
    page.keyboard.press("Escape")
    page.wait_for_selector("#shortcut-help", state="hidden")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/leads/{first.pk}")
    # With a selection: j moves to the second lead, ? and Esc keep it, Enter opens it.
    page.goto(f"{live_server.url}/?ordering=-score")
    page.wait_for_selector("[data-testid=lead-table]")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("?")
    _help_shown(page)
    page.keyboard.press("Escape")
    page.wait_for_selector("#shortcut-help", state="hidden")
    page.keyboard.press("Enter")
    page.wait_for_url("**/leads/*")
    assert "Beta" in page.inner_text("[data-testid=lead-name]")


def test_the_segment_builder_fits_1366_pixels(wide_1366, live_server, marketer, shoot):
    """The preview table pushed the page sideways at 1366 px."""
    for i in range(5):
        LeadFactory(
            first_name=f"Maximilian{i}",
            last_name="Oberhausen-Wittgenstein",
            # No hyphen to break at: a cell as wide as its longest word pushed the page sideways.
            email=f"maximilianoberhausenwittgenstein{i}@verylongcompanydomainnamefortestingpurposes.example",
            company="Internationale Handelsgesellschaft für Industrieausrüstung mbH",
        )
    page = wide_1366
    log_in(page, live_server.url, "marketer")
    page.goto(f"{live_server.url}/nurture/segments/new")
    page.wait_for_selector("[data-testid=preview-count]")
    page.wait_for_selector("[data-testid=segment-preview] >> text=Oberhausen")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    shoot(page, "segment-builder-1366")


def test_an_error_page_keeps_the_layout_and_the_favicon_is_served(page, live_server, rep, shoot):
    """A 403 was a bare "403 Forbidden"; every page logged a 404 for the favicon."""
    log_in(page, live_server.url, "rep1")
    response = page.goto(f"{live_server.url}/distribution/")
    assert response.status == 403
    assert page.is_visible("[data-testid=main-nav]") and page.is_visible("[data-testid=error-page]")
    assert "You may not open this page" in page.inner_text("h1")
    icon = page.get_attribute("link[rel=icon]", "href")
    assert page.request.get(f"{live_server.url}{icon}").status == 200
    assert page.request.get(f"{live_server.url}/favicon.ico").status == 200  # redirected to the same icon
    shoot(page, "error-403")
    page.click("[data-testid=nav-leads]")
    page.wait_for_selector("[data-testid=lead-table]")
