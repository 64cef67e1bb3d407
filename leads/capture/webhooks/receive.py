"""Taking a verified delivery: claim each item's event id (a replay is logged and ignored), map it
through the source's mapping (or its provider's default) and capture it leniently through the one
front door, with a chat or event entry on the timeline."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction

from ...models import CaptureRecord, Interaction, Lead, WebhookEvent, WebhookSource
from ..service import CaptureContext, CaptureEvent, capture, capture_ignore
from .base import Item, Provider
from .mapping import json_path_get, webhook_map
from .registry import provider_for

# Subjects of the timeline entry, by channel (chat leaves a chat entry with the transcript).
EVENT_SUBJECTS = {
    WebhookSource.Channel.ADS: "Ads lead form",
    WebhookSource.Channel.WEBINAR: "Webinar registration",
    WebhookSource.Channel.SOCIAL: "Social lead",
    WebhookSource.Channel.FORM: "Form response",
    WebhookSource.Channel.MEETING: "Meeting booked",
    WebhookSource.Channel.OTHER: "Webhook event",
}


@dataclass
class WebhookOutcome:
    lead: Lead | None
    created: bool
    duplicate: bool
    record: CaptureRecord
    skipped: bool = False


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


def _event(source: WebhookSource, provider: Provider, payload: dict, event_id: str) -> CaptureEvent:
    path = source.transcript_path or provider.transcript_path
    transcript = transcript_render(json_path_get(payload, path)) if path else ""
    if source.channel == WebhookSource.Channel.CHAT:
        event = CaptureEvent(kind=Interaction.Kind.CHAT, subject=f"Chat: {source.name}", body=transcript)
    else:
        subject = f"{EVENT_SUBJECTS.get(source.channel, 'Webhook event')}: {source.name}"
        event = CaptureEvent(kind=Interaction.Kind.EVENT, subject=subject, body=transcript)
    event.data = {
        "webhook_source": source.key,
        "webhook_channel": source.channel,
        "webhook_provider": source.provider,
        **({"event_id": event_id} if event_id else {}),
    }
    return event


def webhook_capture_item(
    *, source: WebhookSource, provider: Provider, item: Item, context: CaptureContext
) -> WebhookOutcome:
    """Claim one item's event id, then map and capture it; a replay is logged as ignored. A
    provider's resolve() failing (Meta's Graph API) rolls the claim back, so a retry is taken."""
    if item.payload:
        context.payload = item.payload  # what the provider kept (Google's key is dropped, for one)
    if item.skip:
        record = capture_ignore(context=context, reason=item.skip[:200])
        return WebhookOutcome(lead=None, created=False, duplicate=False, record=record, skipped=True)
    with transaction.atomic():
        claim = None
        if item.event_id:
            # Claim first: the unique (source, event_id) row settles concurrent replays in the
            # database; a second insert waits for the first transaction, then fails.
            try:
                with transaction.atomic():
                    claim = WebhookEvent.objects.create(source=source, event_id=item.event_id)
            except IntegrityError:
                original = (
                    WebhookEvent.objects.filter(source=source, event_id=item.event_id).select_related("capture").first()
                )
                lead = original.capture.lead if original and original.capture else None
                record = capture_ignore(context=context, reason=f"duplicate event {item.event_id}", lead=lead)
                return WebhookOutcome(lead=lead, created=False, duplicate=True, record=record)
        payload = context.payload = provider.resolve(source=source, item=item)
        result = capture(
            data=webhook_map(source=source, payload=payload, mapping=provider.mapping(source)),
            context=context,
            event=_event(source, provider, payload, item.event_id),
            strict=False,
            team_id=source.team_id,
        )
        if claim is not None:
            claim.capture = result.record
            claim.save(update_fields=["capture"])
    return WebhookOutcome(lead=result.lead, created=result.created, duplicate=False, record=result.record)


def webhook_receive(*, source: WebhookSource, payload: dict, context: CaptureContext) -> WebhookOutcome:
    """Take one verified payload of a single-item provider: claim its event id, map and capture it."""
    provider = provider_for(source)
    item = provider.items(source=source, payload=payload)[0]
    return webhook_capture_item(source=source, provider=provider, item=item, context=context)
