"""The learned half of lead scoring: a probability of winning for every open lead.

A regularised logistic regression (scikit-learn) learns from closed leads (converted = won,
lost = lost) over one-hot features built from every column a team brings: lead fields (a value,
a rare value, job-title words, tags, consent flags, engagement counters in bins) and custom
attributes (a value or a rare one, a quantile bin of a number, missing). Every feature is a plain
condition on the lead row, so the model is stored as rows of {feature, op, value, weight} in
ScoringModel.features and applied to a million open leads by one set-based UPDATE per id range:

    probability = 1 / (1 + exp(-(intercept + Σ weight of each feature the lead has)))

Nothing that only exists because a lead closed is a feature (status, lost reason, score,
grade, probability, customer links, closing timestamps): see docs/scoring-model.md.

features.py   what a feature is: its Python test, its SQL condition, its label
encoding.py   which features are common enough, and the 0/1 matrix of closed leads
training.py   model_train(): fit, hold-out AUC and calibration, the ScoringModel row
choice.py     logistic regression or gradient-boosted trees: which one is kept, by held-out log loss and AUC
tabular.py    the trees' table: one column per field or attribute (numbers as they are, categories as codes)
boosted.py    the trees' fit, their JSON arrays, the predictor and the contributions that add up
applying.py   a tree model applied in Python, batch by batch, written with the set-based UPDATE
scoring.py    model_current(), probabilities_update(), probability_sql(), explanations

When the trees win, open leads' probabilities are computed in the worker, range by range, and a
rescore reads the stored column; "Why this score?" shows each column's path contribution.
"""

from .encoding import MAX_FEATURES, MIN_SHARE, MIN_SUPPORT, candidate_features, design_matrix
from .features import (
    BOOLEAN_FIELDS,
    CATEGORICAL_FIELDS,
    COUNT_FIELDS,
    FIELDS,
    feature_condition,
    feature_label,
    feature_matches,
)
from .scoring import (
    LOGIT_CLAMP,
    OPEN,
    PROBABILITY_DECIMALS,
    UPDATE_BATCH,
    model_current,
    model_features,
    probabilities_prepare,
    probabilities_update,
    probability_explain,
    probability_expression,
    probability_sql,
)
from .training import (
    CALIBRATION_BINS,
    HOLDOUT_SHARE,
    LOST,
    MIN_CLOSED,
    MIN_PER_CLASS,
    NO_FEATURES,
    ONE_CLASS_MISSING,
    SEED,
    TOO_FEW_CLOSED,
    TRAINED,
    TRAINING_FAILED,
    WON,
    model_train,
)

__all__ = [
    "BOOLEAN_FIELDS",
    "CALIBRATION_BINS",
    "CATEGORICAL_FIELDS",
    "COUNT_FIELDS",
    "FIELDS",
    "HOLDOUT_SHARE",
    "LOGIT_CLAMP",
    "LOST",
    "MAX_FEATURES",
    "MIN_CLOSED",
    "MIN_PER_CLASS",
    "MIN_SHARE",
    "MIN_SUPPORT",
    "NO_FEATURES",
    "ONE_CLASS_MISSING",
    "OPEN",
    "PROBABILITY_DECIMALS",
    "SEED",
    "TOO_FEW_CLOSED",
    "TRAINED",
    "TRAINING_FAILED",
    "UPDATE_BATCH",
    "WON",
    "candidate_features",
    "design_matrix",
    "feature_condition",
    "feature_label",
    "feature_matches",
    "model_current",
    "model_features",
    "model_train",
    "probabilities_prepare",
    "probabilities_update",
    "probability_explain",
    "probability_expression",
    "probability_sql",
]
