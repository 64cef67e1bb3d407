"""What the model may learn from: every feature is a yes/no condition on the lead row, checked the
same way in Python (training, explanations) and in SQL (scoring a million open leads at once).

Feature ops (stored in ScoringModel.features as {feature, op, value, label, weight, share}):

| op            | feature                | the lead has it when                                           |
|---------------|------------------------|----------------------------------------------------------------|
| eq            | a lead field           | the field equals value                                         |
| range         | a counter field        | low <= field < high                                            |
| other         | a lead field           | the field is not blank and equals none of value (the kept ones) |
| word          | job_title              | the title has the word (ASCII letters, any case)               |
| tag           | tags                   | the tag is in the lead's tags                                  |
| attr_eq       | attributes.<key>       | the attribute equals value (JSON-typed: "5" is not 5)          |
| attr_range    | attributes.<key>       | the attribute is a JSON number with low <= it < high           |
| attr_other    | attributes.<key>       | it is text or true/false and equals none of value              |
| attr_missing  | attributes.<key>       | the lead has no such attribute                                 |
| attr_days     | attributes.<key>       | it is an ISO date (text) low <= days before the lead came in < high |

Features of one field exclude each other (a lead has at most one), except words and tags, so the
SQL sums one CASE per field plus one term per word or tag.
"""

import json
import math
import re
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import BooleanField, JSONField, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTransform, compile_json_path
from django_countries import countries

from ...models import Lead

# Lead fields used as features, and how. Nothing that exists only because a lead closed (status,
# lost reason, score, grade, probability, owner, team, customer links, timestamps) is listed.
CATEGORICAL_FIELDS = (
    "country",
    "region",
    "city",
    "source",
    "source_detail",
    "industry",
    "company_size",
    "email_kind",
    "seniority",
    "department",
    "phone_line_type",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
)
BOOLEAN_FIELDS = ("email_is_role", "email_opt_in", "do_not_contact")
COUNT_FIELDS = (
    "page_views_7d",
    "page_views_30d",
    "visits_7d",
    "visits_30d",
    "form_submits",
    "emails_opened",
    "emails_clicked",
)
COUNT_EDGES = (0, 1, 3, 6, 11)  # bins [0,1) [1,3) [3,6) [6,11) [11,∞)
TEXT_FIELDS = ("job_title",)  # its words are features
FIELDS = CATEGORICAL_FIELDS + BOOLEAN_FIELDS + COUNT_FIELDS + TEXT_FIELDS
# Attribute keys that are not a property of the lead: "_invalid" (capture) and any "_…" key.
EXCLUDED_ATTRIBUTE_PREFIX = "_"
# Job titles are split into words after these characters become spaces (the same in SQL).
TITLE_SEPARATORS = (",", ".", "/", "-", "&", "(", ")", "|", ":", ";", "+")
MIN_WORD_LENGTH = 2

# Ops whose features of one field exclude each other, in the order their SQL CASE tries them:
# the catch-all "another value" and "missing" branches come after every named value.
EXCLUSIVE_ORDER = {
    "eq": 0,
    "range": 0,
    "attr_eq": 0,
    "attr_range": 0,
    "attr_days": 0,
    "other": 1,
    "attr_other": 1,
    "attr_missing": 2,
}
ADDITIVE_OPS = ("word", "tag")

FIELD_LABELS = {
    "country": "Country",
    "region": "Region",
    "city": "City",
    "source": "Channel",
    "source_detail": "Came in by",
    "industry": "Industry",
    "company_size": "Company size",
    "email_kind": "Email",
    "seniority": "Seniority",
    "department": "Department",
    "phone_line_type": "Phone line",
    "utm_source": "UTM source",
    "utm_medium": "UTM medium",
    "utm_campaign": "UTM campaign",
    "utm_term": "UTM term",
    "utm_content": "UTM content",
    "page_views_7d": "Page views (7 days)",
    "page_views_30d": "Page views (30 days)",
    "visits_7d": "Visits (7 days)",
    "visits_30d": "Visits (30 days)",
    "form_submits": "Form submits",
    "emails_opened": "Emails opened",
    "emails_clicked": "Emails clicked",
    "job_title": "Job title",
    "tags": "Tag",
}
BOOLEAN_LABELS = {
    "email_is_role": "Role email address (info@, sales@…)",
    "email_opt_in": "Opted in to email",
    "do_not_contact": "Asked not to be contacted",
}


# A date attribute: text starting with an ISO date ("2024-03-01", "2024-03-01T09:30:00"); its
# recency is counted from the day the lead came in (created_at, UTC), which never moves, so a lead
# scores the same today and next month, and closed and open leads are measured alike.
DATE_PREFIX = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATE_PATTERN_SQL = "^[0-9]{4}-[0-9]{2}-[0-9]{2}"


# --- Python side ----------------------------------------------------------------------------


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def in_range(value: Any, low: float | None, high: float | None) -> bool:
    return is_number(value) and (low is None or value >= low) and (high is None or value < high)


def same_json(value: Any, target: Any) -> bool:
    """JSON equality as PostgreSQL's jsonb sees it: "5" is not 5 and true is not 1."""
    return type(value) is type(target) and value == target


def json_key(value: Any) -> tuple[str, Any]:
    """A hashable key with JSON equality (True and 1 differ)."""
    return type(value).__name__, value


def is_category(value: Any) -> bool:
    """An attribute value that names a category: non-empty text, or true/false."""
    return isinstance(value, bool) or (isinstance(value, str) and value != "")


def title_words(text: str) -> set[str]:
    """The words of a job title, as the SQL side finds them."""
    lowered = (text or "").lower()
    for separator in TITLE_SEPARATORS:
        lowered = lowered.replace(separator, " ")
    return {word for word in lowered.split(" ") if len(word) >= MIN_WORD_LENGTH and word.isascii() and word.isalpha()}


def is_date_text(value: Any) -> bool:
    return isinstance(value, str) and DATE_PREFIX.match(value) is not None


def days_before(value: str, created: datetime) -> int | None:
    """Days from an ISO date to the day the lead came in (None when the date is not a real one)."""
    try:
        return (created.date() - date.fromisoformat(value[:10])).days
    except ValueError:
        return None


def in_days(value: Any, created: datetime | None, low: int | None, high: int | None) -> bool:
    """The date lies low to under high days before the lead came in, compared as ISO text (as the
    SQL does), so an impossible date such as 2024-13-45 is judged the same on both sides."""
    if not is_date_text(value) or created is None:
        return False
    day = value[:10]
    return (low is None or day <= (created.date() - timedelta(days=low)).isoformat()) and (
        high is None or day > (created.date() - timedelta(days=high)).isoformat()
    )


def field_value(lead: Lead, name: str) -> Any:
    value = getattr(lead, name)
    return value.code if name == "country" and hasattr(value, "code") else value


def feature_matches(
    feature: dict[str, Any], *, values: dict[str, Any], attributes: dict[str, Any], tags: list | None = None
) -> bool:
    """Whether a lead with these field values, attributes and tags has the feature (Python side)."""
    op, name, target = feature["op"], feature["feature"], feature["value"]
    if op == "eq":
        return values.get(name) == target
    if op == "range":
        return in_range(values.get(name), *target)
    if op == "other":
        return values.get(name) not in ("", None) and values.get(name) not in target
    if op == "word":
        return target in title_words(values.get(name) or "")
    if op == "tag":
        return isinstance(tags, list) and target in tags
    key = name.split(".", 1)[1]
    if op == "attr_eq":
        return key in attributes and same_json(attributes[key], target)
    if op == "attr_range":
        return in_range(attributes.get(key), *target)
    if op == "attr_other":
        return (
            key in attributes
            and is_category(attributes[key])
            and not any(same_json(attributes[key], kept) for kept in target)
        )
    if op == "attr_missing":
        return key not in attributes
    if op == "attr_days":
        return in_days(attributes.get(key), values.get("created_at"), *target)
    raise ValueError(f"unknown feature op {op!r}")


# --- SQL side -------------------------------------------------------------------------------


def _column(name: str) -> str:
    return f"{connection.ops.quote_name(Lead._meta.db_table)}.{connection.ops.quote_name(name)}"


def _attribute_type_in(key: str, pg_types: tuple[str, ...], sqlite_types: tuple[str, ...]) -> RawSQL:
    """SQL: the attribute's JSON type is one of these."""
    column = _column("attributes")
    if connection.vendor == "postgresql":
        marks = ", ".join("%s" for _ in pg_types)
        return RawSQL(f"jsonb_typeof({column} -> %s) IN ({marks})", [key, *pg_types], output_field=BooleanField())
    marks = ", ".join("%s" for _ in sqlite_types)
    return RawSQL(
        f"json_type({column}, %s) IN ({marks})", [compile_json_path([key]), *sqlite_types], output_field=BooleanField()
    )


def _attribute_present(key: str) -> RawSQL:
    column = _column("attributes")
    if connection.vendor == "postgresql":
        return RawSQL(f"({column} ? %s)", [key], output_field=BooleanField())
    return RawSQL(f"json_type({column}, %s) IS NOT NULL", [compile_json_path([key])], output_field=BooleanField())


def _json(value: Any) -> Value:
    """A JSON literal to compare an attribute with (keys are never parsed as lookups, so any
    key works, even "in" or "a__b")."""
    return Value(value, output_field=JSONField())


def _word_condition(word: str) -> RawSQL:
    """SQL: the job title has the word, found as title_words() finds it (ASCII words, any case)."""
    text = _column("job_title")
    params: list[Any] = []
    for separator in TITLE_SEPARATORS:
        text = f"REPLACE({text}, %s, ' ')"
        params.append(separator)
    return RawSQL(f"(' ' || LOWER({text}) || ' ') LIKE %s", [*params, f"% {word} %"], output_field=BooleanField())


def _tag_condition(tag: str) -> RawSQL:
    column = _column("tags")
    if connection.vendor == "postgresql":
        return RawSQL(f"{column} @> %s::jsonb", [json.dumps([tag])], output_field=BooleanField())
    return RawSQL(
        f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = %s)", [tag], output_field=BooleanField()
    )


def _days_condition(key: str, low: int | None, high: int | None) -> RawSQL:
    """SQL: the attribute is ISO-date text low to under high days before the lead came in; the
    same text comparison as in_days (byte order, so no collation reorders the digits)."""
    column, created = _column("attributes"), _column("created_at")
    if connection.vendor == "postgresql":
        text = f"({column} ->> %s)"
        sql, params = [f"jsonb_typeof({column} -> %s) = 'string'", f"{text} ~ %s"], [key, key, DATE_PATTERN_SQL]
        for bound, op in ((low, "<="), (high, ">")):
            if bound is not None:
                sql.append(
                    f"substring({text}, 1, 10) COLLATE \"C\" {op} to_char({created} - make_interval(days => %s), 'YYYY-MM-DD')"
                )
                params += [key, int(bound)]
        return RawSQL("(" + " AND ".join(sql) + ")", params, output_field=BooleanField())
    path = compile_json_path([key])
    sql, params = (
        [f"json_type({column}, %s) = 'text'", f"json_extract({column}, %s) REGEXP %s"],
        [path, path, DATE_PATTERN_SQL],
    )
    for bound, op in ((low, "<="), (high, ">")):
        if bound is not None:
            sql.append(f"substr(json_extract({column}, %s), 1, 10) {op} date({created}, %s)")
            params += [path, f"-{int(bound)} days"]
    return RawSQL("(" + " AND ".join(sql) + ")", params, output_field=BooleanField())


def feature_condition(feature: dict[str, Any]) -> Q:
    """The feature as a condition on a Lead row (SQL side); the same test as feature_matches.
    An "other" condition only says the value is set: its CASE tries it after every named value."""
    op, name, value = feature["op"], feature["feature"], feature["value"]
    if op == "eq":
        return Q(**{name: value})
    if op == "range":
        low, high = value
        bounds = {f"{name}__gte": low, f"{name}__lt": high}
        return Q(**{lookup: bound for lookup, bound in bounds.items() if bound is not None})
    if op == "other":
        return ~Q(**{name: ""})
    if op == "word":
        return Q(_word_condition(value))
    if op == "tag":
        return Q(_tag_condition(value))
    key = name.split(".", 1)[1]
    target = KeyTransform(key, "attributes")
    if op == "attr_range":
        low, high = value
        condition = Q(_attribute_type_in(key, ("number",), ("integer", "real")))
        if low is not None:
            condition &= Q(target.get_lookup("gte")(target, _json(low)))
        if high is not None:
            condition &= Q(target.get_lookup("lt")(target, _json(high)))
        return condition
    if op == "attr_eq":
        return Q(target.get_lookup("exact")(target, _json(value)))
    if op == "attr_other":
        return Q(_attribute_type_in(key, ("string", "boolean"), ("text", "true", "false"))) & ~Q(
            target.get_lookup("exact")(target, _json(""))
        )
    if op == "attr_missing":
        return ~Q(_attribute_present(key))
    if op == "attr_days":
        return Q(_days_condition(key, *value))
    raise ValueError(f"unknown feature op {op!r}")


# --- Labels ---------------------------------------------------------------------------------


def _display(name: str, value: Any) -> str:
    if name == "country":
        return countries.name(value) or value
    choices = dict(Lead._meta.get_field(name).flatchoices)
    return str(choices.get(value, value))


def _number(value: float) -> str:
    return f"{value:,.6g}"


def _range_text(low: float | None, high: float | None, *, integers: bool) -> str:
    if integers and low is not None and high is not None and high - low == 1:
        return "none" if low == 0 else _number(low)
    if integers and low is not None and high is not None:
        return f"{_number(low)}–{_number(high - 1)}"
    if low is None:
        return f"under {_number(high)}"
    if high is None:
        return f"{_number(low)} or more"
    return f"{_number(low)} to under {_number(high)}"


def feature_label(feature: dict[str, Any]) -> str:
    """How a person reads the feature: "Seniority is C-level", "Form submits: 3–5"."""
    op, name, value = feature["op"], feature["feature"], feature["value"]
    label = FIELD_LABELS.get(name, name)
    if op == "eq" and name in BOOLEAN_FIELDS:
        if name == "email_is_role" and not value:
            return "Personal email address"
        return BOOLEAN_LABELS[name] if value else f"Not: {BOOLEAN_LABELS[name]}"
    if op == "eq":
        return f"{label} is {_display(name, value)}"
    if op == "range":
        return f"{label}: {_range_text(*value, integers=True)}"
    if op == "other":
        return f"{label} is another value (a rare one)"
    if op == "word":
        return f'Job title mentions "{value}"'
    if op == "tag":
        return f'Tagged "{value}"'
    key = name.split(".", 1)[1]
    if op == "attr_eq":
        shown = {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value
        return f"{key} is {shown}"
    if op == "attr_other":
        return f"{key} is another value (a rare one)"
    if op == "attr_missing":
        return f"{key} is empty"
    if op == "attr_days":
        low, high = value
        if low is None:
            text = f"under {high:,} days"
        elif high is None:
            text = f"{low:,} days or more"
        else:
            text = f"{low:,}–{high - 1:,} days"
        return f"{key}: {text} before the lead came in"
    return f"{key}: {_range_text(*value, integers=False)}"
