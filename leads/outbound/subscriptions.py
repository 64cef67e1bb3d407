"""Subscriptions: made and changed by managers (page and API), their secret, their URL checked
under the SSRF rules, and the cached list of who wants which event (read on every event)."""
from __future__ import annotations

import base64
import secrets
import time

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ..enrichment.safe_http import FetchError, url_check
from ..models import WebhookSubscription
from .payloads import EVENT_NAMES

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32

URL_REFUSED = "This URL cannot receive webhooks: {reason}"
EVENTS_REQUIRED = "Choose at least one event."
EVENT_UNKNOWN = "Unknown event: {name}."

# Who wants which event, as [(subscription id, [event names])] of the active subscriptions. Every
# event reads it, so it lives in the cache (no query per event). A change to a subscription drops
# it at once and writes the committed table on commit. Each process also keeps the last table it
# read for LOCAL_SECONDS: when the cache lost the key (a flush, an eviction) that copy answers
# instead of the database, so the cost of a cold cache is one query a minute per process.
CACHE_KEY = "outbound:subscriptions:v1"
CACHE_SECONDS = 300  # bounds how long a table written out of order by two racing changes can last
LOCAL_SECONDS = 60.0
_local: tuple[float, list] | None = None

def secret_generate() -> str:
    """A new Standard Webhooks secret: "whsec_" and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def allowed_hosts() -> tuple[str, ...]:
    """Hosts (host or host:port) a webhook may reach though they are internal: tests, local setups."""
    return tuple(getattr(settings, "OUTBOUND_WEBHOOK_ALLOWED_HOSTS", ()))


def subscription_url_validate(*, url: str) -> None:
    """Refuse a URL the SSRF rules would never deliver to (internal address, odd port, no DNS)."""
    try:
        url_check(url=url, allow=allowed_hosts())
    except FetchError as exc:  # UnsafeURL, unresolvable or a DNS timeout: say which
        raise ValidationError({"url": URL_REFUSED.format(reason=exc)}) from exc


def subscription_events_validate(*, events: list[str]) -> list[str]:
    """The event names, checked against the spine's, without repeats."""
    if not events:
        raise ValidationError({"events": EVENTS_REQUIRED})
    for name in events:
        if name not in EVENT_NAMES:
            raise ValidationError({"events": EVENT_UNKNOWN.format(name=name)})
    return list(dict.fromkeys(events))


def subscription_create(
    *, url: str, events: list[str], by: User | None, description: str = "", is_active: bool = True,
) -> WebhookSubscription:
    """A new subscription with a fresh secret (the caller shows it once)."""
    subscription_url_validate(url=url)
    return WebhookSubscription.objects.create(
        url=url, events=subscription_events_validate(events=events), description=description, is_active=is_active,
        secret=secret_generate(), created_by=by,
    )


def subscription_update(
    *, subscription: WebhookSubscription, url: str | None = None, events: list[str] | None = None,
    description: str | None = None, is_active: bool | None = None,
) -> WebhookSubscription:
    """Change a subscription; turning it back on clears why it was disabled."""
    if url is not None and url != subscription.url:
        subscription_url_validate(url=url)
        subscription.url = url
    if events is not None:
        subscription.events = subscription_events_validate(events=events)
    if description is not None:
        subscription.description = description
    if is_active is not None:
        if is_active and not subscription.is_active:
            subscription.disabled_reason = ""
        subscription.is_active = is_active
    subscription.save()
    return subscription


def subscription_rotate_secret(*, subscription: WebhookSubscription) -> str:
    """Give the subscription a new secret and return it (shown once)."""
    subscription.secret = secret_generate()
    subscription.save(update_fields=["secret", "updated_at"])
    return subscription.secret


def _table_load() -> list[tuple[int, list[str]]]:
    return [
        (pk, events) for pk, events in
        WebhookSubscription.objects.filter(is_active=True).order_by("pk").values_list("pk", "events")
    ]


def _remember(table: list) -> None:
    global _local
    _local = (time.monotonic() + LOCAL_SECONDS, table)


def subscriptions_wanting(*, name: str) -> list[int]:
    """The ids of the active subscriptions that want this event (from the cache when it has them)."""
    table = cache.get(CACHE_KEY)
    if table is None and _local is not None and _local[0] > time.monotonic():
        table = _local[1]
    elif table is None:
        table = _table_load()
        # Only a committed table is shared: one read inside a transaction that rolls back must not
        # leave other processes a subscription that never existed.
        transaction.on_commit(lambda: cache.add(CACHE_KEY, table, CACHE_SECONDS))
        if not transaction.get_connection().in_atomic_block:
            _remember(table)
    else:
        _remember(table)
    return [pk for pk, events in table if name in events]


def _table_publish() -> None:
    cache.set(CACHE_KEY, _table_load(), CACHE_SECONDS)


@receiver(post_save, sender=WebhookSubscription, dispatch_uid="leadcrm_webhook_subscriptions_forget_on_save")
@receiver(post_delete, sender=WebhookSubscription, dispatch_uid="leadcrm_webhook_subscriptions_forget_on_delete")
def subscriptions_forget(**kwargs) -> None:
    """A subscription changed: drop the tables now (this transaction reads the database) and
    write the committed one on commit (other processes read it from then on)."""
    global _local
    _local = None
    cache.delete(CACHE_KEY)
    transaction.on_commit(_table_publish)


def subscriptions_cache_empty() -> None:
    """Tests start with no subscriptions: say so, so that events read no table."""
    cache.set(CACHE_KEY, [], CACHE_SECONDS)
    _remember([])
