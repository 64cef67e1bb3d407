"""Subscriptions: made and changed by managers (page and API), their secret, their URL checked
under the SSRF rules, and the cached list of who wants which event (read on every event)."""

from __future__ import annotations

import base64
import secrets
import time

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ..common.safe_http import FetchError, url_check
from ..models import WebhookSubscription
from .payloads import EVENT_NAMES

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32

URL_REFUSED = "This URL cannot receive webhooks: {reason}"
EVENTS_REQUIRED = "Choose at least one event."
EVENT_UNKNOWN = "Unknown event: {name}."

# Who wants which event, as [(subscription id, [event names])] of the active subscriptions. Every
# event reads it, so each process keeps the table it read for CACHE_SECONDS instead of a query per
# event (and not in Redis: a slow or silent Redis must not hold up capture). A change is seen at
# once by the process that made it, and by the others within CACHE_SECONDS.
CACHE_SECONDS = 10.0
_table: tuple[float, list] | None = None


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
    *,
    url: str,
    events: list[str],
    by: User | None,
    description: str = "",
    is_active: bool = True,
) -> WebhookSubscription:
    """A new subscription with a fresh secret (the caller shows it once)."""
    subscription_url_validate(url=url)
    return WebhookSubscription.objects.create(
        url=url,
        events=subscription_events_validate(events=events),
        description=description,
        is_active=is_active,
        secret=secret_generate(),
        created_by=by,
    )


def subscription_update(
    *,
    subscription: WebhookSubscription,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
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
        (pk, events)
        for pk, events in WebhookSubscription.objects.filter(is_active=True).order_by("pk").values_list("pk", "events")
    ]


def _remember(table: list, until: float) -> None:
    global _table
    _table = (until, table)


def subscriptions_wanting(*, name: str) -> list[int]:
    """The ids of the active subscriptions that want this event (from this process's copy while fresh)."""
    kept = _table
    if kept is not None and kept[0] > time.monotonic():
        table = kept[1]
    else:
        table = _table_load()
        until = time.monotonic() + CACHE_SECONDS
        # Only a committed table is kept: a subscription made in a transaction that rolls back
        # must not be heard by the next one.
        transaction.on_commit(lambda: _remember(table, until))
    return [pk for pk, events in table if name in events]


@receiver(post_save, sender=WebhookSubscription, dispatch_uid="leadcrm_webhook_subscriptions_forget_on_save")
@receiver(post_delete, sender=WebhookSubscription, dispatch_uid="leadcrm_webhook_subscriptions_forget_on_delete")
def subscriptions_forget(**kwargs) -> None:
    """A subscription changed: this process reads the table again at the next event."""
    global _table
    _table = None


def subscriptions_assume_none(*, seconds: float = 3600.0) -> None:
    """Say there are no subscriptions, for that long or until one changes: tests start with none,
    and their query counts must not depend on when this process last read the table."""
    _remember([], time.monotonic() + seconds)
