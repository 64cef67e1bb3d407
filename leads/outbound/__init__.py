"""Outbound webhooks: managers subscribe URLs to the spine's events; every event a subscription
wants becomes an outbox row in the event's own transaction (reactions.deliveries_record), sent by
a Celery task on commit, signed per Standard Webhooks, retried with backoff for about a day, then
the subscription is disabled and the managers told. See docs/webhooks.md."""
