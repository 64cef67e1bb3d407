"""Email a rep writes from the lead (or customer) page: their templates and snippets, the messages
(scheduled, sending, sent, failed, bounced) and their per-user preferences."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .core import Lead


class EmailTemplate(models.Model):
    """A rep's own template or snippet (a part to insert), or one a manager shares with everyone."""

    class Kind(models.TextChoices):
        TEMPLATE = "template", "Template"
        SNIPPET = "snippet", "Snippet"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_templates")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEMPLATE)
    name = models.CharField(max_length=100)
    subject = models.CharField(max_length=300, blank=True, help_text="Templates only; snippets insert their body.")
    body = models.TextField(max_length=20_000)
    is_shared = models.BooleanField(default=False, help_text="Visible to everyone (managers share).")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "kind", "name"], name="email_template_owner_name_unique"),
            models.CheckConstraint(condition=Q(kind__in=["template", "snippet"]), name="email_template_kind_valid"),
        ]
        indexes = [
            # The templates page and the compose picker: "mine" is the unique (owner, kind, name); "shared":
            models.Index(fields=["kind", "name"], condition=Q(is_shared=True), name="email_template_shared_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class RepEmail(models.Model):
    """One message a rep sent (or scheduled) to a lead. The row is the send's idempotency key: it is
    claimed (scheduled/failed → sending) in one UPDATE before SMTP, so nothing goes out twice."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        BOUNCED = "bounced", "Bounced"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="rep_emails")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    from_email = models.CharField(max_length=320)
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    template = models.ForeignKey(EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    message_id = models.CharField(max_length=998, unique=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    tracked = models.BooleanField(default=True)
    override_reason = models.CharField(
        max_length=500,
        blank=True,
        help_text="Why the rep mailed a lead who must not be mailed (recorded).",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    due_at = models.DateTimeField(default=timezone.now, help_text="When to send (or retry).")
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=1000, blank=True)
    retrying = models.BooleanField(default=False, help_text="A failed send that will be tried again at due_at.")
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "-created_at", "-id"], name="rep_email_lead_idx"),
            # The sweep: scheduled sends and retries that are due.
            models.Index(
                fields=["due_at"],
                condition=Q(status="scheduled") | Q(status="failed", retrying=True),
                name="rep_email_due_idx",
            ),
            # The sweep: sends a dead worker left behind.
            models.Index(fields=["claimed_until"], condition=Q(status="sending"), name="rep_email_sending_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["scheduled", "sending", "sent", "failed", "bounced"]),
                name="rep_email_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.subject


class RepEmailPreference(models.Model):
    """A user's email preferences: open/click tracking on by default or not, and a signature."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preference")
    track_by_default = models.BooleanField(default=True)
    signature = models.TextField(max_length=2000, blank=True)

    def __str__(self) -> str:
        return f"Email preferences of {self.user}"
