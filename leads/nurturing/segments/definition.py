"""A segment's definition: the field catalogue a condition can test (validation: validation.py).

A dynamic segment is a condition tree, `{"match": "all"|"any", "conditions": [condition | group, …]}`,
validated by `segment_definition_clean` (messages keyed by JSON path) before it is saved or compiled.
A condition is `{"field": …, "op": …, "value": …}` with `key` (custom attributes) or `days` (engagement)
where the field needs them. The compiler (compiler.py) turns a cleaned definition into one Q.
"""

from dataclasses import dataclass, field
from typing import Any

from django_countries import countries

from ...models import Interaction, Lead

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
    "equals": "is",
    "not_equals": "is not",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "is_empty": "is empty",
    "is_not_empty": "is not empty",
    "in": "is one of",
    "not_in": "is none of",
    "eq": "=",
    "ne": "≠",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "before": "is before",
    "after": "is after",
    "within_last_days": "is within the last … days",
    "more_than_days_ago": "is more than … days ago",
    "is_true": "is yes",
    "is_false": "is no",
    "exists": "is set",
    "not_exists": "is not set",
    "in_last_days": "in the last … days",
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
    "text": TEXT_OPS,
    "choice": CHOICE_OPS,
    "number": NUMBER_OPS,
    "date": DATE_OPS,
    "bool": BOOL_OPS,
    "attribute": ATTRIBUTE_OPS,
    "tags": TAG_OPS,
    "owner": CHOICE_OPS,
    "team": CHOICE_OPS,
    "engagement": ENGAGEMENT_OPS,
    "segment": MEMBER_OPS,
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


FIELDS: dict[str, FieldSpec] = dict(
    [
        _text("first_name", "First name"),
        _text("last_name", "Last name"),
        _text("email", "Email"),
        _text("email_domain", "Email domain"),
        _text("phone", "Phone"),
        _text("company", "Company"),
        _text("job_title", "Job title"),
        _text("website", "Website"),
        _text("city", "City"),
        _text("region", "Region"),
        _text("postal_code", "Postal code"),
        _text("industry", "Industry"),
        _text("source_detail", "Source detail", "Source"),
        _text("utm_source", "UTM source", "Source"),
        _text("utm_medium", "UTM medium", "Source"),
        _text("utm_campaign", "UTM campaign", "Source"),
        _text("utm_term", "UTM term", "Source"),
        _text("utm_content", "UTM content", "Source"),
        ("status", FieldSpec("choice", "Status", "Lead", column="status", choices=_lead_choices("status"))),
        ("source", FieldSpec("choice", "Source", "Source", column="source", choices=_lead_choices("source"))),
        (
            "country",
            FieldSpec(
                "choice",
                "Country",
                "Lead",
                column="country",
                choices=(("", "(none)"),) + tuple((code, name) for code, name in countries),
            ),
        ),
        (
            "company_size",
            FieldSpec("choice", "Company size", "Lead", column="company_size", choices=_lead_choices("company_size")),
        ),
        ("seniority", FieldSpec("choice", "Seniority", "Lead", column="seniority", choices=_lead_choices("seniority"))),
        (
            "department",
            FieldSpec("choice", "Department", "Lead", column="department", choices=_lead_choices("department")),
        ),
        (
            "email_kind",
            FieldSpec("choice", "Email kind", "Lead", column="email_kind", choices=_lead_choices("email_kind")),
        ),
        (
            "phone_line_type",
            FieldSpec(
                "choice", "Phone line", "Lead", column="phone_line_type", choices=_lead_choices("phone_line_type")
            ),
        ),
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
        _date("created_at", "Created", nullable=False),
        _date("last_activity_at", "Last activity"),
        _date("first_contacted_at", "First contacted"),
        _date("assigned_at", "Assigned"),
        _date("converted_at", "Converted"),
        _number("page_views_7d", "Page views (7 days)"),
        _number("page_views_30d", "Page views (30 days)"),
        _number("visits_7d", "Visits (7 days)"),
        _number("visits_30d", "Visits (30 days)"),
        _number("form_submits", "Forms submitted"),
        _number("emails_opened", "Emails opened"),
        _number("emails_clicked", "Emails clicked"),
        ("visited_url", FieldSpec("engagement", "Visited a page (URL pattern, * = anything)", "Engagement")),
        (
            "opened_email",
            FieldSpec(
                "engagement",
                "Opened an email",
                "Engagement",
                interaction=Interaction.Kind.EMAIL_OPENED,
                needs_value=False,
            ),
        ),
        (
            "clicked_email",
            FieldSpec(
                "engagement",
                "Clicked an email",
                "Engagement",
                interaction=Interaction.Kind.EMAIL_CLICKED,
                needs_value=False,
            ),
        ),
        (
            "replied",
            FieldSpec(
                "engagement", "Replied by email", "Engagement", interaction=Interaction.Kind.EMAIL_IN, needs_value=False
            ),
        ),
        ("segment", FieldSpec("segment", "In list or segment", "Lists and segments")),
    ]
)


def field_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The fields as (group, [(name, label)]), in catalogue order: the builder's grouped select."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name, spec in FIELDS.items():
        groups.setdefault(spec.group, []).append((name, spec.label))
    return list(groups.items())
