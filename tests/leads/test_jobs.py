"""leads.jobs: a job is written with the change that asks for it, survives a broker that is down
at commit, and a repeated message never does its work twice (real PostgreSQL, Redis, worker)."""

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction

from leadcrm.celery import app
from leads import jobs
from leads.models import Lead, Notification, OutboxJob
from leads.services import lead_enqueue_processing
from tests.factories import LeadFactory, NotificationFactory, OutboxJobFactory, RepFactory
from tests.helpers import wait_for

from .broker import private_redis  # noqa: F401 (a fixture)


@pytest.mark.django_db(transaction=True)
def test_the_outbox_row_commits_with_the_change_and_not_without_it():
    with transaction.atomic():
        lead = LeadFactory()
        lead_enqueue_processing(lead_id=lead.pk)
        assert OutboxJob.objects.filter(task_name="leads.tasks.process_lead_task", args=[lead.pk]).exists()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        doomed = LeadFactory(email="doomed@example.com")
        lead_enqueue_processing(lead_id=doomed.pk)
        raise Boom
    assert not Lead.objects.filter(email="doomed@example.com").exists()
    assert list(OutboxJob.objects.values_list("args", flat=True)) == [[lead.pk]]
    jobs.publisher_flush()


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_broker_was_down_at_commit_is_republished_and_processed_once(private_redis, mailoutbox):  # noqa: F811
    """A publish that failed used to be "left for the sweeper", which only looked at leads after
    five minutes: an assignment email published that way was never sent."""
    private_redis.stop()
    jobs.publisher_forget_failures()
    rep = RepFactory(email="outage@example.com")
    note = NotificationFactory(user=rep, kind=Notification.Kind.ASSIGNED, message="Lead Ada assigned to you")
    with transaction.atomic():
        jobs.enqueue("leads.workspace.tasks.notify_by_email_task", [note.pk])
    jobs.publisher_flush()
    job = OutboxJob.objects.get()
    assert job.published_at is None  # the broker refused it
    private_redis.start()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert jobs.outbox_sweep(now=job.created_at + jobs.PUBLISH_GRACE * 2) == 1
        assert wait_for(lambda: Notification.objects.get(pk=note.pk).emailed_at is not None)
        assert wait_for(lambda: not OutboxJob.objects.exists()), "the finished task did not delete its row"
    assert jobs.outbox_sweep() == 0  # nothing left to send
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_a_repeated_message_runs_its_job_once(celery_worker_live, mailoutbox):
    """The outbox id in the header: the second copy finds the job finished and skips it."""
    rep = RepFactory(email="rep@example.com")
    note = NotificationFactory(user=rep, kind=Notification.Kind.ASSIGNED, message="Lead Ada assigned to you")
    with transaction.atomic():
        jobs.enqueue("leads.workspace.tasks.notify_by_email_task", [note.pk])
    jobs.publisher_flush()
    job_id = OutboxJob.objects.values_list("pk", flat=True).get()
    assert wait_for(lambda: not OutboxJob.objects.exists())
    app.send_task("leads.workspace.tasks.notify_by_email_task", args=[[note.pk]], headers={jobs.OUTBOX_HEADER: job_id})
    app.send_task("leads.workspace.tasks.notify_by_email_task", args=[[note.pk]])  # no header: the row claim guards it
    assert wait_for(lambda: len(mailoutbox) >= 1)
    assert not wait_for(lambda: len(mailoutbox) > 1, timeout=3)
    assert mailoutbox[0].to == ["rep@example.com"]
    assert Notification.objects.get(pk=note.pk).emailed_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_notification_is_emailed_once_even_when_its_task_runs_twice(mailoutbox):
    from leads.workspace.tasks import notify_by_email_task

    rep = RepFactory(email="twice@example.com")
    note = NotificationFactory(user=rep, kind=Notification.Kind.ASSIGNED, message="Lead Bob assigned to you")
    assert notify_by_email_task([note.pk]) == 1
    assert notify_by_email_task([note.pk]) == 0
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_resends_a_message_the_broker_dropped_and_a_job_whose_worker_died():
    """A Redis restart without persistence drops queued messages; a SIGKILLed worker leaves a claim."""
    from datetime import timedelta

    from django.utils import timezone

    old = timezone.now() - timedelta(minutes=20)
    dropped = OutboxJobFactory(
        task_name="leads.tasks.process_lead_task", args=[1], created_at=old, due_at=old, published_at=old
    )
    orphaned = OutboxJobFactory(
        task_name="leads.tasks.process_lead_task", args=[2], created_at=old, due_at=old, claimed_at=old
    )
    running = OutboxJobFactory(task_name="leads.tasks.process_lead_task", args=[3], created_at=old, due_at=old)
    assert jobs.job_claim(job_id=running.pk)  # this session holds its lock: a live worker
    fresh = OutboxJobFactory(task_name="leads.tasks.process_lead_task", args=[4])  # its publish may be in flight
    app.control.purge()
    assert jobs.outbox_sweep() == 2
    swept = {job.pk: job for job in OutboxJob.objects.all()}
    assert swept[dropped.pk].publishes == 1 and swept[orphaned.pk].claimed_at is None
    assert swept[running.pk].publishes == 0 and swept[fresh.pk].publishes == 0
    jobs.job_done(job_id=running.pk)
    app.control.purge()


@pytest.mark.django_db
def test_the_sweep_is_one_cheap_query_when_nothing_waits(django_assert_max_num_queries):
    with django_assert_max_num_queries(3):  # the savepoint pair and the sweep's UPDATE … RETURNING
        assert jobs.outbox_sweep() == 0
