"""Public web forms: the Django form a WebForm renders, and its anti-spam checks."""

import functools
import time

from django import forms
from django.conf import settings
from django.core import signing
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils import translation
from django_countries import countries

from ..common.normalize import normalize_phone
from ..models import Lead, WebForm

HONEYPOT_FIELD = "hp_url"
TIMESTAMP_FIELD = "_ts"
CONSENT_FIELD = "consent"
TRACKING_FIELDS = (
    "referrer",
    "landing_page",
    "visitor_id",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
)
CONSENT_REQUIRED = "Please tick the box to agree."
_SALT = "leadcrm.webform"

FIELD_FACTORIES = {
    "first_name": lambda: forms.CharField(label="First name", max_length=150),
    "last_name": lambda: forms.CharField(label="Last name", max_length=150),
    "email": lambda: forms.EmailField(label="Email", max_length=254),
    "phone": lambda: forms.CharField(label="Phone", max_length=40),
    "company": lambda: forms.CharField(label="Company", max_length=200),
    "job_title": lambda: forms.CharField(label="Job title", max_length=200),
    "website": lambda: forms.URLField(label="Website", max_length=500, assume_scheme="https"),
    "country": lambda: forms.ChoiceField(label="Country", choices=[("", "—"), *countries]),
    "city": lambda: forms.CharField(label="City", max_length=100),
    "industry": lambda: forms.CharField(label="Industry", max_length=100),
    "company_size": lambda: forms.ChoiceField(label="Company size", choices=[("", "—"), *Lead.CompanySize.choices]),
    "message": lambda: forms.CharField(label="Message", max_length=5000, widget=forms.Textarea(attrs={"rows": 4})),
}


# Every submission needs its form's settings: each process keeps the active forms it served for
# a few seconds instead of reading the row again. A save or delete in this process forgets them at
# once; other processes see a change (a deactivated form, a new rate limit) within this many seconds.
WEB_FORM_CACHE_SECONDS = 5.0
_active_forms: dict[str, tuple[float, WebForm]] = {}


def web_form_active(*, key: str) -> WebForm | None:
    """The active web form with this key (at most WEB_FORM_CACHE_SECONDS old), or None."""
    now = time.monotonic()
    cached = _active_forms.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    web_form = WebForm.objects.filter(key=key, is_active=True).first()
    if web_form is None:
        _active_forms.pop(key, None)
    else:
        _active_forms[key] = (now + WEB_FORM_CACHE_SECONDS, web_form)
    return web_form


@receiver(post_save, sender=WebForm, dispatch_uid="leadcrm_web_form_forget_on_save")
@receiver(post_delete, sender=WebForm, dispatch_uid="leadcrm_web_form_forget_on_delete")
def web_forms_forget(**kwargs) -> None:
    """Drop this process's copies of the web forms (a form's key may have changed, so all of them)."""
    _active_forms.clear()


def form_timestamp(web_form: WebForm) -> str:
    """A signed 'rendered at' stamp; the minimum fill time is checked against it."""
    return signing.dumps({"k": web_form.key, "t": time.time()}, salt=_SALT, compress=True)


def seconds_since_render(web_form: WebForm, token: str) -> float | None:
    """Seconds since the form was rendered, or None when the stamp is missing, forged or for another form."""
    try:
        data = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("k") != web_form.key:
        return None
    return time.time() - float(data.get("t", 0))


@functools.lru_cache(maxsize=256)
def _public_form_fields(
    shown: tuple[str, ...], required: frozenset[str], consent_text: str, language: str | None
) -> dict[str, forms.Field]:
    """The fields of a web form with these settings, built once per process and language (the
    country choices are names in the active language, sorted by them).

    Building 14 form fields (their widgets, merged error messages, validators) for every post
    cost ~90 µs of a capture's CPU (bench/README.md); each form copies these instead
    (`PublicLeadForm.__init__`)."""
    fields = {}
    for name in shown:
        if name in FIELD_FACTORIES:
            field = FIELD_FACTORIES[name]()
            field.required = name in required
            fields[name] = field
    if consent_text:
        fields[CONSENT_FIELD] = forms.BooleanField(
            label=consent_text, required=True, error_messages={"required": CONSENT_REQUIRED}
        )
    # Invisible to people; bots fill it in. Kept off-screen by CSS, not type=hidden.
    fields[HONEYPOT_FIELD] = forms.CharField(
        required=False,
        label="Leave this empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    fields[TIMESTAMP_FIELD] = forms.CharField(required=False, widget=forms.HiddenInput)
    for name in TRACKING_FIELDS:
        fields[name] = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
    return fields


def _shallow_copy(field: forms.Field) -> forms.Field:
    """`copy.copy(field)` without its `__reduce_ex__` round (a field is a plain object)."""
    copied = object.__new__(type(field))
    copied.__dict__.update(field.__dict__)
    return copied


class PublicLeadForm(forms.Form):
    """Built from a WebForm's shown and required fields."""

    def __init__(self, *args, web_form: WebForm, **kwargs):
        super().__init__(*args, **kwargs)
        self.web_form = web_form
        prototypes = _public_form_fields(
            tuple(name for name in web_form.fields or () if isinstance(name, str)),
            frozenset(name for name in web_form.required_fields or () if isinstance(name, str)),
            web_form.consent_text,
            translation.get_language(),
        )
        # Each form has its own field objects, as Django's deep copy of `base_fields` gives, but
        # shallow ones: the widgets, validators and messages are shared and never changed here.
        self.fields.update({name: _shallow_copy(field) for name, field in prototypes.items()})

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data.get("phone"), region=self.data.get("country") or None)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def lead_data(self) -> dict:
        """The lead fields (and UTM values) to capture."""
        data = {
            name: self.cleaned_data[name]
            for name in self.web_form.fields
            if name in self.cleaned_data and name != "message"
        }
        for name in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"):
            data[name] = self.cleaned_data.get(name) or getattr(self.web_form, name, "") or ""
        if self.web_form.consent_text and self.cleaned_data.get(CONSENT_FIELD):
            data["email_opt_in"] = True
        if self.web_form.default_tags:
            data["tags"] = list(self.web_form.default_tags)
        return {k: v for k, v in data.items() if v not in ("", None)}

    def submitted(self) -> dict[str, str]:
        """What the visitor typed, as text, for the timeline."""
        return {
            name: str(self.cleaned_data[name])
            for name in self.web_form.fields
            if self.cleaned_data.get(name) and name != "message"
        }

    def consents(self) -> list[tuple[str, str, str]]:
        """(exact text, purpose, legal basis) of each ticked consent box, kept as proof."""
        return (
            [(self.web_form.consent_text, "", "")]
            if self.web_form.consent_text and self.cleaned_data.get(CONSENT_FIELD)
            else []
        )


def embed_snippets(web_form: WebForm) -> tuple[str, str]:
    """(iframe, plain HTML form) to paste into a site; both use absolute URLs."""
    url = settings.PUBLIC_BASE_URL + reverse("web_form", args=[web_form.key])
    iframe = f'<iframe src="{url}" title="{web_form.name}" style="width:100%;min-height:520px;border:0" loading="lazy"></iframe>'
    fields = []
    for name in web_form.fields:
        required = " required" if name in (web_form.required_fields or []) else ""
        kind = "email" if name == "email" else "text"
        if name == "message":
            fields.append(f'  <label>Message <textarea name="message"{required}></textarea></label>')
        else:
            fields.append(
                f'  <label>{name.replace("_", " ").capitalize()} <input type="{kind}" name="{name}"{required}></label>'
            )
    if web_form.consent_text:
        fields.append(
            f'  <label><input type="checkbox" name="consent" value="on" required> {web_form.consent_text}</label>'
        )
    fields.append(
        f'  <input type="text" name="{HONEYPOT_FIELD}" tabindex="-1" autocomplete="off" style="position:absolute;left:-10000px" aria-hidden="true">'
    )
    fields.append(f'  <input type="hidden" name="{TIMESTAMP_FIELD}" value="{form_timestamp(web_form)}">')
    plain = "\n".join(
        [f'<form method="post" action="{url}">', *fields, '  <button type="submit">Send</button>', "</form>"]
    )
    return iframe, plain
