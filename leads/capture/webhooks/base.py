"""A provider knows how one tool signs its webhooks, answers its handshakes, where its event id is
and how its JSON maps to a lead, so a manager only pastes the tool's secret. One module per tool;
PROVIDERS (in __init__) maps WebhookSource.Provider values to them."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...models import WebhookSource
from .core import METHOD_NOT_ALLOWED, NO_SECRET, WebhookRejected, webhook_parse
from .mapping import json_path_get


@dataclass
class Answer:
    """A handshake's answer: a JSON object, or text (Meta's hub.challenge)."""

    status: int = 200
    json: dict | None = None
    text: str | None = None


@dataclass
class Item:
    """One thing to capture from a delivery: the JSON the mapping reads, its event id, and a
    reason when it is deliberately not a lead (a ping, an event about no person)."""

    payload: dict
    event_id: str = ""
    skip: str = ""
    meta: dict = field(default_factory=dict)


class Provider:
    key = WebhookSource.Provider.GENERIC
    channel = WebhookSource.Channel.OTHER
    signature_header = ""
    # What the manager pastes into the source's secret, and where the tool shows it.
    secret_help = ""
    default_mapping: dict[str, Any] = {}
    event_id_path = ""
    transcript_path = ""
    # A timestamp older (or newer) than this many seconds is refused, where the scheme signs one.
    tolerance_seconds = 300
    docs_page = "docs/providers/generic.md"

    def require_secret(self, source: WebhookSource) -> str:
        if not source.secret:
            raise WebhookRejected(NO_SECRET, status=403)
        return source.secret

    def verify(self, *, source: WebhookSource, body: bytes, headers: Mapping[str, str], now: float) -> None:
        """Raise WebhookRejected (401 missing, 403 wrong or stale) unless the request is the tool's."""
        raise NotImplementedError

    def parse(self, *, body: bytes, headers: Mapping[str, str]) -> dict:
        """The verified body as a JSON object (400 otherwise)."""
        return webhook_parse(body=body)

    def handshake(self, *, source: WebhookSource, payload: dict) -> Answer | None:
        """A verified POST that is a test or validation, not an event: its answer."""
        return None

    def answer_get(self, *, source: WebhookSource, query: Mapping[str, str]) -> Answer:
        """A GET to the endpoint (Meta's subscription check); other tools never send one."""
        raise WebhookRejected(METHOD_NOT_ALLOWED, status=405)

    def items(self, *, source: WebhookSource, payload: dict) -> list[Item]:
        """What a verified delivery carries: one item by default."""
        return [Item(payload=payload, event_id=self.event_id(source=source, payload=payload))]

    def resolve(self, *, source: WebhookSource, item: Item) -> dict:
        """The JSON the mapping reads for an item claimed for capture (Meta fetches it here)."""
        return item.payload

    def event_id(self, *, source: WebhookSource, payload: dict) -> str:
        """The tool's id of the event (the source's own path wins): a replay of it is ignored."""
        return id_text(json_path_get(payload, source.event_id_path or self.event_id_path))

    def mapping(self, source: WebhookSource) -> dict:
        """The source's mapping, or the provider's default when the source has none."""
        return source.mapping or self.default_mapping


def id_text(value: Any) -> str:
    """An event id as text (numbers too), or "" for anything else."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    return str(value).strip()[:200]


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header by name, any case (Django's request.headers is case-insensitive already)."""
    value = headers.get(name)
    return value if isinstance(value, str) else None
