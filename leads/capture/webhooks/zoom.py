"""Zoom (https://developers.zoom.us/docs/api/webhooks/): every request, the URL validation too,
carries `x-zm-request-timestamp` (epoch seconds) and `x-zm-signature: v0=<hex HMAC-SHA256 of
"v0:{timestamp}:{raw body}", keyed with the app's Secret Token>`. The validation request is a POST
with `event: endpoint.url_validation` and `payload.plainToken`; the answer is
`{"plainToken": ..., "encryptedToken": <hex HMAC-SHA256 of plainToken with the Secret Token>}`.

The validation is answered only once its signature checks: answered unsigned, it would hand
anyone the HMAC of a text of their choosing, and `v0:{ts}:{body}` is exactly such a text."""

import hashlib
import hmac
from collections.abc import Mapping

from ...models import WebhookSource
from .base import Answer, Item, Provider, header, id_text
from .core import SIGNATURE_INVALID, SIGNATURE_MALFORMED, TIMESTAMP_STALE, WebhookRejected, digests_match
from .mapping import json_path_get

ZOOM_SIGNATURE_HEADER = "x-zm-signature"
ZOOM_TIMESTAMP_HEADER = "x-zm-request-timestamp"
ZOOM_MISSING = (
    f"Zoom signs with {ZOOM_SIGNATURE_HEADER} and {ZOOM_TIMESTAMP_HEADER}: paste the app's Secret Token here."
)
URL_VALIDATION = "endpoint.url_validation"
PLAIN_TOKEN_BAD = "The URL validation has no usable payload.plainToken."
# Events about a person who registered or joined; others (meeting.started…) make no lead.
PERSON_EVENTS = frozenset(
    {
        "webinar.registration_created",
        "meeting.registration_created",
        "webinar.registration_approved",
        "meeting.registration_approved",
        "webinar.participant_joined",
        "meeting.participant_joined",
    }
)


def zoom_hmac(*, secret: str, message: str) -> str:
    """Hex HMAC-SHA256 of a text with the Secret Token."""
    return hmac.new(secret.encode(), message.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def zoom_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """v0=<hex HMAC-SHA256 of v0:{timestamp}:{body}>, as Zoom sends it."""
    message = b"v0:" + timestamp.encode("ascii", "replace") + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class ZoomProvider(Provider):
    key = WebhookSource.Provider.ZOOM
    channel = WebhookSource.Channel.WEBINAR
    signature_header = ZOOM_SIGNATURE_HEADER
    secret_help = "Zoom App Marketplace: your app → Features → Access → Secret Token."
    tolerance_seconds = 300
    default_mapping = {
        "email": {"first": ["payload.object.registrant.email", "payload.object.participant.email"]},
        "first_name": "payload.object.registrant.first_name",
        "last_name": "payload.object.registrant.last_name",
        "full_name": "payload.object.participant.user_name",
        "phone": "payload.object.registrant.phone",
        "company": "payload.object.registrant.org",
        "job_title": "payload.object.registrant.job_title",
        "city": "payload.object.registrant.city",
        "region": "payload.object.registrant.state",
        "country": "payload.object.registrant.country",
        "postal_code": "payload.object.registrant.zip",
        "industry": "payload.object.registrant.industry",
        "utm_campaign": "payload.object.topic",
        "attributes.zoom_event_id": "payload.object.id",
        "attributes.zoom_questions": "payload.object.registrant.custom_questions",
    }
    docs_page = "docs/providers/zoom.md"

    def verify(self, *, source: WebhookSource, body: bytes, headers: Mapping[str, str], now: float) -> None:
        received, timestamp = header(headers, ZOOM_SIGNATURE_HEADER), header(headers, ZOOM_TIMESTAMP_HEADER)
        if not received or not timestamp:
            raise WebhookRejected(ZOOM_MISSING, status=401)
        if not timestamp.strip().isascii() or not timestamp.strip().isdigit() or len(timestamp.strip()) > 12:
            raise WebhookRejected(SIGNATURE_MALFORMED, status=403)
        expected = zoom_signature(secret=self.require_secret(source), timestamp=timestamp.strip(), body=body)
        if not digests_match(expected, received):
            raise WebhookRejected(SIGNATURE_INVALID, status=403)
        # Checked after the signature, so the timestamp itself is known to be Zoom's.
        if abs(now - int(timestamp.strip())) > self.tolerance_seconds:
            raise WebhookRejected(TIMESTAMP_STALE, status=403)

    def handshake(self, *, source: WebhookSource, payload: dict) -> Answer | None:
        if payload.get("event") != URL_VALIDATION:
            return None
        plain = json_path_get(payload, "payload.plainToken")
        if not isinstance(plain, str) or not plain or len(plain) > 256:
            return Answer(status=400, json={"detail": PLAIN_TOKEN_BAD})
        return Answer(json={"plainToken": plain, "encryptedToken": zoom_hmac(secret=source.secret, message=plain)})

    def event_id(self, *, source: WebhookSource, payload: dict) -> str:
        if source.event_id_path:
            return super().event_id(source=source, payload=payload)
        # Zoom sends no event id: the event name, the meeting and the person make one.
        person = (
            id_text(json_path_get(payload, "payload.object.registrant.id"))
            or id_text(json_path_get(payload, "payload.object.participant.participant_uuid"))
            or id_text(json_path_get(payload, "payload.object.participant.id"))
        )
        if not person:
            return ""
        return f"{id_text(payload.get('event'))}:{id_text(json_path_get(payload, 'payload.object.uuid'))}:{person}"[
            :200
        ]

    def items(self, *, source: WebhookSource, payload: dict) -> list[Item]:
        item = Item(payload=payload, event_id=self.event_id(source=source, payload=payload))
        if payload.get("event") not in PERSON_EVENTS:
            item.skip = f"Zoom event {str(payload.get('event'))[:60]} is not about a registrant"
        return [item]
