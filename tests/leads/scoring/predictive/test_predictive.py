"""The predictive half of scoring: a model learned from won and lost leads gives open leads a
probability. Trained here on a synthetic history whose true signal is known, so "it learned"
means "it ranks fresh leads nearly as well as the true probabilities do"."""

import math
import random
import time
from io import StringIO

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import call_command
from sklearn.metrics import roc_auc_score

from leads.models import Lead, ScoringModel
from leads.scoring import predictive
from leads.scoring.predictive import (
    MIN_CLOSED,
    MIN_PER_CLASS,
    ONE_CLASS_MISSING,
    TOO_FEW_CLOSED,
    TRAINING_FAILED,
    model_current,
    model_features,
    model_train,
    probabilities_update,
    probability_explain,
)
from tests.factories import LeadFactory, ScoringModelFactory, UserFactory

pytestmark = pytest.mark.django_db

# The generator's true log-odds: intercept + one weight per value (plus a step on a numeric attribute).
INTERCEPT = -1.6
SENIORITY = {
    "c_level": (0.15, 2.5),
    "vp": (0.15, 1.0),
    "director": (0.2, 0.4),
    "manager": (0.25, 0.0),
    "individual": (0.25, -0.6),
}
EMAIL_KIND = {"corporate": (0.6, 0.8), "free": (0.35, 0.0), "disposable": (0.05, -1.5)}
PLAN = {"enterprise": (0.2, 1.2), "pro": (0.3, 0.5), "free": (0.5, 0.0)}
BIG_COMPANY, BIG_COMPANY_WEIGHT = 500, 0.6  # attributes.employees >= 500
NOISE_COUNTRIES = ["US", "GB", "DE", "FR", "ES"]  # no effect: the model should give them ~0


def _pick(rng: random.Random, table: dict) -> str:
    return rng.choices(list(table), weights=[share for share, _ in table.values()])[0]


def true_logit(lead: Lead) -> float:
    logit = INTERCEPT + SENIORITY[lead.seniority][1] + EMAIL_KIND[lead.email_kind][1] + PLAN[lead.attributes["plan"]][1]
    return logit + (BIG_COMPANY_WEIGHT if lead.attributes["employees"] >= BIG_COMPANY else 0.0)


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def synthetic(n: int, *, seed: int, closed: bool, offset: int = 0) -> list[tuple[Lead, float, int]]:
    """n leads drawn from the generator: (lead, true probability, outcome). Closed leads carry
    their outcome as status; open ones keep it aside, for judging the model on fresh leads."""
    rng = random.Random(seed)
    made = []
    for i in range(n):
        lead = Lead(
            first_name=f"Synthetic {offset + i}",
            seniority=_pick(rng, SENIORITY),
            email_kind=_pick(rng, EMAIL_KIND),
            country=rng.choice(NOISE_COUNTRIES),
            source=rng.choice(["web_form", "import", "email"]),
            attributes={
                "plan": _pick(rng, PLAN),
                "employees": int(rng.lognormvariate(5.5, 1.2)),
                "_invalid": {"x": "y"},
            },
            form_submits=rng.choice([0, 0, 1, 2, 4]),
        )
        p = sigmoid(true_logit(lead))
        won = int(rng.random() < p)
        if closed:
            # Outcome-only fields a careless model would learn from: it must not.
            lead.status, lead.lost_reason = ("converted", "") if won else ("lost", "No budget")
            lead.score, lead.grade, lead.probability = (90, "A", 0.9) if won else (10, "D", 0.1)
        else:
            lead.status = rng.choice(["new", "active", "nurturing", "qualified"])
        made.append((lead, p, won))
    Lead.objects.bulk_create([lead for lead, _, _ in made], batch_size=2000)
    return made


@pytest.fixture
def history():
    """4,000 closed leads from the generator and a trained model."""
    synthetic(4000, seed=1, closed=True)
    return model_train()


def test_the_model_ranks_fresh_leads_nearly_as_well_as_the_true_probabilities(history):
    assert history.status == "ready", history.message
    assert (history.n_closed, history.n_won + history.n_lost) == (4000, 4000)
    fresh = synthetic(3000, seed=2, closed=False, offset=10_000)
    assert probabilities_update() == 3000
    learned = dict(
        Lead.objects.filter(status__in=["new", "active", "nurturing", "qualified"]).values_list("pk", "probability")
    )
    outcomes = [won for _, _, won in fresh]
    ceiling = roc_auc_score(outcomes, [p for _, p, _ in fresh])
    achieved = roc_auc_score(outcomes, [learned[lead.pk] for lead, _, _ in fresh])
    assert ceiling > 0.75
    assert achieved > ceiling - 0.02, (achieved, ceiling)
    # The figure stored at training time (its own held-out quarter) tells the same story.
    assert abs(history.auc - ceiling) < 0.05, (history.auc, ceiling)
    # Calibrated: the probabilities are close to the true ones, not just in the right order…
    assert sum(abs(learned[lead.pk] - p) for lead, p, _ in fresh) / len(fresh) < 0.04
    # …and the held-out table shows each bin within sampling noise (3 standard errors) of what happened.
    assert sum(row["count"] for row in history.calibration) == 1000  # the held-out quarter of 4,000
    for row in history.calibration:
        p = row["predicted"]
        assert abs(p - row["observed"]) < 3 * math.sqrt(p * (1 - p) / row["count"]) + 0.02, row


def test_features_come_from_lead_properties_never_from_the_outcome(history):
    names = {feature["feature"] for feature in history.features}
    assert {"seniority", "email_kind", "attributes.plan", "attributes.employees"} <= names
    assert not names & {"status", "lost_reason", "score", "grade", "probability", "attributes._invalid"}
    # Noise gets (almost) nothing; the generator's strongest value gets the most.
    weights = {(f["feature"], str(f["value"])): f["weight"] for f in history.features}
    assert all(abs(w) < 0.2 for (name, _), w in weights.items() if name == "country")
    assert max(weights, key=lambda key: abs(weights[key])) == ("seniority", "c_level")


def test_probabilities_in_sql_are_the_models_own(history):
    """The set-based UPDATE and the trained model must agree on every lead (same features)."""
    synthetic(200, seed=3, closed=False, offset=20_000)
    probabilities_update()
    for lead in Lead.objects.filter(status="active"):
        logit = history.intercept + sum(feature["weight"] for feature in model_features(lead=lead))
        assert lead.probability == pytest.approx(sigmoid(logit), abs=0.005 + 1e-9)  # stored as a whole percentage


def test_a_lead_with_the_strong_features_gets_a_higher_probability_and_an_explanation(history):
    strong = LeadFactory(
        bare=True, seniority="c_level", email_kind="corporate", attributes={"plan": "enterprise", "employees": 2000}
    )
    weak = LeadFactory(
        bare=True, seniority="individual", email_kind="disposable", attributes={"plan": "free", "employees": 3}
    )
    probabilities_update(lead_ids=[strong.pk, weak.pk])
    strong.refresh_from_db()
    weak.refresh_from_db()
    assert strong.probability > 0.7 > 0.1 > weak.probability
    explained = probability_explain(lead=strong)
    assert explained[0] == {
        "label": "Seniority is C-level",
        "weight": pytest.approx(explained[0]["weight"]),
        "feature": "seniority",
    }
    assert explained[0]["weight"] > 1
    features = [item for item in explained if not item.get("base")]
    assert [abs(item["weight"]) for item in features] == sorted(
        (abs(item["weight"]) for item in features), reverse=True
    )
    base = explained[-1]
    assert base["base"] and "base rate" in base["label"]
    # The weights are log-odds: with the starting point they add up to the lead's probability.
    assert sigmoid(sum(item["weight"] for item in explained)) == pytest.approx(strong.probability, abs=0.02)
    assert probability_explain(lead=weak)[0]["weight"] < 0


def test_probabilities_update_sets_open_leads_and_keeps_closed_ones(monkeypatch, django_assert_num_queries):
    """A hand-made model, so each expected probability is known exactly; tiny batches, so the
    id-range batching that a million leads go through is exercised too."""
    monkeypatch.setattr(predictive.scoring, "UPDATE_BATCH", 2)
    ScoringModelFactory(
        status="ready",
        intercept=-1.0,
        features=[
            {"feature": "seniority", "op": "eq", "value": "vp", "label": "Seniority is VP", "weight": 1.5},
            {"feature": "email_is_role", "op": "eq", "value": True, "label": "Role email", "weight": -0.5},
            {"feature": "form_submits", "op": "range", "value": [3, 6], "label": "Form submits: 3–5", "weight": 0.7},
            {
                "feature": "attributes.employees",
                "op": "attr_range",
                "value": [500, None],
                "label": "employees: 500 or more",
                "weight": 0.4,
            },
            {"feature": "attributes.plan", "op": "attr_eq", "value": "pro", "label": "plan is pro", "weight": 0.3},
            {"feature": "attributes.trial", "op": "attr_eq", "value": True, "label": "trial is yes", "weight": 0.2},
        ],
    )
    cases = {
        "new": (dict(seniority="vp", form_submits=3), -1.0 + 1.5 + 0.7),
        "active": (dict(email_is_role=True, form_submits=6), -1.0 - 0.5),
        "nurturing": (dict(attributes={"employees": 500, "plan": "pro", "trial": True}), -1.0 + 0.4 + 0.3 + 0.2),
        # A number stored as text, and 1 for true, are not the feature (as in training).
        "qualified": (dict(attributes={"employees": "900", "plan": "Pro", "trial": 1}), -1.0),
    }
    leads = {status: LeadFactory(bare=True, status=status, **fields) for status, (fields, _) in cases.items()}
    won = LeadFactory(bare=True, status="converted", seniority="vp", probability=0.42)
    lost = LeadFactory(bare=True, status="lost", lost_reason="No budget", probability=None)
    assert probabilities_update() == 4
    for status, (_, logit) in cases.items():
        leads[status].refresh_from_db()
        assert leads[status].probability == round(sigmoid(logit), 2), status
    won.refresh_from_db()
    lost.refresh_from_db()
    assert (won.probability, lost.probability) == (0.42, None)
    assert probabilities_update() == 0  # nothing changed, nothing rewritten
    Lead.objects.filter(pk=leads["new"].pk).update(probability=None)
    with django_assert_num_queries(2):  # the model in use, then one UPDATE, whatever the lead
        assert probabilities_update(lead_ids=[leads["new"].pk, won.pk]) == 1
    leads["new"].refresh_from_db()
    assert leads["new"].probability == round(sigmoid(1.2), 2)


def test_49_closed_leads_are_too_little_history_and_probabilities_go_back_to_null():
    ScoringModelFactory(status="ready", intercept=0.0, features=[])  # an earlier, usable model
    opened = LeadFactory(bare=True, status="active")
    probabilities_update()
    opened.refresh_from_db()
    assert opened.probability == 0.5
    closed = synthetic(MIN_CLOSED - 1, seed=4, closed=True)
    model = model_train()
    assert model.status == "insufficient"
    won = sum(w for _, _, w in closed)
    assert (model.n_closed, model.n_won, model.n_lost) == (49, won, 49 - won)
    assert model.message == TOO_FEW_CLOSED.format(n=49, min=MIN_CLOSED)
    assert model_current() is None
    assert probabilities_update() == 1
    opened.refresh_from_db()
    assert opened.probability is None
    assert Lead.objects.filter(status__in=["converted", "lost"], probability__isnull=False).count() == 49  # kept
    assert probability_explain(lead=opened) == []


def test_a_history_without_lost_leads_is_too_little_history():
    Lead.objects.bulk_create([Lead(status="converted", seniority="vp") for _ in range(80)])
    model = model_train()
    assert model.status == "insufficient"
    assert model.message == ONE_CLASS_MISSING.format(won=80, lost=0, min=MIN_PER_CLASS)


def test_a_failed_training_is_recorded_and_leaves_the_previous_model_in_use(monkeypatch):
    ready = ScoringModelFactory(status="ready", intercept=0.0, features=[])
    synthetic(200, seed=7, closed=True)

    def solver_gives_up(X, y):
        raise ValueError("the solver found no solution")

    monkeypatch.setattr(predictive.training, "_fit", solver_gives_up)
    failed = model_train()
    assert failed.status == "failed"
    assert failed.message == TRAINING_FAILED.format(error="the solver found no solution")
    assert model_current() == ready


def test_train_scoring_prints_what_it_learned_and_rescores():
    synthetic(1500, seed=5, closed=True)
    opened = LeadFactory(
        bare=True,
        status="new",
        seniority="c_level",
        email_kind="corporate",
        attributes={"plan": "pro", "employees": 50},
    )
    out = StringIO()
    call_command("train_scoring", stdout=out)
    text = out.getvalue()
    model = ScoringModel.objects.get()
    assert "Status: Ready" in text
    assert f"Held-out AUC: {model.auc:.3f}" in text
    assert "Calibration (held-out leads):" in text and "Seniority is C-level" in text
    assert "Rescored 1 open leads" in text
    opened.refresh_from_db()
    assert opened.probability is not None and opened.scored_at is not None


def test_the_nightly_training_is_scheduled():
    entry = settings.CELERY_BEAT_SCHEDULE["train-scoring-model"]
    assert entry["task"] == "leads.scoring.tasks.train_scoring_task"
    assert isinstance(entry["schedule"], crontab)


def test_managers_see_each_training_with_its_auc_calibration_and_features(client, manager):
    model = ScoringModelFactory(
        status="ready",
        n_closed=1200,
        n_won=400,
        n_lost=800,
        auc=0.8123,
        intercept=-0.9,
        message="Trained on 1200 closed leads",
        calibration=[{"bin": "20–30%", "predicted": 0.251, "observed": 0.262, "count": 140}],
        features=[
            {
                "feature": "seniority",
                "op": "eq",
                "value": "c_level",
                "label": "Seniority is C-level",
                "weight": 0.83,
                "share": 0.12,
            }
        ],
    )
    client.force_login(manager)
    listing = client.get("/admin/leads/scoringmodel/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "0.812" in page and "Train now" in page and "In use: the model trained" in page
    detail = client.get(f"/admin/leads/scoringmodel/{model.pk}/change/")
    page = detail.content.decode()
    assert detail.status_code == 200
    assert "Seniority is C-level" in page and "+0.83" in page
    assert "25.1%" in page and "26.2%" in page and "140" in page
    # A record of what was learned: nobody edits it (no submit row; the nav may list "Saved views").
    assert 'name="_save"' not in page and 'type="submit" value="Save"' not in page


def test_train_now_needs_a_post_and_the_right_to_change_scoring(client, manager, marketer):
    client.force_login(manager)
    assert client.get("/admin/leads/scoringmodel/train/").status_code == 405
    client.force_login(UserFactory(username="staff-without-scoring", is_staff=True))
    assert client.post("/admin/leads/scoringmodel/train/").status_code == 403
    client.force_login(marketer)  # not staff: admin sends them to its login page
    assert client.post("/admin/leads/scoringmodel/train/").status_code == 302
    assert not ScoringModel.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_train_now_queues_a_training_that_a_worker_runs(celery_worker_live, client, manager):
    synthetic(300, seed=6, closed=True)
    opened = LeadFactory(bare=True, status="active", seniority="c_level")
    client.force_login(manager)
    response = client.post("/admin/leads/scoringmodel/train/", follow=True)
    assert "Training queued" in response.content.decode()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not ScoringModel.objects.exists():
        time.sleep(0.1)
    model = ScoringModel.objects.get()
    assert model.status == "ready", model.message
    deadline = time.monotonic() + 30  # then the rescore job it queued sets the probabilities
    while time.monotonic() < deadline and Lead.objects.get(pk=opened.pk).probability is None:
        time.sleep(0.1)
    assert Lead.objects.get(pk=opened.pk).probability is not None
