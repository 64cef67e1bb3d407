"""Automation tasks: thin, by id, safe to repeat (runs are unique per trigger occurrence, steps are claimed)."""

from celery import shared_task
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError

from .batch import runs_execute
from .form_follow_ups import form_follow_ups_run
from .services import automations_resume_due, automations_scan_dates, automations_scan_inactive, automations_start

RETRYABLE = (OperationalError, DatabaseOperationalError)


@shared_task(autoretry_for=RETRYABLE, retry_backoff=True, max_retries=5, acks_late=True)
def automations_start_task(
    automation_ids: list[int], lead_ids: list[int], trigger_event: str, trigger_key: str, depth: int
) -> int:
    """Start (and run) the automations an event triggered, for a batch of its leads."""
    return automations_start(
        automation_ids=automation_ids,
        lead_ids=lead_ids,
        trigger_event=trigger_event,
        trigger_key=trigger_key,
        depth=depth,
    )


@shared_task(autoretry_for=RETRYABLE, retry_backoff=True, max_retries=5, acks_late=True)
def automation_runs_task(run_ids: list[int]) -> int:
    """Run (or resume) some runs."""
    return runs_execute(run_ids=run_ids)


@shared_task
def automations_resume_due_task() -> int:
    """Resume due waits and retries, and runs whose worker or task was lost (beat, every minute)."""
    return automations_resume_due()


@shared_task
def automations_scan_inactive_task() -> int:
    """Start "inactive for N days" automations for the leads that went quiet (beat, hourly, set-based)."""
    return automations_scan_inactive()


@shared_task
def automations_scan_dates_task() -> int:
    """Start "a date field reached" automations for the leads whose date came (beat, hourly, set-based)."""
    return automations_scan_dates()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def form_follow_ups_task(record_id: int) -> str:
    """A built form's follow-ups for one submission (list, sequence, notify, team), once."""
    return form_follow_ups_run(record_id=record_id)
