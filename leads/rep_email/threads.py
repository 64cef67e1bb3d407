"""Email conversations on the timeline: sent and received messages of a lead joined by Message-ID
(each message's In-Reply-To), shown as one thread, newest first, where its newest message falls.

Two queries whatever the page: the lead's latest email entries (THREAD_SCAN of them), and the rep
messages they name (for status, opens and clicks)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ..models import Interaction, RepEmail

THREAD_SCAN = 300  # the newest email entries of the lead that threads are built from
EMAIL_KINDS = (Interaction.Kind.EMAIL_IN, Interaction.Kind.EMAIL_OUT)


def _key(message_id: str) -> str:
    return (message_id or "").strip().strip("<>").lower()


@dataclass
class Thread:
    """One conversation: its messages newest first (each an Interaction, with .rep_email when ours)."""

    key: str
    messages: list[Interaction] = field(default_factory=list)
    is_thread: bool = True

    @property
    def subject(self) -> str:
        return self.messages[-1].subject if self.messages else ""

    @property
    def latest_at(self) -> datetime | None:
        return self.messages[0].occurred_at if self.messages else None

    @property
    def count(self) -> int:
        return len(self.messages)

    @property
    def reply_to_id(self) -> str:
        """The Message-ID a reply in this thread answers: its newest message's."""
        for message in self.messages:
            if message.data.get("message_id"):
                return message.data["message_id"]
        return ""


class _Groups:
    """Union-find over Message-IDs."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def lead_threads(*, lead_id: int, limit: int = THREAD_SCAN) -> dict[int, Thread]:
    """{email entry id: its thread} over the lead's newest email entries."""
    entries = list(
        Interaction.objects.filter(lead_id=lead_id, kind__in=EMAIL_KINDS)
        .select_related("actor")
        .order_by("-occurred_at", "-id")[:limit]
    )
    groups = _Groups()
    for entry in entries:
        own = _key(entry.data.get("message_id", "")) or f"#{entry.pk}"
        groups.find(own)
        parent = _key(entry.data.get("in_reply_to", ""))
        if parent:
            groups.join(own, parent)
    rep_ids = [entry.data["rep_email"] for entry in entries if isinstance(entry.data.get("rep_email"), int)]
    rep_emails = RepEmail.objects.in_bulk(rep_ids) if rep_ids else {}
    threads: dict[str, Thread] = {}
    by_entry: dict[int, Thread] = {}
    for entry in entries:  # newest first, so each thread's messages are too
        entry.rep_email = rep_emails.get(entry.data.get("rep_email"))
        root = groups.find(_key(entry.data.get("message_id", "")) or f"#{entry.pk}")
        thread = threads.setdefault(root, Thread(key=root))
        thread.messages.append(entry)
        by_entry[entry.pk] = thread
    return by_entry


def timeline_with_threads(*, lead_id: int, items: Iterable[Interaction], first_page: bool = True) -> list:
    """The timeline page's entries with email messages replaced by their threads: a thread stands
    where its newest message is, once; a thread whose newest message was on an earlier page is not
    repeated."""
    items = list(items)
    if not any(item.kind in EMAIL_KINDS for item in items):
        return items
    threads = lead_threads(lead_id=lead_id)
    on_page = {item.pk for item in items}
    shown: set[str] = set()
    result: list = []
    for item in items:
        thread = threads.get(item.pk) if item.kind in EMAIL_KINDS else None
        if thread is None:
            result.append(item)
            continue
        if thread.key in shown:
            continue
        shown.add(thread.key)
        if not first_page and thread.messages[0].pk not in on_page:
            continue  # shown, whole, on the page of its newest message
        result.append(thread)
    return result
