"""A manager sets up routing and scoring entirely in the browser, through Manage → Settings: a
team with two reps and their weights, the two reps' different working weeks, three territories
(one of them moved in the order), and a scoring rule previewed then saved. The tester predicts
where a lead goes, and a new lead is routed exactly there."""

import pytest

from leads.distribution.service import lead_assign
from leads.models import Agent, Assignment, ScoringRule, SettingsChange, Team, Territory
from leads.scoring.service import score_explain
from tests.e2e.conftest import log_in
from tests.factories import LeadFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _settings(page, base_url: str, tab: str) -> None:
    page.goto(f"{base_url}/")
    page.click("[data-testid=nav-manage] > a")
    page.click("[data-testid=nav-settings]")
    page.click(f"[data-testid=settings-{tab}]")


def _territory(page, name: str, order: str, team: str, *, countries=(), industry="", sizes=(), catch_all=False) -> None:
    page.click("[data-testid=new-territory]")
    page.fill("#id_name", name)
    page.fill("#id_priority", order)
    page.get_by_label(team, exact=True).check()
    if catch_all:
        page.check("#id_is_catch_all")
    if countries:
        page.select_option("#id_country", list(countries))
    if industry:
        page.fill("#id_industry", industry)
    for size in sizes:
        page.get_by_label(size, exact=True).check()
    page.click("[data-testid=save-territory]")
    page.wait_for_url("**/settings/territories/")


def test_a_manager_sets_up_routing_and_scoring_in_the_browser(page, live_server, manager, rep, other_rep, shoot):
    url = live_server.url
    log_in(page, url, "manager")

    # A team: both reps, rep1 with twice the turns, a 30-minute SLA and a phone number.
    _settings(page, url, "teams")
    page.click("[data-testid=new-team]")
    page.fill("#id_name", "Field Sales")
    page.check(f"#id_member_{rep.pk}")
    page.fill(f"#id_weight_{rep.pk}", "2")
    page.check(f"#id_member_{other_rep.pk}")
    page.fill("#id_sla_minutes", "30")
    page.fill("#id_phone_numbers", "0044 20 7946 0999\nnot-a-phone")
    page.click("[data-testid=save-team]")
    # A per-field message, and the form keeps what was typed.
    assert "Line 2: not-a-phone is not a phone number" in page.locator("#id_phone_numbers").locator("..").inner_text()
    page.fill("#id_phone_numbers", "+44 20 7946 0999")
    page.click("[data-testid=save-team]")
    page.wait_for_url("**/settings/teams/")
    assert "rep1 ×2, rep2 ×1" in page.locator("[data-testid=team-list]").inner_text()

    # Two agents with different weeks, each in their own zone.
    _settings(page, url, "agents")
    page.click("[data-testid=agent-row-rep1] a")
    page.select_option("#id_time_zone", "Europe/London")
    for day in range(5):
        page.fill(f"#id_day{day}_from", "09:00")
        page.fill(f"#id_day{day}_to", "17:30")
    page.fill("#id_max_open_leads", "40")
    page.click("[data-testid=save-agent]")
    page.wait_for_url("**/settings/agents/")
    page.click("[data-testid=agent-row-rep2] a")
    page.select_option("#id_time_zone", "America/New_York")
    for day in range(7):
        page.fill(f"#id_day{day}_from", "")
        page.fill(f"#id_day{day}_to", "")
    for day in (1, 2, 3, 5):
        page.fill(f"#id_day{day}_from", "12:00")
        page.fill(f"#id_day{day}_to", "20:00")
    page.fill("#id_out_of_office_reason", "Conference")
    page.click("[data-testid=save-agent]")
    assert (
        "Give the dates away as well as the reason."
        in page.locator("#id_out_of_office_reason").locator("..").inner_text()
    )
    page.fill("#id_out_of_office_reason", "")
    page.click("[data-testid=save-agent]")
    page.wait_for_url("**/settings/agents/")
    agents = page.locator("[data-testid=agent-list]").inner_text()
    assert "Mon–Fri 09:00–17:30" in agents and "Tue–Thu 12:00–20:00; Sat 12:00–20:00" in agents
    assert Agent.objects.get(user=rep).time_zone == "Europe/London"
    assert Agent.objects.get(user=other_rep).working_hours["5"] == ["12:00", "20:00"]
    shoot(page, "settings-agents")

    # Three territories; the big companies' one is moved ahead of the UK's by its order number.
    _settings(page, url, "territories")
    _territory(page, "UK software", "10", "Field Sales", countries=["GB", "IE"], industry="Software")
    _territory(page, "Big companies", "20", "Inside Sales", sizes=["5,001+"])
    _territory(page, "Everywhere else", "1000", "Inside Sales", catch_all=True)
    big = Territory.objects.get(name="Big companies")
    page.fill(f"#priority-{big.pk}", "5")
    page.click("[data-testid=save-order]")
    page.wait_for_url("**/settings/territories/")
    rows = page.locator("[data-testid=territory-row]")
    assert [rows.nth(i).locator("a").inner_text() for i in range(3)] == [
        "Big companies",
        "UK software",
        "Everywhere else",
    ]
    assert "Country is Ireland or United Kingdom" in rows.nth(1).inner_text()
    shoot(page, "settings-territories")

    # A scoring rule in words, previewed (how many leads would change grade), then saved.
    _settings(page, url, "scoring")
    page.click("[data-testid=new-rule]")
    page.fill("#id_name", "VPs")
    page.check("#id_group_0")
    page.select_option("#id_field", "job_title")
    page.select_option("#id_operator", "contains")
    page.fill("#id_value", "VP")
    page.fill("#id_points", "15")
    page.click("[data-testid=preview-rule]")
    assert page.locator("[data-testid=rule-words]").inner_text() == "Job title contains VP → +15"
    assert page.locator("[data-testid=grade-preview]").is_visible()
    assert not ScoringRule.objects.filter(name="VPs").exists()
    page.click("[data-testid=save-rule]")
    page.wait_for_url("**/settings/scoring/")
    assert "Job title contains VP → +15" in page.locator("[data-testid=fit-rules]").inner_text()

    # The tester: a UK software company of 51–200 goes to UK software → Field Sales.
    _settings(page, url, "territories")
    page.click("[data-testid=territory-tester]")
    page.select_option("#id_country", "GB")
    page.fill("#id_industry", "software")
    page.select_option("#id_company_size", "51-200")
    page.click("[data-testid=run-tester]")
    predicted_territory = page.locator("[data-testid=tester-territory]").inner_text()
    predicted_team = page.locator("[data-testid=tester-team]").first.inner_text()
    assert (predicted_territory, predicted_team) == ("UK software", "Field Sales")
    assert "✗ Company size is 5,001+" in page.locator("[data-testid=tester-why]").inner_text()
    shoot(page, "settings-tester")

    # A new lead with those fields is routed where the tester said, and the new rule scores it.
    lead = LeadFactory(
        country="GB", industry="Software", company_size="51-200", job_title="VP Sales", source="web_form"
    )
    assignment = lead_assign(lead_id=lead.pk)
    assert assignment.territory.name == predicted_territory
    assert assignment.team.name == predicted_team
    assert assignment.agent in Team.objects.get(name="Field Sales").members.all()
    assert assignment.reason == Assignment.Reason.ROUND_ROBIN
    assert "VPs" in [fired["rule"] for fired in score_explain(lead=lead)["rules"]]

    # Every change is on the Settings page, with who made it.
    page.goto(f"{url}/settings/")
    history = page.locator("[data-testid=settings-history]").inner_text()
    assert "Team Field Sales created" in history and "Scoring rule VPs created" in history
    assert SettingsChange.objects.filter(by=manager).count() == 8  # team, 2 agents, 3 territories, 1 move, 1 rule
