"""What every webhook provider shares: the rejection type, the messages tests assert on, and the
checks of a raw body before anything reads it (JSON, text, NUL, lone surrogates)."""

import hmac
from typing import Any

from ...common.safejson import BODY_NOT_JSON, LONE_SURROGATE, JSONRejected, json_loads_safe
from ...models import Lead, WebhookSource

UNKNOWN_SOURCE = "No active webhook source has this key."
SIGNATURE_INVALID = "The signature does not match the body."
SIGNATURE_MALFORMED = "The signature header is not in the provider's format."
TIMESTAMP_STALE = "The signed timestamp is too far from now: a replay, or a clock that is off."
NO_SECRET = "This source has no secret yet: paste the provider's secret into it first."
RATE_LIMITED = "Too many requests for this webhook source. Retry later."
BAD_JSON = "The body is not valid JSON."
NOT_OBJECT = "The body must be a JSON object."
INVALID_UTF8 = "The body is not valid UTF-8 text."
NUL_NOT_ALLOWED = "NUL characters are not allowed."
METHOD_NOT_ALLOWED = "This source's provider answers only POST here."

# A rejected request keeps only this much of its body in the capture log.
REJECTED_PREVIEW_CHARS = 2000


class WebhookRejected(Exception):
    """The request cannot be taken; `status` is the HTTP answer and `message` says why."""

    def __init__(self, message: str, *, status: int, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = headers or {}


def digests_match(expected: str, received: str | None) -> bool:
    """Constant-time comparison of two signature texts; any byte a header can carry is safe here."""
    if not received:
        return False
    # Bytes, not str: compare_digest refuses non-ASCII text, and a header can carry any byte.
    return hmac.compare_digest(expected.encode(), received.strip().encode("utf-8", "replace"))


def webhook_lead_channel(*, source: WebhookSource | None) -> str:
    """The lead source a webhook source feeds: chat tools are the chat channel, the rest webhooks."""
    if source is not None and source.channel == WebhookSource.Channel.CHAT:
        return Lead.Source.CHAT
    return Lead.Source.WEBHOOK


def text_problem(value: Any) -> str | None:
    """NUL or lone surrogates anywhere: PostgreSQL's jsonb would refuse them with a 500."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return NUL_NOT_ALLOWED
            if any("\ud800" <= char <= "\udfff" for char in item):
                return INVALID_UTF8
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def body_text(body: bytes) -> str:
    """The body as text, or WebhookRejected(400) for NUL bytes and invalid UTF-8."""
    if b"\x00" in body:
        raise WebhookRejected(NUL_NOT_ALLOWED, status=400)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected(INVALID_UTF8, status=400) from None


def json_object(text: str) -> dict:
    """A JSON object from text, with the edge's checks (depth, huge numbers, NaN, surrogates)."""
    try:
        payload = json_loads_safe(text)
    except JSONRejected as exc:
        message = {LONE_SURROGATE: INVALID_UTF8, BODY_NOT_JSON: BAD_JSON}.get(exc.message, exc.message)
        raise WebhookRejected(message, status=400) from None
    if not isinstance(payload, dict):
        raise WebhookRejected(NOT_OBJECT, status=400)
    problem = text_problem(payload)
    if problem:
        raise WebhookRejected(problem, status=400)
    return payload


def webhook_parse(*, body: bytes) -> dict:
    """The body as a JSON object, or WebhookRejected(400) saying what is wrong with it."""
    return json_object(body_text(body))


def webhook_preview(*, body: bytes) -> dict:
    """What the capture log keeps of a rejected body: the start of it, never all of it."""
    return {"body": body[:REJECTED_PREVIEW_CHARS].decode("utf-8", "replace"), "bytes": len(body)}
