"""Provenance of enriched values, and per-day engagement counters."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .core import Lead


class EnrichmentValue(models.Model):
    """What a provider said about one field of one lead, and what became of it.

    applied: enrichment set the lead's value (it owns it and may refresh it);
    suggested: the lead already had another value (a person's), so it is only shown;
    accepted: a manager took the suggestion; dismissed: a manager refused it."""

    class Status(models.TextChoices):
        APPLIED = "applied", "Applied"
        SUGGESTED = "suggested", "Suggested (conflicts with the current value)"
        ACCEPTED = "accepted", "Accepted by a manager"
        DISMISSED = "dismissed", "Dismissed"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="enrichment_values")
    field = models.CharField(max_length=100)
    value = models.JSONField()
    provider = models.CharField(max_length=50)
    confidence = models.FloatField()
    detail = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    updated_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["field", "-confidence"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "field", "provider"], name="enrichmentvalue_unique"),
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0, confidence__lte=1), name="enrichmentvalue_confidence_range"
            ),
        ]
        indexes = [models.Index(fields=["lead", "status"], name="enrichmentvalue_lead_idx")]

    def __str__(self) -> str:
        return f"{self.field}={self.value!r} ({self.provider}, {self.get_status_display()})"


class LeadActivityDay(models.Model):
    """Engagement of one lead on one day; the 7/30-day summaries on Lead are kept from these
    incrementally (add on each event, subtract the day that leaves the window)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    page_views = models.PositiveIntegerField(default=0)
    visits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead", "day"], name="leadactivityday_unique")]
        indexes = [models.Index(fields=["day"], name="leadactivityday_day_idx")]
