"""The webhook channel: chat, ads lead forms, webinars, meetings and form tools post to
/api/v1/capture/webhook/<key>. Each WebhookSource has a provider (a module here) that knows how its
tool signs, which handshakes it sends, where its event id is and how its JSON maps to a lead; the
capture itself always goes through leads.capture.capture. Public names stay importable from
leads.capture.webhooks."""
from .backfill import BackfillResult, meta_backfill, meta_backfill_all
from .base import Answer, Item, Provider
from .core import (
    BAD_JSON,
    INVALID_UTF8,
    METHOD_NOT_ALLOWED,
    NO_SECRET,
    NOT_OBJECT,
    NUL_NOT_ALLOWED,
    RATE_LIMITED,
    REJECTED_PREVIEW_CHARS,
    SIGNATURE_INVALID,
    SIGNATURE_MALFORMED,
    TIMESTAMP_STALE,
    UNKNOWN_SOURCE,
    WebhookRejected,
    webhook_lead_channel,
    webhook_parse,
    webhook_preview,
)
from .generic import (
    SIGNATURE_HEADER,
    SIGNATURE_MISSING,
    SIGNATURE_PREFIX,
    webhook_curl_example,
    webhook_secret_regenerate,
    webhook_signature,
    webhook_verify,
)
from .mapping import (
    ATTRIBUTE_PREFIX,
    FULL_NAME,
    MAPPABLE_FIELDS,
    MAPPING_BAD_FIELD,
    MAPPING_BAD_PATH,
    MAPPING_BAD_RULE,
    MAPPING_NOT_OBJECT,
    TAGS_NOT_LIST,
    json_path_get,
    name_split,
    webhook_map,
    webhook_mapping_validate,
)
from .meta_graph import GRAPH_REFUSED, GRAPH_UNAVAILABLE, GraphRefused, GraphUnavailable
from .receive import EVENT_SUBJECTS, WebhookOutcome, transcript_render, webhook_capture_item, webhook_receive
from .registry import PROVIDERS, provider_for

__all__ = [
    "ATTRIBUTE_PREFIX", "BAD_JSON", "EVENT_SUBJECTS", "FULL_NAME", "GRAPH_REFUSED", "GRAPH_UNAVAILABLE",
    "INVALID_UTF8", "MAPPABLE_FIELDS", "MAPPING_BAD_FIELD", "MAPPING_BAD_PATH", "MAPPING_BAD_RULE",
    "MAPPING_NOT_OBJECT", "METHOD_NOT_ALLOWED", "NOT_OBJECT", "NO_SECRET", "NUL_NOT_ALLOWED", "PROVIDERS",
    "RATE_LIMITED", "REJECTED_PREVIEW_CHARS", "SIGNATURE_HEADER", "SIGNATURE_INVALID", "SIGNATURE_MALFORMED",
    "SIGNATURE_MISSING", "SIGNATURE_PREFIX", "TAGS_NOT_LIST", "TIMESTAMP_STALE", "UNKNOWN_SOURCE", "Answer",
    "BackfillResult", "GraphRefused", "GraphUnavailable", "Item", "Provider", "WebhookOutcome", "WebhookRejected",
    "json_path_get", "meta_backfill", "meta_backfill_all", "name_split", "provider_for", "transcript_render",
    "webhook_capture_item", "webhook_curl_example", "webhook_lead_channel", "webhook_map", "webhook_mapping_validate",
    "webhook_parse", "webhook_preview", "webhook_receive", "webhook_secret_regenerate", "webhook_signature",
    "webhook_verify",
]
