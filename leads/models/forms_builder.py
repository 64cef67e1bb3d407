"""Forms built by marketers (issue #24): the day counters of each form's views, starts and steps
reached, and the claim that a submission's follow-ups ran once. The form itself stays a WebForm
(its built layout in WebForm.schema)."""

from django.db import models

from .capture import CaptureRecord, WebForm


class FormDayCount(models.Model):
    """One counter per form, day and metric (view, start, step:<n>), bumped by one upsert per hit."""

    web_form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="day_counts")
    day = models.DateField()
    metric = models.CharField(max_length=20)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["web_form", "day", "metric"], name="formdaycount_unique"),
        ]


class FormFollowUpRun(models.Model):
    """Claimed before a submission's follow-ups run: a repeated job finds it and does nothing."""

    capture = models.OneToOneField(CaptureRecord, on_delete=models.CASCADE, related_name="+")
    ran_at = models.DateTimeField(auto_now_add=True)
    outcome = models.TextField(blank=True)
