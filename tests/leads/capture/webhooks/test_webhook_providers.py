"""Each provider's documented example, signed the provider's way, makes one lead with the right
fields and exactly one timeline entry; wrong or stale signatures are refused; handshakes answer."""

import time
from urllib.parse import urlencode

import pytest
from django.core.cache import cache

from leads.capture.webhooks import SIGNATURE_INVALID, TIMESTAMP_STALE
from leads.capture.webhooks.calendly import CALENDLY_MISSING
from leads.capture.webhooks.google_ads import GOOGLE_KEY_MISSING
from leads.capture.webhooks.intercom import INTERCOM_MISSING
from leads.capture.webhooks.typeform import TYPEFORM_MISSING
from leads.capture.webhooks.unbounce import UNBOUNCE_MISSING, UNBOUNCE_NO_DATA
from leads.capture.webhooks.zoom import ZOOM_MISSING
from leads.models import CaptureRecord, Interaction, Lead, WebhookEvent, WebhookSource
from tests.factories import WebhookSourceFactory
from tests.leads.capture.webhooks.webhook_providers import (
    PAYLOADS,
    calendly_headers,
    deliver,
    intercom_headers,
    payload,
    raw,
    typeform_headers,
    zoom_headers,
)

pytestmark = pytest.mark.django_db
SECRET = "provider-secret-pasted-by-a-manager"


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def source_for(provider: str, **fields) -> WebhookSource:
    from leads.capture.webhooks import PROVIDERS

    return WebhookSourceFactory(
        name=f"{provider} source", provider=provider, channel=PROVIDERS[provider].channel, secret=SECRET, **fields
    )


def only_lead_with_one_entry(response) -> Lead:
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(pk=response.json()["lead"])
    assert Lead.objects.count() == 1
    assert lead.interactions.count() == 1
    return lead


# --- Typeform ---------------------------------------------------------------------------------


def test_typeform_documented_response_makes_a_lead(client):
    source = source_for("typeform")
    body = raw(payload("typeform_form_response.json"))
    lead = only_lead_with_one_entry(deliver(client, source, body, **typeform_headers(SECRET, body)))
    assert (lead.first_name, lead.last_name, lead.email) == ("Priya", "Raman", "priya.raman@example.com")
    assert lead.phone == "+442071838750"
    assert (lead.utm_source, lead.utm_campaign) == ("newsletter", "winter-demo")
    assert lead.attributes["typeform_form_id"] == "lT4Z3j"
    entry = lead.interactions.get()
    assert entry.kind == Interaction.Kind.EVENT and entry.subject == "Form response: typeform source"
    assert entry.data["event_id"] == "01HZX3TQ3Y2R9S8B7V6C5D4E3F"


def test_typeform_hex_or_wrong_key_signatures_are_refused(client):
    source = source_for("typeform")
    body = raw(payload("typeform_form_response.json"))
    assert deliver(client, source, body).json() == {"detail": TYPEFORM_MISSING}
    wrong = typeform_headers("another-secret", body)
    response = deliver(client, source, body, **wrong)
    assert (response.status_code, response.json()) == (403, {"detail": SIGNATURE_INVALID})
    # LeadCRM's own hex scheme is not Typeform's: refused.
    import hashlib
    import hmac

    hex_sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert deliver(client, source, body, HTTP_TYPEFORM_SIGNATURE=hex_sig).status_code == 403
    assert not Lead.objects.exists()


def test_typeform_replay_is_idempotent(client):
    source = source_for("typeform")
    body = raw(payload("typeform_form_response.json"))
    first = deliver(client, source, body, **typeform_headers(SECRET, body))
    again = deliver(client, source, body, **typeform_headers(SECRET, body))
    assert again.status_code == 200 and again.json() == {"status": "duplicate", "lead": first.json()["lead"]}
    assert Interaction.objects.count() == 1 and WebhookEvent.objects.count() == 1


# --- Zoom -------------------------------------------------------------------------------------


def test_zoom_documented_registration_makes_a_lead(client):
    source = source_for("zoom")
    body = raw(payload("zoom_webinar_registration_created.json"))
    response = deliver(client, source, body, **zoom_headers(SECRET, body, int(time.time())))
    lead = only_lead_with_one_entry(response)
    assert (lead.first_name, lead.last_name, lead.email) == ("Marcus", "Okafor", "marcus.okafor@example.com")
    assert (lead.company, lead.job_title, lead.city, lead.country) == (
        "Northwind Ltd",
        "Head of Sales",
        "Manchester",
        "GB",
    )
    assert lead.utm_campaign == "Spring product webinar"
    assert lead.interactions.get().subject == "Webinar registration: zoom source"


def test_zoom_url_validation_is_answered_with_the_hmac_of_the_plain_token(client):
    import hashlib
    import hmac

    source = source_for("zoom")
    body = raw(payload("zoom_url_validation.json"))
    response = deliver(client, source, body, **zoom_headers(SECRET, body, int(time.time())))
    assert response.status_code == 200
    expected = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert response.json() == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}
    assert not Lead.objects.exists()


def test_zoom_url_validation_unsigned_is_not_an_hmac_oracle(client):
    """Answered unsigned, the validation would sign any text for anyone, a forged v0:ts:body too."""
    source = source_for("zoom")
    forged = {"event": "endpoint.url_validation", "payload": {"plainToken": 'v0:1700000000:{"event":"x"}'}}
    response = deliver(client, source, raw(forged))
    assert (response.status_code, response.json()) == (401, {"detail": ZOOM_MISSING})


def test_zoom_stale_or_future_timestamps_are_refused(client):
    source = source_for("zoom")
    body = raw(payload("zoom_webinar_registration_created.json"))
    for skew in (-301, 301):
        response = deliver(client, source, body, **zoom_headers(SECRET, body, int(time.time()) + skew))
        assert (response.status_code, response.json()) == (403, {"detail": TIMESTAMP_STALE})
    tampered = zoom_headers(SECRET, body, int(time.time()))
    tampered["HTTP_X_ZM_REQUEST_TIMESTAMP"] = str(int(time.time()) - 1)
    assert deliver(client, source, body, **tampered).json() == {"detail": SIGNATURE_INVALID}
    assert not Lead.objects.exists()


# --- Calendly ---------------------------------------------------------------------------------


def test_calendly_documented_invitee_makes_a_lead_with_the_name_split(client):
    source = source_for("calendly")
    body = raw(payload("calendly_invitee_created.json"))
    lead = only_lead_with_one_entry(deliver(client, source, body, **calendly_headers(SECRET, body, int(time.time()))))
    assert (lead.first_name, lead.last_name, lead.email) == ("Lena", "Fischer", "lena.fischer@example.com")
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == ("google", "cpc", "q4-demo")
    assert lead.time_zone == "Europe/Berlin"
    assert lead.attributes["calendly_event"] == "30 Minute Demo"
    assert lead.interactions.get().subject == "Meeting booked: calendly source"


def test_calendly_stale_timestamp_missing_or_malformed_header_are_refused(client):
    source = source_for("calendly")
    body = raw(payload("calendly_invitee_created.json"))
    stale = deliver(client, source, body, **calendly_headers(SECRET, body, int(time.time()) - 181))
    assert (stale.status_code, stale.json()) == (403, {"detail": TIMESTAMP_STALE})
    assert deliver(client, source, body).json() == {"detail": CALENDLY_MISSING}
    for header in ("v1=abc", "t=abc,v1=abc", "t=,v1=", "garbage", "t=1" + "0" * 40 + ",v1=00"):
        assert deliver(client, source, body, HTTP_CALENDLY_WEBHOOK_SIGNATURE=header).status_code == 403
    assert not Lead.objects.exists()


def test_calendly_cancellation_is_logged_not_a_new_lead(client):
    source = source_for("calendly")
    booked = payload("calendly_invitee_created.json")
    body = raw(booked)
    deliver(client, source, body, **calendly_headers(SECRET, body, int(time.time())))
    canceled = raw({**booked, "event": "invitee.canceled"})
    response = deliver(client, source, canceled, **calendly_headers(SECRET, canceled, int(time.time())))
    assert response.json() == {"status": "ignored", "lead": None}
    assert Lead.objects.count() == 1 and Interaction.objects.count() == 1


# --- Intercom ---------------------------------------------------------------------------------


def test_intercom_documented_contact_splits_the_full_name(client):
    """Intercom sends one name: "Dana Whitfield" must not land whole in first_name."""
    source = source_for("intercom")
    body = raw(payload("intercom_contact_lead_created.json"))
    lead = only_lead_with_one_entry(deliver(client, source, body, **intercom_headers(SECRET, body)))
    assert (lead.first_name, lead.last_name) == ("Dana", "Whitfield")
    assert (lead.email, lead.phone, lead.city) == ("dana.whitfield@example.com", "+14155550123", "San Francisco")
    assert lead.source == Lead.Source.CHAT
    entry = lead.interactions.get()
    assert (
        entry.kind == Interaction.Kind.CHAT and entry.data["event_id"] == "notif_4e3504a3-ba3f-46dc-ab48-8e4d5bdfdf4e"
    )


def test_intercom_ping_and_head_check_are_answered_without_a_lead(client):
    source = source_for("intercom")
    ping = raw({"type": "notification_event", "topic": "ping", "data": {"item": {"type": "ping", "message": "hi"}}})
    response = deliver(client, source, ping, **intercom_headers(SECRET, ping))
    assert (response.status_code, response.json()) == (200, {"status": "pong"})
    assert client.head(f"/api/v1/capture/webhook/{source.key}").status_code == 200
    assert client.head("/api/v1/capture/webhook/no-such-key").status_code == 404
    assert not Lead.objects.exists()


def test_intercom_sha256_or_missing_signatures_are_refused(client):
    source = source_for("intercom")
    body = raw(payload("intercom_contact_lead_created.json"))
    assert (deliver(client, source, body).status_code, deliver(client, source, body).json()) == (
        401,
        {"detail": INTERCOM_MISSING},
    )
    assert deliver(client, source, body, **intercom_headers("wrong", body)).status_code == 403
    assert not Lead.objects.exists()


# --- Google Ads lead forms ----------------------------------------------------------------------


def test_google_ads_documented_lead_makes_a_lead_and_drops_the_key(client):
    source = source_for("google_ads")
    data = {**payload("google_ads_lead.json"), "google_key": SECRET}
    lead = only_lead_with_one_entry(deliver(client, source, raw(data)))
    assert (lead.first_name, lead.last_name, lead.email) == ("Ama", "Mensah", "ama.mensah@example.com")
    assert (lead.company, lead.city, lead.phone) == ("Kente Labs", "Leeds", "+441132345678")
    assert (lead.utm_source, lead.utm_campaign) == ("google", "12345678901")
    assert lead.attributes["google_is_test"] is True
    assert SECRET not in str(CaptureRecord.objects.get(lead=lead).payload)


def test_google_ads_wrong_or_missing_key_is_refused(client):
    source = source_for("google_ads")
    data = payload("google_ads_lead.json")
    assert deliver(client, source, raw({**data, "google_key": "guess"})).status_code == 403
    missing = deliver(client, source, raw({k: v for k, v in data.items() if k != "google_key"}))
    assert (missing.status_code, missing.json()) == (401, {"detail": GOOGLE_KEY_MISSING})
    assert deliver(client, source, b"{not json").status_code == 401
    assert not Lead.objects.exists()


# --- Unbounce ---------------------------------------------------------------------------------


def unbounce_body(data_json: str) -> bytes:
    return urlencode(
        {
            "page_id": "a2838d98-4cf4-11df-a3fd-00163e372d58",
            "page_url": "https://lp.example.com/winter-demo/",
            "page_name": "Winter demo landing page",
            "variant": "a",
            "data.json": data_json,
            "data.xml": '<?xml version="1.0"?><form_data></form_data>',
        }
    ).encode()


def test_unbounce_documented_form_post_makes_a_lead(client):
    source = source_for("unbounce")
    body = unbounce_body((PAYLOADS / "unbounce_data.json").read_text())
    response = deliver(client, source, body, "application/x-www-form-urlencoded", HTTP_X_LEADCRM_TOKEN=SECRET)
    lead = only_lead_with_one_entry(response)
    assert (lead.first_name, lead.last_name, lead.email, lead.company) == (
        "Noor",
        "Haddad",
        "noor.haddad@example.com",
        "Desert Rose Trading",
    )
    assert lead.attributes["unbounce_page_name"] == "Winter demo landing page"
    assert lead.attributes["unbounce_variant"] == "a"
    replay = deliver(client, source, body, "application/x-www-form-urlencoded", HTTP_X_LEADCRM_TOKEN=SECRET)
    assert replay.json()["status"] == "duplicate" and Interaction.objects.count() == 1


def test_unbounce_without_the_token_or_data_is_refused(client):
    source = source_for("unbounce")
    body = unbounce_body('{"email": ["x@example.com"]}')
    response = deliver(client, source, body, "application/x-www-form-urlencoded")
    assert (response.status_code, response.json()) == (401, {"detail": UNBOUNCE_MISSING})
    assert (
        deliver(client, source, body, "application/x-www-form-urlencoded", HTTP_X_LEADCRM_TOKEN="nope").status_code
        == 403
    )
    no_data = deliver(client, source, b"page_id=1", "application/x-www-form-urlencoded", HTTP_X_LEADCRM_TOKEN=SECRET)
    assert (no_data.status_code, no_data.json()) == (400, {"detail": UNBOUNCE_NO_DATA})
    assert not Lead.objects.exists()


# --- Every provider ---------------------------------------------------------------------------

HOSTILE = [
    b"",
    b"{",
    b"[]",
    b'"x"',
    b"\x00\x01",
    b"\xff\xfe",
    b'{"a": "\\ud800"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"payload": {"object": {"registrant": 5}}, "event": "webinar.registration_created"}',
    b'{"event_type": "form_response", "form_response": {"answers": "nope"}}',
    b'{"data": {"item": []}, "topic": "contact.lead.created", "id": {"x": 1}}',
    b'{"entry": [{"changes": [{"field": "leadgen", "value": {"leadgen_id": "../../me"}}]}], "object": "page"}',
    b'{"user_column_data": {"column_id": "EMAIL"}, "lead_id": ["x"]}',
    b"data.json=%7B%22email%22%3A%5B%5D%7D&data.json=%ZZ",
]


@pytest.mark.parametrize("provider", ["typeform", "zoom", "calendly", "intercom", "meta", "google_ads", "unbounce"])
def test_hostile_bodies_signed_the_right_way_get_4xx_or_200_never_500(client, provider):
    from tests.leads.capture.webhooks.webhook_providers import meta_headers

    source = source_for(provider, verify_token="vt", access_token="")
    now = int(time.time())
    for body in HOSTILE:
        headers = {
            "typeform": lambda b: typeform_headers(SECRET, b),
            "zoom": lambda b: zoom_headers(SECRET, b, now),
            "calendly": lambda b: calendly_headers(SECRET, b, now),
            "intercom": lambda b: intercom_headers(SECRET, b),
            "meta": lambda b: meta_headers(SECRET, b),
            "google_ads": lambda b: {},
            "unbounce": lambda b: {"HTTP_X_LEADCRM_TOKEN": SECRET},
        }[provider](body)
        response = deliver(client, source, body, **headers)
        assert response.status_code in (200, 201, 400, 401, 403), (provider, body[:40], response.status_code)
    assert Lead.objects.filter(email="").count() <= len(HOSTILE)
