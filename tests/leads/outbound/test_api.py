"""The webhooks API: managers only, per-field errors, the secret shown once, the list's queries."""

import pytest
from rest_framework.test import APIClient

from leads.events import Name
from leads.models import WebhookSubscription
from leads.outbound.subscriptions import EVENT_UNKNOWN, EVENTS_REQUIRED, subscription_create
from tests.factories import WebhookDeliveryFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/subscriptions"


@pytest.fixture
def allowed(settings):
    settings.OUTBOUND_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1:9999"]
    return "http://127.0.0.1:9999/hooks"


@pytest.mark.parametrize(
    "who, expected",
    [("anonymous", 401), ("rep", 403), ("marketer", 403), ("manager", 200)],
)
@pytest.mark.parametrize("path", [URL, "/api/v1/webhooks/events"])
def test_only_managers_see_webhooks(who, expected, path, request, api_as):
    client = APIClient() if who == "anonymous" else api_as(request.getfixturevalue(who))
    assert client.get(path).status_code == expected


@pytest.mark.parametrize("who, expected", [("anonymous", 401), ("rep", 403), ("marketer", 403), ("manager", 201)])
def test_only_managers_subscribe(who, expected, request, api_as, allowed):
    client = APIClient() if who == "anonymous" else api_as(request.getfixturevalue(who))
    response = client.post(URL, {"url": allowed, "events": [Name.LEAD_CREATED]}, format="json")
    assert response.status_code == expected
    assert WebhookSubscription.objects.count() == (1 if expected == 201 else 0)


def test_the_secret_is_shown_once_in_standard_webhooks_format(api_as, manager, allowed):
    client = api_as(manager)
    created = client.post(URL, {"url": allowed, "events": [Name.LEAD_CREATED, Name.ASSIGNED]}, format="json").json()
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["created_by"] == "manager"
    shown = client.get(f"{URL}/{created['id']}").json()
    assert "secret" not in shown and shown["events"] == [Name.LEAD_CREATED, Name.ASSIGNED]
    rotated = client.post(f"{URL}/{created['id']}/rotate-secret").json()["secret"]
    assert rotated.startswith("whsec_") and rotated != created["secret"]


def test_unknown_or_missing_events_are_refused_per_field(api_as, manager, allowed):
    client = api_as(manager)
    response = client.post(URL, {"url": allowed, "events": ["lead.exploded"]}, format="json")
    assert response.status_code == 400 and "events" in response.json()
    response = client.post(URL, {"url": allowed, "events": []}, format="json")
    assert response.status_code == 400 and "events" in response.json()
    # The service says the same to callers outside the API.
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        subscription_create(url=allowed, events=[], by=manager)
    assert exc.value.message_dict == {"events": [EVENTS_REQUIRED]}
    with pytest.raises(ValidationError) as exc:
        subscription_create(url=allowed, events=["nope"], by=manager)
    assert exc.value.message_dict == {"events": [EVENT_UNKNOWN.format(name="nope")]}


def test_a_manager_turns_a_subscription_off_and_on(api_as, manager, allowed):
    subscription = subscription_create(url=allowed, events=[Name.LEAD_CREATED], by=manager)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=False, disabled_reason="kept failing")
    response = api_as(manager).patch(f"{URL}/{subscription.pk}", {"is_active": True}, format="json")
    assert response.status_code == 200 and response.json()["is_active"] is True
    assert WebhookSubscription.objects.get(pk=subscription.pk).disabled_reason == ""


def test_the_list_reads_a_fixed_number_of_queries(api_as, manager, allowed, django_assert_num_queries):
    for n in range(6):
        subscription = subscription_create(url=allowed, events=[Name.LEAD_CREATED], by=manager, description=f"s{n}")
        WebhookDeliveryFactory(subscription=subscription, event_type=Name.LEAD_CREATED, payload={})
    client = api_as(manager)
    client.get(URL)  # warm the token and role lookups' caches alike
    # token with the user's roles (one statement), the page count, the page.
    with django_assert_num_queries(3):
        response = client.get(URL)
    rows = response.json()["results"]
    assert len(rows) == 6 and rows[0]["pending_count"] == 1 and rows[0]["last_delivery_status"] == "pending"


def test_the_delivery_log_and_resend(api_as, manager, allowed):
    subscription = subscription_create(url=allowed, events=[Name.LEAD_CREATED], by=manager)
    delivery = WebhookDeliveryFactory(
        subscription=subscription,
        event_type=Name.LEAD_CREATED,
        payload={},
        status="failed",
        attempts=11,
        response_status=500,
        response_excerpt="boom",
    )
    client = api_as(manager)
    [row] = client.get(f"{URL}/{subscription.pk}/deliveries").json()["results"]
    assert row["status"] == "failed" and row["response_status"] == 500 and row["response_excerpt"] == "boom"
    assert row["webhook_id"] == delivery.webhook_id
    response = client.post(f"/api/v1/webhooks/deliveries/{delivery.pk}/resend")
    body = response.json()
    assert response.status_code == 202 and body["status"] == "pending" and body["attempts"] == 0


def test_the_events_and_the_payload_are_in_the_openapi_schema(api_as, manager):
    schema = api_as(manager).get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "/api/v1/webhooks/subscriptions" in schema["paths"]
    assert "/api/v1/webhooks/events" in schema["paths"]
    components = schema["components"]["schemas"]
    assert {"type", "timestamp", "data"} <= set(components["WebhookPayload"]["properties"])
    events = api_as(manager).get("/api/v1/webhooks/events").json()
    assert Name.STATUS_CHANGED in {event["name"] for event in events}
