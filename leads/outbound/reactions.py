"""The spine's reaction for outbound webhooks: one outbox row per (subscription, event, lead),
written in the event's own transaction, and its sending enqueued on commit."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.utils import timezone

from ..events import Event
from ..models import Lead, LeadEventSequence, WebhookDelivery, WebhookSubscription
from .delivery import deliveries_enqueue
from .payloads import LEAD_VALUES, lead_public, payload_build
from .subscriptions import subscriptions_wanting

BATCH = 1000  # leads per read and per insert when an event names many


def deliveries_record(event: Event) -> None:
    """Write the deliveries of an event for every active subscription that wants it (set-based:
    one read of the leads, one upsert of their sequence numbers, one insert per batch)."""
    subscription_ids = subscriptions_wanting(name=event.name)
    if not subscription_ids or not event.lead_ids:
        return
    occurred_at = event.occurred_at or timezone.now()
    ids: list[int] = []
    lead_ids = sorted(set(event.lead_ids))
    for start in range(0, len(lead_ids), BATCH):
        chunk = lead_ids[start : start + BATCH]
        leads = {row["id"]: lead_public(row) for row in Lead.objects.filter(pk__in=chunk).values(*LEAD_VALUES)}
        numbers = sequences_next(lead_ids=chunk)
        rows = [
            WebhookDelivery(
                subscription_id=subscription_id,
                event_type=event.name,
                lead_id=lead_id,
                sequence=numbers[lead_id],
                created_at=occurred_at,
                payload=payload_build(
                    event=event,
                    occurred_at=occurred_at,
                    lead_id=lead_id,
                    lead=leads.get(lead_id),
                    sequence=numbers[lead_id],
                ),
            )
            for lead_id in chunk
            for subscription_id in subscription_ids
        ]
        ids.extend(row.pk for row in WebhookDelivery.objects.bulk_create(rows, batch_size=BATCH))
    deliveries_enqueue(delivery_ids=ids)


def sequences_next(*, lead_ids: Sequence[int]) -> dict[int, int]:
    """Give each lead its next event number, in one upsert (rows taken in id order, so two
    events on overlapping leads wait for each other rather than deadlock)."""
    table = LeadEventSequence._meta.db_table
    ordered = sorted(lead_ids)
    if connection.vendor == "postgresql":
        sql = (
            f"INSERT INTO {table} (lead_id, last) SELECT id, 1 FROM unnest(%s::bigint[]) AS id ORDER BY id "
            f"ON CONFLICT (lead_id) DO UPDATE SET last = {table}.last + 1 RETURNING lead_id, last"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [ordered])
            return dict(cursor.fetchall())
    numbers = {}
    with connection.cursor() as cursor:  # SQLite (the one-machine default): one upsert per lead
        for lead_id in ordered:
            cursor.execute(
                f"INSERT INTO {table} (lead_id, last) VALUES (%s, 1) "
                f"ON CONFLICT (lead_id) DO UPDATE SET last = last + 1 RETURNING lead_id, last",
                [lead_id],
            )
            key, value = cursor.fetchone()
            numbers[key] = value
    return numbers


AUTOMATION_EVENT = "automation.webhook"


def delivery_for_lead(*, subscription: WebhookSubscription, lead_id: int, data: dict, now) -> WebhookDelivery:
    """An automation's "call an outbound webhook" step: one delivery of the lead to this subscription
    (event type automation.webhook, whatever events it subscribed to), durable, signed and retried
    like every other; sent on commit."""
    row = Lead.objects.filter(pk=lead_id).values(*LEAD_VALUES).first()
    number = sequences_next(lead_ids=[lead_id])[lead_id]
    event = Event(AUTOMATION_EVENT, (lead_id,), kind="automation", occurred_at=now, data=data)
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event_type=AUTOMATION_EVENT,
        lead_id=lead_id,
        sequence=number,
        created_at=now,
        payload=payload_build(
            event=event, occurred_at=now, lead_id=lead_id, lead=lead_public(row) if row else None, sequence=number
        ),
    )
    deliveries_enqueue(delivery_ids=[delivery.pk])
    return delivery
