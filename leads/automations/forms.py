"""The automation builder's plain HTML form: trigger parameters and action rows as flat fields and back.

Action i posts `a-<i>-type` and the inputs its type needs (`a-<i>-status`, `a-<i>-user`, …); the
rows are listed by `arow` in order. Adding, removing and moving rows are submit buttons
(`action=addaction`, `removeaction:<i>`, `up:<i>`), so the builder works without JavaScript. The
conditions use the segment builder's own form (leads.nurturing.builder), with its own buttons.
A branch in this form tests one condition (the JSON API takes a whole tree).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from ..models import Automation, Lead, Segment, Sequence, Team, WebhookSubscription
from ..nurturing.segments import FIELDS, OP_LABELS
from .actions import WEEKDAY_NAMES
from .definition import ACTION_LABELS, DATE_FIELDS, SETTABLE_FIELDS, UNITS, WATCHABLE_FIELDS

PARAM_KEYS = ("source", "field", "from", "to", "url", "form", "days", "measure", "direction", "value", "when")
ROW_KEYS = (
    "field",
    "value",
    "status",
    "user",
    "team",
    "sequence",
    "list",
    "title",
    "message",
    "amount",
    "unit",
    "skip",
    "bfield",
    "bop",
    "bvalue",
    "subject",
    "body",
    "weekday",
    "time",
    "subscription",
)
MAX_ROWS = 30
# Which inputs each action row shows.
INPUTS = {
    "set_field": ("field", "value"),
    "set_status": ("status", "value"),
    "add_tags": ("value",),
    "remove_tags": ("value",),
    "assign_user": ("user",),
    "assign_team": ("team",),
    "create_task": ("title", "amount", "unit"),
    "notify": ("user", "message"),
    "enroll": ("sequence",),
    "unenroll": ("sequence",),
    "list_add": ("list",),
    "list_remove": ("list",),
    "wait": ("amount", "unit"),
    "branch": ("bfield", "bop", "bvalue", "skip"),
    "assign_territory": (),
    "send_email": ("subject", "body"),
    "wait_until": ("weekday", "time"),
    "webhook": ("subscription",),
    "convert": (),
}
TRIGGER_INPUTS = {
    "lead_created": ("source",),
    "field_changed": ("field", "from", "to"),
    "status_changed": ("from", "to"),
    "page_visited": ("url",),
    "form_submitted": ("form",),
    "inactive": ("days",),
    "score_crossed": ("measure", "direction", "value"),
    "date_reached": ("field", "when", "days"),
}


def params_parse(*, data) -> dict[str, Any]:
    """The posted trigger parameters (only those its trigger uses)."""
    wanted = TRIGGER_INPUTS.get(data.get("trigger", ""), ())
    return {key: data.get(f"p-{key}", "").strip() for key in wanted if data.get(f"p-{key}", "").strip()}


def actions_parse(*, data) -> list[dict[str, Any]]:
    """The posted action rows as raw (uncleaned) actions."""
    actions = []
    for index in data.getlist("arow")[:MAX_ROWS]:
        kind = data.get(f"a-{index}-type", "")
        raw = {"type": kind}
        for key in INPUTS.get(kind, ()):
            raw[key] = data.get(f"a-{index}-{key}", "").strip()
        if kind in ("add_tags", "remove_tags"):
            raw["tags"] = [tag.strip() for tag in raw.pop("value", "").split(",") if tag.strip()]
        if kind == "branch":
            raw["conditions"] = {
                "match": "all",
                "conditions": [
                    {"field": raw.pop("bfield"), "op": raw.pop("bop"), "value": raw.pop("bvalue")},
                ],
            }
        actions.append(raw)
    return actions


def actions_apply(*, actions: list[dict], action: str) -> list[dict]:
    """Add, remove or move a row (the builder's buttons)."""
    if action == "addaction" and len(actions) < MAX_ROWS:
        return [*actions, {"type": "add_tags", "tags": []}]
    kind, _, position = action.partition(":")
    if position.isdigit() and int(position) < len(actions):
        index = int(position)
        if kind == "removeaction":
            return actions[:index] + actions[index + 1 :]
        if kind == "up" and index > 0:
            actions[index - 1], actions[index] = actions[index], actions[index - 1]
    return actions


def builder_choices() -> dict[str, list[tuple[str, str]]]:
    """The selects' choices (a few queries, once per page)."""
    return {
        "type": list(ACTION_LABELS.items()),
        "trigger": list(Automation.Trigger.choices),
        "status": [c for c in Lead.Status.choices if c[0] != Lead.Status.CONVERTED],
        "all_status": list(Lead.Status.choices),
        "source": list(Lead.Source.choices),
        "watch": [(name, name.replace("_", " ")) for name in WATCHABLE_FIELDS],
        "field": [(name, name.replace("_", " ")) for name in SETTABLE_FIELDS],
        "user": [
            (str(pk), name)
            for pk, name in User.objects.filter(is_active=True).order_by("username").values_list("pk", "username")
        ],
        "team": [(str(pk), name) for pk, name in Team.objects.order_by("name").values_list("pk", "name")],
        "sequence": [(str(pk), name) for pk, name in Sequence.objects.order_by("name").values_list("pk", "name")],
        "list": [
            (str(pk), name)
            for pk, name in Segment.objects.filter(kind=Segment.Kind.STATIC).order_by("name").values_list("pk", "name")
        ],
        "unit": [(unit, unit) for unit in UNITS],
        "weekday": [("any", "any day"), *((str(day), name) for day, name in enumerate(WEEKDAY_NAMES))],
        "subscription": [
            (str(pk), description or url)
            for pk, description, url in WebhookSubscription.objects.filter(is_active=True)
            .order_by("pk")
            .values_list("pk", "description", "url")
        ],
        "date_field": [(name, name.replace("_", " ")) for name in DATE_FIELDS],
        "measure": [("score", "score"), ("grade", "grade")],
        "direction": [("up", "rises to (or above)"), ("down", "falls below")],
        "when": [("after", "days after"), ("before", "days before")],
        "bfield": [
            (name, spec.label)
            for name, spec in FIELDS.items()
            if spec.kind in ("choice", "number", "text", "tags", "bool")
        ],
        "bop": list(OP_LABELS.items()),
    }


# Inputs shown as selects, and which choices they offer; the others are text or number inputs.
SELECTS = {
    "field": "field",
    "status": "status",
    "user": "user",
    "team": "team",
    "sequence": "sequence",
    "list": "list",
    "unit": "unit",
    "bfield": "bfield",
    "bop": "bop",
    "weekday": "weekday",
    "subscription": "subscription",
}
TEXTAREAS = ("body",)
NUMBERS = ("amount", "skip", "days")
LABELS = {
    "field": "Field",
    "value": "Value",
    "status": "Status",
    "user": "User",
    "team": "Team",
    "sequence": "Sequence",
    "list": "List",
    "title": "Task title",
    "message": "Message",
    "amount": "How many",
    "unit": "Unit",
    "skip": "Steps to skip when it does not hold",
    "bfield": "If",
    "bop": "Test",
    "bvalue": "Value",
    "source": "Source",
    "from": "From",
    "to": "To",
    "url": "URL pattern (* = anything)",
    "form": "Form name",
    "days": "Days",
    "subject": "Subject",
    "body": "Text ({{ lead.first_name }}…)",
    "weekday": "Day",
    "time": "Time (HH:MM)",
    "subscription": "Webhook",
    "measure": "Measure",
    "direction": "When it",
    "when": "Before or after",
}


def _input(key: str, value: str, errors: list, choices: list | None, *, blank: str = "") -> dict:
    widget = (
        "select"
        if choices is not None
        else ("number" if key in NUMBERS else "textarea" if key in TEXTAREAS else "text")
    )
    return {
        "key": key,
        "label": LABELS[key],
        "value": value,
        "errors": errors,
        "widget": widget,
        "choices": choices or [],
        "blank": blank,
    }


def action_rows(*, actions: list[dict], errors: dict[str, list[str]], choices: dict) -> list[dict]:
    """The rows as the template renders them: the type, the inputs it needs with their values and errors."""
    rows = []
    for index, action in enumerate(actions):
        kind = action.get("type") if action.get("type") in INPUTS else "add_tags"
        values = {key: "" if action.get(key) is None else str(action.get(key)) for key in ROW_KEYS}
        if kind in ("add_tags", "remove_tags"):
            values["value"] = ", ".join(action.get("tags") or [])
        if kind == "set_status" and action.get("lost_reason"):
            values["value"] = action["lost_reason"]
        if kind == "branch":
            first = ((action.get("conditions") or {}).get("conditions") or [{}])[0]
            values.update(
                bfield=first.get("field", "score"), bop=first.get("op", "gte"), bvalue=str(first.get("value", ""))
            )
        prefix = f"actions.{index}"
        row_errors = list(errors.get(f"{prefix}.type", []))
        inputs = []
        for key in INPUTS[kind]:
            json_key = {"bfield": "conditions", "bop": "conditions", "bvalue": "conditions"}.get(key, key)
            select = choices[SELECTS[key]] if key in SELECTS else None
            blank = "the owner" if (kind == "notify" and key == "user") else ""
            inputs.append(
                _input(
                    key,
                    values[key],
                    errors.get(f"{prefix}.{json_key}", []) if key != "bop" else [],
                    select,
                    blank=blank,
                )
            )
        if kind in ("add_tags", "remove_tags"):
            inputs[0]["errors"] = errors.get(f"{prefix}.value", [])
        rows.append({"index": str(index), "type": kind, "inputs": inputs, "errors": row_errors})
    return rows


def trigger_inputs(*, trigger: str, params: dict, errors: dict[str, list[str]], choices: dict) -> list[dict]:
    """The trigger's parameter inputs with their values and errors."""
    inputs = []
    for key in TRIGGER_INPUTS.get(trigger, ()):
        select = None
        if key == "source":
            select = choices["source"]
        elif key == "field":
            select = choices["date_field"] if trigger == "date_reached" else choices["watch"]
        elif key in ("measure", "direction", "when"):
            select = choices[key]
        elif key in ("from", "to") and trigger == "status_changed":
            select = choices["all_status"]
        inputs.append(
            _input(
                key,
                str(params.get(key, "") or ""),
                errors.get(f"trigger_params.{key}", []),
                select,
                blank="any" if key in ("source", "from", "to") else "",
            )
        )
    return inputs
