"""The audit of the managers' settings pages (leads/settings_ui): who changed which team, agent,
territory or scoring setting, when, and what it was before and after."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class SettingsChange(models.Model):
    """One saved change of a setting, with both sides as plain JSON (shown on the settings pages)."""

    class Area(models.TextChoices):
        TEAM = "team", "Team"
        AGENT = "agent", "Agent"
        TERRITORY = "territory", "Territory"
        SCORING_RULE = "scoring_rule", "Scoring rule"
        SCORING_CONFIG = "scoring_config", "Scoring settings"

    class Action(models.TextChoices):
        CREATED = "created", "created"
        CHANGED = "changed", "changed"
        DELETED = "deleted", "deleted"

    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    area = models.CharField(max_length=20, choices=Area.choices)
    object_id = models.PositiveIntegerField(null=True, blank=True)
    object_repr = models.CharField(max_length=200)
    action = models.CharField(max_length=10, choices=Action.choices)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="settingschange_at_idx"),
            models.Index(fields=["area", "-at", "-id"], name="settingschange_area_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_area_display()} {self.object_repr} {self.action}"
