"""Capture's tasks: thin, by id, safe to repeat. Enqueue them by name with leads.jobs.enqueue."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from .email.imap import mailboxes_poll
from .importing import IMPORT_FAILED, import_job_claim, import_job_fail, import_run
from .webhooks import meta_backfill_all

# A big file runs longer than the default task limits; the broker's visibility timeout (1 h) bounds it.
IMPORT_SOFT_TIME_LIMIT = 3300
IMPORT_TIME_LIMIT = 3400


@shared_task
def poll_mailboxes_task() -> int:
    """Poll every active IMAP mailbox once (beat); returns how many messages were taken."""
    return sum(result.taken for result in mailboxes_poll())


@shared_task
def meta_backfill_task() -> int:
    """List every active Meta Lead Ads source's forms and capture leads not taken yet (beat)."""
    return meta_backfill_all()


@shared_task(soft_time_limit=IMPORT_SOFT_TIME_LIMIT, time_limit=IMPORT_TIME_LIMIT)
def import_leads_task(job_id: int) -> str:
    """Run one waiting import job; a job already taken (a repeated delivery) is left alone."""
    job = import_job_claim(job_id=job_id)
    if job is None:
        return "skipped"
    try:
        return import_run(job=job).status
    except SoftTimeLimitExceeded:
        import_job_fail(
            job_id=job_id, message=IMPORT_FAILED.format(rows=job.processed_rows, error="it ran out of time")
        )
        return "failed"
