"""The webhook channel: chat, ads lead forms, webinars and other tools post signed JSON to
/api/v1/capture/webhook/<key>. Each WebhookSource says how its JSON maps to lead fields."""
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction

from ..models import CaptureRecord, Interaction, Lead, WebhookEvent, WebhookSource
from ..models.capture import _new_secret
from ..safejson import BODY_NOT_JSON, LONE_SURROGATE, JSONRejected, json_loads_safe
from .cleaning import CAPTURE_FIELDS
from .service import CaptureContext, CaptureEvent, capture, capture_ignore

SIGNATURE_HEADER = "X-LeadCRM-Signature"
SIGNATURE_PREFIX = "sha256="

UNKNOWN_SOURCE = "No active webhook source has this key."
SIGNATURE_MISSING = f"Sign the body: {SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of the raw body with the source's secret>."
SIGNATURE_INVALID = "The signature does not match the body."
RATE_LIMITED = "Too many requests for this webhook source. Retry later."
BAD_JSON = "The body is not valid JSON."
NOT_OBJECT = "The body must be a JSON object."
INVALID_UTF8 = "The body is not valid UTF-8 text."
NUL_NOT_ALLOWED = "NUL characters are not allowed."
MAPPING_NOT_OBJECT = "The mapping must be a JSON object: lead field → dotted path."
MAPPING_BAD_FIELD = "Not a lead field: {name}. Use one of {choices}, or attributes.<name>."
MAPPING_BAD_PATH = "The path for {name} must be a non-empty dotted path, e.g. contact.email or answers.0.value."
TAGS_NOT_LIST = "Default tags must be a list of text."

# A rejected request keeps only this much of its body in the capture log.
REJECTED_PREVIEW_CHARS = 2000
ATTRIBUTE_PREFIX = "attributes."
MAPPABLE_FIELDS = sorted(CAPTURE_FIELDS - {"attributes"})
# Subjects of the timeline entry, by channel (chat leaves a chat entry with the transcript).
EVENT_SUBJECTS = {
    WebhookSource.Channel.ADS: "Ads lead form",
    WebhookSource.Channel.WEBINAR: "Webinar registration",
    WebhookSource.Channel.SOCIAL: "Social lead",
    WebhookSource.Channel.OTHER: "Webhook event",
}
_MISSING = object()


class WebhookRejected(Exception):
    """The request cannot be taken; `status` is the HTTP answer and `message` says why."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class WebhookOutcome:
    lead: Lead | None
    created: bool
    duplicate: bool
    record: CaptureRecord


def webhook_lead_channel(*, source: WebhookSource | None) -> str:
    """The lead source a webhook source feeds: chat tools are the chat channel, the rest webhooks."""
    if source is not None and source.channel == WebhookSource.Channel.CHAT:
        return Lead.Source.CHAT
    return Lead.Source.WEBHOOK


def webhook_signature(*, secret: str, body: bytes) -> str:
    """The header value that signs `body`: sha256=<hex HMAC-SHA256 with the secret>."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_verify(*, source: WebhookSource, body: bytes, signature: str | None) -> None:
    """Raise WebhookRejected (401 missing, 403 wrong) unless the signature matches the raw body."""
    if not signature:
        raise WebhookRejected(SIGNATURE_MISSING, status=401)
    expected = webhook_signature(secret=source.secret, body=body)
    # Bytes, not str: compare_digest refuses non-ASCII text, and a header can carry any byte.
    if not source.secret or not hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace")):
        raise WebhookRejected(SIGNATURE_INVALID, status=403)


def _text_problem(value: Any) -> str | None:
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


def webhook_parse(*, body: bytes) -> dict:
    """The body as a JSON object, or WebhookRejected(400) saying what is wrong with it."""
    if b"\x00" in body:
        raise WebhookRejected(NUL_NOT_ALLOWED, status=400)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected(INVALID_UTF8, status=400) from None
    try:
        # Depth, NaN/Infinity/1e999 (jsonb refuses them), numbers beyond 64 bits, lone surrogates.
        payload = json_loads_safe(text)
    except JSONRejected as exc:
        message = {LONE_SURROGATE: INVALID_UTF8, BODY_NOT_JSON: BAD_JSON}.get(exc.message, exc.message)
        raise WebhookRejected(message, status=400) from None
    if not isinstance(payload, dict):
        raise WebhookRejected(NOT_OBJECT, status=400)
    problem = _text_problem(payload)
    if problem:
        raise WebhookRejected(problem, status=400)
    return payload


def json_path_get(data: Any, path: str) -> Any:
    """The value at a dotted path (`contact.email`, `answers.0.value`), or None when absent."""
    if not path:
        return None
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part, _MISSING)
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            current = current[index] if -len(current) <= index < len(current) else _MISSING
        else:
            return None
        if current is _MISSING:
            return None
    return current


def webhook_mapping_validate(*, mapping: Any) -> dict[str, str]:
    """Check a source's mapping (lead field or attributes.<name> → dotted path); raise ValueError."""
    if not isinstance(mapping, dict):
        raise ValueError(MAPPING_NOT_OBJECT)
    for name, path in mapping.items():
        attribute = name.removeprefix(ATTRIBUTE_PREFIX) if name.startswith(ATTRIBUTE_PREFIX) else None
        if (attribute is None and name not in MAPPABLE_FIELDS) or attribute == "":
            raise ValueError(MAPPING_BAD_FIELD.format(name=name, choices=", ".join(MAPPABLE_FIELDS)))
        if not isinstance(path, str) or not path.strip() or any(not part for part in path.strip().split(".")):
            raise ValueError(MAPPING_BAD_PATH.format(name=name))
    return {name: path.strip() for name, path in mapping.items()}


def webhook_map(*, source: WebhookSource, payload: dict) -> dict[str, Any]:
    """Lead data from a payload through the source's mapping, with the source's default tags."""
    data: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for name, path in (source.mapping or {}).items():
        if not isinstance(path, str):
            continue
        value = json_path_get(payload, path)
        if value is None or value == "":
            continue
        if name.startswith(ATTRIBUTE_PREFIX):
            attributes[name.removeprefix(ATTRIBUTE_PREFIX)] = value
        else:
            data[name] = value
    if attributes:
        data["attributes"] = attributes
    tags = [tag for tag in (source.default_tags or []) if isinstance(tag, str)]
    if tags:
        mapped = data.get("tags")
        if isinstance(mapped, str):
            mapped = [mapped]
        data["tags"] = [*tags, *mapped] if isinstance(mapped, list) else tags
    return data


def _time_text(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value  # epoch milliseconds or seconds
        try:
            return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        except (OverflowError, OSError, ValueError):
            return str(value)
    return str(value) if value not in (None, "") else ""


def _first(message: dict, names: tuple[str, ...]) -> Any:
    for name in names:
        if message.get(name) not in (None, ""):
            return message[name]
    return None


def transcript_render(value: Any) -> str:
    """A chat transcript as readable lines: `[time] author: text`, from a list of messages or a string."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        value = _first(value, ("messages", "items", "transcript")) or [value]
    if not isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    lines = []
    for message in value:
        if not isinstance(message, dict):
            lines.append(str(message))
            continue
        author = _first(message, ("from", "author", "sender", "name", "role", "user"))
        if isinstance(author, dict):
            author = _first(author, ("name", "display_name", "email", "id"))
        text = _first(message, ("text", "message", "body", "content"))
        when = _time_text(_first(message, ("time", "timestamp", "at", "created_at", "sent_at")))
        text = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False) if text is not None else ""
        prefix = f"[{when}] " if when else ""
        lines.append(f"{prefix}{author or 'unknown'}: {text}")
    return "\n".join(lines)


def _event_id(source: WebhookSource, payload: dict) -> str:
    if not source.event_id_path:
        return ""
    value = json_path_get(payload, source.event_id_path)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    return str(value).strip()[:200]


def webhook_preview(*, body: bytes) -> dict:
    """What the capture log keeps of a rejected body: the start of it, never all of it."""
    return {"body": body[:REJECTED_PREVIEW_CHARS].decode("utf-8", "replace"), "bytes": len(body)}


def webhook_receive(*, source: WebhookSource, payload: dict, context: CaptureContext) -> WebhookOutcome:
    """Take one verified payload: claim its event id (a replay is logged and ignored), map it to
    lead fields and capture it leniently, with a chat or event entry on the timeline."""
    event_id = _event_id(source, payload)
    transcript = transcript_render(json_path_get(payload, source.transcript_path)) if source.transcript_path else ""
    if source.channel == WebhookSource.Channel.CHAT:
        event = CaptureEvent(kind=Interaction.Kind.CHAT, subject=f"Chat: {source.name}", body=transcript)
    else:
        subject = f"{EVENT_SUBJECTS.get(source.channel, 'Webhook event')}: {source.name}"
        event = CaptureEvent(kind=Interaction.Kind.EVENT, subject=subject, body=transcript)
    event.data = {"webhook_source": source.key, "webhook_channel": source.channel, **({"event_id": event_id} if event_id else {})}
    with transaction.atomic():
        claim = None
        if event_id:
            # Claim first: the unique (source, event_id) row settles concurrent replays in the
            # database; a second insert waits for the first transaction, then fails.
            try:
                with transaction.atomic():
                    claim = WebhookEvent.objects.create(source=source, event_id=event_id)
            except IntegrityError:
                original = WebhookEvent.objects.filter(source=source, event_id=event_id).select_related("capture").first()
                lead = original.capture.lead if original and original.capture else None
                record = capture_ignore(context=context, reason=f"duplicate event {event_id}", lead=lead)
                return WebhookOutcome(lead=lead, created=False, duplicate=True, record=record)
        result = capture(
            data=webhook_map(source=source, payload=payload), context=context, event=event,
            strict=False, team_id=source.team_id,
        )
        if claim is not None:
            claim.capture = result.record
            claim.save(update_fields=["capture"])
    return WebhookOutcome(lead=result.lead, created=result.created, duplicate=False, record=result.record)


def webhook_secret_regenerate(*, source: WebhookSource) -> str:
    """Give the source a new signing secret (the old one stops working at once)."""
    source.secret = _new_secret()
    source.save(update_fields=["secret"])
    return source.secret


def webhook_curl_example(*, source: WebhookSource, url: str) -> str:
    """A shell example that signs a body with the source's secret and posts it."""
    return (
        "BODY='{\"email\": \"ada@example.com\", \"name\": \"Ada Lovelace\"}'\n"
        f"SIG=$(printf '%s' \"$BODY\" | openssl dgst -sha256 -hmac '{source.secret}' -r | cut -d' ' -f1)\n"
        f"curl -X POST '{url}' \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  -H \"{SIGNATURE_HEADER}: sha256=$SIG\" \\\n"
        "  --data-binary \"$BODY\""
    )
