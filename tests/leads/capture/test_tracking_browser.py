"""Website tracking's real script (static/leadcrm/track.js) in Debian's Chromium: page views reach
the CRM from a customer's own page (the collector's rules: test_tracking.py)."""

import functools
import http.server
import threading
import time

import pytest

from leads.capture.tracking import VISITOR_COOKIE
from leads.models import PageView
from tests.factories import TrackingSiteFactory
from tests.leads.capture.test_tracking import fresh_rate_limits, history_allowed  # noqa: F401 (autouse fixtures)

pytestmark = pytest.mark.django_db


# --- The real script in a real browser ---------------------------------------------------------------


@pytest.fixture
def customer_site(tmp_path):
    """The customer's website: static pages on another origin than LeadCRM, as in real life."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def wait_for(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    return None


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head><body>
<h1>{title}</h1>
<form><input type="hidden" name="visitor_id"></form>
<script src="{crm}/static/leadcrm/track.js" data-site="{key}"{extra} async></script>
</body></html>"""


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_track_js_reports_page_views_from_a_real_browser(browser, live_server, customer_site):
    folder, origin = customer_site
    open_site = TrackingSiteFactory(name="Open", allowed_hosts=["127.0.0.1"], honour_dnt=True)
    consent_site = TrackingSiteFactory(name="Careful", allowed_hosts=["127.0.0.1"], require_consent=True)
    (folder / "pricing.html").write_text(
        PAGE.format(title="Pricing – Example Ltd", crm=live_server.url, key=open_site.key, extra="")
    )
    (folder / "careful.html").write_text(
        PAGE.format(title="Careful page", crm=live_server.url, key=consent_site.key, extra=' data-consent="required"')
    )
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{origin}/pricing.html")
        view = wait_for(
            lambda: PageView.objects.filter(title="Pricing – Example Ltd").select_related("visitor").first()
        )
        assert view, "track.js never reported the page view"
        assert view.url == f"{origin}/pricing.html" and view.visitor.site == open_site
        cookie = next(c for c in context.cookies(origin) if c["name"] == VISITOR_COOKIE)
        assert cookie["value"] == view.visitor.visitor_key and cookie["sameSite"] == "Lax"
        assert page.evaluate("window.leadcrm.visitorId()") == cookie["value"]
        assert page.input_value("input[name=visitor_id]") == cookie["value"]  # a form on the page sends it

        # A site that needs consent: no cookie and nothing sent until the page signals it.
        page.goto(f"{origin}/careful.html")
        page.wait_for_function("window.leadcrm && window.leadcrm.site")
        assert page.evaluate("window.leadcrm.visitorId()") is None
        assert not PageView.objects.filter(title="Careful page").exists()
        page.evaluate("window.dispatchEvent(new Event('leadcrm:consent'))")
        assert wait_for(lambda: PageView.objects.filter(title="Careful page", visitor__site=consent_site).exists())
    finally:
        context.close()
