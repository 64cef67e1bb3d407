"""Which model to keep: the regularised logistic regression or gradient-boosted trees, chosen
afresh at every training (nightly) on the closed leads, with no setting to tune.

Both are judged on the same held-out closed leads, which neither saw. The trees win only when
they are better on both counts, held-out log loss (are the probabilities right?) and AUC (is
the ranking right?); with fewer than CV_MAX_ROWS training leads, where a hold-out is small and
noisy, they must also win the 3-fold cross-validated log loss on the training leads. A tie
keeps the logistic regression: it is applied in SQL and its weights read as they are.
"""

import logging
from typing import Any

from .boosted import HGB_MAX_ROWS, TreePredictor, hgb_export, hgb_fit
from .tabular import categorical_mask, cell_text

logger = logging.getLogger(__name__)

CV_MAX_ROWS = 20_000  # below this many training leads, the choice also asks 3-fold cross-validation
IMPORTANCE_ROWS = 300  # held-out leads whose contributions rank a tree model's strongest columns


def hgb_sample(n: int, *, seed: int):
    """Which closed leads (positions in the stream) the trees learn from: all, or a random sample."""
    import numpy as np  # heavy (numpy): loaded only when a model is trained or applied

    if n <= HGB_MAX_ROWS:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, HGB_MAX_ROWS, replace=False))


def _metrics(y, predicted) -> dict[str, float]:
    from sklearn.metrics import log_loss, roc_auc_score  # heavy: loaded only when used

    return {
        "log_loss": round(float(log_loss(y, predicted, labels=[0, 1])), 5),
        "auc": round(float(roc_auc_score(y, predicted)), 5),
    }


def _cv_log_loss(make, X, y, *, seed: int) -> float:
    """Mean log loss of 3 folds of the training leads, each model fitted on the other two."""
    import numpy as np  # heavy (numpy): loaded only when a model is trained or applied
    from sklearn.metrics import log_loss  # heavy (scikit-learn): loaded only when a model is trained or applied
    from sklearn.model_selection import StratifiedKFold  # heavy: loaded only when used

    losses = []
    for fit, held in StratifiedKFold(n_splits=3, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        model = make(X[fit], y[fit])
        losses.append(log_loss(y[held], model.predict_proba(X[held])[:, 1], labels=[0, 1]))
    return round(float(np.mean(losses)), 5)


def model_choose(*, X, T, y, sample, train, test, logistic, columns: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """Fit the trees on the sampled training leads, compare with the fitted logistic regression on
    the sampled held-out leads, and say which won. `X` is the 0/1 matrix of every closed lead, `T`
    the table of the sampled ones (rows of `sample`), `train`/`test` positions in the stream."""
    import numpy as np  # heavy (numpy): loaded only when a model is trained or applied
    from sklearn.linear_model import LogisticRegression  # heavy: loaded only when used

    in_sample = np.zeros(len(y), dtype=bool)
    in_sample[sample] = True
    row_of = np.full(len(y), -1, dtype=np.int64)
    row_of[sample] = np.arange(len(sample))
    tree_train, tree_test = train[in_sample[train]], test[in_sample[test]]
    categorical = categorical_mask(columns)
    trees = hgb_fit(T[row_of[tree_train]], y[tree_train], categorical=categorical, seed=seed)
    tree_predicted = trees.predict_proba(T[row_of[tree_test]])[:, 1]
    linear_predicted = logistic.predict_proba(X[tree_test])[:, 1]
    result: dict[str, Any] = {
        "logistic": _metrics(y[tree_test], linear_predicted),
        "boosted": _metrics(y[tree_test], tree_predicted),
        "held_out": int(len(tree_test)),
        "tree_rows": int(len(tree_train)),
        "iterations": int(trees.n_iter_),
    }
    wins = (
        result["boosted"]["log_loss"] < result["logistic"]["log_loss"]
        and result["boosted"]["auc"] > result["logistic"]["auc"]
    )
    if wins and len(train) <= CV_MAX_ROWS:
        result["logistic"]["cv_log_loss"] = _cv_log_loss(
            lambda A, b: LogisticRegression(C=float(logistic.C_), max_iter=2000).fit(A, b),
            X[tree_train],
            y[tree_train],
            seed=seed,
        )
        result["boosted"]["cv_log_loss"] = _cv_log_loss(
            lambda A, b: hgb_fit(A, b, categorical=categorical, seed=seed),
            T[row_of[tree_train]],
            y[tree_train],
            seed=seed,
        )
        wins = result["boosted"]["cv_log_loss"] < result["logistic"]["cv_log_loss"]
    result["kind"] = "boosted" if wins else "logistic"
    result["y_eval"], result["predicted"] = y[tree_test], tree_predicted if wins else None
    if wins:
        # Kept: the same trees refit on every sampled closed lead, for as many rounds as early stopping chose.
        final = hgb_fit(T, y[sample], categorical=categorical, seed=seed, max_iter=int(trees.n_iter_))
        exported = hgb_export(final)
        exported["columns"] = columns
        exported["importance"] = _importance(exported, T[row_of[tree_test]][:IMPORTANCE_ROWS], columns)
        result["trees"] = exported
    return result


def _importance(exported: dict[str, Any], rows, columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The strongest columns: mean absolute contribution (log-odds) over some held-out leads."""
    import numpy as np  # heavy (numpy): loaded only when a model is trained or applied

    predictor = TreePredictor(exported)
    totals = np.zeros(len(columns))
    for row in rows:
        _, shares = predictor.contributions(row)
        totals += np.abs(shares)
    totals /= max(1, len(rows))
    order = np.argsort(-totals)
    return [{"label": columns[i]["label"], "weight": round(float(totals[i]), 4)} for i in order if totals[i] >= 0.005]


def boosted_explain(exported: dict[str, Any], predictor: TreePredictor, row) -> tuple[float, list[dict[str, Any]]]:
    """One lead's start and its columns' contributions, largest first, labelled by its own values."""
    start, shares = predictor.contributions(row)
    items = [
        {"label": cell_text(column, float(row[index])), "weight": shares[index], "feature": column["source"]}
        for index, column in enumerate(exported["columns"])
        if shares[index]
    ]
    items.sort(key=lambda item: -abs(item["weight"]))
    return start, items


__all__ = ["CV_MAX_ROWS", "boosted_explain", "hgb_sample", "model_choose"]
