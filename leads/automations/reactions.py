"""The triggers: reactions on the event spine (registered in leads.reactions).

A reaction only decides which enabled automations an event triggers (from the event's name and
payload, with no query: the enabled automations are kept in memory for a few seconds) and enqueues
one task per batch of leads on commit. Conditions, runs and actions happen in the worker. A bulk
event naming 100,000 leads costs 100,000 / BATCH task messages and no query per lead.
"""

from __future__ import annotations

import fnmatch
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable

from .. import jobs
from ..events import Event
from ..models import Automation, Interaction, Lead
from .runs import current_depth

Trigger = Automation.Trigger
BATCH = 500
CACHE_SECONDS = 5.0  # an automation enabled or edited elsewhere takes effect within this

_cache: tuple[float, dict[str, list[tuple[int, dict]]]] | None = None


def automations_forget() -> None:
    """Drop this process's copy of the enabled automations (after a save here, and in tests)."""
    global _cache
    _cache = None


def enabled_automations() -> dict[str, list[tuple[int, dict]]]:
    """Enabled automations by trigger: [(id, trigger parameters)], read at most every CACHE_SECONDS."""
    global _cache
    now = time.monotonic()
    cached = _cache  # read once: another thread of a web process may forget it meanwhile
    if cached is None or cached[0] < now:
        by_trigger: dict[str, list[tuple[int, dict]]] = defaultdict(list)
        for pk, trigger, params in (
            Automation.objects.filter(enabled=True).order_by("pk").values_list("pk", "trigger", "trigger_params")
        ):
            by_trigger[trigger].append((pk, params or {}))
        cached = _cache = (now + CACHE_SECONDS, dict(by_trigger))
    return cached[1]


def automations_enqueue(
    *, automation_ids: list[int], lead_ids: Iterable[int], trigger_event: str, depth: int | None = None
) -> int:
    """Start these automations for these leads once the transaction commits, BATCH leads per task."""
    if not automation_ids:
        return 0
    lead_ids = list(lead_ids)
    depth = current_depth() + 1 if depth is None else depth
    key = f"{trigger_event}:{uuid.uuid4().hex}"[:80]  # one trigger occurrence: a re-delivered task starts no second run
    for start in range(0, len(lead_ids), BATCH):
        jobs.enqueue(
            "leads.automations.tasks.automations_start_task",
            automation_ids,
            lead_ids[start : start + BATCH],
            trigger_event,
            key,
            depth,
        )
    return len(lead_ids)


def _matching(trigger: str, test=None) -> list[int]:
    return [pk for pk, params in enabled_automations().get(trigger, []) if test is None or test(params)]


def _matching_params(trigger: str) -> list[tuple[int, dict]]:
    return enabled_automations().get(trigger, [])


def _fire(event: Event, ids: list[int]) -> None:
    if ids:
        automations_enqueue(automation_ids=ids, lead_ids=event.lead_ids, trigger_event=event.name)


def on_lead_created(event: Event) -> None:
    """Lead created (any channel; the source filter is applied with the conditions); a new lead's
    first form is also a form submitted."""
    ids = _matching(Trigger.LEAD_CREATED)
    if event.kind == Interaction.Kind.FORM_SUBMIT:
        ids += _matching(Trigger.FORM_SUBMITTED, lambda p: _form_matches(p, event.data))
    _fire(event, sorted(set(ids)))


def on_lead_updated(event: Event) -> None:
    """Field changed: the watched field is among the edited ones, with the from/to values asked for."""

    def test(fields: dict, params: dict) -> bool:
        change = fields.get(params.get("field"))
        if change is None:
            return False
        return all(str(change.get(key) or "") == params[key] for key in ("from", "to") if key in params)

    if not event.per_lead:
        fields = event.data.get("fields") or {}
        _fire(event, _matching(Trigger.FIELD_CHANGED, lambda params: test(fields, params)))
        return
    for pk, params in _matching_params(Trigger.FIELD_CHANGED):  # a set-based update: each lead's own fields
        lead_ids = [lead_id for lead_id, own in event.per_lead.items() if test(own.get("fields") or {}, params)]
        if lead_ids:
            automations_enqueue(automation_ids=[pk], lead_ids=sorted(lead_ids), trigger_event=event.name)


def on_status_changed(event: Event) -> None:
    """Status changed (from/to), and qualified. A bulk change carries no per-lead "from": an
    automation that asks for one ignores bulk changes (docs/automations.md)."""
    data = event.data

    def test(params: dict) -> bool:
        if "to" in params and params["to"] != data.get("to"):
            return False
        return "from" not in params or params["from"] == data.get("from")

    ids = _matching(Trigger.STATUS_CHANGED, test)
    if data.get("to") == Lead.Status.QUALIFIED:
        ids += _matching(Trigger.QUALIFIED)
    _fire(event, sorted(set(ids)))
    if "from" not in data and event.per_lead:
        # A set-based change carries each lead's "from" apart: automations asking for one fire
        # for the leads that came from it.
        for pk, params in _matching_params(Trigger.STATUS_CHANGED):
            if "from" in params and params.get("to", data.get("to")) == data.get("to"):
                lead_ids = [lead_id for lead_id, own in event.per_lead.items() if own.get("from") == params["from"]]
                if lead_ids:
                    automations_enqueue(automation_ids=[pk], lead_ids=sorted(lead_ids), trigger_event=event.name)


def on_assigned(event: Event) -> None:
    """Assigned or reassigned (by rules, round robin, a person, or an automation)."""
    _fire(event, _matching(Trigger.ASSIGNED))


GRADE_RANK = {"A": 4, "B": 3, "C": 2, "D": 1}


def crossed(params: dict, before, after) -> bool:
    """Did a score (or grade) move across the trigger's threshold, in its direction?"""
    if params.get("measure") == "grade":
        rank = GRADE_RANK.get
        before, after, threshold = rank(before or "", 0), rank(after or "", 0), rank(params.get("value") or "", 0)
    else:
        threshold = params.get("value") or 0
    if params.get("direction") == "down":
        return before >= threshold > after
    return before < threshold <= after


def on_score_changed(event: Event) -> None:
    """Score or grade crossed a threshold: each automation fires for the leads that crossed its own."""
    for pk, params in enabled_automations().get(Trigger.SCORE_CROSSED, []):
        if params.get("measure") == "grade":
            keys = ("grade_from", "grade_to")
        else:
            keys = ("from", "to")
        lead_ids = [
            lead_id
            for lead_id, change in event.per_lead.items()
            if crossed(params, change.get(keys[0]), change.get(keys[1]))
        ]
        if lead_ids:
            automations_enqueue(automation_ids=[pk], lead_ids=sorted(lead_ids), trigger_event=event.name)


def on_email_bounced(event: Event) -> None:
    """Email bounced (or a complaint): ingest publishes lead.email_bounced with its own timeline entry."""
    _fire(event, _matching(Trigger.EMAIL_BOUNCED))


def on_sla_breached(event: Event) -> None:
    """The owner's first-contact SLA ran out."""
    _fire(event, _matching(Trigger.SLA_BREACHED))


def _form_matches(params: dict, data: dict) -> bool:
    wanted = params.get("form", "").lower()
    return not wanted or wanted in {str(data.get(key) or "").lower() for key in ("form", "web_form", "form_name")}


def on_timeline_entry(event: Event) -> None:
    """Form submitted, page visited (URL pattern, * = anything), email replied, bounced/unsubscribed."""
    kind = event.kind
    if kind == Interaction.Kind.FORM_SUBMIT:
        ids = _matching(Trigger.FORM_SUBMITTED, lambda p: _form_matches(p, event.data))
    elif kind == Interaction.Kind.PAGE_VIEW:
        url = str(event.data.get("url") or "").lower()
        ids = _matching(Trigger.PAGE_VISITED, lambda p: not p.get("url") or fnmatch.fnmatchcase(url, p["url"].lower()))
    elif kind == Interaction.Kind.EMAIL_IN:
        ids = _matching(Trigger.EMAIL_REPLIED)
    elif kind in (Interaction.Kind.EMAIL_BOUNCED, Interaction.Kind.UNSUBSCRIBE):
        ids = _matching(Trigger.EMAIL_BOUNCED)
    else:
        return
    _fire(event, ids)
