"""Every Settings form answers bad input with a 400 and a message on the field at fault."""

import pytest
from django.urls import reverse

from leads.common.normalize import INVALID_PHONE
from leads.models import ScoringConfig, ScoringRule, SettingsChange, Territory
from leads.settings_ui import agents, scoring, teams, territories
from tests.factories import TeamSettingsFactory, TerritoryFactory

pytestmark = pytest.mark.django_db


def errors_of(response) -> dict[str, list[str]]:
    assert response.status_code == 400, response.status_code
    form = response.context["form"]
    return {name: [str(e) for e in errs] for name, errs in form.errors.items()}


TEAM = {"name": "Field Sales", "sla_minutes": "60", "max_reassignments": "2"}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"sla_minutes": "0"}, "sla_minutes", teams.SLA_RANGE),
        ({"max_reassignments": "11"}, "max_reassignments", teams.ESCALATION_RANGE),
        (
            {"phone_numbers": "+44 20 7946 0000\nnot a number"},
            "phone_numbers",
            teams.PHONE_LINE_INVALID.format(line=2, value="not a number"),
        ),
        ({"name": "inside sales"}, "name", teams.TEAM_NAME_TAKEN.format(name="inside sales")),
    ],
)
def test_team_form_messages(manager_client, team, change, field, message):
    errors = errors_of(manager_client.post(reverse("leads:settings_ui:team_create"), {**TEAM, **change}))
    assert errors[field] == [message]
    assert not SettingsChange.objects.exists()


def test_a_team_phone_number_rings_one_team_only(manager_client, team):
    TeamSettingsFactory(team=team, phone_numbers=["+442079460000"])
    errors = errors_of(
        manager_client.post(reverse("leads:settings_ui:team_create"), {**TEAM, "phone_numbers": "+44 20 7946 0000"})
    )
    assert errors["phone_numbers"] == [teams.PHONE_TAKEN.format(number="+442079460000", team="Inside Sales")]


def test_member_weights_are_checked_per_rep(manager_client, rep, other_rep):
    errors = errors_of(
        manager_client.post(
            reverse("leads:settings_ui:team_create"),
            {
                **TEAM,
                f"member_{rep.pk}": "on",
                f"weight_{rep.pk}": "0",
                f"member_{other_rep.pk}": "on",
                f"weight_{other_rep.pk}": "",
            },
        )
    )
    assert errors == {f"weight_{rep.pk}": [teams.WEIGHT_RANGE], f"weight_{other_rep.pk}": [teams.WEIGHT_REQUIRED]}


AGENT = {"is_active": "on", "time_zone": "Europe/Berlin"}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"day0_from": "09:00"}, "day0_to", agents.HOURS_NEED_END),
        ({"day2_to": "17:00"}, "day2_from", agents.HOURS_NEED_START),
        ({"day6_from": "09:00", "day6_to": "09:00"}, "day6_to", agents.HOURS_SAME),
        (
            {"out_of_office_from": "2030-05-10", "out_of_office_until": "2030-05-01"},
            "out_of_office_until",
            agents.OOO_UNTIL_BEFORE_FROM,
        ),
        ({"out_of_office_reason": "Holiday"}, "out_of_office_reason", agents.OOO_REASON_WITHOUT_DATES),
        ({"max_open_leads": "0"}, "max_open_leads", agents.CAPACITY_RANGE),
        ({"phone": "12"}, "phone", INVALID_PHONE),
    ],
)
def test_agent_form_messages(manager_client, rep, change, field, message):
    errors = errors_of(manager_client.post(reverse("leads:settings_ui:agent_edit", args=[rep.pk]), {**AGENT, **change}))
    assert errors == {field: [message]}


def test_an_unknown_time_zone_is_refused(manager_client, rep):
    errors = errors_of(
        manager_client.post(
            reverse("leads:settings_ui:agent_edit", args=[rep.pk]), {**AGENT, "time_zone": "Mars/Olympus"}
        )
    )
    assert list(errors) == ["time_zone"]


TERRITORY = {"name": "DACH", "priority": "10", "is_active": "on", "country": ["DE", "AT", "CH"]}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"country": []}, "__all__", territories.RULES_NEEDED),
        ({"is_catch_all": "on"}, "is_catch_all", territories.CATCH_ALL_HAS_RULES),
        ({"attribute": "segment"}, "attribute_values", territories.ATTRIBUTE_NEEDS_VALUES),
        ({"attribute_values": "enterprise"}, "attribute", territories.VALUES_NEED_ATTRIBUTE),
        ({"priority": "0"}, "priority", territories.PRIORITY_RANGE),
        ({"teams": []}, "teams", territories.TEAMS_NEEDED),
    ],
)
def test_territory_form_messages(manager_client, team, change, field, message):
    data = {**TERRITORY, "teams": [team.pk], **change}
    errors = errors_of(manager_client.post(reverse("leads:settings_ui:territory_create"), data))
    assert errors[field] == [message]


def test_a_second_active_catch_all_is_refused(manager_client, team):
    TerritoryFactory(name="Everywhere", is_catch_all=True)
    errors = errors_of(
        manager_client.post(
            reverse("leads:settings_ui:territory_create"),
            {
                "name": "Rest",
                "priority": "1",
                "is_active": "on",
                "is_catch_all": "on",
                "teams": [team.pk],
            },
        )
    )
    assert errors["is_catch_all"] == [territories.CATCH_ALL_TAKEN.format(name="Everywhere")]


def test_a_territory_is_saved_as_the_rules_routing_reads(manager_client, team):
    response = manager_client.post(
        reverse("leads:settings_ui:territory_create"),
        {
            **TERRITORY,
            "teams": [team.pk],
            "company_size": ["51-200", "201-500"],
            "industry": "Software, Finance ",
            "attribute": "segment",
            "attribute_values": "enterprise",
        },
    )
    assert response.status_code == 302
    saved = Territory.objects.get(name="DACH")
    assert saved.rules == {
        "country": ["DE", "AT", "CH"],
        "company_size": ["51-200", "201-500"],
        "industry": ["Software", "Finance"],
        "attributes.segment": ["enterprise"],
    }
    page = manager_client.get(reverse("leads:settings_ui:territories")).content.decode()
    assert "Country is Germany or Austria or Switzerland" in page and "Industry is Software or Finance" in page


RULE = {
    "name": "VPs",
    "group": "fit",
    "field": "job_title",
    "operator": "contains",
    "value": "VP",
    "points": "15",
    "is_active": "on",
}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"field": ""}, "field", scoring.FIELD_NEEDED),
        ({"operator": ""}, "operator", scoring.OPERATOR_NEEDED),
        ({"value": ""}, "value", scoring.VALUE_NEEDED),
        ({"operator": "gt", "value": "lots"}, "value", scoring.VALUE_NOT_NUMBER.format(value="lots")),
        ({"field": "email_bouncing", "operator": "equals", "value": "maybe"}, "value", scoring.VALUE_NOT_YES_NO),
        ({"field": "attribute"}, "attribute", scoring.ATTRIBUTE_NEEDED),
        ({"group": "engagement"}, "event", scoring.EVENT_NEEDED),
        (
            {"group": "engagement", "event": "form_submit", "url_pattern": "/pricing"},
            "url_pattern",
            scoring.URL_ONLY_FOR_PAGE_VIEWS,
        ),
    ],
)
def test_scoring_rule_form_messages(manager_client, change, field, message):
    errors = errors_of(
        manager_client.post(reverse("leads:settings_ui:scoring_rule_create"), {**RULE, **change, "save": "1"})
    )
    assert errors[field] == [message]


def test_a_coded_value_must_be_one_of_the_fields_values(manager_client):
    errors = errors_of(
        manager_client.post(
            reverse("leads:settings_ui:scoring_rule_create"),
            {
                **RULE,
                "field": "seniority",
                "operator": "in",
                "value": "VP, Wizard",
                "save": "1",
            },
        )
    )
    assert errors["value"][0].startswith(scoring.VALUE_NOT_CHOICE.format(value="Wizard", choices="")[:30])


def test_a_rule_in_words_is_stored_with_codes(manager_client):
    response = manager_client.post(
        reverse("leads:settings_ui:scoring_rule_create"),
        {
            **RULE,
            "name": "Senior",
            "field": "seniority",
            "operator": "in",
            "value": "VP, c-level",
            "save": "1",
        },
    )
    assert response.status_code == 302
    rule = ScoringRule.objects.get(name="Senior")
    assert rule.value == ["vp", "c_level"]
    assert scoring.rule_in_words(rule) == "Seniority is one of VP, C-level → +15"
    page = manager_client.get(reverse("leads:settings_ui:scoring")).content.decode()
    assert (
        "Seniority is one of VP, C-level → +15" in page
        and "Each page view of a URL containing /pricing → +10 (at most 20)" in page
    )


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"grade_b": "80"}, "grade_b", scoring.GRADES_ORDER_B.format(a=75)),
        ({"grade_c": "60"}, "grade_c", scoring.GRADES_ORDER_C.format(b=50)),
        ({"mql_threshold": "101"}, "mql_threshold", scoring.HUNDRED),
        ({"probability_weight": "1.5"}, "probability_weight", scoring.WEIGHT_SHARE),
        ({"half_life_days": "0"}, "half_life_days", scoring.DAYS_MIN),
    ],
)
def test_scoring_settings_form_messages(manager_client, change, field, message):
    data = {**scoring.config_snapshot(ScoringConfig.current()), **change, "save": "1"}
    errors = errors_of(manager_client.post(reverse("leads:settings_ui:scoring"), data))
    assert message in errors[field]
    assert ScoringConfig.current().grade_a == 75 and not SettingsChange.objects.exists()
