"""Admin → Twilio accounts: the accounts whose signed voice webhooks are answered, and the URLs to
paste into the Twilio console."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from ..models import TwilioAccount
from .provider import ACCOUNT_SID

TOKEN_KEPT = "Leave empty to keep the current auth token."
TOKEN_REQUIRED = "Enter the account's auth token."
ACCOUNT_SID_INVALID = "An account SID is AC followed by 32 hex characters."


class TwilioAccountForm(forms.ModelForm):
    """The auth token is never sent back to the browser; an empty field keeps the stored one."""

    auth_token = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False, help_text=TOKEN_KEPT)

    class Meta:
        model = TwilioAccount
        fields = ("name", "account_sid", "auth_token", "is_active")

    def clean_account_sid(self) -> str:
        sid = (self.cleaned_data.get("account_sid") or "").strip()
        if not ACCOUNT_SID.fullmatch(sid):
            raise ValidationError(ACCOUNT_SID_INVALID)
        return sid

    def clean_auth_token(self) -> str:
        token = (self.cleaned_data.get("auth_token") or "").strip()
        if token:
            return token
        if self.instance.pk and self.instance.auth_token:
            return self.instance.auth_token
        raise ValidationError(TOKEN_REQUIRED)


@admin.register(TwilioAccount)
class TwilioAccountAdmin(admin.ModelAdmin):
    form = TwilioAccountForm
    list_display = ("name", "account_sid", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "account_sid")
    readonly_fields = ("console_urls",)

    @admin.display(description="Paste into the Twilio console")
    def console_urls(self, obj: TwilioAccount) -> str:
        """The phone number's voice webhook and status callback URLs, on this site's public address."""
        base = settings.TWILIO_PUBLIC_BASE_URL or settings.PUBLIC_BASE_URL
        return format_html(
            "A call comes in (Webhook, HTTP POST): <code>{}</code><br>Call status changes (HTTP POST): <code>{}</code>",
            base + reverse("telephony:twilio_voice"),
            base + reverse("telephony:twilio_status"),
        )
