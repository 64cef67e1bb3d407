"""Every column a team brings is a candidate feature of the learned score (issue 21): categorical and
numeric custom attributes, yes/no strings, tags, job-title words, city; never what exists only because
a lead closed. The SQL that scores open leads agrees with the model on every kind of feature."""

import math
import random
from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead
from leads.scoring.predictive import (
    feature_label,
    model_features,
    model_train,
    probabilities_update,
    probability_explain,
)
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

RARE_ORIGINS = [f"Partner {i}" for i in range(80)]  # each too rare for a feature of its own


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _lead(rng: random.Random, i: int) -> tuple[Lead, float]:
    """A lead like an imported education-company file, and its true log-odds of being won."""
    logit = -0.5
    attributes = {"_invalid": {"x": "y"}}
    draw = rng.random()
    if draw < 0.4:
        attributes["Lead Origin"] = "Lead Add Form"
        logit += 1.5
    elif draw < 0.75:
        attributes["Lead Origin"] = "Landing Page Submission"
    elif draw < 0.9:
        attributes["Lead Origin"] = rng.choice(RARE_ORIGINS)
        logit -= 1.5
    else:
        logit -= 1.0  # no Lead Origin at all
    seconds = rng.randint(0, 2000)
    attributes["Total Time Spent on Website"] = seconds
    logit += 2.0 if seconds > 1000 else 0.0
    attributes["Do Not Email"] = "Yes" if rng.random() < 0.2 else "No"  # yes/no as text (API, not import)
    logit -= 1.5 if attributes["Do Not Email"] == "Yes" else 0.0
    tag = rng.choice(["Will revert after reading the email", "Ringing", None])
    logit += {"Will revert after reading the email": 2.0, "Ringing": -2.0, None: 0.0}[tag]
    title = rng.choice(["Head of Marketing", "Marketing Intern", "Sales Director"])
    logit -= 1.5 if "Intern" in title else 0.0
    lead = Lead(
        first_name=f"Lead {i}",
        attributes=attributes,
        tags=[tag] if tag else [],
        job_title=title,
        city=rng.choice(["Mumbai", "Pune"]),
    )
    return lead, logit


@pytest.fixture
def history():
    """1,500 closed leads; won ones carry everything a careless model would learn the outcome from."""
    rng = random.Random(21)
    leads = []
    for i in range(1500):
        lead, logit = _lead(rng, i)
        if rng.random() < _sigmoid(logit):
            lead.status, lead.converted_at, lead.score, lead.grade, lead.probability = (
                "converted",
                timezone.now(),
                90,
                "A",
                0.9,
            )
        else:
            lead.status, lead.lost_reason, lead.score, lead.grade, lead.probability = "lost", "No budget", 10, "D", 0.1
        leads.append(lead)
    Lead.objects.bulk_create(leads, batch_size=1000)
    model = model_train()
    assert model.status == "ready", model.message
    return model


def _weights(model) -> dict[str, float]:
    return {feature["label"]: feature["weight"] for feature in model.features}


def test_every_kind_of_column_becomes_a_feature_with_a_label_a_manager_reads(history):
    weights = _weights(history)
    assert weights["Lead Origin is Lead Add Form"] > weights["Lead Origin is Landing Page Submission"]
    # The rare origins share one feature, and a lead without the column has its own.
    assert weights["Lead Origin is another value (a rare one)"] < weights["Lead Origin is Landing Page Submission"]
    assert "Lead Origin is empty" in weights
    assert not any(label.startswith("Lead Origin is Partner") for label in weights)
    assert weights["Do Not Email is Yes"] < weights["Do Not Email is No"]  # yes/no written as text
    assert weights['Tagged "Will revert after reading the email"'] > 1 > -1 > weights['Tagged "Ringing"']
    assert weights['Job title mentions "intern"'] < -0.5
    assert {"City is Mumbai", "City is Pune"} <= set(weights)


def test_a_numeric_attribute_keeps_its_shape_in_fine_bins(history):
    bins = [f for f in history.features if f["feature"] == "attributes.Total Time Spent on Website"]
    assert len(bins) >= 6 and all(f["op"] == "attr_range" for f in bins)
    low = [f["weight"] for f in bins if f["value"][1] is not None and f["value"][1] <= 1000]
    high = [f["weight"] for f in bins if f["value"][0] is not None and f["value"][0] > 1000]
    assert min(high) > max(low)  # the jump at 1,000 seconds is learned, not smoothed into one slope
    assert any(f["label"].startswith("Total Time Spent on Website: ") and f["label"].endswith(" or more") for f in bins)


def test_what_exists_only_because_a_lead_closed_is_never_a_feature(history):
    names = {feature["feature"] for feature in history.features}
    assert not names & {
        "status",
        "lost_reason",
        "score",
        "grade",
        "probability",
        "converted_at",
        "owner",
        "team",
        "fit_points",
        "engagement_points",
        "attributes._invalid",
    }
    assert {"attributes.Lead Origin", "tags", "job_title", "city"} <= names


def test_sql_and_the_model_agree_on_rare_unseen_missing_and_mistyped_values(history):
    """The catch-all "another value" and "missing" branches of the SQL come after the named
    values; a wrong order (or a mistyped number) would score these leads differently from the model."""
    cases = [
        {"Lead Origin": "Lead Add Form", "Total Time Spent on Website": 1500, "Do Not Email": "No"},
        {"Lead Origin": "Partner 3", "Total Time Spent on Website": 10},
        {"Lead Origin": "Never seen before", "Do Not Email": "Yes"},
        {"Total Time Spent on Website": "1500"},  # a number written as text falls in no bin
        {"Lead Origin": True, "Total Time Spent on Website": None},
        {},
    ]
    made = [
        LeadFactory(
            bare=True,
            first_name=f"Open {i}",
            status="new",
            attributes=attributes,
            job_title="Marketing intern / sales",
            tags=["Ringing", "Will revert after reading the email"] if i % 2 else [],
            city="Mumbai" if i % 3 else "Delhi",
        )
        for i, attributes in enumerate(cases)
    ]
    assert probabilities_update() == len(made)
    for lead in made:
        lead.refresh_from_db()
        logit = history.intercept + sum(feature["weight"] for feature in model_features(lead=lead))
        assert lead.probability == pytest.approx(_sigmoid(logit), abs=0.005 + 1e-9), lead.attributes
        explained = probability_explain(lead=lead)
        assert _sigmoid(sum(item["weight"] for item in explained)) == pytest.approx(lead.probability, abs=0.03)
    labels = [item["label"] for item in probability_explain(lead=made[1])]
    assert "Lead Origin is another value (a rare one)" in labels and 'Tagged "Ringing"' in labels
    assert "Lead Origin is empty" in [item["label"] for item in probability_explain(lead=made[3])]


def test_labels_read_as_sentences():
    assert feature_label({"feature": "attributes.Do Not Call", "op": "attr_eq", "value": True}) == "Do Not Call is yes"
    assert feature_label({"feature": "email_opt_in", "op": "eq", "value": True}) == "Opted in to email"
    assert (
        feature_label({"feature": "source_detail", "op": "other", "value": ["Google"]})
        == "Came in by is another value (a rare one)"
    )
    assert (
        feature_label({"feature": "attributes.Score", "op": "attr_range", "value": [7, 12]}) == "Score: 7 to under 12"
    )
    assert feature_label({"feature": "attributes.Score", "op": "attr_missing", "value": None}) == "Score is empty"


def test_recency_of_creation_does_not_enter_the_model(history):
    """Timestamps are excluded: a lead created long ago scores like a fresh one with the same columns."""
    old = LeadFactory(
        bare=True,
        status="new",
        created_at=timezone.now() - timedelta(days=900),
        attributes={"Lead Origin": "Lead Add Form"},
    )
    new = LeadFactory(bare=True, status="new", attributes={"Lead Origin": "Lead Add Form"})
    probabilities_update(lead_ids=[old.pk, new.pk])
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.probability == new.probability


def test_a_date_attribute_counts_as_days_before_the_lead_came_in():
    """Recency of a date column ("Last webinar attended") is measured from the day the lead came in,
    so it means the same for a lead closed last year and one opened today; SQL agrees with Python."""
    rng = random.Random(5)
    came_in = timezone.now() - timedelta(days=400)
    leads = []
    for i in range(800):
        days = rng.randint(0, 365)
        attended = (came_in - timedelta(days=days)).date().isoformat()
        won = rng.random() < (0.8 if days < 60 else 0.2)
        leads.append(
            Lead(
                first_name=f"Webinar {i}",
                created_at=came_in,
                attributes={"Last webinar": attended},
                status="converted" if won else "lost",
                lost_reason="" if won else "No budget",
            )
        )
    Lead.objects.bulk_create(leads)
    model = model_train()
    bins = [f for f in model.features if f["op"] == "attr_days"]
    assert len(bins) >= 4
    recent = [f["weight"] for f in bins if f["value"][1] is not None and f["value"][1] <= 60]
    older = [f["weight"] for f in bins if f["value"][0] is not None and f["value"][0] >= 60]
    assert min(recent) > max(older)
    assert any(
        f["label"].startswith("Last webinar: ") and f["label"].endswith(" days before the lead came in") for f in bins
    )

    now = timezone.now()
    made = [
        LeadFactory(bare=True, status="new", attributes={"Last webinar": text})
        for text in [
            (now - timedelta(days=10)).date().isoformat(),
            (now - timedelta(days=300)).isoformat(),
            "2024-13-45",
            "soon",
            (now + timedelta(days=5)).date().isoformat(),
        ]
    ]
    probabilities_update()
    for lead in made:
        lead.refresh_from_db()
        logit = model.intercept + sum(feature["weight"] for feature in model_features(lead=lead))
        assert lead.probability == pytest.approx(_sigmoid(logit), abs=0.005 + 1e-9), lead.attributes
    assert made[0].probability > made[1].probability
