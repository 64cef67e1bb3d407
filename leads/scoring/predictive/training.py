"""Training: learn the won/lost model from closed leads and save it as a ScoringModel row."""

import logging
import time
from collections.abc import Iterator
from typing import Any

from ...models import Lead, ScoringModel
from .choice import hgb_sample, model_choose
from .encoding import candidate_features, design_matrix, support_threshold
from .features import FIELDS, feature_label
from .tabular import table, tree_columns

logger = logging.getLogger(__name__)

WON, LOST = Lead.Status.CONVERTED, Lead.Status.LOST
MIN_CLOSED = 50  # fewer closed leads than this: no model ("insufficient")
MIN_PER_CLASS = 10  # and at least this many won and this many lost
MAX_TRAINING_LEADS = 500_000  # the newest closed leads; older history says less about today
HOLDOUT_SHARE = 0.25
SEED = 20240611
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)  # inverse L2 strength, chosen by 3-fold log loss
CALIBRATION_BINS = 10

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
TRAINED = "Trained on {n} closed leads ({won} won, {lost} lost) with {k} features; {kind} won the choice; held-out AUC {auc:.3f}."
STRONGEST_SHOWN = 20  # a tree model's strongest columns listed on the model page
TABLE_CHUNK = 5000  # sampled rows turned into the trees' table at a time (never all rows as tuples)
TRAINING_FAILED = "Training failed: {error}. The previous model stays in use."


def closed_rows(outcomes: list[int]) -> Iterator[tuple]:
    """The newest closed leads as value tuples, streamed from the database (no model instances,
    never all in memory); each one's won=1/lost=0 is appended to outcomes as it goes by."""
    query = (
        Lead.objects.filter(status__in=(WON, LOST))
        .order_by("-id")
        .values_list(*FIELDS, "attributes", "tags", "created_at", "status")[:MAX_TRAINING_LEADS]
    )
    for row in query.iterator(chunk_size=5000):
        outcomes.append(1 if row[-1] == WON else 0)
        yield row[:-1]


def _sampled(rows: Iterator[tuple], sample, columns: list, chunks: list) -> Iterator[tuple]:
    """The rows, passed on; the sampled ones are also turned into the trees' table, a chunk at a time."""
    wanted = iter(sample.tolist())
    next_wanted = next(wanted, None)
    buffer: list[tuple] = []
    for position, row in enumerate(rows):
        if position == next_wanted:
            buffer.append(row)
            next_wanted = next(wanted, None)
            if len(buffer) >= TABLE_CHUNK:
                chunks.append(table(buffer, columns))
                buffer = []
        yield row
    if buffer:
        chunks.append(table(buffer, columns))


def _calibration(outcomes, predicted) -> list[dict[str, Any]]:
    """Held-out leads in ten bins of predicted probability: mean predicted vs observed won rate."""
    import numpy as np  # heavy (numpy): loaded only when a model is trained or applied

    bins = np.minimum((predicted * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    table = []
    for index in range(CALIBRATION_BINS):
        mask = bins == index
        count = int(mask.sum())
        if count:
            table.append(
                {
                    "bin": f"{index * 100 // CALIBRATION_BINS}–{(index + 1) * 100 // CALIBRATION_BINS}%",
                    "predicted": round(float(predicted[mask].mean()), 4),
                    "observed": round(float(outcomes[mask].mean()), 4),
                    "count": count,
                }
            )
    return table


def _fit(X, y):
    """Logistic regression with its L2 strength chosen by 3-fold cross-validated log loss."""
    from sklearn.linear_model import LogisticRegressionCV  # heavy: loaded only when used
    from sklearn.model_selection import StratifiedKFold  # heavy: loaded only when used

    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=SEED)
    return LogisticRegressionCV(
        Cs=list(C_GRID),
        l1_ratios=(0.0,),
        cv=folds,
        scoring="neg_log_loss",
        max_iter=2000,
        use_legacy_attributes=False,
    ).fit(X, y)


def _refit(X, y, *, strength: float):
    """The same logistic regression at the L2 strength cross-validation chose, on every closed lead
    (choosing it again on all of them cost as much as the rest of training and changed little)."""
    from sklearn.linear_model import LogisticRegression  # heavy: loaded only when used

    return LogisticRegression(C=strength, max_iter=2000).fit(X, y)


def model_train() -> ScoringModel:
    """Learn the won/lost model from closed leads and save it (ready, insufficient or failed)."""
    started = time.perf_counter()
    # Two passes over the closed leads: which features are common enough, then the matrix. A lead
    # closing in between changes a support count slightly; the matrix and outcomes come from one pass.
    outcomes: list[int] = []
    candidates = candidate_features(closed_rows(outcomes))
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
    if not candidates:
        threshold = support_threshold(n)
        return finish(ScoringModel.Status.INSUFFICIENT, NO_FEATURES.format(min=threshold, n=n))
    features = [feature for _, feature in candidates]
    import numpy as np  # heavy (numpy): loaded only when a model is trained or applied
    from sklearn.metrics import roc_auc_score  # heavy (scikit-learn): loaded only when a model is trained or applied
    from sklearn.model_selection import train_test_split  # heavy: loaded only when used

    columns = tree_columns(features)
    sample = hgb_sample(n, seed=SEED)
    try:
        outcomes = []
        chunks: list = []
        X = design_matrix(_sampled(closed_rows(outcomes), sample, columns, chunks), features)
        y = np.asarray(outcomes, dtype=np.int8)
        record.n_closed, record.n_won = len(y), int(y.sum())
        record.n_lost = record.n_closed - record.n_won
        sample = sample[sample < len(y)]  # a lead deleted between the two passes
        T = np.vstack(chunks) if chunks else np.empty((0, len(columns)))
        train, test = train_test_split(np.arange(len(y)), test_size=HOLDOUT_SHARE, stratify=y, random_state=SEED)
        evaluated = _fit(X[train], y[train])
        predicted = evaluated.predict_proba(X[test])[:, 1]
        record.auc = round(float(roc_auc_score(y[test], predicted)), 4)
        record.calibration = _calibration(y[test], predicted)
        choice = model_choose(
            X=X, T=T, y=y, sample=sample, train=train, test=test, logistic=evaluated, columns=columns, seed=SEED
        )
        record.metrics = {key: choice[key] for key in ("logistic", "boosted", "held_out", "tree_rows", "iterations")}
        record.metrics["winner"] = record.kind = choice["kind"]
        if choice["kind"] == ScoringModel.Kind.BOOSTED:
            # Calibration and AUC of the model in use, after the choice, on its held-out leads.
            record.auc = round(choice["boosted"]["auc"], 4)
            record.calibration = _calibration(choice["y_eval"], choice["predicted"])
            record.trees = choice["trees"]
            record.metrics["strongest"] = choice["trees"]["importance"][:STRONGEST_SHOWN]
        # The figures above judge the procedure on leads it did not see; the model kept is the
        # same model refit on every closed lead, so no history is thrown away.
        final = _refit(X, y, strength=float(evaluated.C_))
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        logger.exception("scoring model training failed")
        return finish(ScoringModel.Status.FAILED, TRAINING_FAILED.format(error=exc))
    support = {id(feature): count for count, feature in candidates}
    record.intercept = float(final.intercept_[0])
    record.features = [
        {
            **feature,
            "label": feature_label(feature),
            "weight": float(weight),
            "share": round(support[id(feature)] / n, 4),
        }
        for feature, weight in zip(features, final.coef_[0])
    ]
    return finish(
        ScoringModel.Status.READY,
        TRAINED.format(
            n=record.n_closed,
            won=record.n_won,
            lost=record.n_lost,
            k=len(features),
            auc=record.auc,
            kind=record.get_kind_display(),
        ),
    )
