"""Nurturing's tasks (sequences and segments): thin, by id, safe to repeat. Enqueue them by name with
leads.jobs.enqueue."""

from celery import shared_task
from kombu.exceptions import OperationalError

from ..models import Segment
from .segments import segment_refresh, segments_refresh_due
from .sequences import enrollments_process_due, enrollments_run


@shared_task
def process_due_enrollments_task() -> int:
    """Every minute: lease due sequence enrollments in batches and hand each batch to a worker."""
    return enrollments_process_due(fan_out=True)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def run_enrollments_task(claimed: list[list[int]]) -> int:
    """Run one leased batch of enrollments [[enrollment id, step id]]; step runs are claimed rows, so a repeat sends nothing twice."""
    return enrollments_run(claimed=[(row[0], row[1]) for row in claimed])


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def refresh_segments_task() -> int:
    """Every 15 minutes: re-evaluate the due dynamic segments; the leads that entered enroll in their sequences."""
    return segments_refresh_due()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3, acks_late=True)
def refresh_segment_task(segment_id: int) -> int:
    """Re-evaluate one segment now ("Refresh now"); safe to repeat: a second run finds nobody new."""
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        return 0
    entered, _left = segment_refresh(segment=segment)
    return len(entered)
