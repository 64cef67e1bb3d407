"""The transactional outbox: one row per background job, written in the same transaction as
the change that asks for it, so a job exists exactly when its change committed (leads.jobs)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxJob(models.Model):
    """A Celery task waiting to run: published after commit, claimed by the task when it starts,
    deleted when it finished. The sweeper republishes rows that were never published, whose
    message was lost, or whose worker died (see docs/jobs.md)."""

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(default=timezone.now, help_text="Not before this (a countdown).")
    published_at = models.DateTimeField(null=True, blank=True)
    publishes = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    trace_id = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="The request id that asked for it, carried into the worker's logs.",
    )

    class Meta:
        indexes = [
            # The sweeper's two questions, each answered from a small partial index.
            models.Index(fields=["due_at"], condition=Q(claimed_at__isnull=True), name="outbox_unclaimed_idx"),
            models.Index(fields=["claimed_at"], condition=Q(claimed_at__isnull=False), name="outbox_claimed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task_name}{tuple(self.args)!r}"
