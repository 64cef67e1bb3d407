"""The learned half of lead scoring: a probability of winning for every open lead.

A regularised logistic regression (scikit-learn) learns from closed leads (converted = won,
lost = lost) over one-hot features: a lead field having a value, an engagement counter in a
bin, a custom attribute having a value or lying in a numeric bin. Every feature is a plain
condition on the lead row, so the model is stored as rows of {feature, op, value, weight} in
ScoringModel.features and applied to a million open leads by one set-based UPDATE per id range:

    probability = 1 / (1 + exp(-(intercept + Σ weight of each feature the lead has)))

Nothing that only exists because a lead closed is a feature (status, lost reason, score,
grade, probability, customer links, closing timestamps): see docs/scoring-model.md.
"""
import json
import logging
import math
import time
from bisect import bisect_right
from collections import Counter, defaultdict
from typing import Any

from django.db import connection, transaction
from django.db.models import BooleanField, Case, FloatField, JSONField, Max, Min, Q, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTransform, compile_json_path
from django.db.models.functions import Exp, Greatest, Least, Round

from ..models import Lead, ScoringModel

logger = logging.getLogger(__name__)

OPEN = ("new", "active", "nurturing", "qualified")
WON, LOST = Lead.Status.CONVERTED, Lead.Status.LOST

MIN_CLOSED = 50  # fewer closed leads than this: no model ("insufficient")
MIN_PER_CLASS = 10  # and at least this many won and this many lost
MIN_SUPPORT = 20  # a feature must be seen in at least this many closed leads…
MIN_SHARE = 0.01  # …and in at least this share of them
MAX_FEATURES = 200
MAX_TRAINING_LEADS = 500_000  # the newest closed leads; older history says less about today
HOLDOUT_SHARE = 0.25
SEED = 20240611
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)  # inverse L2 strength, chosen by 3-fold log loss
CALIBRATION_BINS = 10
UPDATE_BATCH = 20_000  # open leads per UPDATE: one short transaction each, so row locks stay brief
# Stored as a whole percentage (0.34): what people see, and under half a point of score. A nightly
# retrain then rewrites only the ~10 % of leads whose percentage moved, not every open lead
# (writing a lead row costs far more than computing its probability: the table has many indexes).
PROBABILITY_DECIMALS = 2
LOGIT_CLAMP = 30.0  # exp() of more overflows nothing and changes nothing visible

# Lead fields used as features, and how.
CATEGORICAL_FIELDS = (
    "country", "source", "industry", "company_size", "email_kind", "seniority", "department",
    "phone_line_type", "utm_source", "utm_medium",
)
BOOLEAN_FIELDS = ("email_is_role",)
COUNT_FIELDS = ("page_views_30d", "visits_30d", "form_submits", "emails_opened", "emails_clicked")
COUNT_EDGES = (0, 1, 3, 6, 11)  # bins [0,1) [1,3) [3,6) [6,11) [11,∞)
ATTRIBUTE_QUANTILES = (0.2, 0.4, 0.6, 0.8)  # numeric attributes: quintile bins of the closed leads
NUMERIC_ATTRIBUTE_SHARE = 0.9  # a key is numeric when this share of its values are numbers
# Attribute keys that are not a property of the lead: "_invalid" (capture) and any "_…" key.
EXCLUDED_ATTRIBUTE_PREFIX = "_"

FIELD_LABELS = {
    "country": "Country", "source": "Source", "industry": "Industry", "company_size": "Company size",
    "email_kind": "Email", "seniority": "Seniority", "department": "Department", "phone_line_type": "Phone line",
    "utm_source": "UTM source", "utm_medium": "UTM medium", "page_views_30d": "Page views (30 days)",
    "visits_30d": "Visits (30 days)", "form_submits": "Form submits", "emails_opened": "Emails opened",
    "emails_clicked": "Emails clicked",
}

TOO_FEW_CLOSED = (
    "Too little history: {n} closed leads (won or lost); the model needs at least {min}. "
    "Until then leads have no learned probability and their score is the rule points alone."
)
ONE_CLASS_MISSING = (
    "Too little history: {won} won and {lost} lost leads; the model needs at least {min} of each. "
    "Until then leads have no learned probability and their score is the rule points alone."
)
NO_FEATURES = (
    "Too little history: no lead property is shared by at least {min} of the {n} closed leads. "
    "Until then leads have no learned probability and their score is the rule points alone."
)
TRAINED = "Trained on {n} closed leads ({won} won, {lost} lost) with {k} features; held-out AUC {auc:.3f}."
TRAINING_FAILED = "Training failed: {error}. The previous model stays in use."

Row = tuple  # one closed lead: CATEGORICAL + BOOLEAN + COUNT field values, then attributes


# --- Features: one condition each, checked in Python (training) and in SQL (scoring) ---------

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _in_range(value: Any, low: float | None, high: float | None) -> bool:
    return _is_number(value) and (low is None or value >= low) and (high is None or value < high)


def _same_json(value: Any, target: Any) -> bool:
    """JSON equality as PostgreSQL's jsonb sees it: "5" is not 5 and true is not 1."""
    return type(value) is type(target) and value == target


def _field_value(lead: Lead, name: str) -> Any:
    value = getattr(lead, name)
    return value.code if name == "country" and hasattr(value, "code") else value


def feature_matches(feature: dict[str, Any], *, values: dict[str, Any], attributes: dict[str, Any]) -> bool:
    """Whether a lead with these field values and attributes has the feature (Python side)."""
    op, name = feature["op"], feature["feature"]
    if op == "eq":
        return values.get(name) == feature["value"]
    if op == "range":
        return _in_range(values.get(name), *feature["value"])
    key = name.split(".", 1)[1]
    if op == "attr_eq":
        return key in attributes and _same_json(attributes[key], feature["value"])
    if op == "attr_range":
        return _in_range(attributes.get(key), *feature["value"])
    raise ValueError(f"unknown feature op {op!r}")


def _attribute_is_number(key: str) -> RawSQL:
    """SQL: the attribute is a JSON number (so comparing it with numbers compares numerically)."""
    column = f'{connection.ops.quote_name(Lead._meta.db_table)}."attributes"'
    if connection.vendor == "postgresql":
        return RawSQL(f"jsonb_typeof({column} -> %s) = 'number'", [key], output_field=BooleanField())
    return RawSQL(f"json_type({column}, %s) IN ('integer', 'real')", [compile_json_path([key])], output_field=BooleanField())


def _json(value: Any) -> Value:
    """A JSON literal to compare an attribute with (keys are never parsed as lookups, so any
    key works, even "in" or "a__b")."""
    return Value(value, output_field=JSONField())


def feature_condition(feature: dict[str, Any]) -> Q:
    """The feature as a condition on a Lead row (SQL side); the same test as feature_matches."""
    op, name = feature["op"], feature["feature"]
    if op == "eq":
        return Q(**{name: feature["value"]})
    if op in ("range", "attr_range"):
        low, high = feature["value"]
        if op == "range":
            bounds = {f"{name}__gte": low, f"{name}__lt": high}
            return Q(**{lookup: bound for lookup, bound in bounds.items() if bound is not None})
        key = name.split(".", 1)[1]
        target = KeyTransform(key, "attributes")
        condition = Q(_attribute_is_number(key))
        if low is not None:
            condition &= Q(target.get_lookup("gte")(target, _json(low)))
        if high is not None:
            condition &= Q(target.get_lookup("lt")(target, _json(high)))
        return condition
    if op == "attr_eq":
        target = KeyTransform(name.split(".", 1)[1], "attributes")
        return Q(target.get_lookup("exact")(target, _json(feature["value"])))
    raise ValueError(f"unknown feature op {op!r}")


def _display(name: str, value: Any) -> str:
    if name == "country":
        from django_countries import countries

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
    if op == "eq" and name in BOOLEAN_FIELDS:
        return "Role email address (info@, sales@…)" if value else "Personal email address"
    if op == "eq":
        return f"{FIELD_LABELS.get(name, name)} is {_display(name, value)}"
    if op == "range":
        return f"{FIELD_LABELS.get(name, name)}: {_range_text(*value, integers=True)}"
    key = name.split(".", 1)[1]
    if op == "attr_eq":
        shown = {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value
        return f"{key} is {shown}"
    return f"{key}: {_range_text(*value, integers=False)}"


# --- Training -------------------------------------------------------------------------------

FIELDS = CATEGORICAL_FIELDS + BOOLEAN_FIELDS + COUNT_FIELDS


def _closed_rows() -> tuple[list[Row], list[int]]:
    """The newest closed leads as value tuples (streamed, no model instances) and won=1/lost=0."""
    query = (
        Lead.objects.filter(status__in=(WON, LOST)).order_by("-id")
        .values_list(*FIELDS, "attributes", "status")[:MAX_TRAINING_LEADS]
    )
    rows, outcomes = [], []
    for row in query.iterator(chunk_size=5000):
        rows.append(row[:-1])
        outcomes.append(1 if row[-1] == WON else 0)
    return rows, outcomes


def _count_bins(edges: tuple[float, ...]) -> list[tuple[float | None, float | None]]:
    return [(low, high) for low, high in zip(edges, (*edges[1:], None))]


def _candidate_features(rows: list[Row]) -> list[tuple[int, dict[str, Any]]]:
    """Every feature seen often enough, as (support, feature), most common first."""
    n = len(rows)
    threshold = max(MIN_SUPPORT, math.ceil(MIN_SHARE * n))
    values: dict[str, Counter] = {name: Counter() for name in FIELDS}
    attribute_present: Counter = Counter()
    attribute_values: dict[str, Counter] = defaultdict(Counter)
    attribute_numbers: dict[str, list[float]] = defaultdict(list)
    count_bins = _count_bins(COUNT_EDGES)
    for row in rows:
        for index, name in enumerate(FIELDS):
            value = row[index]
            if name in COUNT_FIELDS:
                values[name][bisect_right(COUNT_EDGES, value) - 1] += 1
            elif value not in ("", None, False):
                values[name][value] += 1
        attributes = row[len(FIELDS)]
        if isinstance(attributes, dict):
            for key, value in attributes.items():
                if key.startswith(EXCLUDED_ATTRIBUTE_PREFIX):
                    continue
                attribute_present[key] += 1
                if _is_number(value):
                    attribute_numbers[key].append(value)
                elif isinstance(value, (str, bool)) and value != "":
                    attribute_values[key][value] += 1
    found: list[tuple[int, dict[str, Any]]] = []
    for name in FIELDS:
        for value, support in values[name].items():
            if name in COUNT_FIELDS:
                found.append((support, {"feature": name, "op": "range", "value": list(count_bins[value])}))
            else:
                found.append((support, {"feature": name, "op": "eq", "value": value}))
    for key, present in attribute_present.items():
        if present < threshold:
            continue
        name = f"attributes.{key}"
        numbers = attribute_numbers.get(key, [])
        if len(numbers) >= NUMERIC_ATTRIBUTE_SHARE * present:
            found += _numeric_attribute_bins(name, numbers)
        else:
            found += [(support, {"feature": name, "op": "attr_eq", "value": value}) for value, support in attribute_values[key].items()]
    chosen = [(support, feature) for support, feature in found if threshold <= support < n]
    chosen.sort(key=lambda item: (-item[0], item[1]["feature"], str(item[1]["value"])))
    return chosen[:MAX_FEATURES]


def _numeric_attribute_bins(name: str, numbers: list[float]) -> list[tuple[int, dict[str, Any]]]:
    """Quintile bins of a numeric attribute; the edges are values seen, so labels stay readable."""
    import numpy as np

    data = np.asarray(numbers, dtype=float)
    edges = sorted({float(edge) for edge in np.quantile(data, ATTRIBUTE_QUANTILES, method="lower")})
    edges = [edge for edge in edges if edge > data.min()]  # a first bin that would be empty
    bounds = [None, *edges, None]
    bins = []
    for low, high in zip(bounds, bounds[1:]):
        mask = np.ones(len(data), dtype=bool)
        if low is not None:
            mask &= data >= low
        if high is not None:
            mask &= data < high
        bins.append((int(mask.sum()), {"feature": name, "op": "attr_range", "value": [_plain(low), _plain(high)]}))
    return bins


def _plain(number: float | None) -> float | int | None:
    """JSON-friendly edge: 500 rather than 500.0."""
    if number is None:
        return None
    return int(number) if float(number).is_integer() and abs(number) < 2**53 else float(number)


def _design_matrix(rows: list[Row], features: list[dict[str, Any]]):
    """The 0/1 matrix (sparse CSR) of which lead has which feature, built in one pass."""
    import numpy as np
    from scipy import sparse

    by_value: dict[str, dict[Any, int]] = defaultdict(dict)  # field → value → column
    ranges: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)  # field or attribute → bins
    attribute_values: dict[str, list[tuple[int, Any]]] = defaultdict(list)
    for column, feature in enumerate(features):
        if feature["op"] == "eq":
            by_value[feature["feature"]][feature["value"]] = column
        elif feature["op"] == "attr_eq":
            attribute_values[feature["feature"].split(".", 1)[1]].append((column, feature["value"]))
        else:
            ranges[feature["feature"]].append((column, feature))
    field_index = {name: index for index, name in enumerate(FIELDS)}
    indices: list[int] = []
    indptr = [0]
    for row in rows:
        for name, columns in by_value.items():
            column = columns.get(row[field_index[name]])
            if column is not None:
                indices.append(column)
        attributes = row[len(FIELDS)] if isinstance(row[len(FIELDS)], dict) else {}
        for name, bins in ranges.items():
            value = attributes.get(name.split(".", 1)[1]) if name.startswith("attributes.") else row[field_index[name]]
            for column, feature in bins:
                if _in_range(value, *feature["value"]):
                    indices.append(column)
                    break
        for key, targets in attribute_values.items():
            if key in attributes:
                for column, target in targets:
                    if _same_json(attributes[key], target):
                        indices.append(column)
                        break
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float64)
    return sparse.csr_matrix((data, np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int64)), shape=(len(rows), len(features)))


def _calibration(outcomes, predicted) -> list[dict[str, Any]]:
    """Held-out leads in ten bins of predicted probability: mean predicted vs observed won rate."""
    import numpy as np

    bins = np.minimum((predicted * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    table = []
    for index in range(CALIBRATION_BINS):
        mask = bins == index
        count = int(mask.sum())
        if count:
            table.append({
                "bin": f"{index * 100 // CALIBRATION_BINS}–{(index + 1) * 100 // CALIBRATION_BINS}%",
                "predicted": round(float(predicted[mask].mean()), 4),
                "observed": round(float(outcomes[mask].mean()), 4),
                "count": count,
            })
    return table


def _fit(X, y):
    """Logistic regression with its L2 strength chosen by 3-fold cross-validated log loss."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=SEED)
    return LogisticRegressionCV(
        Cs=list(C_GRID), l1_ratios=(0.0,), cv=folds, scoring="neg_log_loss", max_iter=2000,
        use_legacy_attributes=False,
    ).fit(X, y)


def model_train() -> ScoringModel:
    """Learn the won/lost model from closed leads and save it (ready, insufficient or failed)."""
    started = time.perf_counter()
    rows, outcomes = _closed_rows()
    n, won = len(outcomes), sum(outcomes)
    lost = n - won
    record = ScoringModel(n_closed=n, n_won=won, n_lost=lost)

    def finish(status: str, message: str) -> ScoringModel:
        record.status, record.message = status, message
        record.duration_seconds = round(time.perf_counter() - started, 3)
        record.save()
        logger.info("scoring model %s: %s", status, message)
        return record

    if n < MIN_CLOSED:
        return finish(ScoringModel.Status.INSUFFICIENT, TOO_FEW_CLOSED.format(n=n, min=MIN_CLOSED))
    if min(won, lost) < MIN_PER_CLASS:
        return finish(ScoringModel.Status.INSUFFICIENT, ONE_CLASS_MISSING.format(won=won, lost=lost, min=MIN_PER_CLASS))
    candidates = _candidate_features(rows)
    if not candidates:
        threshold = max(MIN_SUPPORT, math.ceil(MIN_SHARE * n))
        return finish(ScoringModel.Status.INSUFFICIENT, NO_FEATURES.format(min=threshold, n=n))
    features = [feature for _, feature in candidates]
    import numpy as np
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    try:
        X = _design_matrix(rows, features)
        y = np.asarray(outcomes, dtype=np.int8)
        del rows
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=HOLDOUT_SHARE, stratify=y, random_state=SEED
        )
        evaluated = _fit(X_train, y_train)
        predicted = evaluated.predict_proba(X_test)[:, 1]
        record.auc = round(float(roc_auc_score(y_test, predicted)), 4)
        record.calibration = _calibration(y_test, predicted)
        # The figures above judge the procedure on leads it did not see; the model kept is the
        # same procedure refit on every closed lead, so no history is thrown away.
        final = _fit(X, y)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        logger.exception("scoring model training failed")
        return finish(ScoringModel.Status.FAILED, TRAINING_FAILED.format(error=exc))
    support = {id(feature): count for count, feature in candidates}
    record.intercept = float(final.intercept_[0])
    record.features = [
        {**feature, "label": feature_label(feature), "weight": float(weight), "share": round(support[id(feature)] / n, 4)}
        for feature, weight in zip(features, final.coef_[0])
    ]
    return finish(ScoringModel.Status.READY, TRAINED.format(n=n, won=won, lost=lost, k=len(features), auc=record.auc))


# --- Using the model ------------------------------------------------------------------------

def model_current() -> ScoringModel | None:
    """The model in use: the newest trained one if it is ready (a failed training changes nothing)."""
    newest = (
        ScoringModel.objects.filter(status__in=(ScoringModel.Status.READY, ScoringModel.Status.INSUFFICIENT))
        .order_by("-trained_at", "-id").first()
    )
    return newest if newest is not None and newest.status == ScoringModel.Status.READY else None


def _logit_expression(model: ScoringModel):
    """intercept + Σ weights as SQL: one CASE per field (its features exclude each other)."""
    by_field: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for feature in model.features:
        if feature["weight"]:
            by_field[feature["feature"]].append(feature)
    total = Value(float(model.intercept), output_field=FloatField())
    for features in by_field.values():
        whens = [When(feature_condition(feature), then=Value(float(feature["weight"]))) for feature in features]
        total = total + Case(*whens, default=Value(0.0), output_field=FloatField())
    return total


def probability_expression(model: ScoringModel):
    """The model's probability for a Lead row, as one SQL expression."""
    logit = Least(Greatest(_logit_expression(model), Value(-LOGIT_CLAMP)), Value(LOGIT_CLAMP))
    return Round(Value(1.0) / (Value(1.0) + Exp(-logit)), PROBABILITY_DECIMALS, output_field=FloatField())


def probabilities_update(*, lead_ids: list[int] | None = None) -> int:
    """Set the probability of open leads (all, or these ids) from the current model, set-based;
    NULL when there is no model. Closed leads keep theirs. Returns how many leads changed."""
    model = model_current()
    scope = Lead.objects.filter(status__in=OPEN)
    if lead_ids is not None:
        scope = scope.filter(pk__in=lead_ids)
    if model is None:
        # One statement: it writes nothing unless a model was just lost (a rare, one-off clear).
        return scope.filter(probability__isnull=False).update(probability=None)
    if lead_ids is not None:
        return _probabilities_write(scope, model)
    bounds = Lead.objects.aggregate(first=Min("pk"), last=Max("pk"))  # the primary key index: instant
    if bounds["first"] is None:
        return 0
    starts = range(bounds["first"], bounds["last"] + 1, UPDATE_BATCH)
    if len(starts) == 1:
        return _probabilities_write(scope, model)
    changed = 0
    for start in starts:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # JIT-compiling this long expression costs more per batch than it saves.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL jit = off")
            changed += _probabilities_write(scope.filter(pk__gte=start, pk__lt=start + UPDATE_BATCH), model)
    return changed


def _probabilities_write(scope, model: ScoringModel | None) -> int:
    if model is None:
        return scope.filter(probability__isnull=False).update(probability=None)
    # Django guarantees EXP on SQLite too (it registers a Python one when SQLite lacks its math
    # functions), so `make run` takes the same set-based path. Rows whose value would not change
    # are skipped: a rescore after a rule change does not rewrite a million rows for nothing.
    expression = _compiled_probability(model)
    return scope.exclude(probability=expression).update(probability=expression)


_compiled: dict[tuple[str, float, str], tuple[str, tuple]] = {}


def probability_sql(model: ScoringModel) -> RawSQL:
    """The model's probability for a lead row, as an expression a rescore computes in bulk."""
    return _compiled_probability(model)


def _compiled_probability(model: ScoringModel) -> RawSQL:
    """probability_expression compiled to SQL once per model: building and compiling a hundred
    CASE branches costs ~40 ms, far more than updating one lead (rescored after each event)."""
    key = (connection.vendor, model.intercept, json.dumps(model.features, sort_keys=True))  # what the SQL depends on
    if key not in _compiled:
        query = Lead.objects.all().query
        resolved = probability_expression(model).resolve_expression(query)
        sql, params = query.get_compiler(connection=connection).compile(resolved)
        _compiled.clear()  # only the model in use is worth keeping
        _compiled[key] = (sql, tuple(params))
    sql, params = _compiled[key]
    return RawSQL(sql, params, output_field=FloatField())


def model_features(*, lead: Lead, model: ScoringModel | None = None) -> list[dict[str, Any]]:
    """The current model's features that this lead has, with their weights."""
    model = model or model_current()
    if model is None:
        return []
    values = {name: _field_value(lead, name) for name in FIELDS}
    attributes = lead.attributes if isinstance(lead.attributes, dict) else {}
    return [feature for feature in model.features if feature_matches(feature, values=values, attributes=attributes)]


def probability_explain(*, lead: Lead) -> list[dict[str, Any]]:
    """What pushed the lead's probability up or down most (log-odds weights), then the base rate."""
    model = model_current()
    if model is None:
        return []
    present = [feature for feature in model_features(lead=lead, model=model) if round(feature["weight"], 2)]
    present.sort(key=lambda feature: -abs(feature["weight"]))
    explanation = [{"label": feature["label"], "weight": round(feature["weight"], 2), "feature": feature["feature"]} for feature in present]
    rate = model.n_won / model.n_closed if model.n_closed else 0.0
    explanation.append({
        "label": f"Starting point (base rate: {rate:.0%} of {model.n_closed:,} closed leads won)",
        "weight": round(model.intercept, 2), "feature": "", "base": True,
    })
    return explanation
