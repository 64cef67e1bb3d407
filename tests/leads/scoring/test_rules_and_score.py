"""Rule-based scoring: every kind of rule, decay on a frozen clock, caps, the combination, the
explanation that adds up, lifecycle, overrides and the debounce."""

import math
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from leads.models import Interaction, Lead, Notification, ScoringConfig, ScoringModel, ScoringRule
from leads.scoring.service import leads_rescore
from leads.services import RESCORE_DEBOUNCE_SECONDS
from tests.factories import (
    EngagementRuleFactory,
    InteractionFactory,
    LeadFactory,
    ScoreJobFactory,
    ScoringModelFactory,
    ScoringRuleFactory,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


@pytest.fixture(autouse=True)
def only_our_rules():
    """Start from no rules (the shipped defaults are tested separately) and known settings."""
    ScoringRule.objects.all().delete()
    ScoringConfig.objects.update_or_create(
        pk=1,
        defaults=dict(
            fit_cap=60,
            engagement_cap=60,
            decay="half_life",
            half_life_days=10,
            probability_weight=0.4,
            grade_a=75,
            grade_b=50,
            grade_c=25,
            mql_threshold=70,
            significant_change=5,
        ),
    )
    cache.clear()


def fit(name, field, operator, value, points, cap=None):
    return ScoringRuleFactory(
        name=name, group="fit", field=field, operator=operator, value=value, points=points, cap=cap
    )


def engagement(name, event, points, url_pattern="", cap=None):
    return EngagementRuleFactory(name=name, event=event, url_pattern=url_pattern, points=points, cap=cap)


def score_of(lead, **kwargs) -> Lead:
    leads_rescore(lead_ids=[lead.pk], now=kwargs.get("now", NOW))
    lead.refresh_from_db()
    return lead


@pytest.mark.parametrize(
    "operator, value, lead_values, fires",
    [
        ("equals", "corporate", {"email_kind": "corporate"}, True),
        ("equals", "corporate", {"email_kind": "free"}, False),
        ("in", ["GB", "DE"], {"country": "DE"}, True),
        ("in", ["GB", "DE"], {"country": "FR"}, False),
        ("contains", "soft", {"industry": "Software"}, True),
        ("is_set", None, {"job_title": "CTO"}, True),
        ("is_set", None, {"job_title": ""}, False),
    ],
)
def test_fit_rules_on_fields(operator, value, lead_values, fires):
    field = next(iter(lead_values))
    fit("rule", field, operator, value, 20)
    lead = score_of(LeadFactory(**lead_values))
    assert lead.fit_points == (20 if fires else 0)


@pytest.mark.parametrize(
    "operator, value, attributes, fires",
    [
        ("equals", "enterprise", {"plan": "enterprise"}, True),
        ("gt", 100, {"seats": 250}, True),
        ("gt", 100, {"seats": 50}, False),
        ("lt", 100, {"seats": 50}, True),
        ("is_set", None, {"plan": "x"}, True),
        ("is_set", None, {}, False),
    ],
)
def test_fit_rules_on_custom_attributes(operator, value, attributes, fires):
    field = "attributes.seats" if operator in ("gt", "lt") else "attributes.plan"
    fit("rule", field, operator, value, 10)
    lead = score_of(LeadFactory(attributes=attributes))
    assert lead.fit_points == (10 if fires else 0)


def test_event_rules_with_url_patterns_and_caps():
    engagement("Pricing", "page_view", 10, url_pattern="/pricing", cap=25)
    engagement("Form", "form_submit", 7)
    engagement("Calls", "call", 4)
    engagement("Unsubscribed", "unsubscribe", -30)
    lead = LeadFactory()
    for url in (
        "https://x.io/pricing",
        "https://x.io/PRICING?plan=pro",
        "https://x.io/pricing/enterprise",
        "https://x.io/blog",
    ):
        InteractionFactory(lead=lead, kind="page_view", body=url, occurred_at=NOW)
    InteractionFactory(lead=lead, kind="form_submit", occurred_at=NOW)
    InteractionFactory(lead=lead, kind="call_out", occurred_at=NOW)
    assert score_of(lead).engagement_points == pytest.approx(25 + 7 + 4)  # 3 pricing views = 30, capped at 25
    InteractionFactory(lead=lead, kind="unsubscribe", occurred_at=NOW)
    assert score_of(lead).engagement_points == pytest.approx(25 + 7 + 4 - 30)


def test_engagement_decays_with_a_half_life_and_fit_does_not():
    fit("Corporate", "email_kind", "equals", "corporate", 20)
    engagement("Form", "form_submit", 40)
    lead = LeadFactory(email_kind="corporate")
    InteractionFactory(lead=lead, kind="form_submit", occurred_at=NOW)
    assert score_of(lead, now=NOW).engagement_points == pytest.approx(40)
    later = score_of(lead, now=NOW + timedelta(days=10))  # one half-life
    assert later.engagement_points == pytest.approx(20, abs=0.01)
    assert later.fit_points == 20
    assert score_of(lead, now=NOW + timedelta(days=20)).engagement_points == pytest.approx(10, abs=0.01)


def test_linear_decay():
    ScoringConfig.objects.filter(pk=1).update(decay="linear", linear_percent=25, linear_period_days=7)
    engagement("Form", "form_submit", 40)
    lead = LeadFactory()
    InteractionFactory(lead=lead, kind="form_submit", occurred_at=NOW)
    assert score_of(lead, now=NOW + timedelta(days=8)).engagement_points == pytest.approx(30)  # one period: -25 %
    assert score_of(lead, now=NOW + timedelta(days=29)).engagement_points == pytest.approx(0)


def test_group_caps_and_the_0_100_range():
    ScoringConfig.objects.filter(pk=1).update(fit_cap=30)
    fit("A", "email_kind", "equals", "corporate", 25)
    fit("B", "seniority", "equals", "c_level", 25)
    lead = score_of(LeadFactory(email_kind="corporate", seniority="c_level"))
    assert (lead.fit_points, lead.score) == (30, 30)
    fit("Bad", "email_bouncing", "equals", True, -30)
    assert score_of(LeadFactory(email_bouncing=True)).score == 0  # never below 0


def test_score_is_the_rules_alone_without_a_probability_and_grades_follow():
    fit("A", "email_kind", "equals", "corporate", 55)
    lead = score_of(LeadFactory(email_kind="corporate"))
    assert (lead.probability, lead.score, lead.grade) == (None, 55, "B")


def test_score_blends_rules_and_probability_by_the_configured_weight():
    # A model with no features gives every lead its base rate: here 0.9.
    ScoringModelFactory(status=ScoringModel.Status.READY, intercept=math.log(0.9 / 0.1), features=[])
    fit("Corporate", "email_kind", "equals", "corporate", 50)
    lead = score_of(LeadFactory(email_kind="corporate"))
    config = ScoringConfig.current()  # weight 0.4
    assert lead.probability == pytest.approx(0.9)
    assert lead.score == round((1 - config.probability_weight) * 50 + config.probability_weight * 90)
    assert lead.grade == ("A" if lead.score >= config.grade_a else "B")


def test_the_explanation_adds_up_to_the_score(api_as, manager):
    fit("Corporate", "email_kind", "equals", "corporate", 30)
    fit("Target country", "country", "in", ["GB"], 15)
    engagement("Pricing", "page_view", 10, url_pattern="/pricing")
    lead = LeadFactory(email_kind="corporate", country="GB")
    InteractionFactory(
        lead=lead, kind="page_view", body="https://x.io/pricing", occurred_at=timezone.now() - timedelta(days=3)
    )
    body = api_as(manager).get(f"/api/v1/leads/{lead.pk}/score").json()
    assert {rule["rule"] for rule in body["rules"]} == {"Corporate", "Target country", "Pricing"}
    pricing = next(rule for rule in body["rules"] if rule["rule"] == "Pricing")
    assert 7 < pricing["points"] < 10  # decayed for three days
    assert sum(part["points"] for part in body["contributions"]) == pytest.approx(body["score"], abs=0.01)
    lead.refresh_from_db()
    assert body["score"] == lead.score


def test_qualification_at_the_mql_threshold_is_recorded_and_the_owner_notified(rep):
    fit("Big", "email_kind", "equals", "corporate", 60)
    engagement("Form", "form_submit", 20)
    lead = LeadFactory(email_kind="corporate", status="active", owner=rep)
    InteractionFactory(lead=lead, kind="form_submit", occurred_at=NOW)
    lead = score_of(lead)
    assert lead.status == "qualified"
    change = lead.interactions.get(kind="status_change")
    assert change.data["to"] == "qualified" and "MQL" in change.data["reason"]
    assert Notification.objects.get(user=rep, lead=lead).kind == "qualified"


def test_a_lead_qualified_by_score_is_heard_by_automations_and_webhooks():
    """Qualification by score wrote its timeline rows in SQL and called nurturing directly, so an
    automation on "qualified" (or a webhook on lead.status_changed) never heard of it."""
    from leads.automations.reactions import automations_forget, enabled_automations
    from leads.models import OutboxJob
    from tests.factories import AutomationFactory

    fit("Big", "email_kind", "equals", "corporate", 60)
    engagement("Form", "form_submit", 20)
    AutomationFactory(trigger="qualified")
    automations_forget()
    enabled_automations()
    lead = LeadFactory(email_kind="corporate", status="active")
    InteractionFactory(lead=lead, kind="form_submit", occurred_at=NOW)
    lead = score_of(lead)
    assert lead.status == "qualified"
    started = OutboxJob.objects.filter(task_name="leads.automations.tasks.automations_start_task")
    assert [job.args[1] for job in started] == [[lead.pk]]


def test_a_manual_status_or_grade_survives_a_rescore(api_as, manager, client):
    fit("Big", "email_kind", "equals", "corporate", 60)
    engagement("Form", "form_submit", 20)
    lead = LeadFactory(email_kind="corporate", status="active")
    InteractionFactory(lead=lead, kind="form_submit", occurred_at=NOW)
    api_as(manager).patch(f"/api/v1/leads/{lead.pk}", {"status": "nurturing"}, format="json")
    lead = score_of(lead)
    assert lead.score >= 70 and lead.status == "nurturing"  # a person chose nurturing: kept
    Lead.objects.filter(pk=lead.pk).update(grade="D", grade_locked=True)
    assert score_of(lead).grade == "D"


def test_significant_changes_only_go_on_the_timeline():
    rule = fit("A", "email_kind", "equals", "corporate", 30)
    lead = LeadFactory(email_kind="corporate")
    score_of(lead)
    score_of(lead)  # same score again: no new entry
    rule.points = 32
    rule.save()
    score_of(lead)  # +2: not significant
    assert list(lead.interactions.filter(kind="score_change").values_list("data", flat=True)) == [{"from": 0, "to": 30}]


def test_events_rescore_debounced():
    from leads import jobs
    from leads.models import OutboxJob

    lead = LeadFactory()
    key = f"rescore:{lead.pk}"
    scheduled = [
        jobs.enqueue_debounced(key, "leads.scoring.tasks.rescore_leads_task", [lead.pk], seconds=5) for _ in range(100)
    ]
    assert scheduled.count(True) == 1  # 100 events, one recomputation
    assert OutboxJob.objects.filter(task_name="leads.scoring.tasks.rescore_leads_task", args=[[lead.pk]]).count() == 1
    cache.delete(f"leadcrm:debounce:{key}")  # the window has passed
    assert jobs.enqueue_debounced(key, "leads.scoring.tasks.rescore_leads_task", [lead.pk], seconds=5) is True


@pytest.mark.django_db(transaction=True)
def test_an_event_rescores_the_lead_within_seconds_on_the_worker(celery_worker_live):
    import time

    ScoringRule.objects.all().delete()
    engagement("Calls", "call", 30)
    lead = LeadFactory()
    from leads.events import activity_recorded

    activity_recorded(lead=lead, kind="call_out", body="intro call")
    deadline = time.monotonic() + RESCORE_DEBOUNCE_SECONDS + 10
    while time.monotonic() < deadline and Lead.objects.get(pk=lead.pk).score != 30:
        time.sleep(0.2)
    assert Lead.objects.get(pk=lead.pk).score == 30


def test_bulk_rescore_is_set_based(django_assert_max_num_queries):
    fit("A", "email_kind", "equals", "corporate", 30)
    engagement("Form", "form_submit", 20)
    Lead.objects.bulk_create([Lead(email=f"b{i}@x.io", email_kind="corporate") for i in range(300)])
    # A fixed handful of statements (rules, settings, the learned model, the engagement aggregate,
    # one UPDATE per id range, the change log), not one per lead.
    with django_assert_max_num_queries(30):
        result = leads_rescore()
    assert result.scored == 300
    assert set(Lead.objects.values_list("score", flat=True)) == {30}
    assert result.logged == 300 and Interaction.objects.filter(kind="score_change").count() == 300
    # The trigram index's pending entries were merged: the next capture does not pay for them.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list('lead_search_trgm'::regclass)")
        assert cursor.fetchone()[0] == 0
    assert Lead.objects.filter(search_text__contains="b299@x.io").count() == 1


def test_the_shipped_default_rules_score_a_good_lead_above_a_poor_one():
    import importlib

    defaults = importlib.import_module("leads.migrations.0009_scoring_defaults").DEFAULT_RULES
    for position, (name, group, field, operator, value, event, url, points, cap) in enumerate(defaults):
        ScoringRuleFactory(
            name=name,
            group=group,
            field=field,
            operator=operator,
            value=value,
            event=event,
            url_pattern=url,
            points=points,
            cap=cap,
            position=position,
        )
    good = LeadFactory(email_kind="corporate", seniority="vp", country="GB", company_size="201-500")
    InteractionFactory(lead=good, kind="page_view", body="https://x.io/pricing", occurred_at=NOW)
    poor = LeadFactory(email_kind="disposable", email_bouncing=True)
    assert score_of(good).score > 40 > score_of(poor).score


def test_the_lead_pages_show_the_score_explanation_and_history(client, rep):
    fit("Corporate", "email_kind", "equals", "corporate", 30)
    lead = LeadFactory(email_kind="corporate", owner=rep)
    score_of(lead)
    InteractionFactory(lead=lead, kind="score_change", data={"from": 30, "to": 45})
    client.force_login(rep)
    page = client.get(f"/leads/{lead.pk}").content.decode()
    assert '<svg class="sparkline"' in page
    explanation = client.get(f"/leads/{lead.pk}/score").content.decode()
    assert "Corporate" in explanation and "What adds up to 30" in explanation


def test_a_rule_change_in_admin_rescores_in_the_background_with_progress(client, manager, celery_worker_live, settings):
    """The rescore runs on the real worker, in id ranges handed out as separate tasks (so several
    worker processes share it), and the progress reaches 100 % when the last range is done."""
    from leads.models import ScoreJob

    settings.SCORING_RESCORE_CHUNK = 50
    leads = Lead.objects.bulk_create([Lead(email=f"cto{i}@x.io", seniority="c_level") for i in range(120)])
    closed = LeadFactory(seniority="c_level", status="lost", lost_reason="budget")
    client.force_login(manager)
    response = client.post(
        "/admin/leads/scoringrule/add/",
        {
            "name": "CTOs",
            "group": "fit",
            "field": "seniority",
            "operator": "equals",
            "value": '"c_level"',
            "event": "",
            "url_pattern": "",
            "points": "20",
            "cap": "",
            "is_active": "on",
            "position": "0",
        },
    )
    assert response.status_code == 302
    job = ScoreJob.objects.get()
    assert job.total == 120
    deadline = time.monotonic() + 30
    while (
        time.monotonic() < deadline
        and client.get(f"/scoring/jobs/{job.pk}", {"format": "json"}).json()["status"] != "done"
    ):
        time.sleep(0.2)
    progress = client.get(f"/scoring/jobs/{job.pk}", {"format": "json"}).json()
    assert progress["status"] == "done" and progress["percent"] == 100
    job.refresh_from_db()
    assert (job.chunks, job.chunks_done, job.processed, job.logged) == (3, 3, 120, 120)
    assert set(Lead.objects.filter(pk__in=[lead.pk for lead in leads]).values_list("score", flat=True)) == {20}
    assert Lead.objects.get(pk=closed.pk).score == 0  # closed leads keep their score
    page = client.get(f"/admin/leads/scorejob/{job.pk}/change/")
    assert page.status_code == 200 and "120 leads scored, 120 significant changes" in page.content.decode()


def test_a_range_run_twice_counts_once_and_the_last_range_finishes_the_job():
    from leads.scoring.tasks import rescore_range_task

    fit("Corporate", "email_kind", "equals", "corporate", 30)
    leads = Lead.objects.bulk_create([Lead(email=f"r{i}@x.io", email_kind="corporate") for i in range(10)])
    first = leads[0].pk
    job = ScoreJobFactory(status="running", started_at=NOW, chunks=2, total=10)
    rescore_range_task(job.pk, first, first + 5, NOW.isoformat())
    rescore_range_task(job.pk, first, first + 5, NOW.isoformat())  # a redelivered message
    job.refresh_from_db()
    assert (job.status, job.chunks_done, job.processed, job.logged) == ("running", 1, 5, 5)
    rescore_range_task(job.pk, first + 5, first + 10, NOW.isoformat())
    job.refresh_from_db()
    assert (job.status, job.chunks_done, job.processed, job.logged, job.progress_percent) == ("done", 2, 10, 10, 100)
    assert job.message == "10 leads scored, 10 significant changes, 0 qualified"


def test_a_bulk_rescore_waits_for_the_one_running_and_a_lost_one_stops_blocking():
    from celery.exceptions import Retry

    from leads.models import ScoreJob
    from leads.scoring.tasks import rescore_all_task

    running = ScoreJobFactory(status="running", started_at=timezone.now() - timedelta(minutes=5))
    waiting = ScoreJobFactory(status="pending")
    with pytest.raises(Retry):
        rescore_all_task(waiting.pk)
    assert ScoreJob.objects.get(pk=waiting.pk).status == "pending"
    # Its worker died two hours ago: it is marked failed and the next rescore goes ahead.
    ScoreJob.objects.filter(pk=running.pk).update(started_at=timezone.now() - timedelta(hours=2))
    LeadFactory()
    assert rescore_all_task(waiting.pk) == 1  # one range handed to the workers
    assert ScoreJob.objects.get(pk=running.pk).status == "failed"
    assert ScoreJob.objects.get(pk=waiting.pk).status == "running"


def test_rescoring_no_leads_does_nothing(django_assert_num_queries):
    """`leads_rescore(lead_ids=[])` raised EmptyResultSet (seed_demo with nothing new to score)."""
    LeadFactory()
    with django_assert_num_queries(0):
        assert leads_rescore(lead_ids=[]).scored == 0


def test_a_range_rewrites_only_its_own_leads_and_its_update_names_the_range():
    """Joined on the id alone, each bulk range's UPDATE read the whole lead table into a hash
    (at a million leads: every row, and the dead versions that earlier ranges left, spilled to
    disk, ten times per rescore). It names its id range on the lead table now."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fit("Corporate", "email_kind", "equals", "corporate", 30)
    leads = Lead.objects.bulk_create([Lead(email=f"b{i}@x.io", email_kind="corporate") for i in range(6)])
    first = leads[0].pk
    with CaptureQueriesContext(connection) as queries:
        result = leads_rescore(id_ranges=[(first + 2, first + 4)], now=NOW)
    assert result.scored == 2
    scores = dict(Lead.objects.filter(pk__in=[lead.pk for lead in leads]).values_list("pk", "score"))
    assert [scores[lead.pk] for lead in leads] == [0, 0, 30, 30, 0, 0]
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE leads_lead SET fit_points")]
    assert len(updates) == 1 and f"leads_lead.id >= {first + 2} AND leads_lead.id < {first + 4}" in updates[0]
