"""The batch capture's events (capture_many: the importer's way in): every input's timeline entries
COPYed in one statement, with the payload shape of a single capture's entry, then one event for the
batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User

from ..common.copying import copy_insert
from ..models import Interaction
from .base import SUBJECT_MAX, Event, Kind, Name, publish


@dataclass(frozen=True)
class CapturedInput:
    """What one input of a batch did to its lead (created or changed it; `status_from`: the status it moved from)."""

    lead_id: int
    record_id: int  # its CaptureRecord
    line: int
    created: bool
    changed: Sequence[str] = ()
    overwritten: dict[str, Any] = field(default_factory=dict)
    status_from: str | None = None
    status_to: str = ""
    lost_reason: str = ""


def leads_captured_many(
    *,
    inputs: Sequence[CapturedInput],
    lead_ids: Sequence[int],
    kind: str,
    channel: str,
    subject: str,
    data: dict[str, Any],
    actor_id: int | None,
    occurred_at: datetime,
    event_data: dict[str, Any] | None = None,
) -> None:
    """A batch of inputs came in through a channel: a timeline entry per created or changed lead (the
    single capture's shape: capture record, created, the channel's data, the fields it changed, what
    it overwrote) and one per status it moved, COPYed in one statement; then Name.CAPTURED_MANY for
    every lead the batch captured (`lead_ids`, changed or not), with `data` and `event_data`."""
    common = {"actor_id": actor_id, "occurred_at": occurred_at, "subject": "", "body": "", "channel": ""}
    entries = []
    for captured in inputs:
        entry = {"capture": captured.record_id, "created": captured.created, **data, "line": captured.line}
        if not captured.created:
            entry["fields"] = sorted(set(captured.changed))
        if captured.overwritten:
            entry["overwritten"] = captured.overwritten
        entries.append(
            {
                **common,
                "lead_id": captured.lead_id,
                "kind": kind,
                "channel": channel,
                "subject": subject[:SUBJECT_MAX],
                "data": entry,
            }
        )
        if captured.status_from is not None:
            entries.append(
                {
                    **common,
                    "lead_id": captured.lead_id,
                    "kind": Kind.STATUS_CHANGE,
                    "data": {
                        "from": captured.status_from,
                        "to": captured.status_to,
                        "lost_reason": captured.lost_reason,
                        "reason": channel,
                    },
                }
            )
    copy_insert(Interaction, entries)
    if lead_ids:
        publish(
            Event(
                Name.CAPTURED_MANY,
                tuple(lead_ids),
                kind=kind,
                actor=User(pk=actor_id) if actor_id else None,
                occurred_at=occurred_at,
                data={**data, **(event_data or {})},
            )
        )
