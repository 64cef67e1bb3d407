"""Privacy (docs/privacy.md): the tombstones of erased people and the log of privacy requests.
Neither holds personal data: a tombstone is a keyed hash of a normalised email address."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ErasureTombstone(models.Model):
    """An erased person's address, as HMAC-SHA256 of the normalised email under a key derived from
    SECRET_KEY (or PRIVACY_TOMBSTONE_KEY): capture, import and sending refuse a matching address."""

    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Tombstone {self.digest[:12]}…"


class PrivacyRequest(models.Model):
    """A privacy request that was carried out: who, when, what, and how many rows (never whose data:
    the subject is only the tombstone's keyed hash)."""

    class Action(models.TextChoices):
        EXPORT = "export", "Export"
        ERASE = "erase", "Erasure"

    action = models.CharField(max_length=10, choices=Action.choices)
    subject_digest = models.CharField(max_length=64, blank=True, help_text="Keyed hash of the email address.")
    tombstone = models.ForeignKey(ErasureTombstone, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=10, blank=True, help_text="page, api or system.")
    done_at = models.DateTimeField(default=timezone.now)
    counts = models.JSONField(default=dict, blank=True, help_text="Rows removed or exported, per kind.")

    class Meta:
        ordering = ["-done_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=["export", "erase"]), name="privacyrequest_action_valid"),
        ]
        indexes = [models.Index(fields=["subject_digest", "-done_at"], name="privacyrequest_subject_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.done_at:%Y-%m-%d %H:%M}"
