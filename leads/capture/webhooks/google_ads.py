"""Google Ads lead form webhooks (https://developers.google.com/google-ads/webhook/docs/implementation):
Google POSTs JSON (`lead_id`, `user_column_data: [{column_id, column_name, string_value}]`,
`form_id`, `campaign_id`, `adgroup_id`, `creative_id`, `gcl_id`, `is_test`, `api_version`) and
proves itself with `google_key`, the key the advertiser typed into the form's webhook settings,
inside the body. There is no signature and no timestamp; the lead id stops replays."""

from collections.abc import Mapping

from ...models import WebhookSource
from .base import Item, Provider
from .core import SIGNATURE_INVALID, WebhookRejected, digests_match, webhook_parse

GOOGLE_KEY_MISSING = "Google Ads sends its key in the body (google_key): paste the form's webhook key here."


def _column(column_id: str) -> str:
    return f"user_column_data[column_id={column_id}].string_value"


class GoogleAdsProvider(Provider):
    key = WebhookSource.Provider.GOOGLE_ADS
    channel = WebhookSource.Channel.ADS
    signature_header = ""
    secret_help = "Google Ads: the lead form → Lead delivery → Webhook integration → Key. Use the same value here."
    event_id_path = "lead_id"
    default_mapping = {
        "email": {"first": [_column("EMAIL"), _column("WORK_EMAIL")]},
        "phone": {"first": [_column("PHONE_NUMBER"), _column("WORK_PHONE")]},
        "first_name": _column("FIRST_NAME"),
        "last_name": _column("LAST_NAME"),
        "full_name": _column("FULL_NAME"),
        "company": _column("COMPANY_NAME"),
        "job_title": _column("JOB_TITLE"),
        "city": _column("CITY"),
        "region": _column("REGION"),
        "country": _column("COUNTRY"),
        "postal_code": _column("POSTAL_CODE"),
        "utm_source": {"value": "google"},
        "utm_medium": {"value": "cpc"},
        "utm_campaign": "campaign_id",
        "attributes.google_form_id": "form_id",
        "attributes.google_adgroup_id": "adgroup_id",
        "attributes.google_creative_id": "creative_id",
        "attributes.gclid": "gcl_id",
        "attributes.google_is_test": "is_test",
    }
    docs_page = "docs/providers/google-ads.md"

    def verify(self, *, source: WebhookSource, body: bytes, headers: Mapping[str, str], now: float) -> None:
        try:
            received = webhook_parse(body=body).get("google_key")
        except WebhookRejected:
            received = None  # an unreadable body carries no key: unauthenticated, not a 400
        if not isinstance(received, str) or not received:
            raise WebhookRejected(GOOGLE_KEY_MISSING, status=401)
        if not digests_match(self.require_secret(source), received):
            raise WebhookRejected(SIGNATURE_INVALID, status=403)

    def items(self, *, source: WebhookSource, payload: dict) -> list[Item]:
        # The key proved the sender; it is not kept with the lead.
        clean = {name: value for name, value in payload.items() if name != "google_key"}
        return [Item(payload=clean, event_id=self.event_id(source=source, payload=payload))]
