"""A manager subscribes a receiver to events in the browser, copies the secret shown once, and sees
a real event delivered (through the real worker, signed: the receiver verifies it with
standardwebhooks' own verifier), logged on the subscription's page, and sent again with Resend."""

import json

import pytest
from standardwebhooks.webhooks import Webhook

from leads.events import Name
from leads.models import Lead, WebhookDelivery, WebhookSubscription
from leads.services import lead_update
from tests.e2e.conftest import log_in
from tests.factories import LeadFactory
from tests.helpers import wait_for
from tests.leads.outbound.conftest import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def receiver(settings):
    server = Receiver()
    settings.OUTBOUND_WEBHOOK_ALLOWED_HOSTS = [f"127.0.0.1:{server.port}"]
    yield server
    server.stop()


def test_a_manager_subscribes_sees_the_delivery_logged_and_resends_it(
    page, live_server, manager, receiver, celery_worker_live, shoot
):
    lead = LeadFactory(first_name="Ada", email="ada@example.com", status="new")
    log_in(page, live_server.url, "manager")
    page.click("[data-testid=nav-manage] > a")
    page.click("[data-testid=nav-webhooks]")
    page.fill("input[name=url]", receiver.url)
    page.fill("input[name=description]", "ERP")
    page.check(f"input[name=events][value='{Name.STATUS_CHANGED}']")
    page.click("[data-testid=webhook-form] button[type=submit]")
    secret = page.locator("[data-testid=webhook-secret]").inner_text().strip()
    assert secret.startswith("whsec_")
    subscription = WebhookSubscription.objects.get(description="ERP")
    assert subscription.events == [Name.STATUS_CHANGED] and subscription.secret == secret

    lead_update(lead=Lead.objects.get(pk=lead.pk), data={"status": Lead.Status.ACTIVE}, by=manager)
    assert wait_for(
        lambda: WebhookDelivery.objects.filter(subscription=subscription, status="delivered").exists(), timeout=30
    )
    [(headers, body)] = receiver.received
    payload = Webhook(secret).verify(body, headers)  # the secret as the page showed it
    assert payload["type"] == Name.STATUS_CHANGED and payload["data"]["event"]["to"] == "active"

    page.goto(f"{live_server.url}/webhooks/")
    row = page.locator(f"[data-testid=webhook-{subscription.pk}]")
    assert "ERP" in row.inner_text() and "delivered" in row.inner_text()
    row.locator("a").click()
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    logged = page.locator(f"[data-testid=delivery-{delivery.pk}]")
    assert (
        "lead.status_changed" in logged.inner_text()
        and "Delivered" in logged.inner_text()
        and "200" in logged.inner_text()
    )
    shoot(page, "webhook-detail")
    logged.locator("[data-testid=resend]").click()
    assert wait_for(lambda: len(receiver.received) == 2, timeout=30)
    first, again = (json.loads(body) for _, body in receiver.received)
    assert first == again and receiver.received[0][0]["webhook-id"] == receiver.received[1][0]["webhook-id"]
