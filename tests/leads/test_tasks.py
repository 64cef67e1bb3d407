"""Background processing on a real Celery worker and Redis broker."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from leadcrm.celery import app
from leads import jobs
from leads.models import Lead, Notification, OutboxJob
from leads.tasks import sweep_unprocessed_leads_task
from tests.factories import ImportJobFactory, LeadFactory, NotificationFactory, PeriodicTaskFactory, RepFactory
from tests.helpers import wait_for


@pytest.mark.django_db(transaction=True)
def test_a_lead_created_through_the_api_is_processed_by_the_worker(celery_worker_live, api_as, manager):
    response = api_as(manager).post("/api/v1/leads", {"email": "pipeline@example.com"}, format="json")
    assert response.status_code == 201
    lead_id = response.json()["id"]
    assert wait_for(lambda: Lead.objects.get(pk=lead_id).processed_at is not None), (
        "the worker never processed the lead"
    )


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_re_enqueues_leads_that_were_never_processed(celery_worker_live):
    """A broker outage at capture time must not leave a lead unprocessed for good."""
    stale = LeadFactory()
    Lead.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - timedelta(minutes=30))
    fresh = LeadFactory()  # younger than five minutes: its own enqueue may still be in flight
    assert sweep_unprocessed_leads_task() == 1
    assert wait_for(lambda: Lead.objects.get(pk=stale.pk).processed_at is not None)
    assert Lead.objects.get(pk=fresh.pk).processed_at is None  # the sweeper left it alone


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_resends_an_import_whose_task_never_arrived(celery_worker_live, manager, tmp_path, settings):
    """An upload while the broker was down left its job waiting; the sweeper runs it."""
    from django.core.files.base import ContentFile

    from leads.models import ImportJob

    settings.MEDIA_ROOT = str(tmp_path)
    job = ImportJobFactory(created_by=manager, original_name="late.csv")
    job.file.save("late.csv", ContentFile(b"Email,First Name\nlate@example.com,Late\n"))
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    sweep_unprocessed_leads_task()
    assert wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == "done", timeout=30)
    assert Lead.objects.filter(email="late@example.com").exists()


def test_every_periodic_job_and_every_renamed_task_names_a_registered_task():
    """Beat stores task names, and so do outbox rows: a name that resolves to no task would be a
    job that never runs (the tasks moved from leads/tasks.py into their stages' tasks.py)."""
    app.loader.import_default_modules()
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    names |= set(jobs.RENAMED_TASKS.values()) | set(jobs.BATCHED_TASKS) | set(jobs.BATCHED_TASKS.values())
    assert names - set(app.tasks) == set()
    assert set(jobs.RENAMED_TASKS) & set(app.tasks) == set()  # an old name is only an alias, never a second task


@pytest.mark.django_db(transaction=True)
def test_a_job_enqueued_under_a_task_s_old_name_still_runs(celery_worker_live, mailoutbox):
    """An outbox row written before the upgrade (its task was leads.tasks.notify_by_email_task) is
    sent under the task's new name and the rep gets the email."""
    rep = RepFactory(email="old-name@example.com")
    note = NotificationFactory(user=rep, kind=Notification.Kind.ASSIGNED, message="Lead Ada assigned to you")
    with transaction.atomic():
        jobs.enqueue("leads.tasks.notify_by_email_task", [note.pk])
    jobs.publisher_flush()
    assert wait_for(lambda: Notification.objects.get(pk=note.pk).emailed_at is not None)
    assert wait_for(lambda: not OutboxJob.objects.exists())
    assert [message.to for message in mailoutbox] == [["old-name@example.com"]]


@pytest.mark.django_db
def test_the_upgrade_renames_a_periodic_job_a_manager_added_under_an_old_task_name():
    custom = PeriodicTaskFactory(name="Drain the queues often", task="leads.tasks.drain_queues_task")
    migration = importlib.import_module("leads.migrations.0036_tasks_in_their_stages")
    migration.rename(apps, None)
    custom.refresh_from_db()
    assert custom.task == "leads.distribution.tasks.drain_queues_task"
