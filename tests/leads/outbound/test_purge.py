"""The nightly purge keeps the delivery log to OUTBOUND_WEBHOOK_RETENTION_DAYS, set-based."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.events import Name
from leads.models import WebhookDelivery
from leads.outbound.delivery import deliveries_purge
from leads.outbound.subscriptions import subscription_create
from tests.factories import WebhookDeliveryFactory

pytestmark = pytest.mark.django_db


def test_old_finished_deliveries_go_and_pending_and_recent_ones_stay(manager, settings, django_assert_num_queries):
    settings.OUTBOUND_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1:9999"]
    settings.OUTBOUND_WEBHOOK_RETENTION_DAYS = 30
    subscription = subscription_create(url="http://127.0.0.1:9999/in", events=[Name.LEAD_CREATED], by=manager)
    now = timezone.now()

    def row(status, days):
        return WebhookDeliveryFactory(
            subscription=subscription,
            event_type=Name.LEAD_CREATED,
            payload={},
            status=status,
            created_at=now - timedelta(days=days),
        )

    old = [row("delivered", 40), row("failed", 31), row("delivered", 35)]
    kept = [row("pending", 90), row("delivered", 29), row("failed", 1)]
    # Two batches of two ids and one that finds none: a read and a DELETE each, then the last read.
    with django_assert_num_queries(5):
        assert deliveries_purge(now=now, batch=2) == 3
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {r.pk for r in kept}
    assert not WebhookDelivery.objects.filter(pk__in=[r.pk for r in old]).exists()
