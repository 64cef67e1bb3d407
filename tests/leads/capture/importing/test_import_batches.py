"""The import in batches: later batches find what earlier ones created, a capture arriving mid-batch
is updated rather than duplicated, and a dry run's progress is visible while it runs."""

import re

import pytest

from leads.models import Lead
from tests.factories import ImportJobFactory, LeadFactory
from tests.leads.capture.importing.test_import import media_root, run_command, write_csv  # noqa: F401 (media_root: an autouse fixture)

# --- Batches -------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("dry_run", [False, True])
def test_rows_in_later_batches_find_the_leads_earlier_batches_created(tmp_path, monkeypatch, dry_run):
    """A dry run is exact across batches too: it runs in one transaction that is rolled back."""
    from leads.capture.importing import cleaner

    monkeypatch.setattr(cleaner, "BATCH_SIZE", 2)
    path = write_csv(
        tmp_path / "batches.csv",
        [
            ["Email", "Company"],
            ["a@example.org", "A"],
            ["b@example.org", "B"],
            ["c@example.org", ""],
            ["bad", ""],
            ["c@example.org", "C"],
            ["a@example.org", "A"],
        ],
    )
    output = run_command(str(path), *(["--dry-run"] if dry_run else []))
    assert re.search(r"6 rows; (would create|created) 3, (would update|updated) 2, (would reject|rejected) 1\.", output)
    assert Lead.objects.count() == (0 if dry_run else 3)
    if not dry_run:
        assert Lead.objects.get(email="c@example.org").company == "C"


@pytest.mark.django_db
def test_a_lead_created_by_a_concurrent_capture_mid_batch_is_updated_not_duplicated(tmp_path, monkeypatch):
    """The lookup misses a lead that a web form creates just after it: the insert hits the unique
    email constraint, the batch (capture_many) rolls back and runs again, and then finds the lead."""
    from leads.capture import batch

    LeadFactory(email="race@example.org", company="")
    real_lookup, calls = batch._existing_leads, []

    def lookup_missing_the_new_lead(items, *, lock):
        calls.append(1)
        return [] if len(calls) == 1 else real_lookup(items, lock=lock)

    monkeypatch.setattr(batch, "_existing_leads", lookup_missing_the_new_lead)
    output = run_command(str(write_csv(tmp_path / "race.csv", [["Email", "Company"], ["race@example.org", "Acme"]])))
    assert "created 0, updated 1, rejected 0." in output
    assert len(calls) == 2
    assert Lead.objects.get().company == "Acme"


@pytest.mark.django_db(transaction=True)
def test_a_dry_runs_progress_is_visible_to_other_connections_while_it_runs(manager):
    """The dry run's transaction is rolled back at the end, so its progress goes through a second connection."""
    from django.db import connection, connections, transaction

    from leads.capture.importing.jobs import _Progress

    job = ImportJobFactory(file="imports/x.csv", original_name="x.csv", dry_run=True, created_by=manager)
    progress = _Progress(job)
    observer = connections.create_connection(connection.alias)  # as the job page's request would read it
    try:
        with transaction.atomic():
            job.processed_rows, job.created_count = 1000, 990
            progress.save()
            with observer.cursor() as cursor:
                cursor.execute("SELECT processed_rows, created_count FROM leads_importjob WHERE id = %s", [job.pk])
                assert cursor.fetchone() == (1000, 990)
            transaction.set_rollback(True)
    finally:
        progress.close()
        observer.close()
