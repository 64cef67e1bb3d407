"""Applying a tree model: trees cannot become one SQL expression, so open leads' probabilities are
computed in Python, UPDATE_BATCH leads at a time (their values read as tuples, no model
instances). probabilities_update() writes the leads whose stored percentage changes with the
set-based UPDATE … FROM (VALUES …) of leads/common/bulk.py. A rescore (one id range per Celery task,
leads.scoring.tasks.rescore_range_task) does not write them first: it stages them in a session-local table
(tree_probabilities_stage) and its own statement reads them from there, so a lead whose probability
and score both change is rewritten once, not twice (every rewrite of a lead row costs all its
indexes: see bench/README.md, "What bulk writes cost")."""

from typing import Any

from django.db import connection
from django.db.models import DateTimeField, F, FloatField, JSONField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import NullIf

from ...common.bulk import objects_update
from ...models import Lead, ScoringModel
from .boosted import TreePredictor
from .choice import boosted_explain
from .features import FIELDS
from .tabular import table

SMALL_EFFECT = 0.01  # log-odds: a contribution smaller than this is shown with the others together
WRITE_BATCH = 2000  # rows per UPDATE … FROM (VALUES …) statement
_predictors: dict[int, tuple[dict[str, Any], TreePredictor]] = {}


def is_boosted(model: ScoringModel | None) -> bool:
    return model is not None and model.kind == ScoringModel.Kind.BOOSTED


def tree_predictor(model: ScoringModel) -> tuple[dict[str, Any], TreePredictor]:
    """The model's trees, loaded and prepared once per process (model_current() leaves them out:
    most rescores of one lead never need them, and they weigh up to a megabyte)."""
    loaded = _predictors.get(model.pk)  # read once: another thread of a web process may clear the dict
    if loaded is None:
        exported = ScoringModel.objects.values_list("trees", flat=True).get(pk=model.pk)
        loaded = (exported, TreePredictor(exported))
        _predictors.clear()  # only the model in use is worth keeping
        _predictors[model.pk] = loaded
    return loaded


def tree_probabilities(model: ScoringModel, rows: list[tuple], *, decimals: int, clamp: float):
    """Probabilities (rounded as stored) of rows of FIELDS values, attributes, tags, created_at."""
    import numpy as np  # heavy (numpy): loaded only when a model is trained or applied

    exported, predictor = tree_predictor(model)
    logit = np.clip(predictor.log_odds(table(rows, exported["columns"])), -clamp, clamp)
    return np.round(1.0 / (1.0 + np.exp(-logit)), decimals)


def tree_probabilities_write(*, model: ScoringModel, scope, decimals: int, clamp: float, batch: int) -> int:
    """Compute the probability of every lead in scope (open leads) and write the ones that change;
    returns how many changed. Reads and writes `batch` leads at a time, in id order."""
    changed = 0
    last = 0
    while True:
        rows = list(
            scope.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "probability", *FIELDS, "attributes", "tags", "created_at")[:batch]
        )
        if not rows:
            return changed
        last = rows[-1][0]
        probabilities = tree_probabilities(model, [row[2:] for row in rows], decimals=decimals, clamp=clamp)
        updates = [
            Lead(pk=row[0], probability=float(probability))
            for row, probability in zip(rows, probabilities)
            if row[1] is None or abs(row[1] - probability) > 1e-9
        ]
        changed += objects_update(objects=updates, fields=["probability"], batch_size=WRITE_BATCH)
        if len(rows) < batch:
            return changed


STAGE_TABLE = "leads_tree_probability"


def _tree_rows(scope, *, after: int, batch: int, columns: list[dict[str, Any]]) -> list[tuple]:
    """The next `batch` leads of scope after id `after`: (pk, FIELDS…, attributes, tags, created_at).
    Attributes and tags come back as None when the model has no column of theirs or the lead has
    none: decoding every lead's '{}' and '[]' was 40 % of the Python CPU of a range (profiled:
    3.1 of 7.7 s for 69,000 leads)."""
    uses_attributes = any(column["source"].startswith("attributes.") for column in columns)
    uses_tags = any(column["kind"] == "tag" for column in columns)
    uses_created = any(column["kind"] == "days" for column in columns)  # else parsing it was 13 % of a range
    nothing = Value(None, output_field=JSONField())
    return list(
        scope.filter(pk__gt=after)
        .order_by("pk")
        .annotate(
            tree_attributes=NullIf("attributes", Value({}, output_field=JSONField())) if uses_attributes else nothing,
            tree_tags=NullIf("tags", Value([], output_field=JSONField())) if uses_tags else nothing,
            tree_created=F("created_at") if uses_created else Value(None, output_field=DateTimeField()),
        )
        .values_list("pk", *FIELDS, "tree_attributes", "tree_tags", "tree_created")[:batch]
    )


def tree_probabilities_stage(*, model: ScoringModel, scope, decimals: int, clamp: float, batch: int) -> int:
    """Compute the probability of every lead in scope (open leads) into the session-local stage
    table (emptied first; nothing is written to the lead rows); returns how many were staged.
    staged_probability() reads them back in the rescore's statement."""
    exported, _ = tree_predictor(model)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE_TABLE} (id BIGINT PRIMARY KEY, probability DOUBLE PRECISION)"
        )
        cursor.execute(f"DELETE FROM {STAGE_TABLE}")
        staged = 0
        last = 0
        while True:
            rows = _tree_rows(scope, after=last, batch=batch, columns=exported["columns"])
            if not rows:
                break
            last = rows[-1][0]
            probabilities = tree_probabilities(model, [row[1:] for row in rows], decimals=decimals, clamp=clamp)
            ids = [row[0] for row in rows]
            if connection.vendor == "postgresql":  # two arrays, one statement
                # as array literals: psycopg's list dumper was 8 % of a range's compute; repr() of a
                # float reads back as the same float
                cursor.execute(
                    f"INSERT INTO {STAGE_TABLE} (id, probability) SELECT * FROM unnest(%s::bigint[], %s::float8[])",
                    ["{" + ",".join(map(str, ids)) + "}", "{" + ",".join(map(repr, probabilities.tolist())) + "}"],
                )
            else:
                cursor.executemany(
                    f"INSERT INTO {STAGE_TABLE} (id, probability) VALUES (%s, %s)",
                    list(zip(ids, probabilities.tolist())),
                )
            staged += len(rows)
            if len(rows) < batch:
                break
    return staged


def staged_probability() -> RawSQL:
    """A tree model's probability in a rescore's statement: what tree_probabilities_stage() just
    computed for the lead (the stored column for a lead it did not stage)."""
    table_name = connection.ops.quote_name(Lead._meta.db_table)
    return RawSQL(
        f"COALESCE((SELECT s.probability FROM {STAGE_TABLE} s WHERE s.id = {table_name}.id), {table_name}.probability)",
        [],
        output_field=FloatField(),
    )


def stored_probability() -> RawSQL:
    """A tree model's probability in a rescore's statement: the column its range just wrote."""
    column = f"{connection.ops.quote_name(Lead._meta.db_table)}.{connection.ops.quote_name('probability')}"
    return RawSQL(column, [], output_field=FloatField())


def tree_explain(*, model: ScoringModel, lead: Lead) -> list[dict[str, Any]]:
    """A lead's contributions (log-odds) per column, largest first, then the starting point; they
    add up to the log-odds of the probability shown."""
    exported, predictor = tree_predictor(model)
    row = tuple(
        getattr(lead, name).code if name == "country" and hasattr(getattr(lead, name), "code") else getattr(lead, name)
        for name in FIELDS
    ) + (lead.attributes, lead.tags, lead.created_at)
    start, items = boosted_explain(exported, predictor, table([row], exported["columns"])[0])
    explanation = [{**item, "weight": float(item["weight"])} for item in items if abs(item["weight"]) >= SMALL_EFFECT]
    rest = sum(item["weight"] for item in items if abs(item["weight"]) < SMALL_EFFECT)
    if rest:  # many tiny effects in one line, so the list stays short and still adds up
        explanation.append({"label": "Other properties (small effects together)", "weight": float(rest), "feature": ""})
    rate = model.n_won / model.n_closed if model.n_closed else 0.0
    explanation.append(
        {
            "label": f"Starting point (base rate: {rate:.0%} of {model.n_closed:,} closed leads won)",
            "weight": float(start),
            "feature": "",
            "base": True,
        }
    )
    return explanation


__all__ = [
    "STAGE_TABLE",
    "is_boosted",
    "staged_probability",
    "stored_probability",
    "tree_probabilities_stage",
    "tree_explain",
    "tree_predictor",
    "tree_probabilities",
    "tree_probabilities_write",
]
