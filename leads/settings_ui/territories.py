"""Territories: rules built from fields and values (countries from a list, regions, postal
prefixes, company size, industry, source, an attribute), their order, a catch-all, and the
tester that asks the routing's own matching code where a lead would go, and why."""

from dataclasses import dataclass

from django import forms
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django_countries import countries

from ..distribution.territories import (
    ATTRIBUTE_PREFIX,
    TerritoryRoute,
    rule_matches,
    territories_active,
    territory_match,
    territory_rules_validate,
)
from ..models import Lead, SettingsChange, Team, Territory
from .audit import settings_change_record

# Per-field messages (tests assert on them).
TERRITORY_NAME_TAKEN = "There is already a territory called {name}."
CATCH_ALL_HAS_RULES = "A catch-all takes every lead: clear its rules, or untick catch-all."
CATCH_ALL_TAKEN = "{name} is already the active catch-all: a second one would never be reached."
RULES_NEEDED = "Give at least one rule (a country, region, size, industry, source…) or make it the catch-all."
ATTRIBUTE_NEEDS_VALUES = "Give the values the attribute must have."
VALUES_NEED_ATTRIBUTE = "Name the attribute these values are for."
PRIORITY_RANGE = "The order is a whole number from 1 to 10,000 (lower comes first)."
TEAMS_NEEDED = "Choose the team or teams that take this territory's leads."

RULE_LABELS = {
    "country": "Country",
    "region": "Region",
    "postal_prefix": "Postal code starts with",
    "industry": "Industry",
    "company_size": "Company size",
    "source": "Source",
}
TEXT_RULES = ("region", "postal_prefix", "industry")  # typed, comma-separated


def territory_list() -> QuerySet[Territory]:
    """Every territory in routing order with its teams (two queries)."""
    return Territory.objects.prefetch_related("teams").order_by("is_catch_all", "priority", "id")


def _split(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _value_text(key: str, value: str) -> str:
    if key == "country":
        return countries.name(value) or value
    if key == "company_size":
        return dict(Lead.CompanySize.choices).get(value, value)
    if key == "source":
        return dict(Lead.Source.choices).get(value, value)
    return value


def rules_in_words(territory: Territory) -> list[str]:
    """'Country is United Kingdom or Ireland', one line per rule."""
    if territory.is_catch_all:
        return ["Every lead no other territory takes"]
    rules = territory.rules if isinstance(territory.rules, dict) else {}
    lines = []
    for key, values in rules.items():
        label = RULE_LABELS.get(key) or f"Attribute {key[len(ATTRIBUTE_PREFIX) :]}"
        values = values if isinstance(values, list) else [values]
        words = " or ".join(_value_text(key, str(v)) for v in values)
        lines.append(f"{label} {'is ' if key != 'postal_prefix' else ''}{words}")
    return lines


class TerritoryForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    priority = forms.IntegerField(
        label="Order",
        min_value=1,
        max_value=10000,
        initial=100,
        help_text="Lower comes first; the catch-all always comes last.",
        error_messages={"min_value": PRIORITY_RANGE, "max_value": PRIORITY_RANGE, "required": PRIORITY_RANGE},
    )
    is_active = forms.BooleanField(label="Active", required=False, initial=True)
    is_catch_all = forms.BooleanField(label="Catch-all: takes every lead that no other territory takes", required=False)
    teams = forms.ModelMultipleChoiceField(
        label="Teams",
        queryset=Team.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": TEAMS_NEEDED},
        help_text="Tried in name order: the next when nobody in one is free.",
    )
    country = forms.MultipleChoiceField(
        label="Countries",
        required=False,
        choices=(),
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Hold Ctrl (⌘ on a Mac) to choose several.",
    )
    region = forms.CharField(label="Regions", required=False, help_text="Comma-separated, e.g. CA, NY or Bavaria.")
    postal_prefix = forms.CharField(
        label="Postal codes starting with", required=False, help_text="Comma-separated, e.g. EC, W1."
    )
    company_size = forms.MultipleChoiceField(
        label="Company sizes",
        required=False,
        choices=Lead.CompanySize.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    industry = forms.CharField(label="Industries", required=False, help_text="Comma-separated, e.g. Software, Finance.")
    source = forms.MultipleChoiceField(
        label="Sources", required=False, choices=Lead.Source.choices, widget=forms.CheckboxSelectMultiple
    )
    attribute = forms.CharField(
        label="Attribute", required=False, max_length=50, help_text="A lead attribute's name, e.g. segment."
    )
    attribute_values = forms.CharField(label="Attribute values", required=False, help_text="Comma-separated.")

    def __init__(self, *args, territory: Territory | None = None, **kwargs):
        self.territory = territory
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = list(countries)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        others = Territory.objects.filter(name__iexact=name)
        if self.territory is not None and self.territory.pk:
            others = others.exclude(pk=self.territory.pk)
        if others.exists():
            raise forms.ValidationError(TERRITORY_NAME_TAKEN.format(name=name))
        return name

    def rules(self) -> dict[str, list[str]]:
        """The rule fields as Territory.rules (only the ones given)."""
        data = self.cleaned_data
        rules = {
            "country": list(data.get("country") or []),
            "region": _split(data.get("region")),
            "postal_prefix": _split(data.get("postal_prefix")),
            "company_size": list(data.get("company_size") or []),
            "industry": _split(data.get("industry")),
            "source": list(data.get("source") or []),
        }
        attribute, values = (data.get("attribute") or "").strip(), _split(data.get("attribute_values"))
        if attribute and values:
            rules[f"{ATTRIBUTE_PREFIX}{attribute}"] = values
        return {key: values for key, values in rules.items() if values}

    def clean(self):
        cleaned = super().clean()
        attribute, values = (cleaned.get("attribute") or "").strip(), _split(cleaned.get("attribute_values"))
        if attribute and not values:
            self.add_error("attribute_values", ATTRIBUTE_NEEDS_VALUES)
        if values and not attribute:
            self.add_error("attribute", VALUES_NEED_ATTRIBUTE)
        if self.errors:
            return cleaned
        catch_all, rules = bool(cleaned.get("is_catch_all")), self.rules()
        if catch_all and rules:
            self.add_error("is_catch_all", CATCH_ALL_HAS_RULES)
        elif not catch_all and not rules:
            self.add_error(None, RULES_NEEDED)
        if catch_all and cleaned.get("is_active"):
            other = Territory.objects.filter(is_catch_all=True, is_active=True)
            if self.territory is not None and self.territory.pk:
                other = other.exclude(pk=self.territory.pk)
            if (found := other.first()) is not None:
                self.add_error("is_catch_all", CATCH_ALL_TAKEN.format(name=found.name))
        if not self.errors:
            try:  # the routing's own check: what passes here is what routing reads
                cleaned["rules"] = territory_rules_validate(rules=rules, is_catch_all=catch_all)
            except ValueError as exc:
                self.add_error(None, str(exc))
        return cleaned


def territory_initial(territory: Territory) -> dict:
    rules = territory.rules if isinstance(territory.rules, dict) else {}
    attributes = [(key, values) for key, values in rules.items() if key.startswith(ATTRIBUTE_PREFIX)]
    initial = {
        "name": territory.name,
        "priority": territory.priority,
        "is_active": territory.is_active,
        "is_catch_all": territory.is_catch_all,
        "teams": list(territory.teams.all()),
        "country": rules.get("country", []),
        "company_size": rules.get("company_size", []),
        "source": rules.get("source", []),
        **{key: ", ".join(rules.get(key, [])) for key in TEXT_RULES},
    }
    if attributes:
        initial["attribute"] = attributes[0][0][len(ATTRIBUTE_PREFIX) :]
        initial["attribute_values"] = ", ".join(attributes[0][1])
    return initial


def territory_snapshot(territory: Territory) -> dict:
    if not territory.pk:
        return {}
    return {
        "name": territory.name,
        "priority": territory.priority,
        "is_active": territory.is_active,
        "is_catch_all": territory.is_catch_all,
        "rules": territory.rules,
        "teams": sorted(team.name for team in territory.teams.all()),
    }


def territory_save(*, territory: Territory | None, data: dict, rules: dict, by: User) -> Territory:
    """Create or change a territory (rules already validated) and record the change."""
    with transaction.atomic():
        territory = (
            Territory.objects.select_for_update().get(pk=territory.pk)
            if territory is not None and territory.pk
            else Territory()
        )
        before = territory_snapshot(territory)
        for key in ("name", "priority", "is_active", "is_catch_all"):
            setattr(territory, key, data[key])
        territory.rules = rules
        territory.save()
        territory.teams.set(data["teams"])
        settings_change_record(
            by=by,
            area=SettingsChange.Area.TERRITORY,
            obj_id=territory.pk,
            obj_repr=territory.name,
            before=before,
            after=territory_snapshot(territory),
        )
    return territory


def territory_delete(*, territory: Territory, by: User) -> None:
    """Delete a territory and record it (its past assignments keep their rows, without it)."""
    with transaction.atomic():
        before = territory_snapshot(territory)
        pk, name = territory.pk, territory.name
        territory.delete()
        settings_change_record(
            by=by, area=SettingsChange.Area.TERRITORY, obj_id=pk, obj_repr=name, before=before, after=None
        )


def territories_reorder(*, priorities: dict[int, int], by: User) -> int:
    """Give territories new order numbers (id → number); each move is recorded. Returns how many moved."""
    moved = 0
    with transaction.atomic():
        for territory in Territory.objects.select_for_update().filter(pk__in=list(priorities)).order_by("pk"):
            new = priorities[territory.pk]
            if new == territory.priority:
                continue
            old, territory.priority = territory.priority, new
            territory.save(update_fields=["priority"])
            settings_change_record(
                by=by,
                area=SettingsChange.Area.TERRITORY,
                obj_id=territory.pk,
                obj_repr=territory.name,
                before={"priority": old},
                after={"priority": new},
            )
            moved += 1
    return moved


# --- The tester: "which territory would this lead go to?" -------------------------------------


class TesterForm(forms.Form):
    """A lead's routing fields, as a form would bring them (all optional)."""

    country = forms.ChoiceField(label="Country", required=False, choices=())
    region = forms.CharField(label="Region", required=False, max_length=100)
    postal_code = forms.CharField(label="Postal code", required=False, max_length=20)
    company_size = forms.ChoiceField(
        label="Company size", required=False, choices=[("", "—"), *Lead.CompanySize.choices]
    )
    industry = forms.CharField(label="Industry", required=False, max_length=100)
    source = forms.ChoiceField(
        label="Source", required=False, choices=Lead.Source.choices, initial=Lead.Source.WEB_FORM
    )
    attribute = forms.CharField(label="Attribute", required=False, max_length=50)
    attribute_value = forms.CharField(label="Attribute value", required=False, max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", "—"), *countries]

    def lead(self) -> Lead:
        """An unsaved lead with the given fields: what the matching code reads."""
        data = self.cleaned_data
        attribute = (data.get("attribute") or "").strip()
        return Lead(
            country=data.get("country") or "",
            region=data.get("region") or "",
            postal_code=data.get("postal_code") or "",
            company_size=data.get("company_size") or "",
            industry=data.get("industry") or "",
            source=data.get("source") or Lead.Source.WEB_FORM,
            attributes={attribute: data.get("attribute_value") or ""} if attribute else {},
        )


@dataclass
class RuleCheck:
    text: str
    lead_value: str
    matched: bool


@dataclass
class TerritoryCheck:
    territory: Territory
    matched: bool
    rules: list[RuleCheck]


@dataclass
class TesterResult:
    route: TerritoryRoute | None
    teams: list[Team]
    checks: list[TerritoryCheck]  # in routing order, up to the one that took the lead


def _lead_value_text(lead: Lead, key: str) -> str:
    if key.startswith(ATTRIBUTE_PREFIX):
        return str((lead.attributes or {}).get(key[len(ATTRIBUTE_PREFIX) :]) or "")
    value = {"postal_prefix": lead.postal_code, "country": lead.country.code if lead.country else ""}.get(key, None)
    value = getattr(lead, key, "") if value is None else value
    return _value_text(key, str(value)) if value else ""


def territory_test(*, lead: Lead) -> TesterResult:
    """Where routing would send this lead, and why: every active territory in order, each rule
    with the lead's value, until the first that matches (the routing's own territory_match decides)."""
    routes = territories_active()
    route = territory_match(lead=lead, territories=routes)
    checks = []
    for candidate in routes:
        territory = candidate.territory
        rules = territory.rules if isinstance(territory.rules, dict) and not territory.is_catch_all else {}
        lines = rules_in_words(territory)
        rule_checks = (
            [
                RuleCheck(text=text, lead_value=_lead_value_text(lead, key), matched=rule_matches(lead, key, values))
                for text, (key, values) in zip(lines, rules.items())
            ]
            if rules
            else [RuleCheck(text=lines[0], lead_value="", matched=True)]
        )
        checks.append(TerritoryCheck(territory=territory, matched=candidate is route, rules=rule_checks))
        if candidate is route:
            break
    teams = list(Team.objects.filter(pk__in=route.team_ids)) if route is not None else []
    teams.sort(key=lambda team: route.team_ids.index(team.pk))
    return TesterResult(route=route, teams=teams, checks=checks)
