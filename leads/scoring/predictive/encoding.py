"""From closed leads to the 0/1 feature matrix: which features are common enough to learn from,
and which lead has which (one pass over the rows, sparse). Both read the rows as a stream, so
training holds the sparse matrix, not 500,000 lead rows."""

import math
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from .features import (
    BOOLEAN_FIELDS,
    CATEGORICAL_FIELDS,
    COUNT_EDGES,
    COUNT_FIELDS,
    EXCLUDED_ATTRIBUTE_PREFIX,
    FIELDS,
    TEXT_FIELDS,
    days_before,
    in_days,
    in_range,
    is_category,
    is_date_text,
    is_number,
    json_key,
    title_words,
)

MIN_SUPPORT = 10  # a feature must be seen in at least this many closed leads…
MIN_SHARE = 0.002  # …and in this share of them…
SUPPORT_CAP = 100  # …but never more than this: 100 leads are plenty to weigh a value on
MAX_FEATURES = 1000
NUMERIC_ATTRIBUTE_SHARE = 0.9  # a key is numeric when this share of its values are numbers
MAX_NUMERIC_BINS = 10  # quantile bins of a numeric attribute (fewer when the values are few)

Row = tuple  # one closed lead: FIELDS values, then attributes, tags and created_at
ATTRIBUTES, TAGS, CREATED = len(FIELDS), len(FIELDS) + 1, len(FIELDS) + 2


def support_threshold(n: int) -> int:
    return max(MIN_SUPPORT, min(math.ceil(MIN_SHARE * n), SUPPORT_CAP))


def _count_bins(edges: tuple[float, ...]) -> list[tuple[float | None, float | None]]:
    return [(low, high) for low, high in zip(edges, (*edges[1:], None))]


def _plain(number: float | None) -> float | int | None:
    """JSON-friendly edge: 500 rather than 500.0."""
    if number is None:
        return None
    return int(number) if float(number).is_integer() and abs(number) < 2**53 else float(number)


def _numeric_attribute_bins(
    name: str, numbers: list[float], threshold: int, *, op: str = "attr_range"
) -> list[tuple[int, dict[str, Any]]]:
    """Quantile bins of a numeric attribute, as many as its values allow (up to ten), so the model
    learns the shape of the effect (a threshold, a peak) rather than one slope. Edges are values
    seen, so labels stay readable ("Total Time Spent on Website: 1,042 or more")."""
    import numpy as np  # heavy (numpy): loaded only when a model is trained or applied

    data = np.asarray(numbers, dtype=float)
    count = max(2, min(MAX_NUMERIC_BINS, len(data) // (2 * threshold)))
    quantiles = [index / count for index in range(1, count)]
    edges = sorted({float(edge) for edge in np.quantile(data, quantiles, method="lower")})
    edges = [edge for edge in edges if edge > data.min()]  # a first bin that would be empty
    bounds = [None, *edges, None]
    bins = []
    for low, high in zip(bounds, bounds[1:]):
        mask = np.ones(len(data), dtype=bool)
        if low is not None:
            mask &= data >= low
        if high is not None:
            mask &= data < high
        bins.append((int(mask.sum()), {"feature": name, "op": op, "value": [_plain(low), _plain(high)]}))
    return bins


def candidate_features(rows: Iterable[Row]) -> list[tuple[int, dict[str, Any]]]:
    """Every feature seen often enough, as (support, feature): the most common values first, then
    one "another value" feature per field or attribute for its rare values and "missing" for an
    attribute some leads lack."""
    n = 0
    values: dict[str, Counter] = {name: Counter() for name in FIELDS}
    words: Counter = Counter()
    tags: Counter = Counter()
    attribute_present: Counter = Counter()
    attribute_values: dict[str, Counter] = defaultdict(Counter)
    attribute_numbers: dict[str, list[float]] = defaultdict(list)
    attribute_days: dict[str, list[int]] = defaultdict(list)  # date attributes: days before the lead came in
    count_bins = _count_bins(COUNT_EDGES)
    for row in rows:
        n += 1
        for index, name in enumerate(FIELDS):
            value = row[index]
            if name in COUNT_FIELDS:
                values[name][bisect_right(COUNT_EDGES, value) - 1] += 1
            elif name in TEXT_FIELDS:
                words.update(title_words(value))
            elif value not in ("", None, False):
                values[name][value] += 1
        if isinstance(row[TAGS], list):
            tags.update({tag for tag in row[TAGS] if isinstance(tag, str) and tag})
        attributes = row[ATTRIBUTES]
        if isinstance(attributes, dict):
            for key, value in attributes.items():
                if key.startswith(EXCLUDED_ATTRIBUTE_PREFIX):
                    continue
                attribute_present[key] += 1
                if is_number(value):
                    attribute_numbers[key].append(value)
                elif is_date_text(value) and row[CREATED] is not None:
                    days = days_before(value, row[CREATED])
                    if days is not None:
                        attribute_days[key].append(days)
                if is_category(value):
                    attribute_values[key][json_key(value)] += 1
    threshold = support_threshold(n)
    found: list[tuple[int, dict[str, Any]]] = []
    for name in FIELDS:
        for value, support in values[name].items():
            if name in COUNT_FIELDS:
                found.append((support, {"feature": name, "op": "range", "value": list(count_bins[value])}))
            else:
                found.append((support, {"feature": name, "op": "eq", "value": value}))
    found += [(support, {"feature": "job_title", "op": "word", "value": word}) for word, support in words.items()]
    found += [(support, {"feature": "tags", "op": "tag", "value": tag}) for tag, support in tags.items()]
    categorical_keys = []
    for key, present in attribute_present.items():
        if present < threshold:
            continue
        name = f"attributes.{key}"
        numbers = attribute_numbers.get(key, [])
        days = attribute_days.get(key, [])
        if len(numbers) >= NUMERIC_ATTRIBUTE_SHARE * present:
            found += _numeric_attribute_bins(name, numbers, threshold)
        elif len(days) >= NUMERIC_ATTRIBUTE_SHARE * present:
            found += [
                (support, {**feature, "value": [None if e is None else int(math.ceil(e)) for e in feature["value"]]})
                for support, feature in _numeric_attribute_bins(name, days, threshold, op="attr_days")
            ]
        else:
            categorical_keys.append(key)
            found += [
                (support, {"feature": name, "op": "attr_eq", "value": value})
                for (_, value), support in attribute_values[key].items()
            ]
        found.append((n - present, {"feature": name, "op": "attr_missing", "value": None}))
    chosen = [(support, feature) for support, feature in found if threshold <= support < n]
    chosen.sort(key=lambda item: (-item[0], item[1]["feature"], str(item[1]["value"])))
    chosen = chosen[:MAX_FEATURES]
    # The rare values of each field and attribute together: "another value", after the cut above
    # so that it covers exactly the values without a feature of their own.
    kept: dict[str, list] = defaultdict(list)
    for _, feature in chosen:
        if feature["op"] in ("eq", "attr_eq"):
            kept[feature["feature"]].append(feature["value"])
    for name in CATEGORICAL_FIELDS:
        rest = sum(support for value, support in values[name].items() if value not in kept[name])
        if threshold <= rest < n:
            chosen.append((rest, {"feature": name, "op": "other", "value": kept[name]}))
    for key in categorical_keys:
        name = f"attributes.{key}"
        kept_keys = {json_key(value) for value in kept[name]}
        rest = sum(support for value, support in attribute_values[key].items() if value not in kept_keys)
        if threshold <= rest < n:
            chosen.append((rest, {"feature": name, "op": "attr_other", "value": kept[name]}))
    return chosen


def design_matrix(rows: Iterable[Row], features: list[dict[str, Any]]):
    """The 0/1 matrix (sparse CSR) of which lead has which feature, built in one pass; the same
    decisions as features.feature_matches, with dictionaries instead of a scan of every feature."""
    import numpy as np  # heavy (numpy): loaded only when a model is trained or applied
    from scipy import sparse  # heavy (scipy): loaded only when a model is trained or applied

    field_index = {name: index for index, name in enumerate(FIELDS)}
    by_value: dict[int, dict[Any, int]] = defaultdict(dict)  # field index → value → column
    other: dict[int, int] = {}  # field index → "another value" column
    ranges: dict[int, list[tuple[int, float | None, float | None]]] = defaultdict(list)
    word_columns: dict[str, int] = {}
    tag_columns: dict[str, int] = {}
    attribute_values: dict[str, dict[tuple, int]] = defaultdict(dict)
    attribute_ranges: dict[str, list[tuple[int, float | None, float | None]]] = defaultdict(list)
    attribute_other: dict[str, int] = {}
    attribute_missing: dict[str, int] = {}
    attribute_days: dict[str, list[tuple[int, int | None, int | None]]] = defaultdict(list)
    for column, feature in enumerate(features):
        op, name, value = feature["op"], feature["feature"], feature["value"]
        key = name.split(".", 1)[1] if name.startswith("attributes.") else None
        if op == "eq":
            by_value[field_index[name]][value] = column
        elif op == "range":
            ranges[field_index[name]].append((column, *value))
        elif op == "other":
            other[field_index[name]] = column
        elif op == "word":
            word_columns[value] = column
        elif op == "tag":
            tag_columns[value] = column
        elif op == "attr_eq":
            attribute_values[key][json_key(value)] = column
        elif op == "attr_range":
            attribute_ranges[key].append((column, *value))
        elif op == "attr_other":
            attribute_other[key] = column
        elif op == "attr_missing":
            attribute_missing[key] = column
        elif op == "attr_days":
            attribute_days[key].append((column, *value))
    title_index = field_index["job_title"]
    attribute_keys = (
        set(attribute_values)
        | set(attribute_ranges)
        | set(attribute_other)
        | set(attribute_missing)
        | set(attribute_days)
    )
    indices: list[int] = []
    indptr = [0]
    for row in rows:
        for index, columns in by_value.items():
            column = columns.get(row[index])
            if column is not None:
                indices.append(column)
            elif index in other and row[index] not in ("", None):
                indices.append(other[index])
        for index, column in other.items():
            if index not in by_value and row[index] not in ("", None):
                indices.append(column)
        for index, bins in ranges.items():
            for column, low, high in bins:
                if in_range(row[index], low, high):
                    indices.append(column)
                    break
        if word_columns and row[title_index]:
            indices += [word_columns[word] for word in title_words(row[title_index]) if word in word_columns]
        if tag_columns and isinstance(row[TAGS], list):
            indices += [tag_columns[tag] for tag in set(row[TAGS]) if isinstance(tag, str) and tag in tag_columns]
        attributes = row[ATTRIBUTES] if isinstance(row[ATTRIBUTES], dict) else {}
        for key in attribute_keys:
            if key not in attributes:
                if key in attribute_missing:
                    indices.append(attribute_missing[key])
                continue
            value = attributes[key]
            if is_number(value):
                for column, low, high in attribute_ranges.get(key, ()):
                    if in_range(value, low, high):
                        indices.append(column)
                        break
            elif key in attribute_days:
                for column, low, high in attribute_days[key]:
                    if in_days(value, row[CREATED], low, high):
                        indices.append(column)
                        break
            elif is_category(value):
                column = attribute_values.get(key, {}).get(json_key(value))
                if column is None:
                    column = attribute_other.get(key)
                if column is not None:
                    indices.append(column)
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float64)
    return sparse.csr_matrix(
        (data, np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int64)),
        shape=(len(indptr) - 1, len(features)),
    )


__all__ = ["BOOLEAN_FIELDS", "Row", "candidate_features", "design_matrix", "support_threshold"]
