"""The table a tree model learns from: one column per field or attribute (not one per value), so
trees can split a number at any threshold and combine a category with another field.

The columns are derived from the chosen 0/1 features (encoding.candidate_features), so both
model kinds see the same columns a team brings and the same labels:

| kind     | from the features of a field        | the cell                                                    |
|----------|-------------------------------------|-------------------------------------------------------------|
| count    | `range` bins of a counter field     | the counter's value                                         |
| number   | `attr_range` bins of an attribute   | the attribute if it is a JSON number, else missing          |
| days     | `attr_days` bins of a date attribute | days between the date and the day the lead came in          |
| category | `eq` / `attr_eq` (+ `other`)        | the index of the value among the kept ones, or "another value"; blank is missing |
| flag     | a boolean field, a word, a tag, a key only ever "missing" | 1 when the lead has it, else 0                 |

Missing is NaN: gradient boosting learns where missing leads go at every split.
"""

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from .features import (
    BOOLEAN_FIELDS,
    COUNT_FIELDS,
    FIELD_LABELS,
    FIELDS,
    days_before,
    is_category,
    is_number,
    json_key,
    title_words,
)
from .features import feature_label as _feature_label

MAX_CATEGORIES = 250  # HistGradientBoosting takes at most 255 category codes per column
MAX_FLAG_COLUMNS = 200  # words and tags, most common first: each is a dense column
NAN = math.nan
_FIELD_INDEX = {name: index for index, name in enumerate(FIELDS)}
ATTRIBUTES, TAGS, CREATED = len(FIELDS), len(FIELDS) + 1, len(FIELDS) + 2


def _field_label(name: str) -> str:
    if name.startswith("attributes."):
        return name.split(".", 1)[1]
    return FIELD_LABELS.get(name) or name.replace("_", " ").capitalize()


def tree_columns(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The columns a tree model uses, in order, from the chosen features (JSON-friendly)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    flags: list[dict[str, Any]] = []
    for feature in features:
        if feature["op"] in ("word", "tag"):
            if len(flags) < MAX_FLAG_COLUMNS:
                flags.append(
                    {
                        "kind": feature["op"],
                        "source": feature["feature"],
                        "value": feature["value"],
                        "label": _feature_label(feature),
                    }
                )
        else:
            groups[feature["feature"]].append(feature)
    columns = []
    for name, group in groups.items():
        ops = {feature["op"] for feature in group}
        label = _field_label(name)
        if name in BOOLEAN_FIELDS:
            columns.append({"kind": "flag", "source": name, "value": True, "label": _feature_label(group[0])})
        elif "range" in ops:
            columns.append({"kind": "count", "source": name, "label": label})
        elif "attr_range" in ops:
            columns.append({"kind": "number", "source": name, "label": label})
        elif "attr_days" in ops:
            columns.append({"kind": "days", "source": name, "label": f"{label} (days before the lead came in)"})
        elif ops & {"eq", "attr_eq", "other", "attr_other"}:
            values = [feature["value"] for feature in group if feature["op"] in ("eq", "attr_eq")][:MAX_CATEGORIES]
            columns.append({"kind": "category", "source": name, "values": values, "label": label})
        else:  # only "missing": whether the lead has the attribute at all
            columns.append({"kind": "present", "source": name, "label": f"{label} is filled in"})
    return columns + flags


def categorical_mask(columns: list[dict[str, Any]]) -> list[bool]:
    return [column["kind"] == "category" for column in columns]


def _category_codes(column: dict[str, Any], values: list[Any], *, attribute: bool) -> list[float]:
    other = float(len(column["values"]))
    if attribute:
        codes = {json_key(value): float(index) for index, value in enumerate(column["values"])}
        return [
            NAN if value is None or value == "" else codes.get(json_key(value), other) if is_category(value) else other
            for value in values
        ]
    codes = {value: float(index) for index, value in enumerate(column["values"])}
    return [NAN if value in ("", None) else codes.get(value, other) for value in values]


def table(rows: Iterable[tuple], columns: list[dict[str, Any]]):
    """The rows (FIELDS values, attributes, tags, created_at) as a float matrix, column by column."""
    import numpy as np  # heavy (numpy): loaded only when a model is trained or applied

    rows = rows if isinstance(rows, list) else list(rows)
    matrix = np.empty((len(rows), len(columns)), dtype=np.float64)
    if not rows:
        return matrix
    attributes = [row[ATTRIBUTES] if isinstance(row[ATTRIBUTES], dict) else {} for row in rows]
    words = tags = None
    for index, column in enumerate(columns):
        kind, source = column["kind"], column["source"]
        key = source.split(".", 1)[1] if source.startswith("attributes.") else None
        if kind == "word":
            if words is None:  # job titles repeat: each distinct one is split once
                titles = [row[_FIELD_INDEX["job_title"]] for row in rows]
                split = {title: title_words(title) for title in set(titles) if title}
                words = [split.get(title, ()) for title in titles]
            matrix[:, index] = [column["value"] in found for found in words]
            continue
        if kind == "tag":
            if tags is None:
                tags = [set(row[TAGS]) if isinstance(row[TAGS], list) else () for row in rows]
            matrix[:, index] = [column["value"] in found for found in tags]
            continue
        values = (
            [attribute.get(key) for attribute in attributes] if key else [row[_FIELD_INDEX[source]] for row in rows]
        )
        if kind == "flag":
            matrix[:, index] = [value is True for value in values]
        elif kind == "present":
            matrix[:, index] = [key in attribute for attribute in attributes]
        elif kind == "count":
            matrix[:, index] = [NAN if value is None else value for value in values]
        elif kind == "number":
            matrix[:, index] = [value if is_number(value) else NAN for value in values]
        elif kind == "days":
            matrix[:, index] = [_days(value, row[CREATED]) for value, row in zip(values, rows)]
        else:
            matrix[:, index] = _category_codes(column, values, attribute=key is not None)
    return matrix


def _days(value: Any, created) -> float:
    if not isinstance(value, str) or created is None:
        return NAN
    days = days_before(value, created)
    return NAN if days is None else float(days)


def cell_text(column: dict[str, Any], value: float) -> str:
    """A cell as a manager reads it in an explanation: "Occupation: Student", "Visits: 3"."""
    if math.isnan(value):
        return f"{column['label']}: empty"
    kind = column["kind"]
    if kind in ("word", "tag", "flag", "present"):
        return column["label"] if value else f"not: {column['label']}"
    if kind == "category":
        code = int(value)
        text = column["values"][code] if code < len(column["values"]) else "another value (a rare one)"
        return f"{column['label']}: {'yes' if text is True else 'no' if text is False else text}"
    return f"{column['label']}: {value:,.6g}"


__all__ = ["COUNT_FIELDS", "MAX_CATEGORIES", "categorical_mask", "cell_text", "table", "tree_columns"]
