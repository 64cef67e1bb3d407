"""Typeform (https://www.typeform.com/developers/webhooks/secure-your-webhooks/): the header
`Typeform-Signature: sha256=<base64 of HMAC-SHA256 of the raw body, keyed with the webhook's
secret>`. No timestamp is signed, so replays are stopped by the event id (`event_id`)."""

import base64
import hashlib
import hmac
from collections.abc import Mapping

from ...models import WebhookSource
from .base import Item, Provider, header
from .core import SIGNATURE_INVALID, WebhookRejected, digests_match

TYPEFORM_HEADER = "Typeform-Signature"
TYPEFORM_MISSING = (
    f"Typeform signs with {TYPEFORM_HEADER}: set the webhook's secret in Typeform to this source's secret."
)


def typeform_signature(*, secret: str, body: bytes) -> str:
    """sha256=<base64 HMAC-SHA256 of the body>, as Typeform sends it."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode("ascii")


class TypeformProvider(Provider):
    key = WebhookSource.Provider.TYPEFORM
    channel = WebhookSource.Channel.FORM
    signature_header = TYPEFORM_HEADER
    secret_help = "Typeform: Connect → Webhooks → Edit → Secret. Paste the same value here."
    event_id_path = "event_id"
    # Answers are picked by their type; a form with several text questions maps them by
    # field ref instead: "company": "form_response.answers[field.ref=company].text".
    default_mapping = {
        "email": "form_response.answers[type=email].email",
        "phone": "form_response.answers[type=phone_number].phone_number",
        "full_name": {"first": ["form_response.hidden.name", "form_response.answers[type=text].text"]},
        "utm_source": {"first": ["form_response.hidden.utm_source", "form_response.metadata.referer"]},
        "utm_campaign": "form_response.hidden.utm_campaign",
        "attributes.typeform_form_id": "form_response.form_id",
        "attributes.typeform_response_token": "form_response.token",
    }
    docs_page = "docs/providers/typeform.md"

    def verify(self, *, source: WebhookSource, body: bytes, headers: Mapping[str, str], now: float) -> None:
        received = header(headers, TYPEFORM_HEADER)
        if not received:
            raise WebhookRejected(TYPEFORM_MISSING, status=401)
        expected = typeform_signature(secret=self.require_secret(source), body=body)
        if not digests_match(expected, received):
            raise WebhookRejected(SIGNATURE_INVALID, status=403)

    def items(self, *, source: WebhookSource, payload: dict) -> list[Item]:
        item = Item(payload=payload, event_id=self.event_id(source=source, payload=payload))
        if payload.get("event_type") != "form_response":
            item.skip = f"Typeform event {str(payload.get('event_type'))[:60]} carries no response"
        return [item]
