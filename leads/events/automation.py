"""Events of automations, and the set-based events their batches publish."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..models import Interaction, Lead
from .base import Event, Kind, Name, _add, _add_many, publish

# --- Automations ----------------------------------------------------------------------------------


def automation_ran(
    *,
    lead: Lead,
    automation_id: int,
    automation_name: str,
    run_id: int,
    status: str,
    steps: Sequence[str],
    error: str = "",
    occurred_at: datetime | None = None,
) -> Interaction:
    """An automation ran on the lead (or stopped: waiting, failed, loop guard): what each step did."""
    data = {"automation": automation_id, "run": run_id, "status": status, "steps": list(steps), "error": error}
    summary = "; ".join(steps) if steps else status
    entry = _add(
        lead=lead,
        kind=Kind.AUTOMATION,
        subject=f"Automation \u2018{automation_name}\u2019: {summary}",
        data=data,
        occurred_at=occurred_at,
    )
    publish(
        Event(
            Name.AUTOMATION_RAN,
            (lead.pk,),
            kind=Kind.AUTOMATION,
            occurred_at=entry.occurred_at,
            data=data,
            leads=(lead,),
        )
    )
    return entry


@dataclass(frozen=True)
class AutomationRunRecord:
    """One run's outcome, for automations_ran."""

    lead_id: int
    automation_id: int
    automation_name: str
    run_id: int
    status: str
    steps: Sequence[str]
    error: str = ""


def automations_ran(*, records: Sequence[AutomationRunRecord], occurred_at: datetime) -> None:
    """Many runs reached an end or a wait at once (a batch): one timeline entry each, one event."""
    if not records:
        return
    entries = []
    for item in records:
        summary = "; ".join(item.steps) if item.steps else item.status
        entries.append(
            Interaction(
                lead_id=item.lead_id,
                kind=Kind.AUTOMATION,
                occurred_at=occurred_at,
                subject=f"Automation \u2018{item.automation_name}\u2019: {summary}",
                data={
                    "automation": item.automation_id,
                    "run": item.run_id,
                    "status": item.status,
                    "steps": list(item.steps),
                    "error": item.error,
                },
            )
        )
    _add_many(entries)
    publish(
        Event(
            Name.AUTOMATION_RAN,
            tuple(item.lead_id for item in records),
            kind=Kind.AUTOMATION,
            occurred_at=occurred_at,
            per_lead={entry.lead_id: entry.data for entry in entries},
        )
    )
