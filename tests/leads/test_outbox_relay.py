"""The outbox relay (issue 22 §2): a capture never talks to the broker; the workers' relay publishes
the committed leads' processing jobs within a fraction of a second, in batches when they come fast,
and nothing is lost while the broker is down or processed twice (real PostgreSQL, Redis, worker)."""

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from leads import jobs
from leads.capture.service import CaptureContext, capture
from leads.models import Interaction, Lead, OutboxJob
from leads.outbox_relay import outbox_relay
from leads.services import PROCESS_LEAD_TASK
from tests.helpers import wait_for

from .broker import private_redis  # noqa: F401 (a fixture)

BATCH_TASK = "leads.tasks.process_leads_batch_task"


def _capture(prefix: str, count: int) -> list[int]:
    return [
        capture(
            data={"email": f"{prefix}{n}@relay.example", "first_name": f"{prefix}{n}"},
            context=CaptureContext(channel="api"),
        ).lead.pk
        for n in range(count)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_capture_publishes_nothing_itself_and_the_relay_sends_its_job(private_redis, monkeypatch):
    """The web process spent a third of a capture's CPU publishing its job to Celery (bench/README.md)."""
    published = []
    monkeypatch.setattr(jobs, "_submit", lambda *args: published.append(args))
    private_redis.stop()  # a capture does not notice: it never reaches for the broker
    [lead_id] = _capture("quiet", 1)
    assert published == []
    job = OutboxJob.objects.get()
    assert (job.task_name, job.args, job.published_at) == (PROCESS_LEAD_TASK, [lead_id], None)

    assert outbox_relay() == (1, 0, True)  # the broker is down: the row stays unpublished, for later
    assert OutboxJob.objects.get().published_at is None

    private_redis.start()
    assert outbox_relay() == (1, 1, False)
    assert OutboxJob.objects.get().published_at is not None
    assert outbox_relay() == (0, 0, False)  # nothing twice


@pytest.mark.django_db(transaction=True)
def test_a_burst_goes_to_the_worker_in_batch_jobs(private_redis):
    _capture("burst", jobs.BATCH_JOB_MIN + 5)
    taken, sent, failed = outbox_relay()
    assert (taken, sent, failed) == (jobs.BATCH_JOB_MIN + 5, 1, False)
    [batch] = OutboxJob.objects.all()
    assert batch.task_name == BATCH_TASK and len(batch.args[0]) == jobs.BATCH_JOB_MIN + 5
    assert batch.published_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_job_due_later_waits_for_its_time(private_redis):
    with transaction.atomic():
        jobs.enqueue(PROCESS_LEAD_TASK, 123456, countdown=60)
    assert outbox_relay() == (0, 0, False)
    assert outbox_relay(now=timezone.now() + timedelta(seconds=61)) == (1, 1, False)


@pytest.mark.django_db(transaction=True)
def test_the_workers_relay_brings_captured_leads_to_the_pipeline_within_a_second(celery_worker_live):
    """No beat runs here: only the worker's relay can publish the jobs (the sweeper would take 3 s or more)."""
    [first] = _capture("single", 1)
    started = time.monotonic()
    assert wait_for(lambda: Lead.objects.get(pk=first).processed_at is not None, timeout=30)
    # The worker runs the pipeline (tens of ms); the relay's poll adds at most OUTBOX_RELAY_SECONDS.
    assert time.monotonic() - started < 5

    lead_ids = _capture("stream", 60)
    assert wait_for(lambda: not Lead.objects.filter(pk__in=lead_ids, processed_at__isnull=True).exists(), timeout=120)
    assert wait_for(lambda: not OutboxJob.objects.exists(), timeout=30), list(
        OutboxJob.objects.values("task_name", "args")
    )
    time.sleep(1)  # a second copy would show itself now
    per_kind = Interaction.objects.filter(lead__in=[first, *lead_ids]).values("lead", "kind").annotate(n=Count("pk"))
    assert not per_kind.filter(n__gt=1).exists(), list(per_kind.filter(n__gt=1))
