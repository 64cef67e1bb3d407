"""Issue 21: the model is chosen by the closed leads, not by a setting. On a history whose effects
interact (a threshold on time on site that matters only for working professionals, an
occupation × source interaction) the gradient-boosted trees must win; on a history drawn from a
logistic model the logistic regression must stay. Whichever wins, "Why this score?" adds up to
the probability shown, and a tree model's probabilities are computed in batches and written only
where they change."""

import math
import random

import numpy as np
import pytest
from django.db import connection

from leads.models import Lead, ScoreJob, ScoringConfig, ScoringModel, ScoringRule
from leads.scoring import predictive
from leads.scoring.predictive import model_current, model_train, probabilities_update, probability_explain
from leads.scoring.predictive.applying import tree_predictor
from leads.scoring.predictive.boosted import TreePredictor, hgb_export, hgb_fit
from leads.scoring.predictive.tabular import table
from leads.scoring.service import leads_rescore, rescore_all_start, score_explain
from tests.factories import ScoringModelFactory
from tests.leads.scoring.predictive.test_predictive import synthetic

pytestmark = pytest.mark.django_db

OPEN = ["new", "active", "nurturing", "qualified"]
OCCUPATIONS = ["Working Professional", "Student", "Unemployed", "Other"]
SOURCES = ["web_form", "import", "email", "chat"]


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def interacting_logit(occupation: str, source: str, minutes: float | None) -> float:
    logit = -1.2
    if occupation == "Working Professional":
        logit += 3.0 if minutes is not None and minutes > 15 else -1.0  # the threshold matters for them only
    if (occupation == "Student") != (source == "chat"):  # an interaction no sum of one-hot weights can draw
        logit += 1.5
    return logit


def interacting(n: int, *, seed: int, closed: bool) -> list[Lead]:
    rng = random.Random(seed)
    leads = []
    for i in range(n):
        occupation, source = rng.choice(OCCUPATIONS), rng.choice(SOURCES)
        minutes = None if rng.random() < 0.15 else round(rng.expovariate(1 / 15), 1)
        attributes = {"occupation": occupation, "tags_hint": rng.choice(["a", "b", "c"])}
        if minutes is not None:
            attributes["minutes_on_site"] = minutes
        lead = Lead(first_name=f"Interacting {seed}-{i}", source=source, attributes=attributes)
        won = rng.random() < sigmoid(interacting_logit(occupation, source, minutes))
        if closed:
            lead.status, lead.lost_reason = ("converted", "") if won else ("lost", "No budget")
        else:
            lead.status = OPEN[i % 4]
        leads.append(lead)
    return Lead.objects.bulk_create(leads, batch_size=2000)


@pytest.fixture
def trees():
    interacting(3000, seed=11, closed=True)
    model = model_train()
    assert model.status == "ready", model.message
    return model


def test_interacting_history_chooses_the_trees_and_says_so(trees):
    assert trees.kind == ScoringModel.Kind.BOOSTED
    metrics = trees.metrics
    assert metrics["winner"] == "boosted"
    assert metrics["boosted"]["auc"] > metrics["logistic"]["auc"] + 0.02
    assert metrics["boosted"]["log_loss"] < metrics["logistic"]["log_loss"]
    assert metrics["boosted"]["cv_log_loss"] < metrics["logistic"]["cv_log_loss"]  # small history: CV asked too
    assert trees.auc == pytest.approx(metrics["boosted"]["auc"], abs=1e-4)
    assert "Gradient-boosted trees won the choice" in trees.message
    assert sum(row["count"] for row in trees.calibration) == metrics["held_out"] == 750
    strongest = [item["label"] for item in trees.trees["importance"][:3]]
    assert {"occupation", "Channel", "minutes_on_site"} <= set(strongest), strongest


def test_linear_history_keeps_the_logistic_regression():
    synthetic(3000, seed=1, closed=True)
    model = model_train()
    assert model.kind == ScoringModel.Kind.LOGISTIC, model.metrics
    assert model.metrics["winner"] == "logistic" and model.trees == {}


def test_tree_probabilities_are_written_in_batches_and_only_where_they_change(trees, monkeypatch):
    monkeypatch.setattr(predictive.scoring, "UPDATE_BATCH", 37)  # many batches, one partial
    opened = interacting(400, seed=12, closed=False)
    assert probabilities_update() == 400
    exported, _ = tree_predictor(model_current())
    rows = list(
        Lead.objects.filter(pk__in=[lead.pk for lead in opened])
        .order_by("pk")
        .values_list("probability", *predictive.FIELDS, "attributes", "tags", "created_at")
    )
    # An independent walk of the same trees (numpy, not scikit-learn's Cython walker).
    logit = TreePredictor(exported).log_odds(table([row[1:] for row in rows], exported["columns"]), fast=False)
    expected = np.round(1 / (1 + np.exp(-logit)), 2)
    assert [row[0] for row in rows] == pytest.approx(list(expected), abs=1e-9)
    assert probabilities_update() == 0  # nothing changed: nothing written
    closed = Lead.objects.filter(status="converted").first()
    assert probabilities_update() == 0 and Lead.objects.get(pk=closed.pk).probability is None  # closed leads untouched


def _rows_updated() -> int:
    """Lead rows updated so far in this transaction (PostgreSQL's own count)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_get_xact_tuples_updated('leads_lead'::regclass)")
        return cursor.fetchone()[0]


def test_a_tree_models_first_application_rewrites_each_lead_once(trees):
    """The probability and the score it moves are written together: a lead row costs all its
    indexes every time it is written."""
    opened = interacting(300, seed=14, closed=False)
    before = _rows_updated()
    result = leads_rescore()
    assert result.scored == 300
    assert _rows_updated() - before == 300  # not 600: no separate write of the probabilities first
    exported, predictor = tree_predictor(trees)
    rows = list(
        Lead.objects.filter(pk__in=[lead.pk for lead in opened])
        .order_by("pk")
        .values_list("probability", "score", *predictive.FIELDS, "attributes", "tags", "created_at")
    )
    expected = np.round(1 / (1 + np.exp(-predictor.log_odds(table([row[2:] for row in rows], exported["columns"])))), 2)
    assert [row[0] for row in rows] == pytest.approx(list(expected), abs=1e-9)
    before = _rows_updated()
    assert leads_rescore().scored == 300
    assert _rows_updated() == before  # applied again: nothing moved, nothing written


def test_tree_explanation_adds_up_to_the_probability_and_the_score(trees):
    ScoringRule.objects.all().delete()
    ScoringConfig.objects.filter(pk=ScoringConfig.current().pk).update(probability_weight=1.0)
    lead = interacting(1, seed=13, closed=False)[0]
    explained = score_explain(lead=lead)
    lead.refresh_from_db()
    model = explained["model"]
    assert model[-1]["base"] and "base rate" in model[-1]["label"]
    assert len(model) <= 10  # one line per column that moved it, small effects together
    assert sigmoid(sum(item["weight"] for item in model)) == pytest.approx(lead.probability, abs=0.005 + 1e-9)
    assert sum(item["points"] for item in explained["contributions"]) == pytest.approx(lead.score, abs=0.01)
    assert lead.score == round(100 * lead.probability)
    labels = [item["label"] for item in model]
    assert any(label.startswith("occupation: ") for label in labels), labels


def test_logistic_explanation_adds_up_to_the_probability_and_the_score():
    synthetic(1500, seed=1, closed=True)
    assert model_train().kind == ScoringModel.Kind.LOGISTIC
    ScoringRule.objects.all().delete()
    ScoringConfig.objects.filter(pk=ScoringConfig.current().pk).update(probability_weight=1.0)
    lead = synthetic(1, seed=5, closed=False, offset=50_000)[0][0]
    explained = score_explain(lead=lead)
    lead.refresh_from_db()
    weights = [item["weight"] for item in explained["model"]]  # rounded to 2 decimals, small ones left out
    assert sigmoid(sum(weights)) == pytest.approx(lead.probability, abs=0.02)
    assert sum(item["points"] for item in explained["contributions"]) == pytest.approx(lead.score, abs=0.01)
    assert probability_explain(lead=lead) == explained["model"]


def test_exported_trees_predict_what_scikit_learn_predicts_and_contributions_add_up():
    """No database: the JSON arrays, both walkers and the Saabas contributions against the fitted model."""
    rng = np.random.default_rng(3)
    n = 4000
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 9, n).astype(float), rng.normal(size=n)])
    X[rng.random(n) < 0.1, 0] = np.nan
    X[rng.random(n) < 0.1, 1] = np.nan
    logit = np.where(np.nan_to_num(X[:, 0]) > 0.3, 1.5, -0.5) + np.isin(X[:, 1], [1, 4, 6]) * X[:, 2]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    fitted = hgb_fit(X, y, categorical=[False, True, False], seed=1)
    predictor = TreePredictor(hgb_export(fitted))
    probe = X[:300].copy()
    probe[:3, 1] = 8.0
    probe[3, 1] = 42.0  # a category never seen: scikit-learn treats it as missing, and so do we
    expected = fitted.decision_function(probe)
    assert predictor.log_odds(probe) == pytest.approx(expected, abs=1e-9)
    assert predictor.log_odds(probe, fast=False) == pytest.approx(expected, abs=1e-9)
    for row, value in zip(probe[:20], expected[:20]):
        start, shares = predictor.contributions(row)
        assert start + sum(shares) == pytest.approx(value, abs=1e-9)


@pytest.mark.django_db(transaction=True)
def test_a_rescore_applies_the_trees_range_by_range_on_the_worker(celery_worker_live, settings):
    settings.SCORING_RESCORE_CHUNK = 100
    interacting(1500, seed=21, closed=True)
    model = model_train()
    assert model.kind == ScoringModel.Kind.BOOSTED, model.metrics
    opened = interacting(300, seed=22, closed=False)
    job = rescore_all_start(reason="test")
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and ScoreJob.objects.get(pk=job.pk).status not in ("done", "failed"):
        time.sleep(0.2)
    job.refresh_from_db()
    assert job.status == "done" and job.chunks >= 3, job.message
    stored = dict(Lead.objects.filter(pk__in=[lead.pk for lead in opened]).values_list("pk", "probability"))
    exported, predictor = tree_predictor(model)
    rows = list(
        Lead.objects.filter(pk__in=stored)
        .order_by("pk")
        .values_list("pk", *predictive.FIELDS, "attributes", "tags", "created_at")
    )
    expected = np.round(1 / (1 + np.exp(-predictor.log_odds(table([row[1:] for row in rows], exported["columns"])))), 2)
    assert [stored[row[0]] for row in rows] == pytest.approx(list(expected), abs=1e-9)


def test_the_model_page_shows_which_model_won_its_auc_calibration_and_strongest_properties(client, manager):
    model = ScoringModelFactory(
        status="ready",
        kind="boosted",
        n_closed=1200,
        n_won=300,
        n_lost=900,
        auc=0.8771,
        message="Trained",
        calibration=[{"bin": "10–20%", "predicted": 0.151, "observed": 0.162, "count": 90}],
        metrics={
            "winner": "boosted",
            "held_out": 300,
            "logistic": {"auc": 0.8102, "log_loss": 0.4411, "cv_log_loss": 0.4523},
            "boosted": {"auc": 0.8771, "log_loss": 0.3912, "cv_log_loss": 0.4001},
            "strongest": [
                {"label": "Total Time Spent on Website", "weight": 0.74},
                {"label": "occupation", "weight": 0.41},
            ],
        },
        trees={"baseline": 0.0, "trees": [], "columns": []},
    )
    client.force_login(manager)
    with_list = client.get("/admin/leads/scoringmodel/").content.decode()
    assert "Gradient-boosted trees</strong> (it won the choice on held-out leads), held-out AUC 0.877" in with_list
    page = client.get(f"/admin/leads/scoringmodel/{model.pk}/change/").content.decode()
    assert "Gradient-boosted trees (in use)" in page and "0.877" in page and "0.810" in page and "0.3912" in page
    assert page.index("Gradient-boosted trees (in use)") < page.index("Logistic regression<")
    assert "Total Time Spent on Website" in page and "0.74" in page
    assert "15.1%" in page and "16.2%" in page


def test_train_scoring_reports_the_choice_and_the_strongest_properties():
    from io import StringIO

    from django.core.management import call_command

    interacting(1500, seed=31, closed=True)
    out = StringIO()
    call_command("train_scoring", "--no-rescore", "--top", "5", stdout=out)
    text = out.getvalue()
    assert "Model in use: Gradient-boosted trees (the choice, on 375 held-out leads):" in text, text
    assert "Logistic regression" in text and "log loss" in text
    assert "Strongest properties" in text and "occupation" in text
