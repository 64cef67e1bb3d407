"""Telephony providers: the Twilio accounts whose signed requests we take, and the provider
callbacks already handled (Twilio retries them)."""

from django.db import models
from django.utils import timezone


class TwilioAccount(models.Model):
    """A Twilio account (or subaccount) whose voice webhooks we answer. Its auth token signs every
    request Twilio sends (X-Twilio-Signature); it lives here or in TWILIO_AUTH_TOKEN, never in the code."""

    name = models.CharField(max_length=100)
    account_sid = models.CharField(
        max_length=34,
        unique=True,
        help_text="AC followed by 32 hex characters (Twilio console → Account info).",
    )
    auth_token = models.CharField(
        max_length=100,
        help_text="The account's Auth Token (or the secret Twilio signs webhooks with).",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_sid})"


class CallCallback(models.Model):
    """One provider callback already applied to a call (a status, a dial leg, a recording): the
    unique claim that makes a retried callback change nothing."""

    call_id = models.CharField(max_length=100)
    key = models.CharField(max_length=120)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["call_id", "key"], name="callcallback_unique")]
