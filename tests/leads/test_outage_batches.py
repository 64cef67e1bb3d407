"""Recovering from a broker outage in seconds (issue 22 §3): the single-lead processing jobs that
piled up in the outbox go out as batch jobs, run set-based, each lead processed exactly once."""

import logging
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads import jobs
from leads.capture.duplicates import duplicates_detect, duplicates_detect_many
from leads.capture.service import CaptureContext, capture
from leads.models import Interaction, Lead, Notification, OutboxJob, PossibleDuplicate
from leads.models.nurturing import Enrollment
from leads.outbox_relay import PILE_AFTER, outbox_relay
from leads.pipeline import leads_process
from leads.services import PROCESS_LEAD_TASK
from tests.factories import LeadFactory, SequenceFactory
from tests.helpers import wait_for

from .broker import kill_worker, private_redis, worker_process  # noqa: F401 (a fixture)
from .distribution.conftest import make_team, territory
from .nurturing.smtp import smtp_inbox  # noqa: F401 (a fixture)

BATCH_TASK = "leads.tasks.process_leads_batch_task"


def _capture(prefix: str, count: int, domain: str = "outage.example") -> list[int]:
    return [
        capture(
            data={"email": f"{prefix}{n}@{domain}", "first_name": f"{prefix}{n}"}, context=CaptureContext(channel="api")
        ).lead.pk
        for n in range(count)
    ]


def _routed_to_two_reps():
    team, reps = make_team("Outage", "outage_rep1", "outage_rep2")
    territory("Everywhere", team, catch_all=True)
    return reps


def _assert_processed_once(lead_ids: list[int]) -> None:
    assert not Lead.objects.filter(pk__in=lead_ids, processed_at__isnull=True).exists()
    assert Lead.objects.filter(pk__in=lead_ids, owner__isnull=False).count() == len(lead_ids)
    assigned = Notification.objects.filter(lead__in=lead_ids, kind=Notification.Kind.ASSIGNED)
    assert assigned.count() == len(lead_ids)
    assert not assigned.values("lead").annotate(n=Count("pk")).filter(n__gt=1).exists()
    entries = Interaction.objects.filter(lead__in=lead_ids, kind=Interaction.Kind.ASSIGNMENT)
    assert entries.count() == len(lead_ids), "an assignment timeline entry was written twice"
    per_kind = (
        Interaction.objects.filter(lead__in=lead_ids).values("lead", "kind").annotate(n=Count("pk")).filter(n__gt=1)
    )
    assert not per_kind.exists(), list(per_kind)


@pytest.fixture
def relay_off(settings):
    """The captures' jobs stranded as an outage leaves them: no worker's relay publishes them meanwhile."""
    settings.OUTBOX_RELAY_SECONDS = 0


@pytest.mark.django_db(transaction=True)
def test_stranded_process_jobs_are_drained_by_batch_tasks_each_lead_once(relay_off, celery_worker_live, monkeypatch):
    """After an outage, 10,000 stranded jobs went out one by one: 55 ms of pipeline per lead,
    5.5 minutes for 2,000 leads. The sweep now hands them to batch tasks."""
    reps = _routed_to_two_reps()
    monkeypatch.setattr(jobs, "BATCH_JOB_SIZE", 50)
    lead_ids = _capture("stranded", 120)
    assert OutboxJob.objects.filter(task_name=PROCESS_LEAD_TASK, published_at__isnull=True).count() == 120
    mail.outbox.clear()

    sent = jobs.outbox_sweep(now=timezone.now() + jobs.PUBLISH_GRACE + timedelta(seconds=1))

    assert sent == 3  # 50 + 50 + 20 leads, one task per batch so every worker process takes a share
    assert not OutboxJob.objects.filter(task_name=PROCESS_LEAD_TASK).exists()
    assert wait_for(lambda: not Lead.objects.filter(pk__in=lead_ids, processed_at__isnull=True).exists(), timeout=120)
    assert wait_for(lambda: not OutboxJob.objects.exists(), timeout=60), list(
        OutboxJob.objects.values("task_name", "args")
    )
    _assert_processed_once(lead_ids)
    assert len(mail.outbox) == 120
    # One company's leads go to the rep who got its first (returning owner), as one by one.
    assert set(Lead.objects.filter(pk__in=lead_ids).values_list("owner", flat=True)) == {reps[0].pk}

    # A batch delivered again (a redelivery after a lost ack) finds every lead processed since.
    first = timezone.now() - timedelta(minutes=1)
    with transaction.atomic():
        jobs.enqueue(BATCH_TASK, [[pk, first.isoformat()] for pk in lead_ids[:50]])
    assert outbox_relay()[1] == 1  # what the workers' relay does (it is off here)
    assert wait_for(lambda: not OutboxJob.objects.exists(), timeout=30)
    _assert_processed_once(lead_ids)
    assert len(mail.outbox) == 120


@pytest.mark.django_db
def test_a_few_stranded_jobs_still_go_out_one_by_one(private_redis):  # noqa: F811
    _capture("few", jobs.BATCH_JOB_MIN - 1)
    # No worker's relay sees this rolled-back test's rows: they are as an outage leaves them.
    assert OutboxJob.objects.filter(task_name=PROCESS_LEAD_TASK).count() == jobs.BATCH_JOB_MIN - 1

    assert jobs.outbox_sweep(now=timezone.now() + timedelta(seconds=10)) == jobs.BATCH_JOB_MIN - 1

    assert not OutboxJob.objects.filter(task_name=BATCH_TASK).exists()
    assert (
        OutboxJob.objects.filter(task_name=PROCESS_LEAD_TASK, published_at__isnull=False).count()
        == jobs.BATCH_JOB_MIN - 1
    )


@pytest.mark.django_db
def test_the_batch_pipeline_costs_the_same_queries_for_10_or_40_leads():
    _routed_to_two_reps()
    warm, small, large = _capture("warm", 1), _capture("small", 10), _capture("large", 40)
    leads_process(lead_ids=warm)  # the first batch reads what the process keeps (scoring settings, the rotation)

    with CaptureQueriesContext(connection) as for_small:
        assert leads_process(lead_ids=small) == 10
    with CaptureQueriesContext(connection) as for_large:
        assert leads_process(lead_ids=large) == 40

    assert len(for_large.captured_queries) == len(for_small.captured_queries)
    assert len(for_small.captured_queries) <= 60
    _assert_processed_once(small + large)
    # Processed leads are skipped, without a write.
    with CaptureQueriesContext(connection) as again:
        assert leads_process(lead_ids=small + large) == 0
    assert len(again.captured_queries) == 1


@pytest.mark.django_db
def test_a_lead_captured_again_after_it_was_processed_is_processed_by_its_new_job():
    _routed_to_two_reps()
    [lead_id] = _capture("again", 1)
    leads_process(lead_ids=[lead_id])
    processed_at = Lead.objects.get(pk=lead_id).processed_at

    # An older job (enqueued before the lead was processed) is done; a newer one is not.
    assert leads_process(lead_ids=[lead_id], enqueued_at={lead_id: processed_at - timedelta(seconds=1)}) == 0
    Lead.objects.filter(pk=lead_id).update(
        processed_at=processed_at - timedelta(seconds=5)
    )  # a job enqueued after it ran
    assert leads_process(lead_ids=[lead_id], enqueued_at={lead_id: processed_at}) == 1
    _assert_processed_once([lead_id])


@pytest.mark.django_db
def test_batch_duplicate_detection_finds_what_the_one_by_one_rules_find():
    ours = [
        LeadFactory(email="ann@acme.example", first_name="Ann", last_name="Lee", phone="+442079460958"),
        LeadFactory(email="ann+news@acme.example", first_name="Annie", last_name="Lee"),  # +tag
        LeadFactory(email="a.lee@acme.example", first_name="ann", last_name="LEE"),  # name and company domain
        LeadFactory(email="other@elsewhere.example", first_name="Bob", last_name="Ray", phone="+442079460958"),  # phone
        LeadFactory(email="bob@gmail.com", first_name="Bob", last_name="Ray"),  # free mail: no name rule
        LeadFactory(email="bob2@gmail.com", first_name="Bob", last_name="Ray"),
    ]
    ids = [lead.pk for lead in ours]
    duplicates_detect_many(
        leads=list(Lead.objects.filter(pk__in=ids).only("pk", "email", "phone", "first_name", "last_name"))
    )
    batch = set(PossibleDuplicate.objects.values_list("lead_id", "other_id", "reason"))
    PossibleDuplicate.objects.all().delete()
    for lead in ours:
        duplicates_detect(lead=lead)
    one_by_one = set(PossibleDuplicate.objects.values_list("lead_id", "other_id", "reason"))

    assert batch == one_by_one
    assert {reason for _, _, reason in batch} == {"plus_tag", "name_domain", "same_phone"}  # free mail: no name rule


@pytest.mark.django_db
def test_the_batch_enrolls_by_the_sequences_rules_once():
    _routed_to_two_reps()
    welcome = SequenceFactory(name="Welcome", entry_statuses=[Lead.Status.NEW])
    SequenceFactory(name="Won back", entry_statuses=[Lead.Status.LOST])
    lead_ids = _capture("nurtured", 3)

    leads_process(lead_ids=lead_ids)
    Lead.objects.filter(pk__in=lead_ids).update(processed_at=None)
    leads_process(lead_ids=lead_ids)

    enrolled = Enrollment.objects.filter(lead__in=lead_ids)
    assert sorted(enrolled.values_list("sequence", flat=True)) == [welcome.pk] * 3


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_leaves_nothing_half_done_or_duplicated(private_redis, smtp_inbox):  # noqa: F811
    """Kill -9 while a batch runs: its assignments, emails' job and processed stamps commit
    together or not at all, and the sweep hands the dead worker's batch to the next one."""
    _routed_to_two_reps()
    worker = worker_process(private_redis.url, beat=True, sweep_seconds=1.0, email_port=settings.EMAIL_PORT)
    try:
        private_redis.stop()
        lead_ids = _capture("killed", 600)
        jobs.publisher_flush()
        private_redis.start()  # back, empty: the sweep batches the stranded jobs
        # Killed as soon as one batch finished: the other worker process is in the middle of the next.
        assert wait_for(lambda: Lead.objects.filter(pk__in=lead_ids, processed_at__isnull=False).exists(), timeout=120)
        kill_worker(worker)
        owned = set(Lead.objects.filter(pk__in=lead_ids, owner__isnull=False).values_list("pk", flat=True))
        processed = set(Lead.objects.filter(pk__in=lead_ids, processed_at__isnull=False).values_list("pk", flat=True))
        assert owned == processed, "a batch was half written"
        assert 0 < len(processed) < len(lead_ids)
        assert OutboxJob.objects.filter(task_name=BATCH_TASK).exists()  # the dead worker's batch waits for the sweep

        worker = worker_process(private_redis.url, beat=True, sweep_seconds=1.0, email_port=settings.EMAIL_PORT)
        assert wait_for(
            lambda: not Lead.objects.filter(pk__in=lead_ids, processed_at__isnull=True).exists(), timeout=180
        ), f"{Lead.objects.filter(pk__in=lead_ids, processed_at__isnull=True).count()} leads never processed"
        assert wait_for(lambda: not OutboxJob.objects.exists(), timeout=60), list(
            OutboxJob.objects.values("task_name", "claimed_at")
        )
        assert wait_for(lambda: len(smtp_inbox.messages) >= len(lead_ids), timeout=60)
        time.sleep(3)  # let a duplicate show itself if there is one
    finally:
        kill_worker(worker)
    _assert_processed_once(lead_ids)
    assert len(smtp_inbox.messages) == len(lead_ids), "an assignment email was sent twice"


class _Lines(logging.Handler):
    """The messages one logger wrote (the app's logging config does not propagate to caplog)."""

    def __init__(self):
        super().__init__(level=logging.INFO)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.mark.django_db(transaction=True)
def test_a_capture_burst_is_taken_in_batches_by_the_first_single_job(monkeypatch):
    """A burst with the broker up queued one message per lead, each run at 55 ms: the first job
    to run now takes the pile waiting behind it into one set-based batch."""
    from celery.contrib.testing.worker import start_worker

    from leadcrm.celery import app

    _routed_to_two_reps()
    app.control.purge()
    lead_ids = []
    for part in range(4):  # captures trickling in: each relay's take is too small for a batch job
        lead_ids += _capture(f"burst{part}-", jobs.BATCH_JOB_MIN - 5)
        assert outbox_relay() == (jobs.BATCH_JOB_MIN - 5, jobs.BATCH_JOB_MIN - 5, False)
    assert OutboxJob.objects.filter(task_name=PROCESS_LEAD_TASK, published_at__isnull=False).count() == 60
    time.sleep(PILE_AFTER.total_seconds() + 0.5)  # they wait in the queue: a pile
    mail.outbox.clear()

    logger, lines = logging.getLogger("leads.outbox_relay"), _Lines()
    monkeypatch.setattr(logger, "level", logging.INFO)
    logger.addHandler(lines)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            assert wait_for(
                lambda: not Lead.objects.filter(pk__in=lead_ids, processed_at__isnull=True).exists(), timeout=120
            )
            assert wait_for(lambda: not OutboxJob.objects.exists(), timeout=60), list(
                OutboxJob.objects.values("task_name")
            )
            time.sleep(1)
    finally:
        logger.removeHandler(lines)
    taken = [line for line in lines.lines if "waiting in a pile" in line]
    assert taken and taken[0].startswith(f"{PROCESS_LEAD_TASK}: 59 jobs"), taken
    _assert_processed_once(lead_ids)
    assert len(mail.outbox) == 60
