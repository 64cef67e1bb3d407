"""The webhooks pages: managers subscribe in the app, see the secret once, read the log, resend."""

import pytest
from django.test import Client

from leads.common.safe_http import REFUSED_ADDRESS
from leads.events import Name
from leads.models import WebhookSubscription
from leads.outbound.subscriptions import URL_REFUSED, subscription_create
from tests.factories import WebhookDeliveryFactory

pytestmark = pytest.mark.django_db


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("who", ["rep", "marketer"])
def test_only_managers_open_the_webhooks_page(who, request):
    assert _as(request.getfixturevalue(who)).get("/webhooks/").status_code == 403


def test_a_manager_subscribes_in_the_app_and_sees_the_secret_once(manager, settings):
    settings.OUTBOUND_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1:9999"]
    client = _as(manager)
    assert client.get("/webhooks/").status_code == 200
    response = client.post(
        "/webhooks/",
        {
            "url": "http://127.0.0.1:9999/in",
            "description": "ERP",
            "events": [Name.LEAD_CREATED, Name.CONVERTED],
            "is_active": "on",
        },
    )
    subscription = WebhookSubscription.objects.get()
    assert subscription.events == [Name.LEAD_CREATED, Name.CONVERTED] and subscription.is_active
    assert subscription.secret in response.content.decode()
    assert subscription.secret not in client.get(f"/webhooks/{subscription.pk}/").content.decode()


def test_an_internal_url_is_refused_on_the_form(manager):
    response = _as(manager).post("/webhooks/", {"url": "http://10.0.0.5/in", "events": [Name.LEAD_CREATED]})
    assert response.status_code == 200
    assert URL_REFUSED.format(reason=REFUSED_ADDRESS) in response.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_the_log_shows_each_delivery_and_resend_queues_it_again(manager, settings):
    settings.OUTBOUND_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1:9999"]
    subscription = subscription_create(url="http://127.0.0.1:9999/in", events=[Name.LEAD_CREATED], by=manager)
    delivery = WebhookDeliveryFactory(
        subscription=subscription,
        event_type=Name.LEAD_CREATED,
        payload={},
        status="failed",
        attempts=11,
        response_status=502,
        response_excerpt="bad gateway",
    )
    client = _as(manager)
    page = client.get(f"/webhooks/{subscription.pk}/").content.decode()
    assert "bad gateway" in page and "502" in page
    response = client.post(f"/webhooks/deliveries/{delivery.pk}/resend")
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "pending"
