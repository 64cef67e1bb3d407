"""The rep's workspace: tasks on leads, saved list views and per-user preferences."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .core import Lead


class Task(models.Model):
    """A follow-up on a lead for one user (made by hand or by a nurture sequence)."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        SEQUENCE = "sequence", "Nurture sequence"
        AUTOMATION = "automation", "Automation"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="tasks")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="lead_tasks"
    )
    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["assigned_to", "due_at"], condition=Q(done_at__isnull=True), name="task_open_idx"),
            models.Index(fields=["lead", "-created_at"], name="task_lead_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class SavedView(models.Model):
    """A named lead-list query ("My hot leads"); shared views are offered to everyone."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=100)
    query = models.CharField(
        max_length=2000, blank=True, help_text="The list's query string, e.g. grade=A&ordering=-score."
    )
    is_shared = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="savedview_user_name_unique")]

    def __str__(self) -> str:
        return self.name


class UserPreference(models.Model):
    """Per-user settings: the lead list's columns and the time zone dates are shown in."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    lead_columns = models.JSONField(default=list, blank=True)
    time_zone = models.CharField(max_length=64, blank=True, help_text="Blank: the site's TIME_ZONE.")

    def __str__(self) -> str:
        return f"Preferences of {self.user}"
