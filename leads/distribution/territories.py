"""Territories: the first active territory (by priority) whose rules all match the lead wins;
a catch-all matches every lead, after all the others.

Rules are a JSON object of lists, all of which must match (see Territory.rules):
country, region, postal_prefix, industry, company_size, source, and "attributes.<key>".
Comparisons ignore case (and spaces, for postal codes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models import Lead, Territory

RULE_KEYS = ("country", "region", "postal_prefix", "industry", "company_size", "source")
ATTRIBUTE_PREFIX = "attributes."

RULES_NOT_DICT = 'Rules are a JSON object, e.g. {"country": ["GB", "IE"]}.'
RULE_UNKNOWN_KEY = "Unknown rule {key!r}: use {keys} or attributes.<name>."
RULE_NOT_LIST = 'The rule {key!r} takes a list of values, e.g. ["GB"].'
RULE_EMPTY = "The rule {key!r} has no values: remove it or list at least one."
RULES_MISSING = "A territory that is not the catch-all needs at least one rule."


@dataclass(frozen=True)
class TerritoryRoute:
    """A matched territory and the ids of the teams that serve it, in routing order."""

    territory: Territory
    team_ids: list[int] = field(default_factory=list)


def _norm(value) -> str:
    return str(value if value is not None else "").strip().casefold()


def _postal(value) -> str:
    return "".join(str(value or "").split()).casefold()


def territory_rules_validate(*, rules, is_catch_all: bool = False) -> dict[str, list[str]]:
    """The rules cleaned (values as lists of strings), or ValueError with a message to show."""
    if rules in (None, ""):
        rules = {}
    if not isinstance(rules, dict):
        raise ValueError(RULES_NOT_DICT)
    cleaned: dict[str, list[str]] = {}
    for key, values in rules.items():
        if key not in RULE_KEYS and not (key.startswith(ATTRIBUTE_PREFIX) and len(key) > len(ATTRIBUTE_PREFIX)):
            raise ValueError(RULE_UNKNOWN_KEY.format(key=key, keys=", ".join(RULE_KEYS)))
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not all(isinstance(v, (str, int, float, bool)) for v in values):
            raise ValueError(RULE_NOT_LIST.format(key=key))
        values = [str(v).strip() for v in values if str(v).strip()]
        if not values:
            raise ValueError(RULE_EMPTY.format(key=key))
        cleaned[key] = values
    if not cleaned and not is_catch_all:
        raise ValueError(RULES_MISSING)
    return cleaned


def _lead_value(lead: Lead, key: str):
    if key.startswith(ATTRIBUTE_PREFIX):
        return (lead.attributes or {}).get(key[len(ATTRIBUTE_PREFIX) :])
    if key == "country":
        return getattr(lead.country, "code", lead.country) or ""
    if key == "postal_prefix":
        return lead.postal_code
    return getattr(lead, key)


def rule_matches(lead: Lead, key: str, values: list) -> bool:
    """One rule: the lead's value is one of `values` (a prefix of it, for postal_prefix)."""
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not values:
        return False
    if key not in RULE_KEYS and not key.startswith(ATTRIBUTE_PREFIX):
        return False  # an unknown key (saved around the admin form) never matches: fail closed
    actual = _lead_value(lead, key)
    if key == "postal_prefix":
        code = _postal(actual)
        return bool(code) and any(code.startswith(_postal(v)) for v in values if _postal(v))
    if isinstance(actual, list):  # a list attribute matches when any of its items does
        return any(_norm(item) in {_norm(v) for v in values} for item in actual)
    return _norm(actual) != "" and _norm(actual) in {_norm(v) for v in values}


def territory_matches(*, territory: Territory, lead: Lead) -> bool:
    """All of the territory's rules match (a catch-all matches everything)."""
    if territory.is_catch_all:
        return True
    rules = territory.rules if isinstance(territory.rules, dict) else {}
    return bool(rules) and all(rule_matches(lead, key, values) for key, values in rules.items())


def territories_active() -> list[TerritoryRoute]:
    """Every active territory in routing order with its teams (two queries)."""
    territories = list(Territory.objects.filter(is_active=True).prefetch_related("teams"))
    return [
        TerritoryRoute(
            territory=t, team_ids=[team.pk for team in sorted(t.teams.all(), key=lambda team: (team.name, team.pk))]
        )
        for t in territories
    ]


def territory_match(*, lead: Lead, territories: list[TerritoryRoute] | None = None) -> TerritoryRoute | None:
    """The first matching territory by priority, then the catch-all; None if nothing matches."""
    for route in territories if territories is not None else territories_active():
        if territory_matches(territory=route.territory, lead=lead):
            return route
    return None
