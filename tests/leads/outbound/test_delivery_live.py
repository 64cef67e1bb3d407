"""Outbound webhooks end to end: real events, the real worker, a real receiver, verified with
standardwebhooks' own verifier."""

import json

import pytest
from django.test import Client
from standardwebhooks.webhooks import Webhook

from leads.events import Name
from leads.models import Lead, Notification, WebhookDelivery, WebhookSubscription
from leads.outbound.delivery import deliveries_sweep
from leads.workspace.followups import lead_reassign
from tests.factories import LeadFactory, RepFactory, WebhookDeliveryFactory
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _delivered(subscription, count):
    return WebhookDelivery.objects.filter(subscription=subscription, status="delivered").count() >= count


def test_captured_status_changed_and_assigned_leads_are_delivered_signed(
    celery_worker_live,
    receiver,
    subscribe,
    manager,
    api_as,
):
    subscription = subscribe([Name.LEAD_CREATED, Name.STATUS_CHANGED, Name.ASSIGNED])
    response = api_as(manager).post(
        "/api/v1/capture",
        {"email": "ada@example.com", "first_name": "Ada", "company": "Analytical"},
        format="json",
    )
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(email="ada@example.com")
    browser = Client()
    browser.force_login(manager)
    browser.post(f"/leads/{lead.pk}/status", {"status": Lead.Status.ACTIVE})
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.ACTIVE
    rep = RepFactory(username="dana")
    lead_reassign(lead=Lead.objects.get(pk=lead.pk), owner=rep, by=manager)

    assert wait_for(lambda: len(receiver.received) >= 3), receiver.received
    verifier = Webhook(subscription.secret)
    payloads = [verifier.verify(body, headers) for headers, body in receiver.received]
    by_type = {payload["type"]: payload for payload in payloads}
    assert set(by_type) >= {Name.LEAD_CREATED, Name.STATUS_CHANGED, Name.ASSIGNED}
    created, changed, assigned = by_type[Name.LEAD_CREATED], by_type[Name.STATUS_CHANGED], by_type[Name.ASSIGNED]
    assert created["data"]["lead"]["email"] == "ada@example.com"
    assert created["data"]["lead"]["company"] == "Analytical"
    assert changed["data"]["event"]["to"] == Lead.Status.ACTIVE
    assert changed["data"]["lead"]["status"] == Lead.Status.ACTIVE
    assert assigned["data"]["lead"]["owner"] == "dana"
    assert created["data"]["sequence"] < changed["data"]["sequence"] < assigned["data"]["sequence"]
    headers = receiver.received[0][0]
    assert headers["webhook-id"].startswith("msg_") and headers["webhook-signature"].startswith("v1,")
    assert wait_for(lambda: _delivered(subscription, 3))
    log = WebhookDelivery.objects.filter(subscription=subscription, status="delivered").first()
    assert log.response_status == 200 and log.response_excerpt == '{"ok": true}' and log.attempts == 1


def test_a_delivery_is_retried_while_the_receiver_is_down_and_arrives_once_it_is_back(
    celery_worker_live,
    receiver,
    subscribe,
    manager,
    settings,
):
    settings.OUTBOUND_WEBHOOK_RETRY_DELAYS = [1, 1, 1, 1, 1, 1, 1, 1]
    subscription = subscribe([Name.NOTE_ADDED])
    receiver.stop()
    from leads.events import note_added

    lead = LeadFactory()
    note_added(lead=lead, by=manager, body="Called, no answer")
    assert wait_for(lambda: WebhookDelivery.objects.filter(subscription=subscription, attempts__gte=2).exists())
    failed = WebhookDelivery.objects.get(subscription=subscription)
    assert failed.status == "pending" and failed.response_status is None
    assert failed.error == "The server could not be reached."
    receiver.start()
    assert wait_for(lambda: _delivered(subscription, 1))
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert delivery.attempts >= 3
    [(headers, body)] = receiver.received
    assert Webhook(subscription.secret).verify(body, headers)["data"]["lead"]["id"] == lead.pk


def test_an_error_status_is_retried_and_logged_with_the_answer(
    celery_worker_live, receiver, subscribe, manager, settings
):
    settings.OUTBOUND_WEBHOOK_RETRY_DELAYS = [1, 1, 1, 1, 1]
    subscription = subscribe([Name.NOTE_ADDED])
    receiver.status = 503
    from leads.events import note_added

    note_added(lead=LeadFactory(), by=manager, body="hello")
    assert wait_for(lambda: len(receiver.received) >= 2)
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert delivery.response_status == 503 and delivery.response_excerpt == "receiver is unhappy"
    receiver.status = 200
    assert wait_for(lambda: _delivered(subscription, 1))
    # Every attempt carried the same webhook-id: the receiver can drop repeats.
    assert len({headers["webhook-id"] for headers, _ in receiver.received}) == 1


def test_the_sweeper_sends_a_due_delivery_whose_task_was_lost(celery_worker_live, receiver, subscribe, manager):
    """A broker outage when the event committed left the outbox row without a task."""
    from datetime import timedelta

    from django.utils import timezone

    subscription = subscribe([Name.NOTE_ADDED])
    receiver.stop()  # the first attempt fails and schedules a retry far away, as if its task was lost
    lead = LeadFactory()
    row = WebhookDeliveryFactory(
        subscription=subscription,
        event_type=Name.NOTE_ADDED,
        lead_id=lead.pk,
        sequence=1,
        payload={"type": Name.NOTE_ADDED, "timestamp": timezone.now().isoformat(), "data": {"lead": {"id": lead.pk}}},
        next_attempt_at=timezone.now() - timedelta(minutes=10),
    )
    receiver.start()
    assert deliveries_sweep() == 1
    assert wait_for(lambda: _delivered(subscription, 1))
    assert WebhookDelivery.objects.get(pk=row.pk).attempts == 1


def test_a_subscription_failing_for_good_is_disabled_and_the_managers_told(receiver, subscribe, manager, settings):
    """Runs the sender in the test (no worker): each attempt is due at once (zero delays)."""
    from leads.events import note_added
    from leads.outbound.delivery import delivery_send

    settings.OUTBOUND_WEBHOOK_RETRY_DELAYS = [0, 0]
    subscription = subscribe([Name.NOTE_ADDED])
    receiver.status = 500
    note_added(lead=LeadFactory(), by=manager, body="hello")
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    outcomes = [delivery_send(delivery_id=delivery.pk) for _ in range(4)]
    assert outcomes == ["pending", "pending", "failed", "skipped"]
    subscription = WebhookSubscription.objects.get(pk=subscription.pk)
    assert not subscription.is_active
    assert subscription.disabled_reason.startswith("Disabled after 3 failed attempts")
    [notice] = Notification.objects.filter(user=manager, kind=Notification.Kind.WEBHOOK)
    assert subscription.url in notice.message
    # A disabled subscription records no new events.
    note_added(lead=LeadFactory(), by=manager, body="again")
    assert WebhookDelivery.objects.filter(subscription=subscription).count() == 1
    assert json.loads(receiver.received[0][1])["type"] == Name.NOTE_ADDED
