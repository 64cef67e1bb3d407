"""Celery tasks: thin, by id, safe to repeat. Enqueue them by name with leads.jobs.enqueue."""

import logging
from datetime import datetime, timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError as DatabaseOperationalError
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from leadcrm.health import beat_heartbeat

from . import jobs
from .automations.form_follow_ups import form_follow_ups_run
from .capture.email.imap import mailboxes_poll
from .capture.importing import IMPORT_FAILED, import_job_claim, import_job_fail, import_run
from .capture.webhooks import meta_backfill_all
from .distribution.service import lead_assign, leads_assign, queue_drain
from .distribution.sla import sla_reassign_overdue
from .engagement import engagement_roll_windows
from .enrichment.service import leads_enrich
from .models import ImportJob, Lead, ScoreJob, ScoringModel, Segment
from .nurturing.segments import segment_refresh, segments_refresh_due
from .nurturing.sequences import enrollments_process_due, enrollments_run
from .outbox_relay import job_hand_back, outbox_take_pile
from .pipeline import lead_process, leads_process
from .scoring.predictive import model_train
from .scoring.service import leads_rescore, rescore_all_start, rescore_ranges, score_job_blocking, score_job_range_done
from .services import PROCESS_LEAD_TASK
from .workspace.notifications import notification_email

logger = logging.getLogger(__name__)

SWEEP_AFTER = timedelta(minutes=5)
RESCORE_WAIT_SECONDS = 10  # a bulk rescore that finds another one running looks again after this
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


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def enrich_leads_task(lead_ids: list[int]) -> int:
    """Enrich a batch of leads (on demand: the lead page, admin, enrich_leads)."""
    return leads_enrich(lead_ids=lead_ids).changed


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


@shared_task
def poll_mailboxes_task() -> int:
    """Poll every active IMAP mailbox once (beat); returns how many messages were taken."""
    return sum(result.taken for result in mailboxes_poll())


@shared_task
def meta_backfill_task() -> int:
    """List every active Meta Lead Ads source's forms and capture leads not taken yet (beat)."""
    return meta_backfill_all()


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


# A big file runs longer than the default task limits; the broker's visibility timeout (1 h) bounds it.
IMPORT_SOFT_TIME_LIMIT = 3300
IMPORT_TIME_LIMIT = 3400


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


@shared_task
def engagement_roll_windows_task() -> int:
    """Hourly: keep the 7/30-day engagement counters right as days leave the windows."""
    return engagement_roll_windows()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def rescore_leads_task(lead_ids: list[int]) -> int:
    """Rescore some leads (after events, debounced)."""
    return leads_rescore(lead_ids=lead_ids).scored


@shared_task(bind=True, acks_late=True, max_retries=None)
def rescore_all_task(self, job_id: int) -> int:
    """A bulk rescore of every open lead: hands its id ranges to the workers (one task each, so
    every worker process takes a share), with the progress on the ScoreJob row. Waits while an
    earlier rescore is still running."""
    job = ScoreJob.objects.filter(pk=job_id, status=ScoreJob.Status.PENDING).first()
    if job is None:
        return 0  # already run (a redelivered message): nothing to do twice
    if score_job_blocking(job_id=job_id) is not None:
        raise self.retry(countdown=RESCORE_WAIT_SECONDS)
    ranges = rescore_ranges()
    now = timezone.now()
    ScoreJob.objects.filter(pk=job_id).update(status=ScoreJob.Status.RUNNING, started_at=now, chunks=len(ranges))
    if not ranges:
        ScoreJob.objects.filter(pk=job_id).update(status=ScoreJob.Status.DONE, finished_at=now, message="no open leads")
        return 0
    for start, end in ranges:
        rescore_range_task.delay(job_id, start, end, now.isoformat())
    return len(ranges)


@shared_task(bind=True, acks_late=True, max_retries=5)
def rescore_range_task(self, job_id: int, start: int, end: int, now: str) -> int:
    """One id range of a bulk rescore: its writes and its count on the job commit together, so
    running it again (a redelivered message) changes nothing and counts nothing twice."""

    if not ScoreJob.objects.filter(pk=job_id, status=ScoreJob.Status.RUNNING).exists():
        return 0
    try:
        with transaction.atomic():
            result = leads_rescore(id_ranges=[(start, end)], now=datetime.fromisoformat(now))
            score_job_range_done(job_id=job_id, start=start, result=result)
    except Exception as exc:
        if isinstance(exc, DatabaseOperationalError) and self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=2**self.request.retries) from exc  # a deadlock, a lost connection
        ScoreJob.objects.filter(pk=job_id).update(
            status=ScoreJob.Status.FAILED, message=f"ids {start}–{end}: {exc}"[:1000], finished_at=timezone.now()
        )
        raise
    return result.scored


@shared_task(
    autoretry_for=(OperationalError, ConnectionError, OSError), retry_backoff=True, max_retries=5, acks_late=True
)
def notify_by_email_task(notification_ids: list[int]) -> int:
    """Email owners their new notifications, each once (a repeated run skips what was sent)."""
    return sum(notification_email(notification_id=pk) for pk in notification_ids)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def form_follow_ups_task(record_id: int) -> str:
    """A built form's follow-ups for one submission (list, sequence, notify, team), once."""
    return form_follow_ups_run(record_id=record_id)


# Training reads every closed lead; a large history takes a minute or two, never an hour.
TRAIN_SOFT_TIME_LIMIT = 1800
TRAIN_TIME_LIMIT = 1900


@shared_task(acks_late=True, soft_time_limit=TRAIN_SOFT_TIME_LIMIT, time_limit=TRAIN_TIME_LIMIT)
def train_scoring_task() -> str:
    """Train the scoring model (nightly, or "Train now" in admin), then rescore every open lead."""
    model = model_train()
    if model.status != ScoringModel.Status.FAILED:  # a failed training left the old model in use
        rescore_all_start(reason=f"Scoring model trained: {model.get_status_display()}")
    return model.status


# --- Distribution (leads/distribution): assignment, team queues, SLA -------------------------


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def assign_lead_task(lead_id: int) -> bool:
    """Assign one lead (a lead already owned is left alone, so a repeat changes nothing)."""
    return lead_assign(lead_id=lead_id) is not None


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def assign_leads_task(lead_ids: list[int]) -> int:
    """Assign a batch of leads ("Assign now" in admin); returns how many got an owner."""
    return leads_assign(lead_ids=lead_ids)


@shared_task
def drain_queues_task() -> int:
    """Every minute: give the leads waiting in team queues to whoever became available."""
    return queue_drain()


@shared_task
def sla_reassign_task() -> int:
    """Every minute: reassign (or escalate) leads whose first-contact SLA ran out."""
    return sla_reassign_overdue()


# --- Nurture sequences (leads/nurturing/sequences.py) ----------------------------------------


@shared_task
def process_due_enrollments_task() -> int:
    """Every minute: lease due sequence enrollments in batches and hand each batch to a worker."""
    return enrollments_process_due(fan_out=True)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def run_enrollments_task(claimed: list[list[int]]) -> int:
    """Run one leased batch of enrollments [[enrollment id, step id]]; step runs are claimed rows, so a repeat sends nothing twice."""
    return enrollments_run(claimed=[(row[0], row[1]) for row in claimed])


# --- Segments (leads/nurturing/segments/) --------------------------------------------------------


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
