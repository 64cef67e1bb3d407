"""Meta Lead Ads: the subscription check, the signed leadgen webhook, the lead read from a local stub
of the Graph API through the SSRF-safe fetcher, and the backfill of leads whose webhook never came."""

import json
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from leads.capture.tasks import meta_backfill_task
from leads.capture.webhooks import GRAPH_UNAVAILABLE, SIGNATURE_INVALID, meta_backfill
from leads.capture.webhooks.meta import META_MISSING, VERIFY_PARAMS_MISSING, VERIFY_TOKEN_WRONG
from leads.models import CaptureRecord, Interaction, Lead, WebhookEvent, WebhookSource
from tests.factories import WebhookSourceFactory
from tests.leads.capture.webhooks.webhook_providers import deliver, meta_headers, payload, raw
from tests.leads.enrichment import LocalServer

pytestmark = pytest.mark.django_db
APP_SECRET = "meta-app-secret"
PAGE_TOKEN = "EAAB-page-token"
VERIFY = "a-long-random-verify-token"
LEAD_ID = "987654321098765"
FORM_ID = "1234567890123456"
VERSION = "v22.0"


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


class Graph:
    """The parts of the Graph API LeadCRM reads: GET /{version}/{lead-id} and /{version}/{form-id}/leads."""

    def __init__(self):
        self.leads = {LEAD_ID: payload("meta_graph_lead.json")}
        self.status = 200
        self.form_pages: list[list[dict]] = []

    def lead(self, handler):
        if self.status != 200:
            return handler.reply(self.status, b'{"error": {"message": "busy", "code": 2}}', "application/json")
        if handler.query.get("access_token") != PAGE_TOKEN:
            return handler.reply(
                400, b'{"error": {"message": "Invalid OAuth access token.", "code": 190}}', "application/json"
            )
        lead_id = handler.path.split("?")[0].rsplit("/", 1)[-1]
        body = json.dumps(self.leads[lead_id]).encode()
        return handler.reply(200, body, "application/json; charset=UTF-8")

    def form_leads(self, handler):
        page = int(handler.query.get("after", "0"))
        answer = {"data": self.form_pages[page] if page < len(self.form_pages) else []}
        if page + 1 < len(self.form_pages):
            base = f"http://{handler.headers['Host']}/{VERSION}/{FORM_ID}/leads"
            answer["paging"] = {
                "cursors": {"after": str(page + 1)},
                "next": f"{base}?access_token={PAGE_TOKEN}&after={page + 1}",
            }
        return handler.reply(200, json.dumps(answer).encode(), "application/json")


@pytest.fixture
def graph(settings):
    stub = Graph()
    routes = {f"/{VERSION}/{lead_id}": stub.lead for lead_id in (LEAD_ID, "111", "222")}
    routes[f"/{VERSION}/{FORM_ID}/leads"] = stub.form_leads
    with LocalServer(routes) as server:
        settings.META_GRAPH_BASE_URL = server.url("")
        settings.META_GRAPH_VERSION = VERSION
        settings.META_GRAPH_ALLOW = [server.host_port]
        stub.server = server
        yield stub


@pytest.fixture
def source():
    return WebhookSourceFactory(
        name="Facebook lead ads",
        provider=WebhookSource.Provider.META,
        channel=WebhookSource.Channel.ADS,
        secret=APP_SECRET,
        verify_token=VERIFY,
        access_token=PAGE_TOKEN,
    )


def leadgen(client, source, data=None, secret=APP_SECRET):
    body = raw(data or payload("meta_leadgen.json"))
    return deliver(client, source, body, **meta_headers(secret, body))


def check(client, source, **query):
    return client.get(f"/api/v1/capture/webhook/{source.key}", query)


def test_the_subscription_check_echoes_the_challenge_for_the_right_token(client, source):
    response = check(
        client, source, **{"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    )
    assert response.status_code == 200 and response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


def test_the_subscription_check_refuses_a_wrong_token_or_missing_parts(client, source):
    wrong = check(client, source, **{"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"})
    assert (wrong.status_code, wrong.json()) == (403, {"detail": VERIFY_TOKEN_WRONG})
    missing = check(client, source, **{"hub.mode": "subscribe", "hub.challenge": "1"})
    assert (missing.status_code, missing.json()) == (400, {"detail": VERIFY_PARAMS_MISSING})
    markup = check(client, source, **{"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "<script>"})
    assert markup.status_code == 400
    other = WebhookSourceFactory(name="Chat", provider=WebhookSource.Provider.INTERCOM, secret="s")
    assert check(client, other, **{"hub.mode": "subscribe"}).status_code == 405


def test_a_leadgen_webhook_reads_the_lead_from_the_graph_api(client, source, graph):
    response = leadgen(client, source)
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(pk=response.json()["lead"])
    assert (lead.first_name, lead.last_name, lead.email) == ("Tomás", "García", "tomas.garcia@example.com")
    assert (lead.phone, lead.company) == ("+34911234567", "Acme Iberia")
    assert (lead.utm_source, lead.utm_campaign) == ("facebook", "Winter demo leads")
    assert {
        name: lead.attributes[name] for name in ("meta_page_id", "meta_form_id", "meta_ad_id", "meta_campaign_id")
    } == {
        "meta_page_id": "153125381133",
        "meta_form_id": FORM_ID,
        "meta_ad_id": "23851234567890123",
        "meta_campaign_id": "23851234567890000",
    }
    assert lead.attributes["meta_answers"]["what_are_you_interested_in?"] == "Pricing, Integrations"
    entry = lead.interactions.get()
    assert entry.kind == Interaction.Kind.EVENT and entry.subject == "Ads lead form: Facebook lead ads"
    asked = graph.server.requests[0]["path"]
    assert (
        asked.startswith(f"/{VERSION}/{LEAD_ID}?") and f"access_token={PAGE_TOKEN}" in asked and "field_data" in asked
    )
    source.refresh_from_db()
    assert source.form_ids == [FORM_ID]  # the backfill now lists this form


def test_a_replayed_leadgen_is_not_fetched_again(client, source, graph):
    first = leadgen(client, source)
    again = leadgen(client, source)
    assert again.json() == {"status": "duplicate", "lead": first.json()["lead"]}
    assert len(graph.server.requests) == 1 and Interaction.objects.count() == 1


def test_a_graph_outage_answers_503_and_claims_nothing_so_the_retry_works(client, source, graph):
    graph.status = 503
    down = leadgen(client, source)
    assert (down.status_code, down.json()) == (503, {"detail": GRAPH_UNAVAILABLE})
    assert down["Retry-After"] == "60"
    assert not Lead.objects.exists() and not WebhookEvent.objects.exists()
    graph.status = 200
    assert leadgen(client, source).status_code == 201


def test_a_refused_token_is_logged_and_answered_200_so_meta_stops_retrying(client, source, graph):
    source.access_token = "expired"
    source.save()
    response = leadgen(client, source)
    assert response.status_code == 200 and response.json() == {"results": []}
    record = CaptureRecord.objects.get(result=CaptureRecord.Result.REJECTED)
    assert LEAD_ID in record.reason and "access token" in record.reason
    assert not WebhookEvent.objects.exists()  # the backfill takes it once the token is fixed


def test_the_graph_is_reached_only_through_the_ssrf_rules(client, source, graph, settings):
    settings.META_GRAPH_ALLOW = []  # the stub on 127.0.0.1 is then refused like any internal address
    response = leadgen(client, source)
    assert response.status_code == 503 and graph.server.requests == []


def test_a_wrong_or_missing_signature_is_refused_before_any_fetch(client, source, graph):
    wrong = leadgen(client, source, secret="not-the-app-secret")
    assert (wrong.status_code, wrong.json()) == (403, {"detail": SIGNATURE_INVALID})
    body = raw(payload("meta_leadgen.json"))
    assert deliver(client, source, body).json() == {"detail": META_MISSING}
    assert graph.server.requests == []


def test_several_leads_in_one_delivery(client, source, graph):
    graph.leads["111"] = {
        **graph.leads[LEAD_ID],
        "id": "111",
        "field_data": [{"name": "email", "values": ["a@example.com"]}],
    }
    data = payload("meta_leadgen.json")
    change = data["entry"][0]["changes"][0]
    data["entry"][0]["changes"].append({"field": "leadgen", "value": {**change["value"], "leadgen_id": "111"}})
    response = leadgen(client, source, data)
    assert response.status_code == 200
    assert [result["created"] for result in response.json()["results"]] == [True, True]
    assert Lead.objects.count() == 2 and Interaction.objects.count() == 2


def graph_lead(lead_id: str, email: str) -> dict:
    return {
        "id": lead_id,
        "created_time": "2026-11-30T13:00:00+0000",
        "form_id": FORM_ID,
        "campaign_id": "42",
        "field_data": [{"name": "email", "values": [email]}, {"name": "full_name", "values": ["Back Filled"]}],
    }


def test_the_backfill_captures_missed_leads_once(client, source, graph):
    leadgen(client, source)  # this one came by webhook
    graph.form_pages = [
        [graph_lead(LEAD_ID, "tomas.garcia@example.com"), graph_lead("111", "missed@example.com")],
        [graph_lead("222", "also.missed@example.com")],
    ]
    now = timezone.now()
    source.refresh_from_db()  # the webhook added the form to the ones the backfill lists
    result = meta_backfill(source=source, now=now)
    assert (result.listed, result.captured, result.failed_forms) == (3, 2, 0)
    assert set(Lead.objects.values_list("email", flat=True)) == {
        "tomas.garcia@example.com",
        "missed@example.com",
        "also.missed@example.com",
    }
    missed = Lead.objects.get(email="missed@example.com")
    assert (missed.first_name, missed.last_name, missed.attributes["meta_campaign_id"]) == ("Back", "Filled", "42")
    assert missed.interactions.count() == 1
    listed = [request["path"] for request in graph.server.requests if "/leads?" in request["path"]]
    since = int((now - timedelta(days=7)).timestamp())
    assert "time_created" in listed[0] and str(since) in listed[0] and len(listed) == 2
    source.refresh_from_db()
    assert source.synced_at == now
    # Again: nothing new, nothing doubled.
    assert meta_backfill_task() == 0
    assert Lead.objects.count() == 3 and Interaction.objects.count() == 3


def test_a_failed_backfill_keeps_its_mark(source, graph):
    source.form_ids = [FORM_ID]
    source.synced_at = timezone.now() - timedelta(hours=1)
    source.save()
    mark = source.synced_at
    graph.form_pages = []
    graph.server.routes[f"/{VERSION}/{FORM_ID}/leads"] = lambda handler: handler.reply(500, b"{}", "application/json")
    assert meta_backfill(source=source).failed_forms == 1
    source.refresh_from_db()
    assert source.synced_at == mark


def test_timestamps_do_not_matter_to_meta(client, source, graph):
    """Meta signs no timestamp: an old delivery retried by Meta (up to 36 hours) is still taken."""
    data = payload("meta_leadgen.json")
    data["entry"][0]["time"] = int(time.time()) - 30 * 3600
    assert leadgen(client, source, data).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_beat_runs_the_backfill_on_a_real_worker(source, graph, celery_worker_live, settings):
    from tests.helpers import wait_for

    assert settings.CELERY_BEAT_SCHEDULE["meta-leads-backfill"]["task"] == meta_backfill_task.name
    WebhookSource.objects.filter(pk=source.pk).update(form_ids=[FORM_ID])
    graph.form_pages = [[graph_lead("111", "worker@example.com")]]
    meta_backfill_task.delay()
    assert wait_for(lambda: Lead.objects.filter(email="worker@example.com").exists()), "the worker backfilled nothing"
    assert wait_for(lambda: WebhookSource.objects.get(pk=source.pk).synced_at is not None)
