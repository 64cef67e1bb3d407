"""How leads come in: the raw capture log, consent proof, possible duplicates, and the
configuration of each channel (web forms, mailboxes, webhook sources, tracked sites, imports)."""

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from .core import Lead, Team

REDIRECT_HOST_NOT_ALLOWED = "The redirect URL's host must be one of the allowed hosts."
UNKNOWN_FORM_FIELD = "Unknown field: {name}."
REQUIRED_NOT_SHOWN = "A required field must also be shown: {name}."

# Fields a web form may show (in this order when shown).
FORM_FIELDS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "website",
    "country",
    "city",
    "industry",
    "company_size",
    "message",
]


def _default_form_fields() -> list[str]:
    return ["first_name", "last_name", "email", "company", "message"]


def _default_required() -> list[str]:
    return ["email"]


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _new_key() -> str:
    return secrets.token_urlsafe(9)


class CaptureRecord(models.Model):
    """Every input any channel received, exactly as it came, and what became of it."""

    class Result(models.TextChoices):
        CREATED = "created", "Created a lead"
        MERGED = "merged", "Merged into a lead"
        ATTACHED = "attached", "Added to a lead's timeline"
        IGNORED = "ignored", "Ignored (duplicate event, auto-reply, bounce, list mail)"
        REJECTED = "rejected", "Rejected (spam, rate limit, invalid)"
        FAILED = "failed", "Failed (stored for review)"
        # A web form sent faster than its minimum fill time: likely a bot, but people can be quick
        # (autofill). Thanked like any visitor, kept for a manager to release or leave.
        HELD = "held", "Held: sent faster than the form's minimum fill time"

    channel = models.CharField(max_length=20, choices=Lead.Source.choices)
    source_detail = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    raw = models.TextField(blank=True, help_text="The raw body where it matters (an email message).")
    result = models.CharField(max_length=20, choices=Result.choices)
    reason = models.CharField(max_length=500, blank=True)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="captures")
    web_form = models.ForeignKey("WebForm", null=True, blank=True, on_delete=models.SET_NULL, related_name="captures")
    # A held submission a manager released: captured then through the normal capture service.
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["-received_at", "-id"], name="capture_received_idx"),
            models.Index(fields=["channel", "-received_at"], name="capture_channel_idx"),
            models.Index(fields=["result", "-received_at"], name="capture_result_idx"),
            models.Index(fields=["web_form", "-received_at"], name="capture_form_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(released_at__isnull=True) | Q(result="held"),
                name="capture_only_held_are_released",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} · {self.get_result_display()} · {self.received_at:%Y-%m-%d %H:%M}"


class Consent(models.Model):
    """Proof of consent as the lead gave it: the exact text, when, and from where."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="consents")
    text = models.TextField()
    given_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    web_form = models.ForeignKey("WebForm", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    capture = models.ForeignKey(CaptureRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # What the box was for and on which legal basis (built forms: email marketing, phone contact).
    purpose = models.CharField(max_length=30, blank=True)
    legal_basis = models.CharField(max_length=30, blank=True)
    # A withdrawal keeps the proof (it was given, then taken back) and stops the mail (leads.privacy.consent).
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawal_note = models.CharField(
        max_length=300, blank=True, help_text="How it was withdrawn (phone call, email…)."
    )

    class Meta:
        ordering = ["-given_at"]
        indexes = [models.Index(fields=["lead"], condition=Q(withdrawn_at__isnull=True), name="consent_active_idx")]

    def __str__(self) -> str:
        return f"Consent of {self.lead_id} at {self.given_at:%Y-%m-%d %H:%M}"


class PossibleDuplicate(models.Model):
    """Two leads that look like the same person but are not an exact match; a manager decides."""

    class Reason(models.TextChoices):
        SAME_PHONE = "same_phone", "Same phone, another email"
        PLUS_TAG = "plus_tag", "Same email without its +tag"
        NAME_AND_DOMAIN = "name_domain", "Same name and company domain"
        SAME_IDENTITY = (
            "same_identity",
            "Same email, external id or phone, captured by someone who cannot see the other lead",
        )

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MERGED = "merged", "Merged"
        DISMISSED = "dismissed", "Not a duplicate"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    detected_at = models.DateTimeField(default=timezone.now)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-detected_at"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "other"], name="possibleduplicate_pair_unique"),
            models.CheckConstraint(condition=Q(lead__lt=F("other")), name="possibleduplicate_ordered_pair"),
        ]
        indexes = [
            models.Index(fields=["status", "-detected_at"], name="possibledup_status_idx"),
            models.Index(fields=["other"], name="possibledup_other_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.lead_id} ~ #{self.other_id} ({self.get_reason_display()})"


def _clean_hosts(hosts) -> list[str]:
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise ValidationError({"allowed_hosts": 'A list of host names, for example ["www.example.com"].'})
    return [h.strip().lower() for h in hosts if h.strip()]


class WebForm(models.Model):
    """A public lead form that managers define in admin and embed on their sites."""

    name = models.CharField(max_length=100)
    key = models.SlugField(max_length=50, unique=True, help_text="Used in the public URL: /f/<key>.")
    is_active = models.BooleanField(default=True)
    fields = models.JSONField(default=_default_form_fields, help_text=f"Shown fields, from: {', '.join(FORM_FIELDS)}.")
    required_fields = models.JSONField(default=_default_required, blank=True)
    consent_text = models.TextField(
        blank=True, help_text="When set, the visitor must tick it; the text is stored as proof."
    )
    thank_you_message = models.TextField(default="Thank you! We will be in touch soon.")
    redirect_url = models.URLField(blank=True, help_text="Instead of the thank-you message; its host must be allowed.")
    allowed_hosts = models.JSONField(
        default=list,
        blank=True,
        help_text='Hosts that may embed the form, post to it (CORS) and be redirected to, e.g. ["www.example.com"].',
    )
    default_tags = models.JSONField(default=list, blank=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rate_limit = models.CharField(
        max_length=20,
        default="10/m",
        help_text="Submissions per visitor IP, e.g. 10/m, 100/h (django-ratelimit syntax).",
    )
    min_fill_seconds = models.PositiveSmallIntegerField(default=2, help_text="Faster submissions are treated as bots.")
    # The Forms page's layout (leads/forms_builder/schema.py); empty: the fields above, as before.
    schema = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        self.allowed_hosts = _clean_hosts(self.allowed_hosts)
        for name in self.fields or []:
            if name not in FORM_FIELDS:
                errors.setdefault("fields", []).append(UNKNOWN_FORM_FIELD.format(name=name))
        for name in self.required_fields or []:
            if name not in (self.fields or []):
                errors.setdefault("required_fields", []).append(REQUIRED_NOT_SHOWN.format(name=name))
        if self.redirect_url and (urlsplit(self.redirect_url).hostname or "").lower() not in self.allowed_hosts:
            errors.setdefault("redirect_url", []).append(REDIRECT_HOST_NOT_ALLOWED)
        if errors:
            raise ValidationError(errors)

    @property
    def allowed_origins(self) -> set[str]:
        return {f"{scheme}://{host}" for host in self.allowed_hosts for scheme in ("https", "http")}
