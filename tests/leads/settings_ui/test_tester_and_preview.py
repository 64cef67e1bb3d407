"""The territory tester says what routing does (it asks the routing's own matching code), and the
grade preview counts exactly the leads a real rescore regrades."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.distribution.service import lead_assign
from leads.models import Lead, ScoringConfig, ScoringRule
from leads.scoring.preview import grades_preview
from leads.scoring.service import leads_rescore
from leads.settings_ui.scoring import config_snapshot
from tests.factories import (
    AgentFactory,
    InteractionFactory,
    LeadFactory,
    RepFactory,
    ScoringRuleFactory,
    TeamFactory,
    TeamMembershipFactory,
    TerritoryFactory,
)

pytestmark = pytest.mark.django_db

CASES = [
    {"country": "GB", "industry": "Software", "company_size": "51-200"},
    {"country": "GB", "industry": "Retail"},
    {"country": "DE", "company_size": "5001+"},
    {"country": "DE", "company_size": "11-50", "source": "import"},
    {"country": "US", "region": "CA"},
    {"country": "US", "region": "NY", "postal_code": "10001"},
    {"country": "FR"},
    {"postal_code": "EC1A 1BB", "country": "GB", "industry": "Software"},
    {},
]


@pytest.fixture
def routing():
    """Four territories over three teams (each with an available rep), a catch-all last."""
    teams = {}
    for name in ("UK Software", "Enterprise", "West Coast", "Everyone"):
        team = TeamFactory(name=name)
        rep = RepFactory(username=f"rep-{name.lower().replace(' ', '-')}", password=None)
        TeamMembershipFactory(team=team, user=rep)
        AgentFactory(user=rep, working_hours={str(d): ["00:00", "24:00"] for d in range(7)})
        teams[name] = team

    def territory(name, team, priority, **rules):
        made = TerritoryFactory(name=name, priority=priority, rules=rules, is_catch_all=not rules)
        made.teams.add(teams[team])

    territory("UK software", "UK Software", 10, country=["GB"], industry=["software"])
    territory("Big companies", "Enterprise", 20, company_size=["1001-5000", "5001+"])
    territory("California", "West Coast", 30, country=["US"], region=["CA"])
    territory("Imports", "Enterprise", 40, source=["import"])
    territory("Everywhere else", "Everyone", 1000)
    return teams


@pytest.mark.parametrize("case", CASES)
def test_the_tester_predicts_the_territory_routing_then_uses(manager_client, routing, case):
    response = manager_client.get(reverse("leads:settings_ui:territory_tester"), {"source": "web_form", **case})
    assert response.status_code == 200
    predicted = response.context["result"]
    lead = LeadFactory(
        country=case.get("country", ""),
        industry=case.get("industry", ""),
        company_size=case.get("company_size", ""),
        region=case.get("region", ""),
        postal_code=case.get("postal_code", ""),
        source=case.get("source", "web_form"),
    )
    assignment = lead_assign(lead_id=lead.pk)
    assert assignment.territory_id == predicted.route.territory.pk
    assert assignment.team == predicted.teams[0]
    page = response.content.decode()
    assert f'data-testid="tester-territory">{predicted.route.territory.name}<' in page


def test_the_tester_says_why(manager_client, routing):
    page = manager_client.get(
        reverse("leads:settings_ui:territory_tester"), {"country": "GB", "industry": "Retail"}
    ).content.decode()
    assert "✗ Industry is software — the lead has Retail" in page
    assert "✓ Country is United Kingdom — the lead has United Kingdom" in page
    assert 'data-testid="tester-territory">Everywhere else<' in page


def test_the_tester_refuses_a_country_that_does_not_exist(manager_client, routing):
    response = manager_client.get(reverse("leads:settings_ui:territory_tester"), {"country": "XX"})
    assert response.status_code == 400 and "country" in response.context["form"].errors


def _leads_with_history(now):
    """Open leads of every kind the score reads: titles, sizes, page views at different ages."""
    leads = []
    for i in range(30):
        lead = LeadFactory(
            email=f"p{i}@corp{i % 4}.com",
            job_title=["VP Sales", "Engineer", "CEO", "Analyst"][i % 4],
            company_size=["51-200", "5001+", "1-10"][i % 3],
            country=["GB", "US", "FR"][i % 3],
            email_kind=["corporate", "free"][i % 2],
            seniority=["vp", "individual", "c_level", ""][i % 4],
            status=["new", "active", "nurturing", "qualified"][i % 4],
        )
        for n in range(i % 6):
            InteractionFactory(
                lead=lead,
                kind="page_view",
                body="/pricing" if n % 2 else "/blog",
                occurred_at=now - timedelta(days=3 * n + i % 5),
            )
        leads.append(lead)
    LeadFactory(status="lost", lost_reason="No budget", job_title="VP")  # closed: never rescored, never counted
    return leads


@pytest.mark.parametrize(
    "change",
    [
        {"grade_a": 40, "grade_b": 30, "grade_c": 10},
        {"grade_a": 90, "grade_b": 70, "grade_c": 45, "mql_threshold": 30},
        {"fit_cap": 10, "engagement_cap": 5},
        {"decay": "linear", "linear_percent": 50, "linear_period_days": 2},
    ],
)
def test_the_grade_preview_counts_what_a_real_rescore_changes(change):
    now = timezone.now()
    _leads_with_history(now)
    leads_rescore(now=now)
    before = dict(Lead.objects.values_list("pk", "grade"))
    config = ScoringConfig.current()
    for key, value in change.items():
        setattr(config, key, value)
    preview = grades_preview(config=config, rules=list(ScoringRule.objects.all()), now=now)
    config.save()
    leads_rescore(now=now)
    after = dict(Lead.objects.values_list("pk", "grade"))
    changed = sum(before[pk] != after[pk] for pk in before)
    assert preview.changed == changed and preview.changed > 0
    assert preview.leads == Lead.objects.exclude(status__in=["lost", "converted"]).count()


def test_an_unsaved_rule_is_previewed_and_counted_the_same(manager_client):
    now = timezone.now()
    _leads_with_history(now)
    leads_rescore(now=now)
    before = dict(Lead.objects.values_list("pk", "grade"))
    data = {
        "name": "VPs",
        "group": "fit",
        "field": "job_title",
        "operator": "contains",
        "value": "VP",
        "points": "40",
        "is_active": "on",
        "preview": "1",
    }
    response = manager_client.post(reverse("leads:settings_ui:scoring_rule_create"), data)
    assert response.status_code == 200 and not ScoringRule.objects.filter(name="VPs").exists()
    preview = response.context["preview"]
    assert response.context["words"] == "Job title contains VP → +40"
    ScoringRuleFactory(name="VPs", group="fit", field="job_title", operator="contains", value="VP", points=40)
    leads_rescore()
    after = dict(Lead.objects.values_list("pk", "grade"))
    assert preview.changed == sum(before[pk] != after[pk] for pk in before) > 0


def test_the_preview_is_one_query(django_assert_num_queries):
    _leads_with_history(timezone.now())
    config, rules = ScoringConfig.current(), list(ScoringRule.objects.all())
    with django_assert_num_queries(2):  # the learned model (none yet), then the count
        grades_preview(config=config, rules=rules)


def test_saving_the_settings_records_them_and_starts_a_rescore(manager_client, manager):
    data = {**config_snapshot(ScoringConfig.current()), "grade_a": "80", "save": "1"}
    response = manager_client.post(reverse("leads:settings_ui:scoring"), data)
    assert response.status_code == 302
    assert ScoringConfig.current().grade_a == 80
    from leads.models import ScoreJob, SettingsChange

    change = SettingsChange.objects.get()
    assert (change.by, change.before["grade_a"], change.after["grade_a"]) == (manager, 75, 80)
    assert ScoreJob.objects.filter(created_by=manager).exists()
    data.pop("save")
    preview = manager_client.post(reverse("leads:settings_ui:scoring"), {**data, "grade_a": "90", "preview": "1"})
    assert preview.status_code == 200 and ScoringConfig.current().grade_a == 80
    assert b'data-testid="grade-preview-count"' in preview.content
