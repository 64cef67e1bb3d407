"""Calendly (https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures): the
header `Calendly-Webhook-Signature: t=<epoch seconds>,v1=<hex HMAC-SHA256 of "{t}.{raw body}",
keyed with the subscription's signing key>`; Calendly's own example refuses a `t` more than three
minutes old."""

import hashlib
import hmac
from collections.abc import Mapping

from ...models import WebhookSource
from .base import Item, Provider, header, id_text
from .core import SIGNATURE_INVALID, SIGNATURE_MALFORMED, TIMESTAMP_STALE, WebhookRejected, digests_match
from .mapping import json_path_get

CALENDLY_HEADER = "Calendly-Webhook-Signature"
CALENDLY_MISSING = (
    f"Calendly signs with {CALENDLY_HEADER}: create the subscription with a signing_key and paste it here."
)
PERSON_EVENTS = frozenset({"invitee.created", "routing_form_submission.created"})


def calendly_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """t=…,v1=<hex HMAC-SHA256 of t.body>, as Calendly sends it."""
    digest = hmac.new(secret.encode(), timestamp.encode("ascii", "replace") + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _parts(value: str) -> dict[str, str]:
    parts = {}
    for piece in value.split(","):
        name, sep, content = piece.strip().partition("=")
        if sep:
            parts.setdefault(name.strip(), content.strip())
    return parts


class CalendlyProvider(Provider):
    key = WebhookSource.Provider.CALENDLY
    channel = WebhookSource.Channel.MEETING
    signature_header = CALENDLY_HEADER
    secret_help = (
        "Calendly: the signing_key you gave POST /webhook_subscriptions (or your OAuth app's webhook signing key)."
    )
    tolerance_seconds = 180
    default_mapping = {
        "email": "payload.email",
        "first_name": "payload.first_name",
        "last_name": "payload.last_name",
        # Calendly's booking page asks for one "Name" unless the event type splits it.
        "full_name": "payload.name",
        "phone": "payload.text_reminder_number",
        "time_zone": "payload.timezone",
        "utm_source": "payload.tracking.utm_source",
        "utm_medium": "payload.tracking.utm_medium",
        "utm_campaign": "payload.tracking.utm_campaign",
        "utm_term": "payload.tracking.utm_term",
        "utm_content": "payload.tracking.utm_content",
        "attributes.calendly_event": "payload.scheduled_event.name",
        "attributes.calendly_start_time": "payload.scheduled_event.start_time",
        "attributes.calendly_answers": "payload.questions_and_answers",
    }
    docs_page = "docs/providers/calendly.md"

    def verify(self, *, source: WebhookSource, body: bytes, headers: Mapping[str, str], now: float) -> None:
        received = header(headers, CALENDLY_HEADER)
        if not received:
            raise WebhookRejected(CALENDLY_MISSING, status=401)
        parts = _parts(received)
        timestamp, signature = parts.get("t", ""), parts.get("v1", "")
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12 or not signature:
            raise WebhookRejected(SIGNATURE_MALFORMED, status=403)
        expected = calendly_signature(secret=self.require_secret(source), timestamp=timestamp, body=body)
        if not digests_match(expected.partition(",v1=")[2], signature):
            raise WebhookRejected(SIGNATURE_INVALID, status=403)
        if abs(now - int(timestamp)) > self.tolerance_seconds:
            raise WebhookRejected(TIMESTAMP_STALE, status=403)

    def event_id(self, *, source: WebhookSource, payload: dict) -> str:
        if source.event_id_path:
            return super().event_id(source=source, payload=payload)
        # The invitee's URI is the booking; with the event name a cancellation is not a "replay".
        uri = id_text(json_path_get(payload, "payload.uri"))
        return f"{id_text(payload.get('event'))}:{uri}"[:200] if uri else ""

    def items(self, *, source: WebhookSource, payload: dict) -> list[Item]:
        item = Item(payload=payload, event_id=self.event_id(source=source, payload=payload))
        if payload.get("event") not in PERSON_EVENTS:
            item.skip = f"Calendly event {str(payload.get('event'))[:60]} makes no lead"
        return [item]
