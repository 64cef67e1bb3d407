"""What an automation may hold: trigger parameters and actions, validated into one clean shape.

Conditions are not defined here: they are the segment builder's condition tree, cleaned by
`leads.nurturing.segments.segment_definition_clean` and compiled by `segment_compile`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from ..common.rendering import RenderError, template_compile
from ..models import Automation, Lead, Segment, Sequence, Team, WebhookSubscription
from ..nurturing.segments import segment_definition_clean

Trigger = Automation.Trigger

# Validation messages (tests assert on them).
UNKNOWN_TRIGGER = "Choose a trigger."
DAYS_REQUIRED = "Give a number of days from 1 to 365."
FIELD_REQUIRED = "Choose the field to watch."
UNKNOWN_ACTION = "Unknown action."
STATUS_REQUIRED = "Choose a status."
STATUS_CONVERT = "A lead becomes a customer by conversion, not by an automation setting the status."
USER_REQUIRED = "Choose an active user."
TEAM_REQUIRED = "Choose a team."
SEQUENCE_REQUIRED = "Choose a sequence."
LIST_REQUIRED = "Choose a static list."
TITLE_REQUIRED = "Give the task a title."
MESSAGE_REQUIRED = "Write the message."
TAGS_REQUIRED = "Give at least one tag."
AMOUNT_REQUIRED = "Give a whole number from 1 to 10000."
UNIT_REQUIRED = "Choose minutes, hours or days."
SKIP_REQUIRED = "Give how many following steps to skip when the condition does not hold (1 or more)."
SKIP_TOO_FAR = "A branch cannot skip past the last action."
VALUE_TOO_LONG = "At most 200 characters."
NO_ACTIONS = "Add at least one action."
TOO_MANY_ACTIONS = "At most 30 actions."
FIELD_NOT_SETTABLE = "This field cannot be set by an automation."
MEASURE_REQUIRED = "Choose score or grade."
DIRECTION_REQUIRED = "Choose rises to (or above) or falls below."
SCORE_REQUIRED = "Give a score from 1 to 100."
GRADE_REQUIRED = "Choose a grade (A, B, C or D)."
DATE_FIELD_REQUIRED = "Choose the date field."
WHEN_REQUIRED = "Choose before or after."
OFFSET_REQUIRED = "Give a number of days from 0 to 365."
WEEKDAY_REQUIRED = "Choose a day of the week (or any day)."
TIME_REQUIRED = "Give a time of day as HH:MM (24-hour)."
SUBJECT_REQUIRED = "Write the subject."
BODY_REQUIRED = "Write the email's text."
TEXT_TOO_LONG = "At most 5000 characters."
WEBHOOK_REQUIRED = "Choose an active webhook subscription."
VALUE_NOT_A_CHOICE = "Not one of this field's choices."

MAX_ACTIONS = 30
UNITS = {"minutes": 60, "hours": 3600, "days": 86400}
# Lead fields a set_field action may write (plain text and choice columns, not ownership or status).
SETTABLE_FIELDS = (
    "company",
    "job_title",
    "industry",
    "city",
    "region",
    "source_detail",
    "company_size",
    "seniority",
    "department",
)
# Fields a field_changed trigger may watch: the ones an edit records on the timeline.
WATCHABLE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "website",
    "country",
    "region",
    "city",
    "postal_code",
    "industry",
    "company_size",
    "source",
    "source_detail",
    "email_opt_in",
    "do_not_contact",
    "team",
)
# Date fields a date_reached trigger may watch (each has an index the hourly scan uses).
DATE_FIELDS = ("created_at", "assigned_at", "converted_at")
GRADES = ("A", "B", "C", "D")
WEEKDAYS = ("any", "0", "1", "2", "3", "4", "5", "6")  # Monday = 0, as Python counts
ACTION_LABELS = {
    "set_field": "Set a field",
    "set_status": "Set the status",
    "add_tags": "Add tags",
    "remove_tags": "Remove tags",
    "assign_user": "Assign to a user",
    "assign_team": "Assign by a team's round robin",
    "create_task": "Create a task for the owner",
    "notify": "Notify (in-app and email)",
    "enroll": "Enroll in a sequence",
    "unenroll": "Remove from a sequence",
    "list_add": "Add to a static list",
    "list_remove": "Remove from a static list",
    "wait": "Wait",
    "branch": "Branch on a condition",
    "assign_territory": "Assign by territory",
    "send_email": "Send a one-off email",
    "wait_until": "Wait until a weekday and time (lead's zone)",
    "webhook": "Call an outbound webhook",
    "convert": "Convert into a customer",
}


def _text(raw: dict, key: str, errors: dict, path: str, *, message: str, required: bool = True) -> str:
    value = str(raw.get(key) or "").strip()
    if required and not value:
        errors.setdefault(path, []).append(message)
    elif len(value) > 200:
        errors.setdefault(path, []).append(VALUE_TOO_LONG)
    return value


def _int(raw: dict, key: str, errors: dict, path: str, *, message: str, low: int = 1, high: int = 10000) -> int | None:
    try:
        value = int(str(raw.get(key, "")).strip())
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        errors.setdefault(path, []).append(message)
        return None
    return value


def _pk(raw: dict, key: str, errors: dict, path: str, *, queryset, message: str) -> int | None:
    value = str(raw.get(key) or "").strip()
    if not value.isdigit() or not queryset.filter(pk=int(value)).exists():
        errors.setdefault(path, []).append(message)
        return None
    return int(value)


def trigger_params_clean(*, trigger: str, params: dict | None) -> dict:
    """A trigger's parameters checked and typed, or ValidationError keyed "trigger_params.<name>"."""
    params, errors, clean = params or {}, {}, {}
    if trigger not in Trigger.values:
        raise ValidationError({"trigger": [UNKNOWN_TRIGGER]})
    if trigger == Trigger.LEAD_CREATED and params.get("source"):
        if params["source"] not in Lead.Source.values:
            errors["trigger_params.source"] = [UNKNOWN_TRIGGER]
        clean["source"] = params["source"]
    elif trigger == Trigger.FIELD_CHANGED:
        if params.get("field") not in WATCHABLE_FIELDS:
            errors["trigger_params.field"] = [FIELD_REQUIRED]
        clean["field"] = params.get("field")
        for key in ("from", "to"):
            if str(params.get(key) or "").strip():
                clean[key] = str(params[key]).strip()
    elif trigger == Trigger.STATUS_CHANGED:
        for key in ("from", "to"):
            if params.get(key):
                if params[key] not in Lead.Status.values:
                    errors[f"trigger_params.{key}"] = [STATUS_REQUIRED]
                clean[key] = params[key]
    elif trigger == Trigger.PAGE_VISITED and str(params.get("url") or "").strip():
        clean["url"] = _text(params, "url", errors, "trigger_params.url", message=VALUE_TOO_LONG)
    elif trigger == Trigger.FORM_SUBMITTED and str(params.get("form") or "").strip():
        clean["form"] = _text(params, "form", errors, "trigger_params.form", message=VALUE_TOO_LONG)
    elif trigger == Trigger.INACTIVE:
        clean["days"] = _int(params, "days", errors, "trigger_params.days", message=DAYS_REQUIRED, high=365)
    elif trigger == Trigger.SCORE_CROSSED:
        _threshold_clean(params, errors, clean)
    elif trigger == Trigger.DATE_REACHED:
        if params.get("field") not in DATE_FIELDS:
            errors["trigger_params.field"] = [DATE_FIELD_REQUIRED]
        clean["field"] = params.get("field")
        if params.get("when") not in ("before", "after"):
            errors["trigger_params.when"] = [WHEN_REQUIRED]
        clean["when"] = params.get("when")
        clean["days"] = _int(params, "days", errors, "trigger_params.days", message=OFFSET_REQUIRED, low=0, high=365)
    if errors:
        raise ValidationError(errors)
    return clean


def _threshold_clean(params: dict, errors: dict, clean: dict) -> None:
    """Score rises to / falls below N, or grade rises to / falls below G."""
    measure = params.get("measure")
    if measure not in ("score", "grade"):
        errors["trigger_params.measure"] = [MEASURE_REQUIRED]
    clean["measure"] = measure
    if params.get("direction") not in ("up", "down"):
        errors["trigger_params.direction"] = [DIRECTION_REQUIRED]
    clean["direction"] = params.get("direction")
    if measure == "grade":
        value = str(params.get("value") or "").strip().upper()
        if value not in GRADES:
            errors["trigger_params.value"] = [GRADE_REQUIRED]
        clean["value"] = value
    elif measure == "score":
        clean["value"] = _int(params, "value", errors, "trigger_params.value", message=SCORE_REQUIRED, high=100)


def _template_clean(raw: dict, key: str, errors: dict, path: str, *, message: str, limit: int) -> str:
    """An email's subject or body: required, bounded, and compiled in nurturing's sandbox."""
    value = str(raw.get(key) or "").strip()
    if not value:
        errors.setdefault(path, []).append(message)
    elif len(value) > limit:
        errors.setdefault(path, []).append(VALUE_TOO_LONG if limit <= 200 else TEXT_TOO_LONG)
    else:
        try:
            template_compile(source=value, field=key)
        except RenderError as exc:
            errors.setdefault(path, []).append(str(exc))
    return value


def _time_clean(raw: dict, errors: dict, path: str) -> str:
    value = str(raw.get("time") or "").strip()
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and int(hours) < 24 and int(minutes) < 60):
        errors.setdefault(path, []).append(TIME_REQUIRED)
        return value
    return f"{int(hours):02d}:{minutes}"


def _field_value_clean(field: str, value: str, errors: dict, path: str) -> None:
    """A choice field set by an automation takes one of its choices (the batch writes it as is)."""
    try:
        choices = Lead._meta.get_field(field).choices
    except LookupError:
        return
    if choices and value and value not in {str(key) for key, _ in choices}:
        errors.setdefault(path, []).append(VALUE_NOT_A_CHOICE)


def _action_clean(raw: Any, index: int, count: int, errors: dict) -> dict | None:
    path = f"actions.{index}"
    if not isinstance(raw, dict) or raw.get("type") not in ACTION_LABELS:
        errors.setdefault(f"{path}.type", []).append(UNKNOWN_ACTION)
        return None
    kind, action = raw["type"], {"type": raw["type"]}
    if kind == "set_field":
        if raw.get("field") not in SETTABLE_FIELDS:
            errors.setdefault(f"{path}.field", []).append(FIELD_NOT_SETTABLE)
        action["field"] = raw.get("field")
        action["value"] = _text(raw, "value", errors, f"{path}.value", message=VALUE_TOO_LONG, required=False)
        if action["field"] in SETTABLE_FIELDS:
            _field_value_clean(action["field"], action["value"], errors, f"{path}.value")
    elif kind == "set_status":
        status = raw.get("status")
        if status == Lead.Status.CONVERTED:
            errors.setdefault(f"{path}.status", []).append(STATUS_CONVERT)
        elif status not in Lead.Status.values:
            errors.setdefault(f"{path}.status", []).append(STATUS_REQUIRED)
        action["status"] = status
        if status == Lead.Status.LOST:
            action["lost_reason"] = (
                _text(raw, "value", errors, f"{path}.value", message=VALUE_TOO_LONG, required=False) or "automation"
            )
    elif kind in ("add_tags", "remove_tags"):
        tags = raw.get("tags") if isinstance(raw.get("tags"), list) else str(raw.get("value") or "").split(",")
        action["tags"] = [tag.strip() for tag in tags if str(tag).strip()][:20]
        if not action["tags"]:
            errors.setdefault(f"{path}.value", []).append(TAGS_REQUIRED)
    elif kind == "assign_user":
        action["user"] = _pk(
            raw, "user", errors, f"{path}.user", queryset=User.objects.filter(is_active=True), message=USER_REQUIRED
        )
    elif kind == "assign_team":
        action["team"] = _pk(raw, "team", errors, f"{path}.team", queryset=Team.objects.all(), message=TEAM_REQUIRED)
    elif kind == "create_task":
        action["title"] = _text(raw, "title", errors, f"{path}.title", message=TITLE_REQUIRED)
        action["amount"] = _int(raw, "amount", errors, f"{path}.amount", message=AMOUNT_REQUIRED, low=0)
        action["unit"] = (
            raw.get("unit") if raw.get("unit") in UNITS else errors.setdefault(f"{path}.unit", []).append(UNIT_REQUIRED)
        )
    elif kind == "notify":
        action["message"] = _text(raw, "message", errors, f"{path}.message", message=MESSAGE_REQUIRED)
        if str(raw.get("user") or "").strip():
            action["user"] = _pk(
                raw, "user", errors, f"{path}.user", queryset=User.objects.filter(is_active=True), message=USER_REQUIRED
            )
    elif kind in ("enroll", "unenroll"):
        action["sequence"] = _pk(
            raw, "sequence", errors, f"{path}.sequence", queryset=Sequence.objects.all(), message=SEQUENCE_REQUIRED
        )
    elif kind in ("list_add", "list_remove"):
        action["list"] = _pk(
            raw,
            "list",
            errors,
            f"{path}.list",
            queryset=Segment.objects.filter(kind=Segment.Kind.STATIC),
            message=LIST_REQUIRED,
        )
    elif kind == "wait":
        action["amount"] = _int(raw, "amount", errors, f"{path}.amount", message=AMOUNT_REQUIRED)
        action["unit"] = (
            raw.get("unit") if raw.get("unit") in UNITS else errors.setdefault(f"{path}.unit", []).append(UNIT_REQUIRED)
        )
    elif kind == "branch":
        try:
            action["conditions"] = segment_definition_clean(definition=raw.get("conditions") or {})
        except ValidationError as exc:
            errors.setdefault(f"{path}.conditions", []).extend(
                f"{key}: {'; '.join(messages)}" if key else "; ".join(messages)
                for key, messages in exc.message_dict.items()
            )
        action["skip"] = _int(raw, "skip", errors, f"{path}.skip", message=SKIP_REQUIRED, high=MAX_ACTIONS)
        if action["skip"] and index + action["skip"] >= count:
            errors.setdefault(f"{path}.skip", []).append(SKIP_TOO_FAR)
    elif kind == "send_email":
        action["subject"] = _template_clean(
            raw, "subject", errors, f"{path}.subject", message=SUBJECT_REQUIRED, limit=200
        )
        action["body"] = _template_clean(raw, "body", errors, f"{path}.body", message=BODY_REQUIRED, limit=5000)
    elif kind == "wait_until":
        action["weekday"] = str(raw.get("weekday") or "any")
        if action["weekday"] not in WEEKDAYS:
            errors.setdefault(f"{path}.weekday", []).append(WEEKDAY_REQUIRED)
        action["time"] = _time_clean(raw, errors, f"{path}.time")
    elif kind == "webhook":
        action["subscription"] = _pk(
            raw,
            "subscription",
            errors,
            f"{path}.subscription",
            queryset=WebhookSubscription.objects.filter(is_active=True),
            message=WEBHOOK_REQUIRED,
        )
    return action


def actions_clean(*, actions: Any) -> list[dict]:
    """The ordered actions checked and typed, or ValidationError keyed "actions.<i>.<name>"."""
    if not isinstance(actions, list) or not actions:
        raise ValidationError({"actions": [NO_ACTIONS]})
    if len(actions) > MAX_ACTIONS:
        raise ValidationError({"actions": [TOO_MANY_ACTIONS]})
    errors: dict[str, list[str]] = {}
    cleaned = [_action_clean(raw, index, len(actions), errors) for index, raw in enumerate(actions)]
    if errors:
        raise ValidationError(errors)
    return cleaned
