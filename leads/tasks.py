"""The pipeline's and the platform's tasks: thin, by id, safe to repeat. Enqueue them by name with
leads.jobs.enqueue. Each stage keeps its own tasks beside its services (capture, enrichment, scoring,
distribution, nurturing, workspace, automations, outbound, rep_email, privacy: their `tasks.py`);
jobs enqueued under the names these tasks had before they moved still run (leads.jobs.RENAMED_TASKS)."""

import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.db import OperationalError as DatabaseOperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError

from leadcrm.health import beat_heartbeat

from . import jobs
from .capture.tasks import import_leads_task
from .engagement import engagement_roll_windows
from .models import ImportJob, Lead
from .outbox_relay import job_hand_back, outbox_take_pile
from .pipeline import lead_process, leads_process
from .services import PROCESS_LEAD_TASK

logger = logging.getLogger(__name__)

SWEEP_AFTER = timedelta(minutes=5)
SWEEP_BATCH = 500


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
    acks_late=True,
)
def process_lead_task(self, lead_id: int) -> bool:
    """Run the processing pipeline for one lead; when such jobs pile up (a capture burst), take a
    batch of them and run it set-based with this lead."""
    pile = outbox_take_pile(task_name=PROCESS_LEAD_TASK)
    if pile is None:
        return lead_process(lead_id=lead_id)
    batch_id, taken = pile
    enqueued_at = _enqueue_times(taken)
    enqueued_at[lead_id] = timezone.now()  # this job's lead runs whatever, as it would one by one
    try:
        leads_process(lead_ids=list(enqueued_at), enqueued_at=enqueued_at)
    except Exception:  # a worker killed here leaves a dead claim, which the sweep sends again
        job_hand_back(job_id=batch_id)
        raise
    jobs.job_done(job_id=batch_id)
    return True


@shared_task
def sweep_outbox_task() -> int:
    """Every few seconds (beat): republish outbox jobs that never reached a worker or lost it;
    its run is beat's heartbeat for /health/."""
    beat_heartbeat()
    return jobs.outbox_sweep()


@shared_task
def sweep_unprocessed_leads_task() -> int:
    """A second net under the outbox: re-enqueue leads whose processing never finished after minutes."""
    cutoff = timezone.now() - SWEEP_AFTER
    ids = list(
        Lead.objects.filter(processed_at__isnull=True, updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for lead_id in ids:
        process_lead_task.apply_async(args=(lead_id,))
    # Uploads whose task never reached a worker: send them again (claiming a job is idempotent).

    for job_id in ImportJob.objects.filter(status=ImportJob.Status.PENDING, created_at__lt=cutoff).values_list(
        "pk", flat=True
    )[:50]:
        import_leads_task.apply_async(args=(job_id,))
    return len(ids)


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
    acks_late=True,
)
def process_leads_task(self, lead_ids: list[int], duplicates_checked: bool = False) -> int:
    """Run the processing pipeline for a batch of leads (capture_many enqueues one per 100 leads,
    having checked them for possible duplicates itself)."""
    return sum(lead_process(lead_id=lead_id, duplicates_checked=duplicates_checked) for lead_id in lead_ids)


def _enqueue_times(owed: list[list]) -> dict[int, datetime]:
    """{lead id: when its latest job was enqueued} from [[lead id, ISO time], …]."""
    enqueued_at: dict[int, datetime] = {}
    for lead_id, at in owed:
        when = datetime.fromisoformat(at)
        enqueued_at[lead_id] = max(when, enqueued_at.get(lead_id, when))
    return enqueued_at


# A deadlock or a lost database connection rolled the batch's transaction back: run it again.
@shared_task(
    bind=True,
    autoretry_for=(OperationalError, DatabaseOperationalError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
    acks_late=True,
)
def process_leads_batch_task(self, owed: list[list]) -> int:
    """Run the pipeline set-based for single-lead jobs that piled up ([[lead id, enqueued at]]:
    the outbox sweep's batches); a lead processed since its job was enqueued is skipped."""
    enqueued_at = _enqueue_times(owed)
    return leads_process(lead_ids=list(enqueued_at), enqueued_at=enqueued_at)


@shared_task
def engagement_roll_windows_task() -> int:
    """Hourly: keep the 7/30-day engagement counters right as days leave the windows."""
    return engagement_roll_windows()
