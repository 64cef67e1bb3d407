"""A built form as the visitor meets it: the layout for this visitor (progressive profiling), the
JSON the embed script renders, and the Django form that checks a submission on the server.

The server decides everything the browser does: which fields a returning visitor sees, which
conditional fields and steps count (a hidden conditional field is never required and its value is
dropped), and what is captured. The browser only mirrors it for the visitor's comfort."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django import forms
from django.conf import settings
from django.core import signing
from django.core.validators import RegexValidator
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from ...common.normalize import normalize_phone
from ...models import Lead, Visitor, WebForm
from ..webforms import HONEYPOT_FIELD, TIMESTAMP_FIELD, TRACKING_FIELDS, PublicLeadForm, form_timestamp
from .schema import LEAD_FIELD_TYPES, UTM_FIELDS, lead_field_choices

PROFILE_TOKEN_FIELD = "_pt"
PARTIAL_FIELD = "_partial"
PROFILE_SALT = "leadcrm.forms.profile"
PROFILE_TOKEN_MAX_AGE = 90 * 24 * 3600
REQUIRED_MESSAGE = "This field is required."
CONSENT_REQUIRED = "Please tick the box to agree."
PATTERN_MISMATCH = "Please match the requested format."
NOT_A_LIST = "Choose from the list."
# Lead fields a returning visitor is never asked to skip: the email identifies the submission.
ALWAYS_ASKED = {"email"}


def profile_token(*, lead_id: int) -> str:
    """A signed token for a nurture email's link (?lcrm_pt=…): the form knows whom it greets."""
    return signing.dumps(lead_id, salt=PROFILE_SALT, compress=True)


def profile_token_lead_id(*, token: str) -> int | None:
    """The lead of a profile token, or None when missing, forged or older than 90 days."""
    if not token or not isinstance(token, str) or len(token) > 200:
        return None
    try:
        value = signing.loads(token, salt=PROFILE_SALT, max_age=PROFILE_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


def profile_known(*, visitor_id: str = "", token: str = "") -> set[str]:
    """The field names the CRM already has for this visitor (a tracked visitor id linked to a lead,
    or a profile token): non-blank lead fields and attribute keys. Empty for a stranger."""
    lead_id = profile_token_lead_id(token=token)
    if lead_id is None and visitor_id and isinstance(visitor_id, str) and len(visitor_id) <= 64:
        lead_id = (
            Visitor.objects.filter(visitor_key=visitor_id, lead__isnull=False).values_list("lead_id", flat=True).first()
        )
    if lead_id is None:
        return set()
    row = Lead.objects.filter(pk=lead_id).values(*(n for n in LEAD_FIELD_TYPES if n != "message"), "attributes").first()
    if row is None:
        return set()
    attributes = row.pop("attributes") or {}
    known = {name for name, value in row.items() if value not in ("", None)}
    return known | {key for key, value in attributes.items() if value not in ("", None, [])}


def form_layout(schema: dict, *, known: set[str]) -> list[dict]:
    """The steps this visitor sees: with progressive profiling, each field the CRM knows gives its
    place to the next unanswered question of the queue (or goes, when the queue is used up)."""
    steps = schema.get("steps", [])
    if not schema.get("progressive") or not known:
        return steps
    queue = [item for item in schema.get("queue", []) if item["name"] not in known]
    shown = []
    for step in steps:
        items = []
        for item in step["items"]:
            if item["type"] in ("section", "hidden") or item["name"] in ALWAYS_ASKED or item["name"] not in known:
                items.append(item)
            elif queue:
                items.append(queue.pop(0))
        shown.append({**step, "items": items})
    return shown


def _as_text(value: Any) -> str:
    if value is True:
        return "true"
    if value in (None, False):
        return ""
    return str(value)


def condition_met(condition: dict | None, values: dict[str, Any]) -> bool:
    """Whether a field's (or step's) condition holds for the answers so far."""
    if not condition:
        return True
    value = values.get(condition["field"])
    answers = [_as_text(v) for v in value] if isinstance(value, list) else [_as_text(value)]
    answers = [a for a in answers if a]
    op = condition["op"]
    if op == "filled":
        return bool(answers)
    if op == "empty":
        return not answers
    if op == "equals":
        return condition["value"] in answers
    if op == "not_equals":
        return condition["value"] not in answers
    return bool(set(answers) & set(condition["value"]))  # any_of


class MultiChoiceField(forms.MultipleChoiceField):
    """Multiple choice sent as a JSON list (the embed posts JSON; the view passes lists on as JSON text)."""

    def to_python(self, value):
        if value is None:
            return []
        if isinstance(value, str):
            if not value:
                return []
            try:
                value = json.loads(value)
            except ValueError:
                value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise forms.ValidationError(NOT_A_LIST)
        return list(value)


def _django_field(item: dict) -> forms.Field:
    kind, checks, name = item["type"], item.get("validation") or {}, item["name"]
    if kind in ("text", "textarea"):
        limit = int(checks.get("max_length") or (5000 if kind == "textarea" else 500))
        if name in LEAD_FIELD_TYPES and name != "message":
            limit = min(limit, Lead._meta.get_field(name).max_length)
        validators = [RegexValidator(f"^(?:{checks['pattern']})$", PATTERN_MISMATCH)] if checks.get("pattern") else []
        return forms.CharField(max_length=limit, min_length=checks.get("min_length"), validators=validators)
    if kind == "email":
        return forms.EmailField(max_length=254)
    if kind == "phone":
        return forms.CharField(max_length=40)
    if kind == "number":
        return forms.FloatField(min_value=checks.get("min"), max_value=checks.get("max"))
    if kind == "date":
        return forms.DateField(input_formats=["%Y-%m-%d"])
    if kind == "select":
        choices = lead_field_choices(name) or [(c, c) for c in item.get("choices", [])]
        return forms.ChoiceField(choices=[("", "—"), *choices])
    if kind == "multi":
        return MultiChoiceField(choices=[(c, c) for c in item.get("choices", [])])
    if kind == "checkbox":
        return forms.BooleanField()
    return forms.CharField(max_length=2000)  # hidden


class BuilderForm(forms.Form):
    """Checks a submission of a built form (the whole form, or its first step when `_partial`)."""

    def __init__(self, *args, web_form: WebForm, known: set[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.web_form = web_form
        self.schema = web_form.schema
        self.partial = bool(self.data.get(PARTIAL_FIELD)) if self.is_bound else False
        self.steps = form_layout(self.schema, known=known or set())
        if self.partial:
            self.steps = self.steps[:1]
        for name in TRACKING_FIELDS:
            self.fields[name] = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
        for step in self.steps:
            for item in step["items"]:
                if item["type"] != "section":
                    field = _django_field(item)
                    field.required = False  # required-ness depends on conditions: checked in clean()
                    self.fields[item["name"]] = field
        self.consent_items = [] if self.partial else self.schema.get("consents", [])
        for consent in self.consent_items:
            self.fields[consent["name"]] = forms.BooleanField(required=False, label=consent["text"])
        self.fields[HONEYPOT_FIELD] = forms.CharField(required=False)
        self.fields[TIMESTAMP_FIELD] = forms.CharField(required=False)
        self.fields[PROFILE_TOKEN_FIELD] = forms.CharField(required=False, max_length=200)
        self.fields[PARTIAL_FIELD] = forms.CharField(required=False, max_length=10)
        self.active: list[dict] = []

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data.get("phone"), region=self.data.get("country") or None)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict:
        cleaned = super().clean()
        values: dict[str, Any] = {}
        for step in self.steps:
            step_shown = condition_met(step.get("condition"), values)
            for item in step["items"]:
                if item["type"] == "section":
                    continue
                name = item["name"]
                if not step_shown or not condition_met(item.get("condition"), values):
                    cleaned.pop(name, None)  # hidden: never required, its value dropped
                    self.errors.pop(name, None)
                    continue
                self.active.append(item)
                values[name] = cleaned.get(name)
                if item["required"] and name not in self.errors and values[name] in ("", None, [], False):
                    self.add_error(name, REQUIRED_MESSAGE)
        for consent in self.consent_items:
            if consent["required"] and not cleaned.get(consent["name"]):
                self.add_error(consent["name"], CONSENT_REQUIRED)
        return cleaned

    def _answers(self) -> dict[str, Any]:
        answers = {}
        for item in self.active:
            value = self.cleaned_data.get(item["name"])
            if value in ("", None, []) or (value is False and item["type"] != "checkbox"):
                continue
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            elif isinstance(value, date):
                value = value.isoformat()
            answers[item["name"]] = value
        return answers

    def lead_data(self) -> dict:
        """The lead fields, UTM values and custom attributes to capture."""
        answers = self._answers()
        data: dict[str, Any] = {k: v for k, v in answers.items() if k in LEAD_FIELD_TYPES and k != "message"}
        for name in UTM_FIELDS:
            data[name] = answers.get(name) or self.cleaned_data.get(name) or getattr(self.web_form, name, "") or ""
        attributes = {k: v for k, v in answers.items() if k not in LEAD_FIELD_TYPES and k not in UTM_FIELDS}
        if attributes:
            data["attributes"] = attributes
        if any(c["purpose"] == "email_marketing" for c, _ in self._ticked()):
            data["email_opt_in"] = True
        if self.web_form.default_tags:
            data["tags"] = list(self.web_form.default_tags)
        return {k: v for k, v in data.items() if v not in ("", None)}

    def submitted(self) -> dict[str, str]:
        """What the visitor answered, as text, for the timeline."""
        return {
            k: json.dumps(v) if isinstance(v, list) else str(v) for k, v in self._answers().items() if k != "message"
        }

    def message(self) -> str:
        return str(self._answers().get("message", ""))

    def _ticked(self) -> list[tuple[dict, bool]]:
        return [(c, True) for c in self.consent_items if self.cleaned_data.get(c["name"])]

    def consents(self) -> list[tuple[str, str, str]]:
        """(exact text, purpose, legal basis) of each ticked consent box, kept as proof."""
        return [(c["text"], c["purpose"], c["basis"]) for c, _ in self._ticked()]


def _client_item(item: dict) -> dict:
    out = {k: v for k, v in item.items() if k != "validation"}
    out["validation"] = dict(item.get("validation") or {})
    if item["type"] == "select":
        out["choices"] = [
            [str(v), str(label)] for v, label in (lead_field_choices(item["name"]) or [(c, c) for c in item["choices"]])
        ]
    return out


def client_schema(*, web_form: WebForm, known: set[str], preview: bool = False) -> dict:
    """What the embed script needs to render the form for this visitor (no secrets, no lead data)."""
    schema = web_form.schema
    steps = [
        {"title": step["title"], "condition": step.get("condition"), "items": [_client_item(i) for i in step["items"]]}
        for step in form_layout(schema, known=known)
    ]
    base = settings.PUBLIC_BASE_URL
    action = (
        reverse("leads:forms_preview_submit", args=[web_form.pk])
        if preview
        else reverse("web_form", args=[web_form.key])
    )
    redirect = ""
    if web_form.redirect_url and url_has_allowed_host_and_scheme(
        web_form.redirect_url, allowed_hosts=set(web_form.allowed_hosts), require_https=False
    ):
        redirect = web_form.redirect_url
    return {
        "key": web_form.key,
        "name": web_form.name,
        "columns": schema.get("columns", 1),
        "steps": steps,
        "consents": [{k: c[k] for k in ("name", "text", "required")} for c in schema.get("consents", [])],
        "action": action if preview else base + action,
        "beacon": "" if preview else base + reverse("forms_beacon", args=[web_form.key]),
        "ts": form_timestamp(web_form),
        "honeypot": HONEYPOT_FIELD,
        "thank_you": web_form.thank_you_message,
        "redirect": redirect,
        "preview": preview,
    }


def public_form_bind(*, web_form: WebForm, data: dict) -> forms.Form:
    """The form that checks a submission: a built form's (for this visitor), or the admin-defined one."""
    if not web_form.schema:
        return PublicLeadForm(data, web_form=web_form)
    known = profile_known(visitor_id=str(data.get("visitor_id") or ""), token=str(data.get(PROFILE_TOKEN_FIELD) or ""))
    return BuilderForm(data, web_form=web_form, known=known)
