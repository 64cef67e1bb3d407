"""Background processing on a real Celery worker and Redis broker."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead
from leads.tasks import sweep_unprocessed_leads_task
from tests.factories import ImportJobFactory, LeadFactory
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
