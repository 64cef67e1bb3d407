"""Validating a segment's definition: `segment_definition_clean` checks a condition tree against the
field catalogue (definition.py) and answers with messages keyed by JSON path; `segment_save` saves
a cleaned definition. Segments that include each other are refused when they would form a cycle."""

from collections.abc import Iterable
from datetime import date
from math import isfinite
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from ...common.validation import id_parse
from ...models import Segment, Team
from .definition import (
    BAD_MATCH,
    CHOOSE_ONE,
    DAYS_MAX,
    DAYS_REQUIRED,
    FIELDS,
    KEY_REQUIRED,
    MATCHES,
    MAX_CONDITIONS,
    MAX_DEPTH,
    NO_TEAM,
    NO_VALUE_OPS,
    NOT_A_CHOICE,
    NOT_A_CONDITION,
    NOT_A_DATE,
    NOT_A_LIST,
    NOT_A_NUMBER,
    NOT_A_TREE,
    NOT_A_WHOLE_NUMBER,
    OUT_OF_RANGE,
    SEGMENT_CYCLE,
    TEXT_MAX,
    TOO_DEEP,
    TOO_LONG,
    TOO_MANY,
    UNASSIGNED,
    UNKNOWN_FIELD,
    UNKNOWN_OP,
    UNKNOWN_SEGMENT,
    UNKNOWN_TEAM,
    UNKNOWN_USER,
    VALUE_REQUIRED,
    FieldSpec,
)

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
    if (
        op in NO_VALUE_OPS
        or op in ("within_last_days", "more_than_days_ago")
        or (spec.kind == "engagement" and not spec.needs_value)
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
        segment.definition = segment_definition_clean(
            definition=definition if definition is not None else segment.definition, segment=segment
        )
    else:
        segment.definition = {}
    if segment.pk is None and by is not None and by.is_authenticated:
        segment.created_by = by
    segment.save()
    return segment
