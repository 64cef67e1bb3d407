"""Webhook URLs follow the SSRF-safe fetcher's rules, when subscribing and on every attempt."""

import pytest
from django.core.exceptions import ValidationError

from leads.common.safe_http import REFUSED_ADDRESS, REFUSED_INTERNAL_NAME, REFUSED_PORT
from leads.events import Name, note_added
from leads.models import WebhookDelivery
from leads.outbound.delivery import delivery_send
from leads.outbound.subscriptions import URL_REFUSED, subscription_create
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://127.0.0.1/hooks", REFUSED_ADDRESS),
        ("http://10.1.2.3/hooks", REFUSED_ADDRESS),
        ("http://169.254.169.254/latest/meta-data", REFUSED_ADDRESS),
        ("http://[::1]/hooks", REFUSED_ADDRESS),
        ("http://localhost/hooks", REFUSED_INTERNAL_NAME),
        ("http://metadata.google.internal/", REFUSED_INTERNAL_NAME),
        ("http://93.184.216.34:22/", REFUSED_PORT),
    ],
)
def test_internal_addresses_are_refused_with_a_clear_400(url, reason, api_as, manager):
    response = api_as(manager).post(
        "/api/v1/webhooks/subscriptions",
        {"url": url, "events": [Name.LEAD_CREATED]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"url": [URL_REFUSED.format(reason=reason)]}


def test_a_host_becomes_internal_after_subscribing_and_nothing_is_sent(receiver, subscribe, manager, settings):
    """The rules run again on every attempt: the allow-list entry removed, no connection is made."""
    subscription = subscribe([Name.NOTE_ADDED])
    settings.OUTBOUND_WEBHOOK_ALLOWED_HOSTS = []
    note_added(lead=LeadFactory(), by=manager, body="hi")
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert delivery_send(delivery_id=delivery.pk) == "pending"
    delivery.refresh_from_db()
    assert delivery.error == REFUSED_ADDRESS and delivery.response_status is None
    assert receiver.received == []


def test_the_service_refuses_like_the_api(manager):
    with pytest.raises(ValidationError) as exc:
        subscription_create(url="http://192.168.1.10/", events=[Name.LEAD_CREATED], by=manager)
    assert exc.value.message_dict == {"url": [URL_REFUSED.format(reason=REFUSED_ADDRESS)]}
