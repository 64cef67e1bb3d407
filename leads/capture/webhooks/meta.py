"""Meta Lead Ads (https://developers.facebook.com/docs/graph-api/webhooks/getting-started and
…/marketing-api/guides/lead-ads/retrieving):
- the subscription check is a GET with `hub.mode=subscribe`, `hub.verify_token` (the Verify Token
  typed into the app dashboard) and `hub.challenge`, answered with the challenge alone;
- deliveries carry `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed with the
  app secret>`;
- a `leadgen` change carries only ids (leadgen_id, page_id, form_id, ad_id, adgroup_id,
  created_time): the lead itself is read from the Graph API with the page access token
  (meta_graph.py). One delivery may carry several leads."""

import hashlib
import hmac
import re
from collections.abc import Mapping

from ...models import WebhookSource
from .base import Answer, Item, Provider, header, id_text
from .core import SIGNATURE_INVALID, WebhookRejected, digests_match
from .meta_graph import meta_lead_fetch, meta_lead_flatten

META_HEADER = "X-Hub-Signature-256"
META_MISSING = f"Meta signs with {META_HEADER}: paste the app secret (App settings → Basic) here."
VERIFY_TOKEN_WRONG = "hub.verify_token does not match this source's verify token."
VERIFY_PARAMS_MISSING = "A subscription check needs hub.mode=subscribe, hub.verify_token and hub.challenge."
NOT_LEADGEN = "Meta change {field} is not a lead"
# Meta's challenge is a number; anything else is not echoed (the answer must never carry markup).
_CHALLENGE = re.compile(r"[A-Za-z0-9_.\-]{1,256}")


def meta_signature(*, secret: str, body: bytes) -> str:
    """sha256=<hex HMAC-SHA256 of the body with the app secret>, as Meta sends it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class MetaProvider(Provider):
    key = WebhookSource.Provider.META
    channel = WebhookSource.Channel.ADS
    signature_header = META_HEADER
    secret_help = "Meta app dashboard: App settings → Basic → App secret."
    default_mapping = {
        "email": {"first": ["fields.email", "fields.work_email"]},
        "full_name": "fields.full_name",
        "first_name": "fields.first_name",
        "last_name": "fields.last_name",
        "phone": {"first": ["fields.phone_number", "fields.work_phone_number"]},
        "company": "fields.company_name",
        "job_title": "fields.job_title",
        "city": "fields.city",
        "region": "fields.state",
        "country": "fields.country",
        "postal_code": {"first": ["fields.zip_code", "fields.post_code"]},
        "utm_source": {"value": "facebook"},
        "utm_medium": {"value": "paid_social"},
        "utm_campaign": {"first": ["campaign_name", "campaign_id"]},
        "attributes.meta_leadgen_id": "leadgen_id",
        "attributes.meta_page_id": "page_id",
        "attributes.meta_form_id": "form_id",
        "attributes.meta_ad_id": "ad_id",
        "attributes.meta_adset_id": {"first": ["adset_id", "adgroup_id"]},
        "attributes.meta_campaign_id": "campaign_id",
        "attributes.meta_platform": "platform",
        "attributes.meta_answers": "fields",
    }
    docs_page = "docs/providers/meta-lead-ads.md"

    def verify(self, *, source: WebhookSource, body: bytes, headers: Mapping[str, str], now: float) -> None:
        received = header(headers, META_HEADER)
        if not received:
            raise WebhookRejected(META_MISSING, status=401)
        if not digests_match(meta_signature(secret=self.require_secret(source), body=body), received):
            raise WebhookRejected(SIGNATURE_INVALID, status=403)

    def answer_get(self, *, source: WebhookSource, query: Mapping[str, str]) -> Answer:
        mode, token, challenge = query.get("hub.mode"), query.get("hub.verify_token"), query.get("hub.challenge")
        if mode != "subscribe" or not token or not challenge or not _CHALLENGE.fullmatch(challenge):
            raise WebhookRejected(VERIFY_PARAMS_MISSING, status=400)
        if not source.verify_token or not digests_match(source.verify_token, token):
            raise WebhookRejected(VERIFY_TOKEN_WRONG, status=403)
        return Answer(text=challenge)

    def items(self, *, source: WebhookSource, payload: dict) -> list[Item]:
        items = []
        entries = payload.get("entry") if isinstance(payload.get("entry"), list) else []
        for entry in entries[:100]:
            changes = entry.get("changes") if isinstance(entry, dict) and isinstance(entry.get("changes"), list) else []
            for change in changes[:100]:
                if not isinstance(change, dict):
                    continue
                value = change.get("value") if isinstance(change.get("value"), dict) else {}
                leadgen_id = id_text(value.get("leadgen_id"))
                item = Item(payload={}, event_id=leadgen_id, meta={"change": value})
                if change.get("field") != "leadgen" or not leadgen_id.isdigit():
                    item.skip = NOT_LEADGEN.format(field=str(change.get("field"))[:40])
                items.append(item)
        if not items:
            items.append(
                Item(payload=payload, skip=f"Meta {str(payload.get('object'))[:40]} delivery has no leadgen change")
            )
        return items

    def resolve(self, *, source: WebhookSource, item: Item) -> dict:
        """Read the lead behind a leadgen change from the Graph API (GraphUnavailable, GraphRefused)."""
        if item.payload:
            return item.payload
        change = {name: id_text(value) for name, value in item.meta.get("change", {}).items()}
        lead = meta_lead_fetch(access_token=source.access_token, leadgen_id=item.event_id)
        flat = meta_lead_flatten(lead=lead, change=change)
        meta_form_remember(source=source, form_id=flat.get("form_id", ""))
        return flat


def meta_form_remember(*, source: WebhookSource, form_id: str) -> None:
    """Add a form id seen in a webhook to the forms the backfill lists."""
    form_id = id_text(form_id)
    if form_id.isdigit() and form_id not in (source.form_ids or []):
        source.form_ids = [*(source.form_ids or []), form_id][-200:]
        WebhookSource.objects.filter(pk=source.pk).update(form_ids=source.form_ids)
