"""Intercom (https://developers.intercom.com/docs/references/webhooks/webhook-models, "Signed
notifications"): `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body, keyed with the app's
client_secret>`. No timestamp is signed; the notification id (`id`, notif_…) stops replays.
Intercom checks the URL with a HEAD request when it is saved (answered 200 by the endpoint) and
sends a `ping` topic as a test, which makes no lead. Contacts and users arrive with one `name`;
the default mapping splits it."""

import hashlib
import hmac
from collections.abc import Mapping

from ...models import WebhookSource
from .base import Answer, Item, Provider, header
from .core import SIGNATURE_INVALID, WebhookRejected, digests_match

INTERCOM_HEADER = "X-Hub-Signature"
INTERCOM_MISSING = (
    f"Intercom signs with {INTERCOM_HEADER}: paste your app's client secret (Developer Hub → Basic info)."
)
PERSON_TOPICS = frozenset(
    {
        "contact.created",
        "contact.lead.created",
        "contact.user.created",
        "contact.lead.signed_up",
        "user.created",
        "conversation.user.created",
        "contact.lead.updated",
        "contact.user.updated",
    }
)


def intercom_signature(*, secret: str, body: bytes) -> str:
    """sha1=<hex HMAC-SHA1 of the body>, as Intercom sends it."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


class IntercomProvider(Provider):
    key = WebhookSource.Provider.INTERCOM
    channel = WebhookSource.Channel.CHAT
    signature_header = INTERCOM_HEADER
    secret_help = "Intercom Developer Hub: your app → Basic information → Client secret."
    event_id_path = "id"
    transcript_path = "data.item.conversation_parts.conversation_parts"
    default_mapping = {
        "email": {"first": ["data.item.email", "data.item.source.author.email", "data.item.contacts.contacts.0.email"]},
        "phone": "data.item.phone",
        "full_name": {"first": ["data.item.name", "data.item.source.author.name"]},
        "city": "data.item.location.city",
        "region": "data.item.location.region",
        "country": "data.item.location.country",
        "external_id": "data.item.external_id",
        "utm_source": "data.item.utm_source",
        "utm_campaign": "data.item.utm_campaign",
        "attributes.intercom_id": {"first": ["data.item.id"]},
        "attributes.intercom_topic": "topic",
        "attributes.intercom_first_message": "data.item.source.body",
    }
    docs_page = "docs/providers/intercom.md"

    def verify(self, *, source: WebhookSource, body: bytes, headers: Mapping[str, str], now: float) -> None:
        received = header(headers, INTERCOM_HEADER)
        if not received:
            raise WebhookRejected(INTERCOM_MISSING, status=401)
        if not digests_match(intercom_signature(secret=self.require_secret(source), body=body), received):
            raise WebhookRejected(SIGNATURE_INVALID, status=403)

    def handshake(self, *, source: WebhookSource, payload: dict) -> Answer | None:
        if payload.get("topic") == "ping":
            return Answer(json={"status": "pong"})
        return None

    def items(self, *, source: WebhookSource, payload: dict) -> list[Item]:
        item = Item(payload=payload, event_id=self.event_id(source=source, payload=payload))
        if payload.get("topic") not in PERSON_TOPICS:
            item.skip = f"Intercom topic {str(payload.get('topic'))[:60]} makes no lead"
        return [item]
