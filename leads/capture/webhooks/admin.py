"""Admin for webhook sources: a manager picks the tool (the provider), pastes its secret, and copies
the URL to paste into the tool; the page says what goes where for that provider."""

import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from ...models import WebhookSource
from .generic import webhook_curl_example, webhook_secret_regenerate
from .mapping import TAGS_NOT_LIST, webhook_mapping_validate
from .registry import PROVIDERS, provider_for

SECRET_REQUIRED = "Paste the provider's secret: without it no delivery can be verified."
VERIFY_TOKEN_REQUIRED = (
    "Meta Lead Ads needs a verify token: type any long random text here and the same in Meta's dashboard."
)
FORM_IDS_NOT_LIST = 'A list of Meta form ids, for example ["1234567890"].'
TOKEN_KEPT = "Leave empty to keep the current token."


class WebhookSourceForm(forms.ModelForm):
    channel = forms.ChoiceField(
        choices=[("", "— the provider's channel —"), *WebhookSource.Channel.choices],
        required=False,
        help_text="Decides the lead's source and the timeline entry. Empty: the provider's (Intercom chat, Zoom webinar…).",
    )
    secret = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"size": 60, "autocomplete": "off"}),
        help_text="Generic and Unbounce sources: leave empty to keep (or get) a generated secret. Other providers: "
        "paste the tool's secret (see “What to paste where” below).",
    )
    access_token = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Meta Lead Ads only: a page access token with leads_retrieval. " + TOKEN_KEPT,
    )

    class Meta:
        model = WebhookSource
        fields = (
            "name",
            "provider",
            "channel",
            "key",
            "is_active",
            "team",
            "default_tags",
            "secret",
            "verify_token",
            "access_token",
            "form_ids",
            "mapping",
            "event_id_path",
            "transcript_path",
        )

    def clean_mapping(self) -> dict:
        try:
            return webhook_mapping_validate(mapping=self.cleaned_data.get("mapping") or {})
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def clean_default_tags(self) -> list:
        tags = self.cleaned_data.get("default_tags") or []
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise ValidationError(TAGS_NOT_LIST)
        return [tag.strip() for tag in tags if tag.strip()]

    def clean_form_ids(self) -> list:
        ids = self.cleaned_data.get("form_ids") or []
        if not isinstance(ids, list) or not all(isinstance(item, (str, int)) and str(item).isdigit() for item in ids):
            raise ValidationError(FORM_IDS_NOT_LIST)
        return [str(item) for item in ids]

    def clean(self) -> dict:
        data = super().clean()
        provider = data.get("provider") or WebhookSource.Provider.GENERIC
        generated = provider in (WebhookSource.Provider.GENERIC, WebhookSource.Provider.UNBOUNCE)
        secret = (data.get("secret") or "").strip()
        if not secret:
            # Keep what the source has; a generated secret is fine only where LeadCRM makes the secret.
            secret = self.instance.secret if self.instance.pk else (self.instance.secret if generated else "")
            if not secret or (not generated and self.instance.pk and self.instance.provider != provider):
                self.add_error("secret", SECRET_REQUIRED)
        data["secret"] = secret
        if not (data.get("access_token") or "").strip():
            data["access_token"] = self.instance.access_token
        if provider == WebhookSource.Provider.META and not (data.get("verify_token") or "").strip():
            self.add_error("verify_token", VERIFY_TOKEN_REQUIRED)
        if not data.get("channel"):
            data["channel"] = PROVIDERS[provider].channel
        return data


@admin.register(WebhookSource)
class WebhookSourceAdmin(admin.ModelAdmin):
    """Tools that post leads to /api/v1/capture/webhook/<key>: provider, secret, URL and mapping."""

    form = WebhookSourceForm
    list_display = ("name", "provider", "channel", "key", "is_active", "team", "created_at")
    list_filter = ("provider", "channel", "is_active")
    search_fields = ("name", "key")
    list_select_related = ("team",)
    readonly_fields = ("endpoint", "setup", "signing", "default_mapping", "synced_at", "created_at")
    actions = ("regenerate_secret",)
    fieldsets = (
        (None, {"fields": ("name", "provider", "channel", "key", "is_active", "team", "default_tags")}),
        (
            "Endpoint and secrets",
            {"fields": ("endpoint", "setup", "secret", "verify_token", "access_token", "signing")},
        ),
        ("Mapping", {"fields": ("mapping", "default_mapping", "event_id_path", "transcript_path")}),
        ("Meta Lead Ads backfill", {"fields": ("form_ids", "synced_at"), "classes": ("collapse",)}),
        (None, {"fields": ("created_at",)}),
    )

    @staticmethod
    def _url(obj: WebhookSource) -> str:
        return settings.PUBLIC_BASE_URL + reverse("api:capture-webhook", args=[obj.key])

    @admin.display(description="URL to paste into the tool")
    def endpoint(self, obj: WebhookSource) -> str:
        """Where the tool posts: the absolute URL under PUBLIC_BASE_URL."""
        if not obj.pk:
            return "Save the source to get its endpoint."
        return format_html("<code>POST {}</code>", self._url(obj))

    @admin.display(description="What to paste where")
    def setup(self, obj: WebhookSource) -> str:
        """The provider's instructions: its secret, its header, its handshake and its docs page."""
        provider = provider_for(obj)
        return format_html(
            "<p><strong>Secret</strong>: {}</p><p>Verified header: <code>{}</code>. Full steps: <code>{}</code>.</p>",
            provider.secret_help,
            provider.signature_header or "google_key in the body",
            provider.docs_page,
        )

    @admin.display(description="Default mapping (used while the mapping above is empty)")
    def default_mapping(self, obj: WebhookSource) -> str:
        """The provider's mapping, to copy and adjust."""
        return format_html("<pre>{}</pre>", json.dumps(provider_for(obj).default_mapping, indent=2))

    @admin.display(description="How to sign")
    def signing(self, obj: WebhookSource) -> str:
        """For generic sources: the signature header and a curl example that signs with this secret."""
        if not obj.pk or obj.provider != WebhookSource.Provider.GENERIC:
            return "—"
        return format_html(
            "<p>Send the JSON body with the header <code>X-LeadCRM-Signature: sha256=&lt;hex&gt;</code>, "
            "the HMAC-SHA256 of the exact raw body keyed with the secret above.</p><pre>{}</pre>",
            webhook_curl_example(source=obj, url=self._url(obj)),
        )

    @admin.action(description="Regenerate the signing secret", permissions=["change"])
    def regenerate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookSource]):
        """Give each selected source a new secret; the old one stops working at once."""
        count = 0
        for source in queryset:
            webhook_secret_regenerate(source=source)
            count += 1
        self.message_user(
            request,
            f"New secret for {count} source(s). Update the sending tools: the old secret no longer works.",
            messages.SUCCESS,
        )
