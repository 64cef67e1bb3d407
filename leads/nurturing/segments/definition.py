"""A segment's definition: the field catalogue a condition can test, and validation.

A dynamic segment is a condition tree, `{"match": "all"|"any", "conditions": [condition | group, …]}`,
validated by `segment_definition_clean` (messages keyed by JSON path) before it is saved or compiled.
A condition is `{"field": …, "op": …, "value": …}` with `key` (custom attributes) or `days` (engagement)
where the field needs them. The compiler (compiler.py) turns a cleaned definition into one Q.
"""
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from math import isfinite
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django_countries import countries

from ...common.validation import id_parse
from ...models import Interaction, Lead, Segment, Team

# --- Messages users can act on (tests assert on them) ----------------------------------------

NOT_A_TREE = 'A definition is an object: {"match": "all" or "any", "conditions": […]}.'
BAD_MATCH = 'Choose "all" or "any".'
NOT_A_LIST = "Conditions must be a list."
NOT_A_CONDITION = "Each condition is an object with a field, an operator and a value."
UNKNOWN_FIELD = "Unknown field {field!r}."
UNKNOWN_OP = "This field has no operator {op!r}."
VALUE_REQUIRED = "Enter a value."
NOT_A_NUMBER = "Enter a number."
NOT_A_WHOLE_NUMBER = "Enter a whole number."
OUT_OF_RANGE = "Enter a number from {low} to {high}."
NOT_A_DATE = "Enter a date as YYYY-MM-DD."
NOT_A_CHOICE = "{value!r} is not one of the choices."
CHOOSE_ONE = "Choose at least one value."
KEY_REQUIRED = "Enter the attribute's name."
DAYS_REQUIRED = "Enter a number of days from 1 to {max}."
UNKNOWN_USER = "No user with id {value!r}."
UNKNOWN_TEAM = "No team with id {value!r}."
UNKNOWN_SEGMENT = "No segment or list with id {value!r}."
SEGMENT_CYCLE = "A segment cannot include itself, directly or through other segments ({path})."
TOO_DEEP = "Groups can be nested {max} levels deep at most."
TOO_MANY = "A definition has {max} conditions at most."
TOO_LONG = "Enter at most {max} characters."
NOT_DYNAMIC = "Only a dynamic segment has a definition to evaluate."

MATCHES = ("all", "any")
MAX_DEPTH = 5
MAX_CONDITIONS = 100
DAYS_MAX = 3650
TEXT_MAX = 500
UNASSIGNED = "unassigned"  # the owner condition's "no owner"
NO_TEAM = "none"  # the team condition's "no team"

# --- The fields a condition can test ----------------------------------------------------------

TEXT_OPS = ("equals", "not_equals", "contains", "not_contains", "starts_with", "is_empty", "is_not_empty")
CHOICE_OPS = ("in", "not_in")
NUMBER_OPS = ("eq", "ne", "gt", "gte", "lt", "lte")
DATE_OPS = ("before", "after", "within_last_days", "more_than_days_ago")
NULL_OPS = ("is_empty", "is_not_empty")
BOOL_OPS = ("is_true", "is_false")
ATTRIBUTE_OPS = ("equals", "contains", "exists", "not_exists")
TAG_OPS = ("contains", "not_contains")
ENGAGEMENT_OPS = ("in_last_days", "not_in_last_days")
MEMBER_OPS = ("in", "not_in")
NO_VALUE_OPS = frozenset({"is_empty", "is_not_empty", "is_true", "is_false", "exists", "not_exists"})
LIST_VALUE_KINDS = frozenset({"choice", "owner", "team"})

OP_LABELS = {
    "equals": "is", "not_equals": "is not", "contains": "contains", "not_contains": "does not contain",
    "starts_with": "starts with", "is_empty": "is empty", "is_not_empty": "is not empty", "in": "is one of",
    "not_in": "is none of", "eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤",
    "before": "is before", "after": "is after", "within_last_days": "is within the last … days",
    "more_than_days_ago": "is more than … days ago", "is_true": "is yes", "is_false": "is no",
    "exists": "is set", "not_exists": "is not set", "in_last_days": "in the last … days",
    "not_in_last_days": "not in the last … days",
}


@dataclass(frozen=True)
class FieldSpec:
    """What a condition on one field may do."""

    kind: str  # text, choice, number, date, bool, attribute, tags, owner, team, engagement, segment
    label: str
    group: str
    column: str = ""
    nullable: bool = False
    integer: bool = True
    low: float = 0
    high: float | None = None
    choices: tuple[tuple[str, str], ...] = ()
    interaction: str = ""  # engagement: the Interaction kind
    needs_value: bool = True  # engagement: visited_url takes a URL pattern, the others nothing
    ops: tuple[str, ...] = field(default=())

    def operators(self) -> tuple[str, ...]:
        return self.ops or KIND_OPS[self.kind] + (NULL_OPS if self.nullable and self.kind in ("number", "date") else ())


KIND_OPS = {
    "text": TEXT_OPS, "choice": CHOICE_OPS, "number": NUMBER_OPS, "date": DATE_OPS, "bool": BOOL_OPS,
    "attribute": ATTRIBUTE_OPS, "tags": TAG_OPS, "owner": CHOICE_OPS, "team": CHOICE_OPS,
    "engagement": ENGAGEMENT_OPS, "segment": MEMBER_OPS,
}


def _lead_choices(name: str) -> tuple[tuple[str, str], ...]:
    model_field = Lead._meta.get_field(name)
    blank = (("", "(none)"),) if model_field.blank else ()
    return blank + tuple((str(value), str(label)) for value, label in model_field.choices)


def _text(name: str, label: str, group: str = "Lead") -> tuple[str, FieldSpec]:
    return name, FieldSpec("text", label, group, column=name)


def _number(name: str, label: str, group: str = "Engagement", **kwargs: Any) -> tuple[str, FieldSpec]:
    return name, FieldSpec("number", label, group, column=name, **kwargs)


def _date(name: str, label: str, *, nullable: bool = True) -> tuple[str, FieldSpec]:
    return name, FieldSpec("date", label, "Dates", column=name, nullable=nullable)


FIELDS: dict[str, FieldSpec] = dict([
    _text("first_name", "First name"), _text("last_name", "Last name"), _text("email", "Email"),
    _text("email_domain", "Email domain"), _text("phone", "Phone"), _text("company", "Company"),
    _text("job_title", "Job title"), _text("website", "Website"), _text("city", "City"),
    _text("region", "Region"), _text("postal_code", "Postal code"), _text("industry", "Industry"),
    _text("source_detail", "Source detail", "Source"), _text("utm_source", "UTM source", "Source"),
    _text("utm_medium", "UTM medium", "Source"), _text("utm_campaign", "UTM campaign", "Source"),
    _text("utm_term", "UTM term", "Source"), _text("utm_content", "UTM content", "Source"),
    ("status", FieldSpec("choice", "Status", "Lead", column="status", choices=_lead_choices("status"))),
    ("source", FieldSpec("choice", "Source", "Source", column="source", choices=_lead_choices("source"))),
    ("country", FieldSpec("choice", "Country", "Lead", column="country",
                          choices=(("", "(none)"),) + tuple((code, name) for code, name in countries))),
    ("company_size", FieldSpec("choice", "Company size", "Lead", column="company_size", choices=_lead_choices("company_size"))),
    ("seniority", FieldSpec("choice", "Seniority", "Lead", column="seniority", choices=_lead_choices("seniority"))),
    ("department", FieldSpec("choice", "Department", "Lead", column="department", choices=_lead_choices("department"))),
    ("email_kind", FieldSpec("choice", "Email kind", "Lead", column="email_kind", choices=_lead_choices("email_kind"))),
    ("phone_line_type", FieldSpec("choice", "Phone line", "Lead", column="phone_line_type",
                                  choices=_lead_choices("phone_line_type"))),
    ("email_opt_in", FieldSpec("bool", "Email opt-in", "Lead", column="email_opt_in")),
    ("do_not_contact", FieldSpec("bool", "Do not contact", "Lead", column="do_not_contact")),
    ("email_bouncing", FieldSpec("bool", "Email bouncing", "Lead", column="email_bouncing")),
    ("attribute", FieldSpec("attribute", "Custom attribute", "Lead", column="attributes")),
    ("tags", FieldSpec("tags", "Tags", "Lead", column="tags")),
    _number("score", "Score", "Scoring", high=100),
    ("grade", FieldSpec("choice", "Grade", "Scoring", column="grade", choices=_lead_choices("grade"))),
    _number("probability", "Probability (0–1)", "Scoring", nullable=True, integer=False, high=1),
    ("owner", FieldSpec("owner", "Owner", "Ownership", column="owner_id")),
    ("team", FieldSpec("team", "Team", "Ownership", column="team_id")),
    _date("created_at", "Created", nullable=False), _date("last_activity_at", "Last activity"),
    _date("first_contacted_at", "First contacted"), _date("assigned_at", "Assigned"),
    _date("converted_at", "Converted"),
    _number("page_views_7d", "Page views (7 days)"), _number("page_views_30d", "Page views (30 days)"),
    _number("visits_7d", "Visits (7 days)"), _number("visits_30d", "Visits (30 days)"),
    _number("form_submits", "Forms submitted"), _number("emails_opened", "Emails opened"),
    _number("emails_clicked", "Emails clicked"),
    ("visited_url", FieldSpec("engagement", "Visited a page (URL pattern, * = anything)", "Engagement")),
    ("opened_email", FieldSpec("engagement", "Opened an email", "Engagement",
                               interaction=Interaction.Kind.EMAIL_OPENED, needs_value=False)),
    ("clicked_email", FieldSpec("engagement", "Clicked an email", "Engagement",
                                interaction=Interaction.Kind.EMAIL_CLICKED, needs_value=False)),
    ("replied", FieldSpec("engagement", "Replied by email", "Engagement",
                          interaction=Interaction.Kind.EMAIL_IN, needs_value=False)),
    ("segment", FieldSpec("segment", "In list or segment", "Lists and segments")),
])


def field_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The fields as (group, [(name, label)]), in catalogue order: the builder's grouped select."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name, spec in FIELDS.items():
        groups.setdefault(spec.group, []).append((name, spec.label))
    return list(groups.items())


# --- Validation --------------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.by_path: dict[str, list[str]] = {}
        self.conditions = 0

    def add(self, path: str, message: str) -> None:
        self.by_path.setdefault(path or "definition", []).append(message)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _clean_number(value: Any, spec: FieldSpec, path: str, errors: _Errors) -> int | float | None:
    if isinstance(value, bool) or value in (None, ""):
        errors.add(path, VALUE_REQUIRED if value in (None, "") else NOT_A_NUMBER)
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors.add(path, NOT_A_NUMBER)
        return None
    if not isfinite(number):
        errors.add(path, NOT_A_NUMBER)
        return None
    if spec.integer:
        if not number.is_integer():
            errors.add(path, NOT_A_WHOLE_NUMBER)
            return None
        number = int(number)
    if number < spec.low or (spec.high is not None and number > spec.high):
        high = spec.high if spec.high is not None else "∞"
        errors.add(path, OUT_OF_RANGE.format(low=spec.low, high=high))
        return None
    return number


def _clean_days(value: Any, path: str, errors: _Errors) -> int | None:
    try:
        days = int(str(value).strip()) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        days = None
    if days is None or not 1 <= days <= DAYS_MAX:
        errors.add(path, DAYS_REQUIRED.format(max=DAYS_MAX))
        return None
    return days


def _clean_text(value: Any, path: str, errors: _Errors, *, required: bool = True) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or (required and not value.strip()):
        errors.add(path, VALUE_REQUIRED)
        return None
    if len(value) > TEXT_MAX:
        errors.add(path, TOO_LONG.format(max=TEXT_MAX))
        return None
    return value.strip()


def _as_list(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    if value in (None, ""):
        return []
    return [value]


def _clean_ids(values: list, path: str, errors: _Errors, *, special: str, model, message: str) -> list | None:
    cleaned: list = []
    for value in values:
        text = str(value).strip()
        if text == special:
            cleaned.append(special)
        elif id_parse(text):
            cleaned.append(id_parse(text))
        else:
            errors.add(path, message.format(value=value))
            return None
    ids = [value for value in cleaned if value != special]
    found = set(model.objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    missing = [value for value in ids if value not in found]
    if missing:
        errors.add(path, message.format(value=missing[0]))
        return None
    return cleaned


def _segment_refs(definition: Any) -> Iterable[int]:
    """The segment ids a (stored, cleaned) definition refers to, at any depth."""
    if not isinstance(definition, dict):
        return
    for condition in definition.get("conditions") or []:
        if isinstance(condition, dict) and "conditions" in condition:
            yield from _segment_refs(condition)
        elif isinstance(condition, dict) and condition.get("field") == "segment":
            try:
                yield int(condition.get("value"))
            except (TypeError, ValueError):
                continue


def _cycle_from(start: int, *, editing: int | None) -> list[str] | None:
    """The names along a chain of segment references from `start` that comes back to `editing`
    (or loops on itself), or None. One query per segment visited."""
    path: list[Segment] = []

    def visit(segment_id: int) -> bool:
        if segment_id == editing or any(s.pk == segment_id for s in path):
            path.append(Segment(pk=segment_id, name=_name_of(segment_id)))
            return True
        segment = Segment.objects.filter(pk=segment_id).only("pk", "name", "kind", "definition").first()
        if segment is None or segment.kind != Segment.Kind.DYNAMIC:
            return False
        path.append(segment)
        if any(visit(ref) for ref in _segment_refs(segment.definition)):
            return True
        path.pop()
        return False

    return [s.name for s in path] if visit(start) else None


def _name_of(segment_id: int) -> str:
    return Segment.objects.filter(pk=segment_id).values_list("name", flat=True).first() or f"#{segment_id}"


def _clean_condition(raw: dict, path: str, errors: _Errors, *, editing: int | None) -> dict | None:
    name = raw.get("field")
    spec = FIELDS.get(name) if isinstance(name, str) else None
    if spec is None:
        errors.add(_join(path, "field"), UNKNOWN_FIELD.format(field=name))
        return None
    op = raw.get("op")
    if op not in spec.operators():
        errors.add(_join(path, "op"), UNKNOWN_OP.format(op=op))
        return None
    out: dict[str, Any] = {"field": name, "op": op}
    value, value_path = raw.get("value"), _join(path, "value")
    before = len(errors.by_path)
    if spec.kind == "attribute":
        key = raw.get("key")
        if not isinstance(key, str) or not key.strip():
            errors.add(_join(path, "key"), KEY_REQUIRED)
        else:
            out["key"] = _clean_text(key, _join(path, "key"), errors)
    if spec.kind == "engagement" or op in ("within_last_days", "more_than_days_ago"):
        out["days"] = _clean_days(raw.get("days"), _join(path, "days"), errors)
    if op in NO_VALUE_OPS or op in ("within_last_days", "more_than_days_ago") or (
        spec.kind == "engagement" and not spec.needs_value
    ):
        pass
    elif spec.kind in ("text", "attribute", "tags", "engagement"):
        out["value"] = _clean_text(value, value_path, errors)
    elif spec.kind == "choice":
        values = [str(v) for v in _as_list(value)]
        allowed = {code for code, _ in spec.choices}
        bad = [v for v in values if v not in allowed]
        if not values:
            errors.add(value_path, CHOOSE_ONE)
        elif bad:
            errors.add(value_path, NOT_A_CHOICE.format(value=bad[0]))
        out["value"] = values
    elif spec.kind == "number":
        out["value"] = _clean_number(value, spec, value_path, errors)
    elif spec.kind == "date":
        try:
            out["value"] = date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            errors.add(value_path, NOT_A_DATE)
    elif spec.kind in ("owner", "team"):
        values = _as_list(value)
        if not values:
            errors.add(value_path, CHOOSE_ONE)
        elif spec.kind == "owner":
            out["value"] = _clean_ids(values, value_path, errors, special=UNASSIGNED, model=User, message=UNKNOWN_USER)
        else:
            out["value"] = _clean_ids(values, value_path, errors, special=NO_TEAM, model=Team, message=UNKNOWN_TEAM)
    elif spec.kind == "segment":
        text = str(value).strip() if value is not None else ""
        if not id_parse(text) or not Segment.objects.filter(pk=id_parse(text)).exists():
            errors.add(value_path, UNKNOWN_SEGMENT.format(value=value))
        else:
            cycle = _cycle_from(int(text), editing=editing)
            if cycle:
                errors.add(value_path, SEGMENT_CYCLE.format(path=" → ".join(cycle)))
            out["value"] = int(text)
    return out if len(errors.by_path) == before else None


def _clean_group(raw: Any, path: str, errors: _Errors, *, depth: int, editing: int | None) -> dict | None:
    if not isinstance(raw, dict):
        errors.add(path, NOT_A_TREE)
        return None
    if depth > MAX_DEPTH:
        errors.add(path, TOO_DEEP.format(max=MAX_DEPTH))
        return None
    match = raw.get("match", "all")
    if match not in MATCHES:
        errors.add(_join(path, "match"), BAD_MATCH)
    conditions = raw.get("conditions", [])
    if not isinstance(conditions, list):
        errors.add(_join(path, "conditions"), NOT_A_LIST)
        return None
    cleaned = []
    for position, child in enumerate(conditions):
        child_path = _join(path, f"conditions.{position}")
        if isinstance(child, dict) and "conditions" in child:
            cleaned.append(_clean_group(child, child_path, errors, depth=depth + 1, editing=editing))
            continue
        errors.conditions += 1
        if errors.conditions > MAX_CONDITIONS:
            errors.add("conditions", TOO_MANY.format(max=MAX_CONDITIONS))
            return None
        if not isinstance(child, dict):
            errors.add(child_path, NOT_A_CONDITION)
            continue
        cleaned.append(_clean_condition(child, child_path, errors, editing=editing))
    return {"match": match, "conditions": cleaned}


def segment_definition_clean(*, definition: Any, segment: Segment | None = None) -> dict:
    """The definition checked and typed, or ValidationError keyed by JSON path ("conditions.0.value")."""
    if definition in (None, ""):
        definition = {}
    errors = _Errors()
    editing = segment.pk if segment is not None and segment.pk else None
    cleaned = _clean_group(definition, "", errors, depth=1, editing=editing)
    if errors.by_path:
        raise ValidationError(errors.by_path)
    return cleaned



def segment_save(*, segment: Segment, definition: Any = None, by: User | None = None) -> Segment:
    """Save a segment or list; a dynamic segment's definition is cleaned first (ValidationError)."""
    if segment.kind == Segment.Kind.DYNAMIC:
        segment.definition = segment_definition_clean(definition=definition if definition is not None else segment.definition,
                                                      segment=segment)
    else:
        segment.definition = {}
    if segment.pk is None and by is not None and by.is_authenticated:
        segment.created_by = by
    segment.save()
    return segment
