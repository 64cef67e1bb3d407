"""Who wants which event is kept per process: no query per event, and a change heard at once."""

import time

import pytest

from leads.events import Name, note_added
from leads.models import WebhookDelivery
from leads.outbound import subscriptions
from leads.outbound.subscriptions import subscription_update, subscriptions_wanting
from tests.factories import LeadFactory


@pytest.mark.django_db
def test_events_read_the_table_once_per_interval(manager, django_assert_num_queries, monkeypatch):
    subscriptions.subscriptions_forget()
    with django_assert_num_queries(1):
        assert subscriptions_wanting(name=Name.LEAD_CREATED) == []
        subscriptions._remember([], time.monotonic() + subscriptions.CACHE_SECONDS)  # what commit does
        assert subscriptions_wanting(name=Name.LEAD_CREATED) == []


@pytest.mark.django_db
def test_a_table_read_in_a_transaction_is_kept_only_once_it_commits(subscribe):
    """A subscription made in a rolled-back transaction must not be heard by the next one."""
    subscribe([Name.NOTE_ADDED])
    assert subscriptions_wanting(name=Name.NOTE_ADDED)  # read inside the test's transaction
    assert subscriptions._table is None  # not kept: the test's transaction never commits


@pytest.mark.django_db(transaction=True)
def test_a_change_is_heard_at_once(subscribe, manager):
    """Redis is not on this path: a silent Redis held capture up for its socket timeout."""
    subscription = subscribe([Name.NOTE_ADDED])
    note_added(lead=LeadFactory(), by=manager, body="one")
    subscription_update(subscription=subscription, events=[Name.LEAD_UPDATED])
    note_added(lead=LeadFactory(), by=manager, body="two")
    subscription_update(subscription=subscription, events=[Name.NOTE_ADDED], is_active=False)
    note_added(lead=LeadFactory(), by=manager, body="three")
    assert WebhookDelivery.objects.filter(subscription=subscription).count() == 1
