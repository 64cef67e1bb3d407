"""In-app notifications for users (assignments, qualified hand-offs, replies)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .core import Lead


class Notification(models.Model):
    class Kind(models.TextChoices):
        ASSIGNED = "assigned", "Lead assigned to you"
        QUALIFIED = "qualified", "Lead qualified"
        REPLY = "reply", "Lead replied"
        TASK = "task", "Task for you"
        AUTOMATION = "automation", "From an automation"
        WEBHOOK = "webhook", "Webhook disabled"
        VOICEMAIL = "voicemail", "Voicemail"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set in the transaction that sends the email, so a repeated task never emails twice.
    emailed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_idx"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread_idx"),
        ]

    def __str__(self) -> str:
        return self.message
