"""Scoring settings in words: fit and engagement rules ("Job title contains VP → +15"), caps,
decay, grade thresholds and the qualification threshold, each previewed (how many leads would
change grade) before it is saved; a saved change rescores every open lead in the background."""

from django import forms
from django.contrib.auth.models import User
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import transaction
from django_countries import countries

from ..models import Lead, ScoreJob, ScoringConfig, ScoringRule, SettingsChange
from ..scoring.service import rescore_all_start
from .audit import settings_change_record

# Per-field messages (tests assert on them).
FIELD_NEEDED = "Choose the lead field this rule looks at."
ATTRIBUTE_NEEDED = "Name the attribute (e.g. segment)."
OPERATOR_NEEDED = "Choose how the field is compared."
VALUE_NEEDED = "Give the value to compare with."
VALUE_NOT_NUMBER = "Greater than and less than compare numbers: {value} is not one."
VALUE_NOT_CHOICE = "{value} is not one of the field's values: {choices}."
VALUE_NOT_YES_NO = "This field is yes or no: write yes or no."
EVENT_NEEDED = "Choose the event this rule counts."
URL_ONLY_FOR_PAGE_VIEWS = "Only page views have a URL: clear it, or choose page view."
GRADES_ORDER_B = "Grade B starts at or below grade A ({a})."
GRADES_ORDER_C = "Grade C starts at or below grade B ({b})."
HUNDRED = "A whole number from 0 to 100."
DAYS_MIN = "At least 1 day."
WEIGHT_SHARE = "A share from 0 to 1 (0.4: two fifths of the score come from the learned probability)."

ATTRIBUTE = "attribute"
# The lead fields a fit rule may read, as a manager calls them.
FIT_FIELDS = {
    "job_title": "Job title",
    "seniority": "Seniority",
    "department": "Department",
    "company": "Company",
    "industry": "Industry",
    "company_size": "Company size",
    "country": "Country",
    "region": "Region",
    "city": "City",
    "source": "Source",
    "email_kind": "Email kind",
    "email_domain": "Email domain",
    "email_is_role": "Role address (info@…)",
    "email_bouncing": "Email bouncing",
    "email_opt_in": "Opted in to email",
    "phone_line_type": "Phone line type",
    "website": "Website",
    "utm_source": "Campaign source (utm_source)",
    "utm_campaign": "Campaign (utm_campaign)",
}
YES_NO_FIELDS = ("email_is_role", "email_bouncing", "email_opt_in")
OPERATOR_WORDS = {
    "equals": "is",
    "in": "is one of",
    "contains": "contains",
    "gt": "is greater than",
    "lt": "is less than",
    "is_set": "is set",
}
YES = ("yes", "true", "1", "y")
NO = ("no", "false", "0", "n")


def _choices_of(field: str) -> dict[str, str]:
    """code → label for fields with a fixed list of values."""
    if field == "country":
        return dict(countries)
    try:
        model_field = Lead._meta.get_field(field)
    except Exception:  # noqa: BLE001  (an attribute or unknown field has no list)
        return {}
    return {str(code): str(label) for code, label in (model_field.choices or [])}


def field_label(field: str) -> str:
    if field.startswith("attributes."):
        return f"Attribute {field.split('.', 1)[1]}"
    return FIT_FIELDS.get(field) or field.replace("_", " ").capitalize()


def _value_words(field: str, value) -> str:
    choices = _choices_of(field)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(choices.get(str(v), str(v)) for v in value)
    return choices.get(str(value), str(value))


def rule_in_words(rule: ScoringRule) -> str:
    """'Job title contains VP → +15', 'Each page view of /pricing → +10 (at most 20)'."""
    cap = f" (at most {rule.cap})" if rule.cap is not None else ""
    if rule.group == ScoringRule.Group.ENGAGEMENT:
        event = (
            ScoringRule.Event(rule.event).label.split(" (")[0].lower()
            if rule.event in ScoringRule.Event.values
            else rule.event
        )
        where = f" of a URL containing {rule.url_pattern}" if rule.url_pattern else ""
        return f"Each {event}{where} → {rule.points:+d}{cap}"
    words = OPERATOR_WORDS.get(rule.operator, rule.operator)
    value = "" if rule.operator == ScoringRule.Operator.IS_SET else f" {_value_words(rule.field, rule.value)}"
    return f"{field_label(rule.field)} {words}{value} → {rule.points:+d}{cap}"


def decay_in_words(config: ScoringConfig) -> str:
    if config.decay == ScoringConfig.Decay.LINEAR:
        return f"Engagement points lose {config.linear_percent} % every {config.linear_period_days} days"
    return f"Engagement points halve every {config.half_life_days} days"


class RuleForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    group = forms.ChoiceField(label="Kind", choices=ScoringRule.Group.choices, widget=forms.RadioSelect)
    field = forms.ChoiceField(label="Field (fit)", required=False, choices=())
    attribute = forms.CharField(
        label="Attribute name", required=False, max_length=80, help_text="When the field is an attribute."
    )
    operator = forms.ChoiceField(label="Comparison (fit)", required=False, choices=[("", "—"), *OPERATOR_WORDS.items()])
    value = forms.CharField(
        label="Value (fit)",
        required=False,
        max_length=500,
        help_text="For 'is one of', separate values with commas. Coded fields take their code or label (corporate, Corporate).",
    )
    event = forms.ChoiceField(
        label="Event (engagement)", required=False, choices=[("", "—"), *ScoringRule.Event.choices]
    )
    url_pattern = forms.CharField(label="URL contains (page views)", required=False, max_length=300)
    points = forms.IntegerField(label="Points", min_value=-100, max_value=100, help_text="Negative takes points away.")
    cap = forms.IntegerField(
        label="At most (points from this rule)",
        required=False,
        min_value=1,
        max_value=100,
        help_text="An engagement rule counts every event: this caps its total.",
    )
    is_active = forms.BooleanField(label="Active", required=False, initial=True)

    def __init__(self, *args, rule: ScoringRule | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        fields = dict(FIT_FIELDS)
        if rule is not None and rule.field and not rule.field.startswith("attributes.") and rule.field not in fields:
            fields[rule.field] = field_label(rule.field)  # set in admin: keep it choosable
        self.fields["field"].choices = [("", "—"), *fields.items(), (ATTRIBUTE, "Attribute…")]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("group") == ScoringRule.Group.FIT:
            self._clean_fit(cleaned)
        elif cleaned.get("group") == ScoringRule.Group.ENGAGEMENT:
            if not cleaned.get("event"):
                self.add_error("event", EVENT_NEEDED)
            elif cleaned.get("url_pattern") and cleaned["event"] != ScoringRule.Event.PAGE_VIEW:
                self.add_error("url_pattern", URL_ONLY_FOR_PAGE_VIEWS)
        return cleaned

    def _clean_fit(self, cleaned: dict) -> None:
        field, operator, raw = cleaned.get("field"), cleaned.get("operator"), (cleaned.get("value") or "").strip()
        if not field:
            self.add_error("field", FIELD_NEEDED)
        elif field == ATTRIBUTE:
            if not (cleaned.get("attribute") or "").strip():
                self.add_error("attribute", ATTRIBUTE_NEEDED)
            else:
                cleaned["field"] = field = f"attributes.{cleaned['attribute'].strip()}"
        if not operator:
            self.add_error("operator", OPERATOR_NEEDED)
        if not field or not operator or self.errors:
            return
        if operator == ScoringRule.Operator.IS_SET:
            cleaned["value"] = None
            return
        if not raw:
            self.add_error("value", VALUE_NEEDED)
            return
        try:
            cleaned["value"] = self._value(field, operator, raw)
        except forms.ValidationError as exc:
            self.add_error("value", exc)

    @staticmethod
    def _value(field: str, operator: str, raw: str):
        """The typed value as the rule stores it: a list, a number, yes/no or a code."""
        if operator in (ScoringRule.Operator.GT, ScoringRule.Operator.LT):
            try:
                number = float(raw)
            except ValueError as exc:
                raise forms.ValidationError(VALUE_NOT_NUMBER.format(value=raw)) from exc
            return int(number) if number.is_integer() else number
        if field in YES_NO_FIELDS:
            if raw.lower() not in YES + NO:
                raise forms.ValidationError(VALUE_NOT_YES_NO)
            return raw.lower() in YES
        parts = (
            [part.strip() for part in raw.split(",") if part.strip()] if operator == ScoringRule.Operator.IN else [raw]
        )
        choices = _choices_of(field) if operator != ScoringRule.Operator.CONTAINS else {}
        if choices:
            by_label = {label.casefold(): code for code, label in choices.items()} | {
                code.casefold(): code for code in choices
            }
            unknown = [part for part in parts if part.casefold() not in by_label]
            if unknown:
                shown = ", ".join(list(choices.values())[:12]) + ("…" if len(choices) > 12 else "")
                raise forms.ValidationError(VALUE_NOT_CHOICE.format(value=unknown[0], choices=shown))
            parts = [by_label[part.casefold()] for part in parts]
        return parts if operator == ScoringRule.Operator.IN else parts[0]

    def rule(self, rule: ScoringRule | None) -> ScoringRule:
        """The rule with the form's values (not saved)."""
        rule = rule or ScoringRule(position=ScoringRule.objects.count())
        data = self.cleaned_data
        rule.name, rule.group, rule.points, rule.cap, rule.is_active = (
            data["name"],
            data["group"],
            data["points"],
            data.get("cap"),
            bool(data.get("is_active")),
        )
        if rule.group == ScoringRule.Group.FIT:
            rule.field, rule.operator, rule.value, rule.event, rule.url_pattern = (
                data["field"],
                data["operator"],
                data["value"],
                "",
                "",
            )
        else:
            rule.field, rule.operator, rule.value = "", "", None
            rule.event, rule.url_pattern = data["event"], (data.get("url_pattern") or "").strip()
        return rule


def rule_initial(rule: ScoringRule) -> dict:
    initial = {
        key: getattr(rule, key)
        for key in ("name", "group", "operator", "event", "url_pattern", "points", "cap", "is_active")
    }
    if rule.field.startswith("attributes."):
        initial["field"], initial["attribute"] = ATTRIBUTE, rule.field.split(".", 1)[1]
    else:
        initial["field"] = rule.field
    if isinstance(rule.value, list):
        initial["value"] = ", ".join(str(v) for v in rule.value)
    elif isinstance(rule.value, bool):
        initial["value"] = "yes" if rule.value else "no"
    elif rule.value is not None:
        initial["value"] = str(rule.value)
    return initial


class ConfigForm(forms.ModelForm):
    class Meta:
        model = ScoringConfig
        fields = (
            "fit_cap",
            "engagement_cap",
            "decay",
            "half_life_days",
            "linear_percent",
            "linear_period_days",
            "probability_weight",
            "grade_a",
            "grade_b",
            "grade_c",
            "mql_threshold",
            "significant_change",
        )
        labels = {
            "fit_cap": "Fit points, at most",
            "engagement_cap": "Engagement points, at most",
            "decay": "Engagement fades",
            "half_life_days": "Half-life (days)",
            "linear_percent": "Percent lost per period",
            "linear_period_days": "Period (days)",
            "probability_weight": "Share from the learned probability (0–1)",
            "grade_a": "Grade A from score",
            "grade_b": "Grade B from score",
            "grade_c": "Grade C from score (below: D)",
            "mql_threshold": "Qualified (MQL) from score",
            "significant_change": "Timeline entry for changes of at least",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in (
            "fit_cap",
            "engagement_cap",
            "grade_a",
            "grade_b",
            "grade_c",
            "mql_threshold",
            "significant_change",
            "linear_percent",
        ):
            self.fields[name].widget.attrs.update(min=0, max=100)
            self.fields[name].validators += [MinValueValidator(0, HUNDRED), MaxValueValidator(100, HUNDRED)]
        for name in ("half_life_days", "linear_period_days"):
            self.fields[name].validators.append(MinValueValidator(1, DAYS_MIN))
        self.fields["probability_weight"].validators += [
            MinValueValidator(0, WEIGHT_SHARE),
            MaxValueValidator(1, WEIGHT_SHARE),
        ]

    def clean(self):
        cleaned = super().clean()
        a, b, c = cleaned.get("grade_a"), cleaned.get("grade_b"), cleaned.get("grade_c")
        if a is not None and b is not None and b > a:
            self.add_error("grade_b", GRADES_ORDER_B.format(a=a))
        if b is not None and c is not None and c > b:
            self.add_error("grade_c", GRADES_ORDER_C.format(b=b))
        return cleaned

    def _post_clean(self):
        """The model's constraints are checked by the form's own messages above (per field), not
        as one form-wide error; the database keeps them as well."""
        if not self.errors:
            super()._post_clean()


def rule_snapshot(rule: ScoringRule) -> dict:
    if not rule.pk:
        return {}
    return {
        "rule": rule_in_words(rule),
        "name": rule.name,
        "group": rule.group,
        "field": rule.field,
        "operator": rule.operator,
        "value": rule.value,
        "event": rule.event,
        "url_pattern": rule.url_pattern,
        "points": rule.points,
        "cap": rule.cap,
        "is_active": rule.is_active,
    }


def config_snapshot(config: ScoringConfig) -> dict:
    return {name: getattr(config, name) for name in ConfigForm.Meta.fields}


def scoring_rule_save(*, rule: ScoringRule, before: dict, by: User) -> ScoreJob:
    """Save a rule (already filled from the form), record the change and rescore every open lead."""
    with transaction.atomic():
        rule.save()
        settings_change_record(
            by=by,
            area=SettingsChange.Area.SCORING_RULE,
            obj_id=rule.pk,
            obj_repr=rule.name,
            before=before,
            after=rule_snapshot(rule),
        )
        return rescore_all_start(by=by, reason=f"{rule} saved in Settings")


def scoring_rule_delete(*, rule: ScoringRule, by: User) -> ScoreJob:
    """Delete a rule, record it and rescore every open lead."""
    with transaction.atomic():
        before, pk, name = rule_snapshot(rule), rule.pk, rule.name
        rule.delete()
        settings_change_record(
            by=by, area=SettingsChange.Area.SCORING_RULE, obj_id=pk, obj_repr=name, before=before, after=None
        )
        return rescore_all_start(by=by, reason=f"{name} deleted in Settings")


def scoring_config_save(*, config: ScoringConfig, before: dict, by: User) -> ScoreJob:
    """Save the scoring settings (filled from the form), record the change and rescore every open lead."""
    with transaction.atomic():
        config.save()
        settings_change_record(
            by=by,
            area=SettingsChange.Area.SCORING_CONFIG,
            obj_id=config.pk,
            obj_repr="Scoring settings",
            before=before,
            after=config_snapshot(config),
        )
        return rescore_all_start(by=by, reason="Scoring settings saved in Settings")
