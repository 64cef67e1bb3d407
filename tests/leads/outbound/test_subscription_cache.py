"""Who wants which event is read from the cache: no query per event, and never a stale answer
after a subscription changes."""
import pytest
from django.core.cache import cache

from leads.events import Name, note_added
from leads.models import WebhookDelivery
from leads.outbound.subscriptions import CACHE_KEY, subscription_update, subscriptions_wanting
from tests.factories import LeadFactory


@pytest.mark.django_db
def test_events_read_no_subscription_query_even_when_the_cache_was_flushed(manager, django_assert_num_queries):
    """A flushed Redis cost every event-writing path one extra query (tests clear the cache)."""
    cache.clear()
    with django_assert_num_queries(0):
        assert subscriptions_wanting(name=Name.LEAD_CREATED) == []


@pytest.mark.django_db(transaction=True)
def test_a_change_is_heard_at_once_and_the_committed_table_is_shared(subscribe, manager):
    subscription = subscribe([Name.NOTE_ADDED])
    assert cache.get(CACHE_KEY) == [(subscription.pk, [Name.NOTE_ADDED])]
    note_added(lead=LeadFactory(), by=manager, body="one")
    subscription_update(subscription=subscription, events=[Name.LEAD_UPDATED])
    assert cache.get(CACHE_KEY) == [(subscription.pk, [Name.LEAD_UPDATED])]
    note_added(lead=LeadFactory(), by=manager, body="two")
    subscription_update(subscription=subscription, is_active=False)
    assert cache.get(CACHE_KEY) == []
    assert WebhookDelivery.objects.filter(subscription=subscription).count() == 1
