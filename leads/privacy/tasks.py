"""Privacy tasks: thin, by id, safe to repeat (a purge or a re-check run twice finds nothing more)."""

from celery import shared_task
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError

from .erase import erasure_recheck
from .retention import retention_purge

RETRYABLE = (OperationalError, DatabaseOperationalError)


@shared_task(autoretry_for=RETRYABLE, retry_backoff=True, max_retries=5, acks_late=True)
def erasure_recheck_task(record_id: int) -> int:
    """Erase what was captured under a tombstoned address while other processes had not heard of it."""
    return erasure_recheck(record_id=record_id)


@shared_task
def retention_purge_task() -> dict:
    """Remove what is past its retention time (beat, nightly)."""
    return retention_purge()
