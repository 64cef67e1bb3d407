"""A built form's layout (WebForm.schema), checked and normalised in one place.

    {"columns": 1 | 2,
     "steps": [{"title": "…", "condition": COND | null, "items": [ITEM, …]}, …],
     "queue": [FIELD, …],          # progressive profiling: asked instead of what the CRM knows, in order
     "progressive": true | false,
     "consents": [{"name": "consent_1", "text": "…", "purpose": "email_marketing", "basis": "consent",
                   "required": true}],
     "follow_ups": {"list": id, "sequence": id, "notify": user id, "team": id}}   (set by the settings form)

An ITEM is a section heading {"type": "section", "heading": "…"} or a FIELD:
    {"type": "text" | "textarea" | "email" | "phone" | "number" | "date" | "select" | "multi" | "checkbox" | "hidden",
     "name": "budget", "label": "…", "help": "…", "placeholder": "…", "required": bool, "width": "full" | "half",
     "choices": ["…"], "display": "dropdown" | "radio", "validation": {"min_length", "max_length", "pattern", "min", "max"},
     "condition": COND | null, "source": "query:utm_source" | "referrer" | "page" | "visitor"}
A field named like a lead field (email, company, utm_source…) fills that field; any other name is a
custom attribute of the lead (attributes.<name>), new or existing, so segments, scoring rules and the
predictive model use its answers like any attribute. COND: {"field": an earlier field, "op": "equals" |
"not_equals" | "any_of" | "filled" | "empty", "value": "…" or ["…"]}.
"""

from __future__ import annotations

import re
from typing import Any

from django_countries import countries

from ...models import Lead
from ...models.capture import FORM_FIELDS

MAX_STEPS = 10
MAX_FIELDS = 60
MAX_CHOICES = 50
MAX_CONSENTS = 5
TEXT_LIMITS = {"label": 200, "help": 500, "placeholder": 200, "heading": 200, "title": 200}

FIELD_TYPES = ("text", "textarea", "email", "phone", "number", "date", "select", "multi", "checkbox", "hidden")
CONDITION_OPS = ("equals", "not_equals", "any_of", "filled", "empty")
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# Lead fields a form may ask for, with the input they take.
LEAD_FIELD_TYPES = {
    "first_name": "text",
    "last_name": "text",
    "email": "email",
    "phone": "phone",
    "company": "text",
    "job_title": "text",
    "website": "text",
    "country": "select",
    "city": "text",
    "industry": "text",
    "company_size": "select",
    "message": "textarea",
}
LEAD_FIELD_LABELS = {name: name.replace("_", " ").capitalize() for name in LEAD_FIELD_TYPES}
PURPOSES = {"email_marketing": "Email marketing", "phone_contact": "Phone contact", "other": "Other"}
LEGAL_BASES = {"consent": "Consent", "legitimate_interest": "Legitimate interest", "contract": "Contract"}
# Names a custom question cannot take: the form's own machinery and the capture's reserved attributes.
RESERVED = {
    *FORM_FIELDS,
    *UTM_FIELDS,
    "referrer",
    "landing_page",
    "visitor_id",
    "hp_url",
    "consent",
    "tags",
    "attributes",
    "external_id",
    "captured_email",
    "captured_external_id",
    "email_opt_in",
}
NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
VALIDATION_KEYS = {
    "text": ("min_length", "max_length", "pattern"),
    "textarea": ("min_length", "max_length"),
    "number": ("min", "max"),
}

NOT_AN_OBJECT = "Must be an object."
NOT_A_LIST = "Must be a list."
NOT_TEXT = "Must be text."
TOO_LONG = "At most {max} characters."
REQUIRED = "Required."
UNKNOWN_TYPE = "Unknown field type: {value}."
BAD_NAME = "Use 1-40 lowercase letters, digits or _ and start with a letter."
RESERVED_NAME = "{name} is a lead field or reserved: use a lead field from the list, or another name."
DUPLICATE_NAME = "Another field already uses the name {name}."
LEAD_FIELD_TYPE = "{name} is the lead's own field: its type is {kind}."
HIDDEN_SOURCE = "Choose where the hidden value comes from: query:<parameter>, referrer, page or visitor."
CHOICES_NEEDED = "Give at least one choice."
TOO_MANY = "At most {max}."
BAD_NUMBER = "Must be a number."
BAD_PATTERN = "Not a valid regular expression."
MIN_OVER_MAX = "The minimum is above the maximum."
CONDITION_FIELD = "A condition refers to a field before it: {name} is not one."
CONDITION_OP = "Choose one of: " + ", ".join(CONDITION_OPS) + "."
EMAIL_FIRST = "The form needs an email field in its first step, required and always shown (it makes the lead)."
NO_STEPS = "A form has at least one step."
BAD_PURPOSE = "Choose a purpose: " + ", ".join(PURPOSES) + "."
BAD_BASIS = "Choose a legal basis: " + ", ".join(LEGAL_BASES) + "."
BAD_COLUMNS = "One or two columns."
QUEUE_EMAIL = "The email is always asked: it cannot wait in the profiling queue."


def _text(raw: dict, key: str, errors: dict, path: str, *, limit: int = 200, required: bool = False) -> str:
    value = raw.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or "\x00" in value:
        errors[f"{path}{key}"] = [NOT_TEXT]
        return ""
    value = value.strip()
    if len(value) > limit:
        errors[f"{path}{key}"] = [TOO_LONG.format(max=limit)]
    elif required and not value:
        errors[f"{path}{key}"] = [REQUIRED]
    return value


def _number(value: Any, errors: dict, path: str) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        errors[path] = [BAD_NUMBER]
        return None
    try:
        number = float(value)
    except ValueError:
        errors[path] = [BAD_NUMBER]
        return None
    if number != number or abs(number) > 1e12:
        errors[path] = [BAD_NUMBER]
        return None
    return int(number) if number.is_integer() else number


def _condition(raw: Any, errors: dict, path: str, earlier: set[str]) -> dict | None:
    if raw in (None, {}, ""):
        return None
    if not isinstance(raw, dict):
        errors[path] = [NOT_AN_OBJECT]
        return None
    name, op, value = raw.get("field"), raw.get("op"), raw.get("value", "")
    if name not in earlier:
        errors[f"{path}.field"] = [CONDITION_FIELD.format(name=name)]
    if op not in CONDITION_OPS:
        errors[f"{path}.op"] = [CONDITION_OP]
    if op == "any_of":
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) and len(v) <= 100 for v in values):
            errors[f"{path}.value"] = [NOT_TEXT]
            values = []
        return {"field": name, "op": op, "value": values}
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) or len(str(value)) > 100:
        errors[f"{path}.value"] = [NOT_TEXT]
        value = ""
    return {"field": name, "op": op, "value": str(value) if op in ("equals", "not_equals") else ""}


def _field(raw: dict, errors: dict, path: str, names: set[str], earlier: set[str]) -> dict:
    name = raw.get("name")
    kind = raw.get("type")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        errors[f"{path}name"] = [BAD_NAME]
        name = ""
    elif name in names:
        errors[f"{path}name"] = [DUPLICATE_NAME.format(name=name)]
    lead_field = name in LEAD_FIELD_TYPES or name in UTM_FIELDS
    if kind not in FIELD_TYPES:
        errors[f"{path}type"] = [UNKNOWN_TYPE.format(value=str(kind)[:30])]
        kind = "text"
    if name in LEAD_FIELD_TYPES and kind != LEAD_FIELD_TYPES[name] and kind != "hidden":
        errors[f"{path}type"] = [LEAD_FIELD_TYPE.format(name=name, kind=LEAD_FIELD_TYPES[name])]
    elif name in UTM_FIELDS and kind not in ("hidden", "text"):
        errors[f"{path}type"] = [LEAD_FIELD_TYPE.format(name=name, kind="hidden")]
    elif name and not lead_field and name in RESERVED:
        errors[f"{path}name"] = [RESERVED_NAME.format(name=name)]
    field = {
        "type": kind,
        "name": name,
        "label": _text(raw, "label", errors, path, limit=TEXT_LIMITS["label"], required=kind != "hidden"),
        "help": _text(raw, "help", errors, path, limit=TEXT_LIMITS["help"]),
        "placeholder": _text(raw, "placeholder", errors, path, limit=TEXT_LIMITS["placeholder"]),
        "required": bool(raw.get("required")) and kind != "hidden",
        "width": "half" if raw.get("width") == "half" else "full",
    }
    if kind == "select" and name in ("country", "company_size"):
        field["choices"] = []  # the lead field's own choices, filled in when rendered
    elif kind in ("select", "multi"):
        choices = raw.get("choices")
        if not isinstance(choices, list):
            errors[f"{path}choices"] = [NOT_A_LIST]
            choices = []
        cleaned = [c.strip() for c in choices if isinstance(c, str) and c.strip() and "\x00" not in c]
        if len(cleaned) != len(choices) or any(len(c) > 100 for c in cleaned):
            errors[f"{path}choices"] = [TOO_LONG.format(max=100)]
        elif not cleaned:
            errors[f"{path}choices"] = [CHOICES_NEEDED]
        elif len(cleaned) > MAX_CHOICES:
            errors[f"{path}choices"] = [TOO_MANY.format(max=MAX_CHOICES)]
        field["choices"] = list(dict.fromkeys(cleaned))
        if kind == "select":
            field["display"] = "radio" if raw.get("display") == "radio" else "dropdown"
    if kind == "hidden":
        source = raw.get("source") or ""
        if not isinstance(source, str) or not (
            source in ("referrer", "page", "visitor") or re.fullmatch(r"query:[A-Za-z0-9_.-]{1,40}", source)
        ):
            errors[f"{path}source"] = [HIDDEN_SOURCE]
            source = ""
        field["source"] = source
    validation = raw.get("validation") or {}
    if not isinstance(validation, dict):
        errors[f"{path}validation"] = [NOT_AN_OBJECT]
        validation = {}
    checks: dict[str, Any] = {}
    for key in VALIDATION_KEYS.get(kind, ()):
        if key == "pattern":
            pattern = validation.get("pattern") or ""
            if pattern:
                try:
                    if not isinstance(pattern, str) or len(pattern) > 200:
                        raise re.error("too long")
                    re.compile(pattern)
                    checks["pattern"] = pattern
                except re.error:
                    errors[f"{path}validation.pattern"] = [BAD_PATTERN]
            continue
        number = _number(validation.get(key), errors, f"{path}validation.{key}")
        if number is not None:
            checks[key] = max(0, int(number)) if key.endswith("length") else number
    for low, high in (("min_length", "max_length"), ("min", "max")):
        if low in checks and high in checks and checks[low] > checks[high]:
            errors[f"{path}validation.{low}"] = [MIN_OVER_MAX]
    field["validation"] = checks
    field["condition"] = _condition(raw.get("condition"), errors, f"{path}condition", earlier)
    return field


def _items(raw_items: Any, errors: dict, path: str, names: set[str], fields: list[dict]) -> list[dict]:
    if not isinstance(raw_items, list):
        errors[f"{path}items"] = [NOT_A_LIST]
        return []
    items = []
    for index, raw in enumerate(raw_items):
        item_path = f"{path}items.{index}."
        if not isinstance(raw, dict):
            errors[item_path.rstrip(".")] = [NOT_AN_OBJECT]
            continue
        if raw.get("type") == "section":
            items.append({"type": "section", "heading": _text(raw, "heading", errors, item_path, required=True)})
            continue
        field = _field(raw, errors, item_path, names, {f["name"] for f in fields})
        names.add(field["name"])
        fields.append(field)
        items.append(field)
    return items


def schema_clean(raw: Any) -> tuple[dict, dict[str, list[str]]]:
    """A form layout checked and normalised: (schema, errors by path such as "steps.0.items.2.label")."""
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, dict):
        return {}, {"schema": [NOT_AN_OBJECT]}
    columns = raw.get("columns", 1)
    if columns not in (1, 2):
        errors["columns"] = [BAD_COLUMNS]
    names: set[str] = set()
    fields: list[dict] = []
    steps = []
    raw_steps = raw.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        errors["steps"] = [NO_STEPS]
        raw_steps = []
    elif len(raw_steps) > MAX_STEPS:
        errors["steps"] = [TOO_MANY.format(max=MAX_STEPS)]
    for index, raw_step in enumerate(raw_steps[:MAX_STEPS]):
        path = f"steps.{index}."
        if not isinstance(raw_step, dict):
            errors[path.rstrip(".")] = [NOT_AN_OBJECT]
            continue
        earlier = {f["name"] for f in fields}
        step = {
            "title": _text(raw_step, "title", errors, path),
            "condition": _condition(raw_step.get("condition"), errors, f"{path}condition", earlier) if index else None,
        }
        step["items"] = _items(raw_step.get("items"), errors, path, names, fields)
        steps.append(step)
    first = [item for item in (steps[0]["items"] if steps else []) if item.get("name") == "email"]
    if not first or not first[0]["required"] or first[0]["condition"] or first[0]["type"] != "email":
        errors.setdefault("steps", []).append(EMAIL_FIRST)
    queue_errors: dict[str, list[str]] = {}
    queue = _items(raw.get("queue") or [], queue_errors, "queue.", names, fields)
    errors.update(queue_errors)
    queue = [item for item in queue if item["type"] != "section"]
    for index, item in enumerate(queue):
        item["condition"] = None  # asked in another field's place: no conditions of their own
        if item["name"] == "email":
            errors[f"queue.items.{index}.name"] = [QUEUE_EMAIL]
    if len(fields) > MAX_FIELDS:
        errors["steps"] = [*errors.get("steps", []), TOO_MANY.format(max=MAX_FIELDS) + " fields"]
    consents = []
    raw_consents = raw.get("consents") or []
    if not isinstance(raw_consents, list):
        errors["consents"] = [NOT_A_LIST]
        raw_consents = []
    if len(raw_consents) > MAX_CONSENTS:
        errors["consents"] = [TOO_MANY.format(max=MAX_CONSENTS)]
    for index, raw_consent in enumerate(raw_consents[:MAX_CONSENTS]):
        path = f"consents.{index}."
        if not isinstance(raw_consent, dict):
            errors[path.rstrip(".")] = [NOT_AN_OBJECT]
            continue
        purpose, basis = raw_consent.get("purpose", "email_marketing"), raw_consent.get("basis", "consent")
        if purpose not in PURPOSES:
            errors[f"{path}purpose"] = [BAD_PURPOSE]
        if basis not in LEGAL_BASES:
            errors[f"{path}basis"] = [BAD_BASIS]
        consents.append(
            {
                "name": f"consent_{index + 1}",
                "text": _text(raw_consent, "text", errors, path, limit=2000, required=True),
                "purpose": purpose,
                "basis": basis,
                "required": bool(raw_consent.get("required")),
            }
        )
    follow_ups = raw.get("follow_ups") if isinstance(raw.get("follow_ups"), dict) else {}
    schema = {
        "columns": columns if columns in (1, 2) else 1,
        "steps": steps,
        "queue": queue,
        "progressive": bool(raw.get("progressive")),
        "consents": consents,
        "follow_ups": {
            k: v for k, v in follow_ups.items() if k in ("list", "sequence", "notify", "team") and isinstance(v, int)
        },
    }
    return schema, errors


def schema_fields(schema: dict, *, queue: bool = True) -> list[dict]:
    """Every field of a layout in order (the steps', then the profiling queue's)."""
    fields = [item for step in schema.get("steps", []) for item in step["items"] if item["type"] != "section"]
    return fields + (list(schema.get("queue", [])) if queue else [])


def schema_default() -> dict:
    """A new form's layout: name and email, one step."""
    return schema_clean(
        {
            "columns": 1,
            "steps": [
                {
                    "title": "",
                    "items": [
                        {"type": "text", "name": "first_name", "label": "First name"},
                        {"type": "email", "name": "email", "label": "Email", "required": True},
                    ],
                }
            ],
        }
    )[0]


def lead_field_choices(name: str) -> list[tuple[str, str]]:
    """The choices of a lead field shown as a select (country, company size)."""
    if name == "country":
        return list(countries)
    if name == "company_size":
        return list(Lead.CompanySize.choices)
    return []
