"""A marketer builds a two-step form in the browser (a custom dropdown, a field shown only for one
answer, a hidden UTM field, a profiling queue), embeds it by script on a plain HTML page served by a
second local server, and visitors fill it there: the answers land on the lead as attributes, a
visitor who leaves after step 1 is still a lead, a returning visitor is asked the next questions,
and the analytics page counts it all."""

import functools
import http.server
import threading
import time

import pytest

from leads.models import FormDayCount, Lead, WebForm
from tests.e2e.conftest import log_in
from tests.factories import TrackingSiteFactory, VisitorFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the test output stays readable
        pass


@pytest.fixture
def host_site(tmp_path):
    """A plain static site on another port (another origin) for the embed."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _wait_for(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def _add(page, where: str, kind: str):
    page.select_option(f"[data-testid={where}-kind]", kind)
    page.click(f"[data-testid={where}]")
    return page.locator(f"[data-list={where}] > li").last


def test_a_marketer_builds_embeds_and_measures_a_two_step_form(
    page, browser, live_server, marketer, settings, host_site, shoot
):
    settings.PUBLIC_BASE_URL = live_server.url
    folder, host = host_site
    log_in(page, live_server.url, "marketer")
    page.click("[data-testid=nav-nurture] > a")
    page.click("[data-testid=nav-forms]")
    page.fill("#new-form-name", "Demo request")
    page.click("[data-testid=form-create] button")
    page.locator("[data-testid=form-builder]").wait_for()
    web_form = WebForm.objects.get(name="Demo request")

    # Step 1: first name, email (the default); the email goes first by keyboard; a hidden UTM field.
    page.locator("[data-testid=item-email] [data-move=up]").focus()
    page.keyboard.press("Enter")
    assert page.locator("[data-list=add-1] > li").first.get_attribute("data-testid") == "item-email"
    _add(page, "add-1", "lead:utm_source")
    # Step 2: a custom dropdown and a field shown only when it is "Large".
    page.click("[data-testid=add-step]")
    budget = _add(page, "add-2", "custom:select")
    budget.locator("[data-prop=name]").fill("budget")
    budget.locator("[data-prop=label]").fill("Budget")
    budget.locator("[data-prop=choices]").fill("Small\nLarge")
    budget.locator("[data-prop=required]").check()
    procurement = _add(page, "add-2", "custom:text")
    procurement.locator("[data-prop=name]").fill("procurement")
    procurement.locator("[data-prop=label]").fill("Procurement contact")
    procurement.locator("[data-prop=required]").check()
    procurement.locator("[data-prop=condition-field]").select_option("budget")
    procurement = page.locator("[data-list=add-2] > li").last  # redrawn
    procurement.locator("[data-prop=condition-value]").fill("Large")
    # Progressive profiling: two questions asked of returning visitors instead of what we know.
    page.check("[data-testid=progressive]")
    for name, label in (("team_size", "Team size"), ("role", "Your role")):
        item = _add(page, "add-queue", "custom:text")
        item.locator("[data-prop=name]").fill(name)
        item.locator("[data-prop=label]").fill(label)
    # By drag, too: "Your role" dropped on "Team size" goes before it, and back.
    queue = page.locator("[data-list=add-queue] > li")
    queue.nth(1).locator("[draggable=true]").drag_to(queue.nth(0))
    assert queue.nth(0).get_attribute("data-testid") == "item-role"
    queue.nth(1).locator("[draggable=true]").drag_to(queue.nth(0))
    assert queue.nth(0).get_attribute("data-testid") == "item-team_size"
    page.click("[data-testid=save-layout]")
    page.wait_for_function("document.querySelector('[data-testid=save-status]').textContent === 'Saved.'")
    shoot(page, "forms-builder")
    web_form.refresh_from_db()
    steps = web_form.schema["steps"]
    assert [i["name"] for i in steps[0]["items"]] == ["email", "first_name", "utm_source"]
    assert steps[1]["items"][1]["condition"] == {"field": "budget", "op": "equals", "value": "Large"}
    assert [i["name"] for i in web_form.schema["queue"]] == ["team_size", "role"]

    # Settings: the host page may embed and post; no minimum fill time for a quick robot-like test.
    host_port = host.rsplit(":", 1)[1]
    page.fill("#id_hosts", f"127.0.0.1:{host_port}")
    page.fill("#id_min_fill_seconds", "0")
    page.click("[data-testid=form-settings] button[type=submit]")
    page.click("[data-testid=publish]")
    page.locator("[data-testid=form-state]", has_text="published").wait_for()
    snippet = page.locator("[data-testid=embed-js]").input_value()
    assert "embed.js" in snippet and "<iframe" not in snippet
    (folder / "index.html").write_text(
        f"<!doctype html><html><head><title>Host</title></head><body><h1>Our product</h1>{snippet}</body></html>"
    )

    # A visitor known to the tracker (cookie on the host site) fills both steps.
    site = TrackingSiteFactory(name="Host", allowed_hosts=["127.0.0.1"])
    VisitorFactory(site=site, visitor_key="visitor-abc-123")
    visitor = browser.new_context()
    visitor.add_cookies([{"name": "_lcrm_vid", "value": "visitor-abc-123", "url": host}])
    one = visitor.new_page()
    one.goto(f"{host}/?utm_source=newsletter")
    one.locator("input[name=email]").wait_for()
    assert one.locator(".lcrm-progress-text").inner_text() == "Step 1 of 2"
    one.fill("input[name=first_name]", "Ada")
    one.fill("input[name=email]", "ada@example.org")
    one.click(".lcrm-submit")
    one.locator("select[name=budget]").wait_for()
    _wait_for(lambda: Lead.objects.filter(email="ada@example.org").exists())  # step 1 alone made the lead
    assert not one.locator("input[name=procurement]").is_visible()
    one.click(".lcrm-submit")  # the dropdown is required: announced, not sent
    assert "1 field needs your attention" in one.locator(".lcrm-status").inner_text()
    one.select_option("select[name=budget]", "Large")
    one.locator("input[name=procurement]").wait_for()
    one.fill("input[name=procurement]", "Bob in purchasing")
    one.click(".lcrm-submit")
    one.locator(".lcrm-thanks").wait_for()
    lead = Lead.objects.get(email="ada@example.org")
    assert lead.first_name == "Ada" and lead.utm_source == "newsletter"
    assert lead.attributes == {"budget": "Large", "procurement": "Bob in purchasing"}

    # Another visitor leaves after step 1: still a lead.
    two = browser.new_context().new_page()
    two.goto(f"{host}/")
    two.locator("input[name=email]").wait_for()
    two.fill("input[name=email]", "grace@example.org")
    two.click(".lcrm-submit")
    two.locator("select[name=budget]").wait_for()
    two.context.close()
    assert Lead.objects.filter(email="grace@example.org").exists()

    # The first visitor comes back: what we know gives way to the queue's questions.
    one.goto(f"{host}/")
    one.locator("input[name=email]").wait_for()
    labels = one.locator(".lcrm-step:not([hidden]) label").all_inner_texts()
    assert "Team size" in labels and "First name" not in labels
    one.fill("input[name=email]", "ada@example.org")
    one.fill("input[name=team_size]", "12")
    one.click(".lcrm-submit")
    one.locator("input[name=role]").wait_for()
    assert one.locator("select[name=budget]").count() == 0
    visitor.close()

    # Analytics with known counts: 3 views, 3 starts, 3 reached step 2, 1 full submission.
    _wait_for(
        lambda: (
            FormDayCount.objects.filter(web_form=web_form, metric="step:2").values_list("count", flat=True).first() == 3
        )
    )
    page.goto(f"{live_server.url}/forms/builder/{web_form.pk}/analytics")
    assert page.locator("[data-testid=total-views]").inner_text() == "3"
    assert page.locator("[data-testid=total-starts]").inner_text() == "3"
    assert page.locator("[data-testid=total-submissions]").inner_text() == "1"
    assert page.locator("[data-testid=drop-2]").inner_text() == "3"
    assert page.locator("[data-testid=drop-3]").inner_text() == "1"
    assert page.locator(f"[data-testid=chart-form-{web_form.pk}]").is_visible()
    shoot(page, "forms-analytics")
