"""Gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier): the fit, its trees kept
as plain JSON arrays in ScoringModel.trees (no pickle: a stored model never depends on the
installed scikit-learn's internals), a numpy predictor over those arrays, and per-feature
contributions that add up.

Contributions are Saabas path contributions: each node's expected value is the training-count
weighted mean of its leaves; walking a lead down a tree, every split moves the value from the
parent's expectation to the child's, and that move is credited to the split's column. Per tree
the moves add up to leaf − root expectation, so

    log-odds = baseline + Σ trees' root expectations + Σ columns' contributions

exactly, and the probability shown is 1 / (1 + exp(−log-odds)).
"""

from typing import Any

HGB_MAX_ROWS = 100_000  # training rows for the trees (a random sample above): ~a minute at 500,000 closed
HGB_PARAMS = {
    "learning_rate": 0.1,
    "max_iter": 300,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 20,
    "l2_regularization": 1.0,
    "early_stopping": True,
    "validation_fraction": 0.1,
    "n_iter_no_change": 15,
    "scoring": "loss",
}


def hgb_fit(X, y, *, categorical: list[bool], seed: int, max_iter: int | None = None):
    """HistGradientBoosting with early stopping on 10 % of the rows (or a fixed number of
    iterations, when refitting on every row at the count early stopping found)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    params = dict(HGB_PARAMS)
    if max_iter is not None:
        params.update(max_iter=max(1, max_iter), early_stopping=False)
    # A tiny history: a leaf must still stand for a few dozen leads' worth of evidence.
    params["min_samples_leaf"] = max(HGB_PARAMS["min_samples_leaf"], len(y) // 500)
    from threadpoolctl import threadpool_limits  # comes with scikit-learn: loaded only when a model is trained

    # One thread: on a shared 2-core machine (and in a worker process, one per core) OpenMP's
    # spinning threads made a 7,500-row fit take 77 s of wall time at load 18; alone, ~1 s.
    with threadpool_limits(limits=1, user_api="openmp"):
        return HistGradientBoostingClassifier(
            categorical_features=categorical if any(categorical) else None, random_state=seed, **params
        ).fit(X, y)


def _bits(bitset) -> list[int]:
    return [word * 32 + bit for word, value in enumerate(bitset) for bit in range(32) if (int(value) >> bit) & 1]


def hgb_export(model) -> dict[str, Any]:
    """The fitted trees as arrays: per node its column, threshold, children, the categories that go
    left, where missing values go, and its expected value (leaves: the leaf value)."""
    import numpy as np  # heavy (numpy): loaded only when a model is trained or applied

    # With categorical columns, scikit-learn puts them first and codes each one's values 0…k−1
    # (sorted): the arrays below are written back in the caller's columns and values.
    columns = np.arange(model.n_features_in_)
    values: dict[int, list[int]] = {}
    known: dict[int, list[int]] = {}
    if model._preprocessor is not None:
        categorical = np.flatnonzero(model.is_categorical_)
        columns = np.concatenate([categorical, np.flatnonzero(~model.is_categorical_)])
        encoder = model._preprocessor.named_transformers_["encoder"]
        for position, (column, categories) in enumerate(zip(categorical, encoder.categories_)):
            found = [int(value) for value in categories if not np.isnan(value)]
            values[position], known[int(column)] = found, found
    trees = []
    for (predictor,) in model._predictors:
        nodes = predictor.nodes
        bitsets = predictor.raw_left_cat_bitsets
        expected = [0.0] * len(nodes)
        for index in range(len(nodes) - 1, -1, -1):  # children come after their parent
            node = nodes[index]
            if node["is_leaf"]:
                expected[index] = float(node["value"])
        _fill_expected(nodes, expected, 0)
        trees.append(
            {
                "column": [int(columns[node["feature_idx"]]) if not node["is_leaf"] else -1 for node in nodes],
                # JSON has no infinity; a split "every number left, missing right" has +inf.
                "threshold": [float(np.clip(node["num_threshold"], -1e308, 1e308)) for node in nodes],
                "left": [int(node["left"]) for node in nodes],
                "right": [int(node["right"]) for node in nodes],
                "missing_left": [bool(node["missing_go_to_left"]) for node in nodes],
                "categories_left": [
                    [
                        values[int(node["feature_idx"])][code]
                        for code in _bits(bitsets[node["bitset_idx"]])
                        if code < len(values[int(node["feature_idx"])])
                    ]
                    if node["is_categorical"] and not node["is_leaf"]
                    else None
                    for node in nodes
                ],
                "expected": expected,
            }
        )
    return {
        "baseline": float(model._baseline_prediction.ravel()[0]),
        "trees": trees,
        "width": int(model.n_features_in_),
        "known_categories": {str(k): v for k, v in known.items()},
    }


def _fill_expected(nodes, expected: list[float], index: int) -> tuple[float, int]:
    node = nodes[index]
    if node["is_leaf"]:
        return expected[index], int(node["count"])
    left, left_count = _fill_expected(nodes, expected, int(node["left"]))
    right, right_count = _fill_expected(nodes, expected, int(node["right"]))
    count = left_count + right_count
    expected[index] = (left * left_count + right * right_count) / count if count else (left + right) / 2
    return expected[index], count


class TreePredictor:
    """The exported trees, ready to score a float matrix (NaN = missing) with numpy."""

    def __init__(self, exported: dict[str, Any]):
        import numpy as np  # heavy (numpy): loaded only when a model is trained or applied

        self.baseline = exported["baseline"]
        self.width = int(exported.get("width", 0))
        self.known = {int(column): set(values) for column, values in exported.get("known_categories", {}).items()}
        self.trees = []
        for tree in exported["trees"]:
            size = len(tree["column"])
            lefts = np.zeros((size, 256), dtype=bool)  # category codes that go left, per node
            for index, categories in enumerate(tree["categories_left"]):
                if categories:
                    lefts[index, categories] = True
            self.trees.append(
                {
                    "column": np.asarray(tree["column"], dtype=np.int64),
                    "threshold": np.asarray(tree["threshold"]),
                    "left": np.asarray(tree["left"], dtype=np.int64),
                    "right": np.asarray(tree["right"], dtype=np.int64),
                    "missing_left": np.asarray(tree["missing_left"], dtype=bool),
                    "categorical": np.asarray([c is not None for c in tree["categories_left"]], dtype=bool),
                    "lefts": lefts,
                    "expected": np.asarray(tree["expected"]),
                    "raw": tree,
                }
            )

    def prepare(self, X):
        """Unknown categories count as missing, as scikit-learn does."""
        import numpy as np  # heavy (numpy): loaded only when a model is trained or applied

        X = np.array(X, dtype=np.float64, copy=True)
        for column, known in self.known.items():
            values = X[:, column]
            present = ~np.isnan(values)
            allowed = np.isin(values, list(known))
            values[present & ~allowed] = np.nan
        return X

    def _compiled(self):
        """scikit-learn's own (Cython, multi-threaded) tree walker over the same arrays: about a
        hundred times faster than the numpy walk below. Built lazily, once per model."""
        if getattr(self, "_fast", None) is None:
            import numpy as np  # heavy (numpy): loaded only when a model is trained or applied
            from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
            from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor as Walker

            def bitset(values) -> "np.ndarray":
                words = np.zeros(8, dtype=np.uint32)
                for value in values:
                    words[value // 32] |= np.uint32(1 << (value % 32))
                return words

            walkers = []
            for tree in self.trees:
                raw = tree["raw"]
                nodes = np.zeros(len(raw["column"]), dtype=PREDICTOR_RECORD_DTYPE)
                nodes["is_leaf"] = [column < 0 for column in raw["column"]]
                nodes["feature_idx"] = [max(column, 0) for column in raw["column"]]
                nodes["num_threshold"], nodes["left"], nodes["right"] = raw["threshold"], raw["left"], raw["right"]
                nodes["missing_go_to_left"], nodes["value"] = raw["missing_left"], raw["expected"]
                categorical = [index for index, values in enumerate(raw["categories_left"]) if values is not None]
                nodes["is_categorical"][categorical] = 1
                nodes["bitset_idx"][categorical] = range(len(categorical))
                sets = np.array(
                    [bitset(raw["categories_left"][index]) for index in categorical], dtype=np.uint32
                ).reshape(-1, 8)
                walkers.append(Walker(nodes, sets, sets))
            width = 1 + max([*self.known, 0])
            f_idx_map = np.zeros(max(width, self.width), dtype=np.uint32)
            known = np.zeros((max(1, len(self.known)), 8), dtype=np.uint32)
            for row, (column, values) in enumerate(sorted(self.known.items())):
                f_idx_map[column], known[row] = row, bitset(values)
            self._fast = (walkers, known, f_idx_map)
        return self._fast

    def log_odds(self, X, *, fast: bool = True):
        """baseline + Σ leaf values, per row (the same as the fitted model's decision_function)."""
        import numpy as np  # heavy (numpy): loaded only when a model is trained or applied

        X = self.prepare(X)
        if fast:
            walkers, known, f_idx_map = self._compiled()
            total = np.full(len(X), self.baseline)
            X = np.ascontiguousarray(X)
            for walker in walkers:
                total += walker.predict(X, known, f_idx_map, 1)  # one thread: a worker process is one core
            return total
        rows = np.arange(len(X))
        total = np.full(len(X), self.baseline)
        for tree in self.trees:
            node = np.zeros(len(X), dtype=np.int64)
            active = tree["column"][node] >= 0
            while active.any():
                at, where = node[active], rows[active]
                values = X[where, tree["column"][at]]
                missing = np.isnan(values)
                codes = np.where(missing | (values < 0) | (values > 255), 0, values).astype(np.int64)
                go_left = np.where(tree["categorical"][at], tree["lefts"][at, codes], values <= tree["threshold"][at])
                go_left = np.where(missing, tree["missing_left"][at], go_left)
                node[active] = np.where(go_left, tree["left"][at], tree["right"][at])
                active = tree["column"][node] >= 0
            total += tree["expected"][node]
        return total

    def contributions(self, x) -> tuple[float, list[float]]:
        """One lead's start (baseline + Σ root expectations) and each column's contribution, in log-odds."""
        import numpy as np  # heavy (numpy): loaded only when a model is trained or applied

        x = self.prepare(np.asarray([x], dtype=np.float64))[0]
        start = self.baseline
        shares = [0.0] * len(x)
        for tree in self.trees:
            raw = tree["raw"]
            index = 0
            start += raw["expected"][0]
            while raw["column"][index] >= 0:
                column = raw["column"][index]
                value = x[column]
                if np.isnan(value):
                    left = raw["missing_left"][index]
                elif raw["categories_left"][index] is not None:
                    left = int(value) in raw["categories_left"][index]
                else:
                    left = value <= raw["threshold"][index]
                child = raw["left"][index] if left else raw["right"][index]
                shares[column] += raw["expected"][child] - raw["expected"][index]
                index = child
        return start, shares


__all__ = ["HGB_MAX_ROWS", "HGB_PARAMS", "TreePredictor", "hgb_export", "hgb_fit"]
