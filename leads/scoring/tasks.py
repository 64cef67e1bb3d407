"""Scoring's tasks: thin, by id, safe to repeat. Enqueue them by name with leads.jobs.enqueue."""

from datetime import datetime

from celery import shared_task
from django.db import OperationalError as DatabaseOperationalError
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from ..models import ScoreJob, ScoringModel
from .predictive import model_train
from .service import leads_rescore, rescore_all_start, rescore_ranges, score_job_blocking, score_job_range_done

RESCORE_WAIT_SECONDS = 10  # a bulk rescore that finds another one running looks again after this
# Training reads every closed lead; a large history takes a minute or two, never an hour.
TRAIN_SOFT_TIME_LIMIT = 1800
TRAIN_TIME_LIMIT = 1900


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


@shared_task(acks_late=True, soft_time_limit=TRAIN_SOFT_TIME_LIMIT, time_limit=TRAIN_TIME_LIMIT)
def train_scoring_task() -> str:
    """Train the scoring model (nightly, or "Train now" in admin), then rescore every open lead."""
    model = model_train()
    if model.status != ScoringModel.Status.FAILED:  # a failed training left the old model in use
        rescore_all_start(reason=f"Scoring model trained: {model.get_status_display()}")
    return model.status
