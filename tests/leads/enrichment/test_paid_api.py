"""The optional paid enrichment API against a local stub of a Clearbit-style service: a hit fills
the person and company; unknown people and a bad key give nothing; a busy, failing or silent API
raises TransientProviderError so the run goes on and a later one asks again."""

import json
import logging
import re
import time

import pytest

from leads.common.safe_http import Limits, TransientProviderError
from leads.enrichment.providers.base import LeadFacts, ProviderUnavailable
from leads.enrichment.providers.paid_api import (
    API_BUSY,
    API_PENDING,
    API_TIMEOUT,
    PaidApiProvider,
    company_size_bucket,
    lookup_url,
)
from tests.leads.enrichment import LocalServer, guard_connections, redirect

KEY = "sk_test_0123456789"
PATH = "/v2/combined/find"

HIT = {
    "person": {
        "name": {"fullName": "Jane Doe", "givenName": "Jane", "familyName": "Doe"},
        "employment": {"name": "Acme", "title": "Head of Operations", "domain": "acme.example"},
        "geo": {"city": "Manchester", "state": "England", "country": "United Kingdom", "countryCode": "GB"},
    },
    "company": {
        "name": "Acme Widgets Ltd",
        "domain": "acme.example",
        "category": {"sector": "Industrials", "industry": "Machinery"},
        "metrics": {"employees": 250, "employeesRange": "251-1K"},
        "geo": {"city": "London", "countryCode": "GB"},
    },
}


def stub(handler):
    """The API: answers by the email asked for, after checking the bearer key."""
    if handler.headers.get("Authorization") != f"Bearer {KEY}":
        return handler.reply(401, b'{"error": {"type": "auth_required"}}', "application/json")
    email = handler.query.get("email", "")
    local = email.split("@")[0]
    if local in ("jane", "jane+crm"):
        return handler.reply(200, json.dumps(HIT).encode(), "application/json; charset=utf-8")
    if local == "busy":
        return handler.reply(429, b'{"error": "rate limit"}', "application/json", Retry_After="30")
    if local == "broken":
        return handler.reply(503, b"<h1>Service Unavailable</h1>", "text/html")
    if local == "queued":
        return handler.reply(202, b"{}", "application/json")
    if local == "slow":
        handler.server.owner.release.wait(10)
        return None
    if local == "garbled":
        return handler.reply(200, b"{not json", "application/json")
    return handler.reply(404, b'{"error": {"type": "unknown_record"}}', "application/json")


@pytest.fixture
def api(settings):
    with LocalServer({PATH: stub}) as server:
        settings.ENRICHMENT_API_URL = server.url(PATH)
        settings.ENRICHMENT_API_KEY = KEY
        yield server


FAST = Limits(
    connect_timeout=0.5, read_timeout=0.5, total_timeout=2.0, max_bytes=64 * 1024, content_types=("application/json",)
)


def lookup(email, limits=FAST):
    provider = PaidApiProvider(limits=limits)
    facts = LeadFacts(values={"email": email})
    assert provider.applicable(facts)
    return provider.suggest(facts)


def test_a_hit_fills_the_person_and_the_company(api):
    found = {s.field: s.value for s in lookup("jane+crm@acme.example")}
    assert found == {
        "first_name": "Jane",
        "last_name": "Doe",
        "job_title": "Head of Operations",
        "company": "Acme Widgets Ltd",
        "website": "https://acme.example",
        "industry": "Machinery",
        "company_size": "201-500",
        "city": "Manchester",  # where the person is, before the company's head office
        "region": "England",
        "country": "GB",
    }
    request = api.requests[0]
    assert request["path"] == f"{PATH}?email=jane%2Bcrm%40acme.example"
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"
    assert request["headers"]["Accept"] == "application/json"


def test_an_unknown_person_gives_nothing(api, caplog):
    with caplog.at_level(logging.INFO, logger="leads.enrichment.providers.paid_api"):
        assert lookup("zed.quill@acme.example") == []
    assert "acme.example" in caplog.text
    assert "zed.quill" not in caplog.text  # logs name the domain, not the person


def test_a_rejected_key_gives_nothing_and_says_so_in_the_log(api, settings, caplog):
    settings.ENRICHMENT_API_KEY = "sk_wrong"
    with caplog.at_level(logging.ERROR, logger="leads.enrichment.providers.paid_api"):
        assert lookup("jane@acme.example") == []
    assert "refused the key (HTTP 401)" in caplog.text
    assert "sk_wrong" not in caplog.text


def test_rate_limited_is_transient_with_the_servers_retry_hint(api):
    with pytest.raises(TransientProviderError) as error:
        lookup("busy@acme.example")
    assert str(error.value) == API_BUSY.format(status=429)
    assert error.value.retry_after == 30.0
    assert isinstance(error.value, ProviderUnavailable)  # the enrichment run goes on without it


@pytest.mark.parametrize(
    "email, message", [("broken@acme.example", API_BUSY.format(status=503)), ("queued@acme.example", API_PENDING)]
)
def test_a_failing_or_queued_lookup_is_transient(api, email, message):
    with pytest.raises(TransientProviderError, match=re.escape(message)):
        lookup(email)


def test_a_silent_api_times_out_as_transient(api):
    started = time.monotonic()
    with pytest.raises(TransientProviderError, match=re.escape(API_TIMEOUT)):
        lookup(
            "slow@acme.example", limits=Limits(read_timeout=0.3, total_timeout=1, content_types=("application/json",))
        )
    assert time.monotonic() - started < 2


def test_an_unreachable_api_is_transient(settings):
    with LocalServer() as gone:
        url = gone.url(PATH)
    settings.ENRICHMENT_API_URL, settings.ENRICHMENT_API_KEY = url, KEY  # the port is closed now
    with pytest.raises(TransientProviderError):
        lookup("jane@acme.example")


def test_a_garbled_answer_gives_nothing(api):
    assert lookup("garbled@acme.example") == []


def test_the_key_does_not_follow_a_redirect_to_another_host(api, settings):
    with LocalServer() as elsewhere:
        elsewhere.routes["/steal"] = lambda h: h.reply(200, b"{}", "application/json")
        api.routes["/moved"] = redirect(elsewhere.url("/steal"))
        settings.ENRICHMENT_API_URL = api.url("/moved")
        settings.ENRICHMENT_WEBSITE_ALLOW = [elsewhere.host_port]
        assert lookup("jane@acme.example") == []
    assert "Authorization" not in elsewhere.requests[0]["headers"]


def test_redirects_of_the_api_still_obey_the_ssrf_rules(api, settings, monkeypatch):
    api.routes["/moved"] = redirect("http://169.254.169.254/latest/meta-data/")
    settings.ENRICHMENT_API_URL = api.url("/moved")
    connects = guard_connections(monkeypatch)
    assert lookup("jane@acme.example") == []
    assert connects == [("127.0.0.1", api.port)]


def test_off_without_a_key_or_url_and_then_it_connects_nowhere(settings, monkeypatch):
    connects = guard_connections(monkeypatch)
    facts = LeadFacts(values={"email": "jane@acme.example"})
    for url, key in [("", ""), ("https://api.example/find", ""), ("", KEY)]:
        settings.ENRICHMENT_API_URL, settings.ENRICHMENT_API_KEY = url, key
        assert PaidApiProvider().applicable(facts) is False
        assert PaidApiProvider().suggest(facts) == []
    settings.ENRICHMENT_API_URL, settings.ENRICHMENT_API_KEY = "https://api.example/find", KEY
    assert PaidApiProvider().applicable(LeadFacts(values={"email": ""})) is False
    assert connects == []


@pytest.mark.parametrize(
    "employees, bucket",
    [
        (1, "1-10"),
        (10, "1-10"),
        (11, "11-50"),
        (250, "201-500"),
        (1000, "501-1000"),
        (4999, "1001-5000"),
        (12000, "5001+"),
        ("51-250", "51-200"),
        ("251-1K", "201-500"),
        ("10K-50K", "5001+"),
        (0, ""),
        (None, ""),
        ("unknown", ""),
        (True, ""),
    ],
)
def test_head_counts_become_company_size_buckets(employees, bucket):
    assert company_size_bucket(employees) == bucket


def test_the_lookup_url_keeps_an_existing_query():
    assert (
        lookup_url(base="https://api.example/find", email="a+b@x.example")
        == "https://api.example/find?email=a%2Bb%40x.example"
    )
    assert (
        lookup_url(base="https://api.example/find?v=2", email="a@x.example")
        == "https://api.example/find?v=2&email=a%40x.example"
    )
