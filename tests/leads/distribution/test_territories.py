"""Territory matching: the first territory by priority whose rules all match wins, then the catch-all."""

import pytest

from leads.distribution.territories import (
    RULE_EMPTY,
    RULE_NOT_LIST,
    RULE_UNKNOWN_KEY,
    RULES_MISSING,
    RULES_NOT_DICT,
    territory_match,
    territory_rules_validate,
)
from leads.models import Lead
from tests.factories import TeamFactory

from .conftest import territory

pytestmark = pytest.mark.django_db


@pytest.fixture
def territories():
    """A small sales map: London by postcode first, then the UK and Ireland, German enterprise
    software, webinar leads of the partner segment, US west coast by state, and a catch-all."""
    teams = {
        name: TeamFactory(name=name) for name in ("London", "UK", "DACH Enterprise", "Partners", "US West", "Rest")
    }
    territory("London", teams["London"], priority=10, country=["GB"], postal_prefix=["EC", "WC", "W1"])
    territory("UK & Ireland", teams["UK"], priority=20, country=["gb", "IE"])
    territory(
        "DACH enterprise software",
        teams["DACH Enterprise"],
        priority=30,
        country=["DE", "AT", "CH"],
        industry=["Software"],
        company_size=["201-500", "501-1000", "1001-5000", "5001+"],
    )
    territory("Partner webinars", teams["Partners"], priority=40, source=["webhook"], attributes__segment=["partner"])
    territory("US West", teams["US West"], priority=50, country=["US"], region=["CA", "OR", "WA"])
    territory(
        "Everything else", teams["Rest"], catch_all=True, priority=1
    )  # catch-all comes last, whatever its priority
    return teams


@pytest.mark.parametrize(
    "lead, expected",
    [
        (dict(country="GB", postal_code="ec1a 1bb"), "London"),
        (dict(country="GB", postal_code="W1D 3QF"), "London"),
        (dict(country="GB", postal_code="M1 1AE"), "UK & Ireland"),
        (dict(country="GB"), "UK & Ireland"),  # no postcode: the London prefix cannot match
        (dict(country="IE", postal_code="EC1"), "UK & Ireland"),  # the prefix alone is not London
        (dict(country="DE", industry="software", company_size="501-1000"), "DACH enterprise software"),
        (dict(country="DE", industry="Software", company_size="11-50"), "Everything else"),  # too small
        (dict(country="CH", industry="Retail", company_size="5001+"), "Everything else"),
        (dict(source="webhook", attributes={"segment": "Partner"}), "Partner webinars"),
        (dict(source="webhook", attributes={"segment": ["smb", "partner"]}), "Partner webinars"),
        (dict(source="web_form", attributes={"segment": "partner"}), "Everything else"),
        (dict(country="US", region="ca"), "US West"),
        (dict(country="US", region="NY"), "Everything else"),
        (dict(), "Everything else"),
    ],
)
def test_the_first_matching_territory_by_priority_wins(territories, lead, expected):
    match = territory_match(lead=Lead(**lead))
    assert match.territory.name == expected
    assert len(match.team_ids) == 1


def test_without_a_catch_all_an_unmatched_lead_has_no_territory(territories):
    from leads.models import Territory

    Territory.objects.filter(is_catch_all=True).update(is_active=False)
    assert territory_match(lead=Lead(country="FR")) is None
    assert territory_match(lead=Lead(country="GB")).territory.name == "UK & Ireland"


def test_a_territory_lists_its_teams_in_a_stable_order():
    b, a = TeamFactory(name="B team"), TeamFactory(name="A team")
    territory("Two teams", b, a, country=["FR"])
    assert territory_match(lead=Lead(country="FR")).team_ids == [a.pk, b.pk]


@pytest.mark.parametrize(
    "rules, message",
    [
        ([], RULES_NOT_DICT),
        (
            {"planet": ["Mars"]},
            RULE_UNKNOWN_KEY.format(
                key="planet", keys="country, region, postal_prefix, industry, company_size, source"
            ),
        ),
        ({"country": {"GB": True}}, RULE_NOT_LIST.format(key="country")),
        ({"country": []}, RULE_EMPTY.format(key="country")),
        ({}, RULES_MISSING),
    ],
)
def test_bad_rules_are_refused_with_a_message(rules, message):
    with pytest.raises(ValueError) as error:
        territory_rules_validate(rules=rules)
    assert str(error.value) == message


def test_rules_are_cleaned_and_a_catch_all_needs_none():
    assert territory_rules_validate(rules={"country": "GB", "attributes.tier": [1, " gold "]}) == {
        "country": ["GB"],
        "attributes.tier": ["1", "gold"],
    }
    assert territory_rules_validate(rules={}, is_catch_all=True) == {}
