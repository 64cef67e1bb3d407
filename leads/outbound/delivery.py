"""Sending the outbox: claim a due row, sign it (Standard Webhooks), POST it, log the answer;
retry with exponential backoff for about a day, then disable the subscription and tell the
managers. Safe to run twice: a row is claimed (an UPDATE with a lease) before it is sent."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from .. import jobs
from ..common.safe_http import FetchError
from ..models import Notification, WebhookDelivery, WebhookSubscription
from ..roles import SALES_MANAGERS
from .http import webhook_post
from .subscriptions import allowed_hosts, subscriptions_forget

logger = logging.getLogger(__name__)

# Seconds to wait after each failed attempt: 11 attempts over about 23.7 hours.
RETRY_DELAYS = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 21600, 36000)
LEASE = timedelta(seconds=60)  # longer than one attempt can take (timeout 5 s)
# A retry this soon is sent as a delayed task; a later one is left to the sweeper, because Redis
# hands a delayed task out again once it outlives the broker's visibility timeout.
COUNTDOWN_MAX = 15 * 60
SWEEP_GRACE = timedelta(minutes=2)  # a row this overdue has lost its task
SWEEP_BATCH = 500
TASK_CHUNK = 50  # deliveries per task when an event names many leads
PURGE_BATCH = 5000  # rows per DELETE of the nightly purge (short statements, no long lock)

DISABLED_REASON = "Disabled after {attempts} failed attempts over a day; the last: {error}"
DISABLED_MESSAGE = "Webhook to {url} was disabled: it kept failing for a day."
HTTP_ERROR = "The receiver answered HTTP {status}."
SUBSCRIPTION_GONE = "The subscription was deleted."


def retry_delays() -> tuple[float, ...]:
    """The backoff schedule (settings.OUTBOUND_WEBHOOK_RETRY_DELAYS when set)."""
    return tuple(getattr(settings, "OUTBOUND_WEBHOOK_RETRY_DELAYS", None) or RETRY_DELAYS)


def deliveries_enqueue(*, delivery_ids: Sequence[int], countdown: float | None = None) -> None:
    """Send these deliveries (TASK_CHUNK per task) once the transaction commits, through leads.jobs
    (its outbox and sweeper); the delivery rows are durable on their own too (deliveries_sweep)."""
    ids = list(delivery_ids)
    for start in range(0, len(ids), TASK_CHUNK):
        jobs.enqueue("leads.outbound.tasks.deliveries_send_task", ids[start : start + TASK_CHUNK], countdown=countdown)


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Take the row for one attempt, or None when it is not due, done, held by another sender,
    or its subscription is off."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        pk=delivery_id,
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lte=now,
        subscription__is_active=True,
    ).update(claimed_until=now + LEASE, last_attempt_at=now)
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("subscription").filter(pk=delivery_id).first()


def delivery_body(*, delivery: WebhookDelivery) -> str:
    """The JSON body of a delivery, the same bytes on every attempt."""
    return json.dumps(delivery.payload, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True)


def delivery_headers(*, delivery: WebhookDelivery, body: str, secret: str) -> dict[str, str]:
    """The Standard Webhooks headers, signed now (receivers refuse a timestamp 5 minutes off)."""
    now = timezone.now()
    return {
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id=delivery.webhook_id, timestamp=now, data=body),
    }


def delivery_send(*, delivery_id: int) -> str:
    """One attempt at one delivery: returns its status afterwards ("skipped" when not claimed)."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return "skipped"
    try:
        subscription = delivery.subscription
    except WebhookSubscription.DoesNotExist:  # no constraint: the row may outlive its subscription
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, error=SUBSCRIPTION_GONE
        )
        return WebhookDelivery.Status.FAILED
    body = delivery_body(delivery=delivery)
    headers = delivery_headers(delivery=delivery, body=body, secret=subscription.secret)
    status, excerpt, error = None, "", ""
    try:
        answer = webhook_post(url=subscription.url, body=body.encode(), headers=headers, allow=allowed_hosts())
    except FetchError as exc:  # refused by the SSRF rules, timeout, connection refused or reset
        error = str(exc)
    else:
        status, excerpt = answer.status, answer.excerpt
        if not 200 <= status < 300:
            error = HTTP_ERROR.format(status=status)
    return _record(delivery, status=status, excerpt=excerpt, error=error)


def _record(delivery: WebhookDelivery, *, status: int | None, excerpt: str, error: str) -> str:
    """Log the attempt's outcome and schedule the next one (or give up)."""
    now = timezone.now()
    attempts = delivery.attempts + 1
    fields = {
        "attempts": attempts,
        "claimed_until": None,
        "response_status": status,
        "response_excerpt": excerpt,
        "error": error[:300],
    }
    delays = retry_delays()
    if not error:
        fields.update(status=WebhookDelivery.Status.DELIVERED, delivered_at=now)
    elif attempts <= len(delays):
        delay = delays[attempts - 1]
        fields.update(next_attempt_at=now + timedelta(seconds=delay))
    else:
        fields.update(status=WebhookDelivery.Status.FAILED)
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
        if fields.get("status") == WebhookDelivery.Status.FAILED:
            subscription_disable(subscription=delivery.subscription, attempts=attempts, error=error)
        elif error and delay <= COUNTDOWN_MAX:
            deliveries_enqueue(delivery_ids=[delivery.pk], countdown=delay)
    return fields.get("status", WebhookDelivery.Status.PENDING)


def subscription_disable(*, subscription: WebhookSubscription, attempts: int, error: str) -> bool:
    """Turn a persistently failing subscription off and notify every manager (once)."""
    reason = DISABLED_REASON.format(attempts=attempts, error=error)[:300]
    changed = WebhookSubscription.objects.filter(pk=subscription.pk, is_active=True).update(
        is_active=False,
        disabled_reason=reason,
        updated_at=timezone.now(),
    )
    if not changed:
        return False
    message = DISABLED_MESSAGE.format(url=subscription.url)[:300]
    managers = User.objects.filter(is_active=True, groups__name=SALES_MANAGERS).distinct()
    Notification.objects.bulk_create(
        [Notification(user=user, kind=Notification.Kind.WEBHOOK, message=message) for user in managers]
    )
    subscriptions_forget()
    return True


def delivery_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again, whatever its status, with a fresh retry schedule (the same
    webhook-id, so receivers can tell it is one they may have had)."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at=timezone.now(),
        claimed_until=None,
        attempts=0,
    )
    deliveries_enqueue(delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    return delivery


def deliveries_purge(*, now=None, batch: int = PURGE_BATCH) -> int:
    """Delete delivered and failed rows older than OUTBOUND_WEBHOOK_RETENTION_DAYS (nightly), in
    id batches of set-based DELETEs; pending rows are never purged. Returns how many went."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.OUTBOUND_WEBHOOK_RETENTION_DAYS)
    old = WebhookDelivery.objects.filter(created_at__lt=cutoff).exclude(status=WebhookDelivery.Status.PENDING)
    purged = 0
    while True:
        ids = list(old.order_by("created_at").values_list("pk", flat=True)[:batch])
        if not ids:
            return purged
        purged += WebhookDelivery.objects.filter(pk__in=ids)._raw_delete(using=WebhookDelivery.objects.db)


def deliveries_sweep() -> int:
    """Send again the due rows whose task was lost (a broker outage, a worker killed mid-send)."""
    now = timezone.now()
    ids = list(
        WebhookDelivery.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=now - SWEEP_GRACE,
            subscription__is_active=True,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    deliveries_enqueue(delivery_ids=ids)
    return len(ids)
