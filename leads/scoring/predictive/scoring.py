"""Using the model: one SQL expression per model, written to open leads in id-range batches, and
the explanation of a lead's probability."""

import json
from collections import defaultdict
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, FloatField, Max, Min, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Exp, Greatest, Least, Round

from ...models import Lead, ScoringModel
from .applying import (
    is_boosted,
    staged_probability,
    stored_probability,
    tree_explain,
    tree_probabilities_stage,
    tree_probabilities_write,
)
from .features import ADDITIVE_OPS, EXCLUSIVE_ORDER, FIELDS, feature_condition, feature_matches, field_value

OPEN = ("new", "active", "nurturing", "qualified")
UPDATE_BATCH = 20_000  # open leads per UPDATE: one short transaction each, so row locks stay brief
# Stored as a whole percentage (0.34): what people see, and under half a point of score. A nightly
# retrain then rewrites only the ~10 % of leads whose percentage moved, not every open lead
# (writing a lead row costs far more than computing its probability: the table has many indexes).
PROBABILITY_DECIMALS = 2
LOGIT_CLAMP = 30.0  # exp() of more overflows nothing and changes nothing visible


def model_current() -> ScoringModel | None:
    """The model in use: the newest trained one if it is ready (a failed training changes nothing)."""
    newest = (
        ScoringModel.objects.filter(status__in=(ScoringModel.Status.READY, ScoringModel.Status.INSUFFICIENT))
        .defer("trees")
        .order_by("-trained_at", "-id")
        .first()
    )
    return newest if newest is not None and newest.status == ScoringModel.Status.READY else None


def _logit_expression(model: ScoringModel):
    """intercept + Σ weights as SQL: one CASE per field (its features exclude each other, and the
    catch-all "another value" and "missing" branches come after the named values), plus one term
    per job-title word and per tag (a lead can have several). Every feature stays in its CASE, even
    a zero weight, so that a catch-all never takes a value that has a feature of its own."""
    by_field: dict[str, list[dict[str, Any]]] = defaultdict(list)
    total = Value(float(model.intercept), output_field=FloatField())
    for feature in model.features:
        if feature["op"] in ADDITIVE_OPS:
            if feature["weight"]:
                whens = [When(feature_condition(feature), then=Value(float(feature["weight"])))]
                total = total + Case(*whens, default=Value(0.0), output_field=FloatField())
        else:
            by_field[feature["feature"]].append(feature)
    for features in by_field.values():
        features = sorted(features, key=lambda feature: EXCLUSIVE_ORDER[feature["op"]])
        if not any(feature["weight"] for feature in features):
            continue
        named = [feature for feature in features if feature["op"] == "attr_eq"]
        if connection.vendor == "postgresql" and len(named) > 1:
            total = total + _attribute_case(features, named)
            continue
        whens = [When(feature_condition(feature), then=Value(float(feature["weight"]))) for feature in features]
        total = total + Case(*whens, default=Value(0.0), output_field=FloatField())
    return total


def _attribute_case(features: list[dict[str, Any]], named: list[dict[str, Any]]) -> RawSQL:
    """A categorical attribute on PostgreSQL as a simple CASE: the value is read from the JSON once
    per lead, not once per named value (a key with 30 values made scoring several times slower);
    the catch-alls follow in the ELSE, in the same order as the general CASE."""
    key = named[0]["feature"].split(".", 1)[1]
    column = f'{connection.ops.quote_name(Lead._meta.db_table)}."attributes"'
    sql = [f"CASE ({column} -> %s)"]
    params: list[Any] = [key]
    for feature in named:
        sql.append("WHEN %s::jsonb THEN %s")
        params += [json.dumps(feature["value"]), float(feature["weight"])]
    rest = [feature for feature in features if feature["op"] != "attr_eq"]
    if rest:
        query = Lead.objects.all().query
        whens = [When(feature_condition(feature), then=Value(float(feature["weight"]))) for feature in rest]
        compiled, rest_params = query.get_compiler(connection=connection).compile(
            Case(*whens, default=Value(0.0), output_field=FloatField()).resolve_expression(query)
        )
        sql.append(f"ELSE {compiled}")
        params += list(rest_params)
    else:
        sql.append("ELSE 0.0")
    sql.append("END")
    return RawSQL(" ".join(sql), params, output_field=FloatField())


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
    if is_boosted(model):
        return tree_probabilities_write(
            model=model, scope=scope, decimals=PROBABILITY_DECIMALS, clamp=LOGIT_CLAMP, batch=UPDATE_BATCH
        )
    # Django guarantees EXP on SQLite too (it registers a Python one when SQLite lacks its math
    # functions), so `make run` takes the same set-based path. Rows whose value would not change
    # are skipped: a rescore after a rule change does not rewrite a million rows for nothing.
    expression = _compiled_probability(model)
    return scope.exclude(probability=expression).update(probability=expression)


_compiled: dict[tuple[str, float, str], tuple[str, tuple]] = {}


def probability_sql(model: ScoringModel) -> RawSQL:
    """The model's probability for a lead row, as an expression computed in bulk (a tree model's is
    the stored column; a rescore stages fresh ones first: probabilities_prepare())."""
    if is_boosted(model):
        return stored_probability()
    return _compiled_probability(model)


def probabilities_prepare(
    *, model: ScoringModel | None, lead_ids: list[int] | None = None, id_range: tuple[int, int] | None = None
) -> RawSQL | None:
    """The probability a rescore's statement computes for the open leads in scope: a tree model's
    is computed here in Python into a session-local table and read from there (the rescore then
    writes it together with the score, each lead row once); a logistic model's is its SQL
    expression. None without a model. Call it inside the rescore's transaction."""
    if model is None:
        return None
    if not is_boosted(model):
        return _compiled_probability(model)
    scope = Lead.objects.filter(status__in=OPEN)
    if lead_ids is not None:
        scope = scope.filter(pk__in=lead_ids)
    if id_range is not None:
        scope = scope.filter(pk__gte=id_range[0], pk__lt=id_range[1])
    tree_probabilities_stage(
        model=model, scope=scope, decimals=PROBABILITY_DECIMALS, clamp=LOGIT_CLAMP, batch=UPDATE_BATCH
    )
    return staged_probability()


def _compiled_probability(model: ScoringModel) -> RawSQL:
    """probability_expression compiled to SQL once per model: building and compiling a hundred
    CASE branches costs ~40 ms, far more than updating one lead (rescored after each event)."""
    key = (connection.vendor, model.intercept, json.dumps(model.features, sort_keys=True))  # what the SQL depends on
    compiled = _compiled.get(key)  # read once: another thread of a web process may clear the dict
    if compiled is None:
        query = Lead.objects.all().query
        resolved = probability_expression(model).resolve_expression(query)
        sql, params = query.get_compiler(connection=connection).compile(resolved)
        compiled = (sql, tuple(params))
        _compiled.clear()  # only the model in use is worth keeping
        _compiled[key] = compiled
    sql, params = compiled
    return RawSQL(sql, params, output_field=FloatField())


def model_features(*, lead: Lead, model: ScoringModel | None = None) -> list[dict[str, Any]]:
    """The current model's features that this lead has, with their weights."""
    model = model or model_current()
    if model is None:
        return []
    values = {name: field_value(lead, name) for name in FIELDS}
    values["created_at"] = lead.created_at  # date attributes count their days from it
    attributes = lead.attributes if isinstance(lead.attributes, dict) else {}
    tags = lead.tags if isinstance(lead.tags, list) else []
    return [
        feature
        for feature in model.features
        if feature_matches(feature, values=values, attributes=attributes, tags=tags)
    ]


def probability_explain(*, lead: Lead) -> list[dict[str, Any]]:
    """What pushed the lead's probability up or down most (log-odds weights), then the base rate."""
    model = model_current()
    if model is None:
        return []
    if is_boosted(model):
        return tree_explain(model=model, lead=lead)
    present = [feature for feature in model_features(lead=lead, model=model) if round(feature["weight"], 2)]
    present.sort(key=lambda feature: -abs(feature["weight"]))
    explanation = [
        {"label": feature["label"], "weight": round(feature["weight"], 2), "feature": feature["feature"]}
        for feature in present
    ]
    rate = model.n_won / model.n_closed if model.n_closed else 0.0
    explanation.append(
        {
            "label": f"Starting point (base rate: {rate:.0%} of {model.n_closed:,} closed leads won)",
            "weight": round(model.intercept, 2),
            "feature": "",
            "base": True,
        }
    )
    return explanation
