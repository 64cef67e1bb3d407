"""Website activity: track.js (or the pixel) reports page views; once the visitor is known,
their past and future views are on the lead's timeline."""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.capture.tracking import (
    BAD_JSON,
    BODY_TOO_LARGE,
    HOST_NOT_ALLOWED,
    NOT_BOOLEAN,
    NOT_TEXT,
    NUL_NOT_ALLOWED,
    RATE_LIMITED,
    TIME_INVALID,
    URL_INVALID,
    URL_REQUIRED,
    VISITOR_COOKIE,
    VISITOR_INVALID,
    PageViewInput,
    page_view_record,
    tracking_snippet,
    visitor_identify,
)
from leads.capture.webforms import form_timestamp
from leads.common.safejson import LONE_SURROGATE
from leads.models import Interaction, Lead, PageView, TrackingSite, Visitor
from tests.factories import LeadFactory, ManagerFactory, TrackingSiteFactory, WebFormFactory

pytestmark = pytest.mark.django_db

VISITOR = "3f9c2a7d1b4e4f6a8c0d2e4f6a8b0c1d"
ORIGIN = "https://www.example.com"


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()  # this suite's own Redis db: rate-limit counters must not leak between tests
    yield
    cache.clear()


@pytest.fixture
def site():
    return TrackingSiteFactory(name="Example", allowed_hosts=["www.example.com"], honour_dnt=True)


def hit(url="https://www.example.com/pricing", title="Pricing", visitor=VISITOR, **extra) -> dict:
    return {
        "url": url,
        "title": title,
        "referrer": "https://search.example/?q=crm",
        "visitor": visitor,
        "time": int(time.time() * 1000),
        **extra,
    }


def collect(client: Client, site_or_key, payload, *, origin: str | None = ORIGIN, **headers):
    """Posted as navigator.sendBeacon does: a text/plain string body."""
    key = site_or_key.key if isinstance(site_or_key, TrackingSite) else site_or_key
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if origin:
        headers["HTTP_ORIGIN"] = origin
    return client.generic("POST", f"/t/{key}/collect", body, content_type="text/plain;charset=UTF-8", **headers)


def test_a_page_view_is_stored_for_the_anonymous_visitor(client, site):
    response = collect(client, site, hit())
    assert response.status_code == 202
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    view = PageView.objects.get()
    assert (view.url, view.title, view.referrer, view.visit_number) == (
        "https://www.example.com/pricing",
        "Pricing",
        "https://search.example/?q=crm",
        1,
    )
    assert view.visitor.visitor_key == VISITOR and view.visitor.site == site and view.visitor.lead is None
    assert collect(client, site, hit(url="https://www.example.com/docs", title="Docs")).status_code == 202
    assert Visitor.objects.count() == 1  # the same visitor, upserted
    assert list(PageView.objects.order_by("id").values_list("visit_number", flat=True)) == [1, 1]


def test_a_burst_hit_costs_a_few_queries_and_no_task(
    client, site, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """No enrichment, no rescoring, no Celery task per hit: site, visitor upsert, last view, insert."""
    collect(client, site, hit())
    with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(6):  # + savepoint and release
        assert collect(client, site, hit(url="https://www.example.com/a")).status_code == 202
    assert callbacks == []


def test_preflight_and_cors_follow_the_allowed_hosts(client, site):
    preflight = client.options(
        f"/t/{site.key}/collect",
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == ORIGIN
    assert (
        "POST" in preflight["Access-Control-Allow-Methods"]
        and "Content-Type" in preflight["Access-Control-Allow-Headers"]
    )
    foreign = client.options(f"/t/{site.key}/collect", HTTP_ORIGIN="https://evil.example")
    assert foreign.status_code == 204 and "Access-Control-Allow-Origin" not in foreign
    refused = collect(client, site, hit(), origin="https://evil.example")
    assert refused.status_code == 403 and refused.json() == {"detail": HOST_NOT_ALLOWED}
    other_page = collect(client, site, hit(url="https://evil.example/x"), origin=None)
    assert other_page.status_code == 403
    assert not PageView.objects.exists()


def test_an_allowed_host_matches_with_any_port(client, site):
    site.allowed_hosts = ["127.0.0.1"]
    site.save()
    assert collect(client, site, hit(url="http://127.0.0.1:8080/"), origin="http://127.0.0.1:8080").status_code == 202


def test_an_unknown_or_inactive_site_is_404(client, site):
    inactive = TrackingSiteFactory(name="Old", is_active=False)
    assert collect(client, "no-such-site", hit()).status_code == 404
    assert collect(client, inactive, hit()).status_code == 404
    assert client.get("/t/no-such-site/pixel.gif", {"u": "https://www.example.com/"}).status_code == 404
    assert not PageView.objects.exists()


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        (b"not json", {"detail": BAD_JSON}),
        (b"[1]", {"detail": BAD_JSON}),
        (b'{"title": "caf\xe9"}', {"detail": BAD_JSON}),
        ({"visitor": VISITOR}, {"url": [URL_REQUIRED]}),
        (hit(url="javascript:alert(1)"), {"url": [URL_INVALID]}),
        (hit(url="https://www.example.com/" + "a" * 2001), {"url": [URL_INVALID]}),
        (hit(visitor="short"), {"visitor": [VISITOR_INVALID]}),
        (hit(visitor="x" * 65), {"visitor": [VISITOR_INVALID]}),
        (hit(title=["a list"]), {"title": [NOT_TEXT]}),
        (hit(title="a\x00b"), {"title": [NUL_NOT_ALLOWED]}),
        (hit(title="\ud800"), {"title": [LONE_SURROGATE]}),
        (hit(time="yesterday"), {"time": [TIME_INVALID]}),
        (hit(consent="maybe"), {"consent": [NOT_BOOLEAN]}),
    ],
    ids=[
        "text",
        "array",
        "latin1",
        "no-url",
        "js-url",
        "long-url",
        "short-visitor",
        "long-visitor",
        "title-list",
        "title-nul",
        "title-surrogate",
        "time",
        "consent",
    ],
)
def test_bad_input_is_400_with_a_message_per_field(client, site, payload, errors):
    response = collect(client, site, payload)
    assert response.status_code == 400
    assert response.json() == errors
    assert not PageView.objects.exists()


def test_a_big_body_is_413(client, site):
    response = collect(client, site, hit(title="x" * 20_000))
    assert response.status_code == 413 and response.json() == {"detail": BODY_TOO_LARGE}


def test_do_not_track_is_honoured_when_the_site_says_so(client, site):
    assert collect(client, site, hit(), HTTP_DNT="1").status_code == 204
    assert collect(client, site, hit(), HTTP_SEC_GPC="1").status_code == 204
    assert collect(client, site, hit(dnt=True)).status_code == 204
    assert not Visitor.objects.exists() and not PageView.objects.exists()
    site.honour_dnt = False
    site.save()
    assert collect(client, site, hit(), HTTP_DNT="1").status_code == 202


def test_a_site_that_requires_consent_stores_nothing_without_it(client, site):
    site.require_consent = True
    site.save()
    assert collect(client, site, hit()).status_code == 204
    assert collect(client, site, hit(consent=False)).status_code == 204
    assert not PageView.objects.exists()
    assert collect(client, site, hit(consent=True)).status_code == 202
    assert PageView.objects.count() == 1


def test_hits_are_rate_limited_per_ip(client, site, settings):
    settings.TRACKING_RATE = "3/m"
    statuses = [collect(client, site, hit()).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]
    assert collect(client, site, hit()).json() == {"detail": RATE_LIMITED}
    assert client.get(f"/t/{site.key}/pixel.gif", {"u": "https://www.example.com/", "v": VISITOR}).status_code == 429
    other_ip = Client(REMOTE_ADDR="203.0.113.9")
    assert collect(other_ip, site, hit()).status_code == 202
    assert PageView.objects.count() == 4


# --- The no-JavaScript pixel ---------------------------------------------------------------------


def test_the_pixel_records_a_view_and_sets_our_cookie_only_without_a_visitor(client, site):
    first = client.get(
        f"/t/{site.key}/pixel.gif", {"u": "https://www.example.com/a", "t": "A", "r": "https://ref.example/"}
    )
    assert first.status_code == 200 and first["Content-Type"] == "image/gif" and first.content.startswith(b"GIF89a")
    assert first["Cache-Control"].startswith("no-store")
    cookie = first.cookies[VISITOR_COOKIE]
    assert cookie["max-age"] == 365 * 24 * 3600 and cookie["httponly"]
    # The browser sends the cookie back: the same visitor, no new cookie.
    again = client.get(f"/t/{site.key}/pixel.gif", {"u": "https://www.example.com/b"})
    assert again.status_code == 200
    assert Visitor.objects.get().visitor_key == cookie.value
    with_id = Client().get(f"/t/{site.key}/pixel.gif", {"u": "https://www.example.com/c", "v": VISITOR})
    assert with_id.status_code == 200 and VISITOR_COOKIE not in with_id.cookies
    assert sorted(PageView.objects.values_list("title", flat=True)) == ["", "", "A"]
    assert set(Visitor.objects.values_list("visitor_key", flat=True)) == {cookie.value, VISITOR}


def test_the_pixel_falls_back_to_the_referer_and_refuses_bad_input(client, site):
    assert (
        client.get(f"/t/{site.key}/pixel.gif", HTTP_REFERER="https://www.example.com/from-referer").status_code == 200
    )
    assert PageView.objects.get().url == "https://www.example.com/from-referer"
    assert client.get(f"/t/{site.key}/pixel.gif").json() == {"url": [URL_REQUIRED]}
    assert client.get(f"/t/{site.key}/pixel.gif", {"u": "ftp://www.example.com/"}).status_code == 400
    assert client.get(f"/t/{site.key}/pixel.gif", {"u": "https://www.example.com/", "v": "bad id!"}).status_code == 400
    assert client.get(f"/t/{site.key}/pixel.gif", {"u": "https://www.example.com/", "t": "a\x00"}).status_code == 400
    assert client.post(f"/t/{site.key}/pixel.gif").status_code == 405


def test_the_pixel_honours_dnt_and_consent(client, site):
    url = f"/t/{site.key}/pixel.gif"
    assert client.get(url, {"u": "https://www.example.com/"}, HTTP_DNT="1").status_code == 204
    site.require_consent = True
    site.save()
    assert client.get(url, {"u": "https://www.example.com/"}).status_code == 204
    assert not PageView.objects.exists()
    assert client.get(url, {"u": "https://www.example.com/", "c": "1"}).status_code == 200


# --- Identification: past views join the lead's timeline, grouped into visits ------------------------


@pytest.fixture(autouse=True)
def history_allowed(monkeypatch):
    """Views from hours ago, as they arrived back then: the endpoint itself trusts client times
    only from the last minutes, so the tests widen that window instead of waiting."""
    monkeypatch.setattr("leads.capture.tracking.CLIENT_TIME_TOLERANCE", timedelta(days=2))


def view_at(site, minutes_ago: float, path: str, visitor=VISITOR) -> PageView:
    return page_view_record(
        site=site,
        hit=PageViewInput(
            url=f"https://www.example.com{path}",
            visitor_key=visitor,
            title=path,
            client_time=timezone.now() - timedelta(minutes=minutes_ago),
        ),
    )


@pytest.fixture
def contact_form():
    return WebFormFactory(
        name="Contact",
        key="contact",
        fields=["email", "first_name"],
        required_fields=["email"],
        min_fill_seconds=0,
    )


def submit_form(client, web_form, *, email, visitor_id):
    return client.post(
        f"/f/{web_form.key}",
        {"email": email, "first_name": "Ada", "_ts": form_timestamp(web_form), "visitor_id": visitor_id},
    )


def test_a_form_submission_puts_the_visitors_past_views_on_the_timeline_in_visits(client, site, contact_form):
    # Two visits: yesterday three pages within minutes, today two pages.
    for minutes_ago, path in [(1500, "/"), (1490, "/pricing"), (1475, "/docs"), (40, "/"), (35, "/contact")]:
        view_at(site, minutes_ago, path)
    assert list(PageView.objects.order_by("occurred_at").values_list("visit_number", flat=True)) == [1, 1, 1, 2, 2]
    response = submit_form(client, contact_form, email="ada@example.com", visitor_id=VISITOR)
    assert response.status_code == 200
    lead = Lead.objects.get(email="ada@example.com")
    assert Visitor.objects.get().lead == lead
    views = list(lead.interactions.filter(kind=Interaction.Kind.PAGE_VIEW).order_by("occurred_at"))
    assert [(v.data["url"].removeprefix("https://www.example.com"), v.data["visit_number"]) for v in views] == [
        ("/", 1),
        ("/pricing", 1),
        ("/docs", 1),
        ("/", 2),
        ("/contact", 2),
    ]
    assert views[1].subject == "Viewed /pricing" and views[1].channel == "tracking"
    # The form itself is newer than the views, so it holds last_activity_at.
    lead.refresh_from_db()
    assert lead.last_activity_at >= views[-1].occurred_at


def test_future_views_of_a_known_visitor_arrive_on_the_timeline(client, site):
    lead = LeadFactory(email="grace@example.com")
    view_at(site, 2, "/")
    assert visitor_identify(site_key=site.key, visitor_key=VISITOR, lead=lead) == 1
    assert collect(client, site, hit(url="https://www.example.com/pricing", title="Pricing")).status_code == 202
    entry = lead.interactions.filter(kind=Interaction.Kind.PAGE_VIEW).order_by("-occurred_at").first()
    assert entry.data["url"] == "https://www.example.com/pricing" and entry.subject == "Viewed Pricing"
    assert entry.data["visit_number"] == 1
    lead.refresh_from_db()
    assert lead.last_activity_at == entry.occurred_at


def test_an_identified_hit_adds_only_the_timeline_entry(client, site, django_assert_num_queries):
    lead = LeadFactory()
    view_at(site, 1, "/")
    visitor_identify(site_key=None, visitor_key=VISITOR, lead=lead)
    # the anonymous six, plus the entry, last_activity_at, the engagement counters (day upsert, lead)
    # and the debounced rescore's outbox row
    with django_assert_num_queries(11):
        assert collect(client, site, hit()).status_code == 202


def test_one_visitor_id_is_matched_across_sites(site):
    shop = TrackingSiteFactory(name="Shop", allowed_hosts=["shop.example.com"])
    view_at(site, 3, "/blog")
    page_view_record(
        site=shop, hit=PageViewInput(url="https://shop.example.com/cart", visitor_key=VISITOR, title="Cart")
    )
    lead = LeadFactory()
    assert visitor_identify(site_key=None, visitor_key=VISITOR, lead=lead) == 2
    assert set(lead.interactions.filter(kind="page_view").values_list("data__site", flat=True)) == {site.key, shop.key}
    # Identification is once: a second call (or another lead) changes nothing.
    assert visitor_identify(site_key=None, visitor_key=VISITOR, lead=LeadFactory()) == 0
    assert set(Visitor.objects.values_list("lead", flat=True)) == {lead.pk}


def test_identification_ignores_unusable_visitor_ids(site):
    lead = LeadFactory()
    assert visitor_identify(site_key=None, visitor_key="", lead=lead) == 0
    assert visitor_identify(site_key=None, visitor_key="'; drop table --", lead=lead) == 0
    assert visitor_identify(site_key=None, visitor_key=VISITOR, lead=lead) == 0  # never seen


@pytest.mark.django_db(transaction=True)
def test_no_view_is_lost_while_a_visitor_is_identified(site):
    """Hits racing the identification: each view ends on the timeline exactly once."""
    view_at(site, 1, "/")
    lead = LeadFactory()
    start = threading.Barrier(4)
    errors = []

    def browse(n):
        try:
            client = Client(REMOTE_ADDR=f"198.51.100.{n}")
            start.wait()
            for i in range(10):
                status = collect(client, site, hit(url=f"https://www.example.com/{n}/{i}")).status_code
                if status != 202:
                    errors.append(status)
        finally:
            connection.close()

    def identify():
        try:
            start.wait()
            visitor_identify(site_key=site.key, visitor_key=VISITOR, lead=lead)
        finally:
            connection.close()

    threads = [threading.Thread(target=browse, args=(n,)) for n in range(3)] + [threading.Thread(target=identify)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert PageView.objects.count() == 31 and Visitor.objects.count() == 1
    attached = list(Interaction.objects.filter(lead=lead, kind="page_view").values_list("data__page_view", flat=True))
    assert sorted(attached) == sorted(PageView.objects.values_list("id", flat=True))


# --- Admin ------------------------------------------------------------------------------------------


def test_admin_shows_the_snippet_to_paste(client, site, manager, settings):
    from django.contrib.auth.models import Permission

    settings.PUBLIC_BASE_URL = "https://crm.example.com"
    manager.user_permissions.add(*Permission.objects.filter(codename__in=["view_trackingsite", "change_trackingsite"]))
    client.force_login(manager)
    page = client.get(f"/admin/leads/trackingsite/{site.pk}/change/").content.decode()
    assert "https://crm.example.com/static/leadcrm/track.js" in page and f"data-site=&quot;{site.key}&quot;" in page
    assert "data-dnt=&quot;honour&quot;" in tracking_snippet(site=site).replace('"', "&quot;")
    assert f"/t/{site.key}/pixel.gif" in page


def test_the_tracking_admin_lists_keep_a_constant_query_count(client, site, django_assert_num_queries):
    client.force_login(ManagerFactory(username="boss", is_superuser=True))
    view_at(site, 1, "/0", visitor="visitor-0000")

    def changelists():
        assert client.get("/admin/leads/pageview/").status_code == 200
        assert client.get("/admin/leads/visitor/").status_code == 200

    changelists()  # warm the session and permission caches
    with CaptureQueriesContext(connection) as one_row:
        changelists()
    for n in range(1, 12):
        view_at(site, 1, f"/{n}", visitor=f"visitor-{n:04d}")
    with django_assert_num_queries(len(one_row.captured_queries)):
        changelists()
    visitor = Visitor.objects.get(visitor_key="visitor-0003")
    assert client.get(f"/admin/leads/visitor/{visitor.pk}/change/").status_code == 200
    assert client.get(f"/admin/leads/pageview/?visitor__exact={visitor.pk}").context["cl"].result_count == 1
    assert client.get("/admin/leads/trackingsite/add/").status_code == 200
