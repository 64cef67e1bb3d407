"""The import channel through the upload page (and its mapping step), admin and a real worker."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat

from leads.capture.importing import FILE_TOO_LARGE, ID_COLUMN_MISSING, UNSUPPORTED_FORMAT
from leads.capture.tasks import import_leads_task
from leads.models import CaptureRecord, ImportJob, Interaction, Lead
from tests.factories import ImportJobFactory
from tests.helpers import wait_for
from tests.leads.capture.importing.test_import import INVALID_EMAIL, TRADE_SHOW, csv_bytes, media_root, xlsx_bytes  # noqa: F401 (media_root: an autouse fixture)

# --- The upload page ----------------------------------------------------------------------------


def upload(client, content: bytes, name: str = "leads.csv", **fields):
    return client.post("/imports/", {"file": SimpleUploadedFile(name, content), **fields})


def start(client, job: ImportJob | None = None, **fields):
    """The mapping step's "Start the import", with the detected mapping."""
    job = job or ImportJob.objects.latest("pk")
    return client.post(f"/imports/{job.pk}/mapping", {"action": "start", "route_leads": "on", **fields})


@pytest.mark.django_db
def test_a_manager_uploads_a_csv_and_follows_the_job(client, manager):
    client.force_login(manager)
    assert client.get("/imports/").status_code == 200
    response = upload(client, csv_bytes(TRADE_SHOW), source_detail="Expo 2026")
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/mapping"
    assert job.status == ImportJob.Status.DRAFT
    assert client.get(f"/imports/{job.pk}")["Location"] == f"/imports/{job.pk}/mapping"  # not started yet
    response = start(client, job)
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}"
    job.refresh_from_db()
    assert (job.status, job.created_by, job.source_detail) == (ImportJob.Status.PENDING, manager, "Expo 2026")
    waiting = client.get(f"/imports/{job.pk}")
    assert b'http-equiv="refresh"' in waiting.content and b"Reload" in waiting.content  # works without JS
    assert import_leads_task(job.pk) == ImportJob.Status.DONE  # what the worker runs
    status = client.get(f"/imports/{job.pk}/status").json()
    assert status == {
        "id": job.pk,
        "status": "done",
        "status_display": "Done",
        "finished": True,
        "dry_run": False,
        "total_rows": 2,
        "processed_rows": 2,
        "percent": 100,
        "created": 2,
        "updated": 0,
        "rejected": 0,
        "message": "",
    }
    page = client.get(f"/imports/{job.pk}")
    assert b'http-equiv="refresh"' not in page.content
    assert set(Lead.objects.values_list("source_detail", flat=True)) == {"Expo 2026"}
    assert Interaction.objects.filter(kind=Interaction.Kind.IMPORT, actor=manager).count() == 2


@pytest.mark.django_db
def test_a_repeated_delivery_of_the_task_does_not_run_the_job_twice(client, manager):
    client.force_login(manager)
    upload(client, csv_bytes(TRADE_SHOW))
    start(client)
    job = ImportJob.objects.get()
    assert import_leads_task(job.pk) == ImportJob.Status.DONE
    assert import_leads_task(job.pk) == "skipped"
    assert CaptureRecord.objects.count() == 2


@pytest.mark.django_db
def test_a_marketer_uploads_an_xlsx_with_bad_rows_and_reads_the_report(client, marketer):
    client.force_login(marketer)
    content = xlsx_bytes([["Email", "Status"], ["ok@example.org", "MQL"], ["nope", "new"], ["x@example.org", "soon"]])
    upload(client, content, name="list.xlsx")
    start(client)
    job = ImportJob.objects.get()
    import_leads_task(job.pk)
    page = client.get(f"/imports/{job.pk}")
    assert page.status_code == 200
    assert f"Email: {INVALID_EMAIL}" in page.content.decode()
    assert b"Statuses this import did not know" in page.content and b"soon" in page.content
    job.refresh_from_db()
    assert (job.created_count, job.rejected_count, [e["line"] for e in job.errors]) == (2, 1, [3])
    assert dict(Lead.objects.values_list("email", "status")) == {"ok@example.org": "qualified", "x@example.org": "new"}


@pytest.mark.django_db
def test_a_dry_run_upload_reports_then_imports_for_real_on_request(client, manager):
    client.force_login(manager)
    upload(client, csv_bytes(TRADE_SHOW), dry_run="on")
    start(client)
    dry = ImportJob.objects.get()
    import_leads_task(dry.pk)
    dry.refresh_from_db()
    assert (dry.status, dry.dry_run, dry.created_count) == (ImportJob.Status.DONE, True, 2)
    assert not Lead.objects.exists() and not CaptureRecord.objects.exists()
    assert b"Import this file for real" in client.get(f"/imports/{dry.pk}").content
    response = client.post(f"/imports/{dry.pk}/run")
    real = ImportJob.objects.exclude(pk=dry.pk).get()
    assert response["Location"] == f"/imports/{real.pk}"
    import_leads_task(real.pk)
    assert Lead.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "fields", "message"),
    [
        ("leads.xls", b"\xd0\xcf\x11\xe0", {}, UNSUPPORTED_FORMAT),
        ("leads.csv", b"", {}, "The submitted file is empty."),
        ("leads.xlsx", b"not a zip file", {}, "The file is not a readable .xlsx workbook."),
        ("leads.csv", csv_bytes(TRADE_SHOW), {"id_column": "Ref"}, ID_COLUMN_MISSING.format(column="Ref")),
    ],
)
def test_a_file_that_cannot_be_imported_gets_400_with_a_message(client, manager, name, content, fields, message):
    client.force_login(manager)
    response = upload(client, content, name=name, **fields)
    assert response.status_code == 400
    assert message.replace('"', "&quot;") in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_an_upload_over_the_limit_gets_413_before_it_is_read(client, manager, settings):
    settings.IMPORT_MAX_UPLOAD_SIZE = 10_000
    client.force_login(manager)
    response = upload(client, b"Email\n" + b"a@example.org\n" * 10_000)
    assert response.status_code == 413
    assert FILE_TOO_LARGE.format(limit=filesizeformat(10_000)) in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_reps_cannot_import(client, rep, manager):
    job = ImportJobFactory(file="imports/x.csv", original_name="x.csv", created_by=manager)
    client.force_login(rep)
    assert client.get("/imports/").status_code == 403
    assert upload(client, csv_bytes(TRADE_SHOW)).status_code == 403
    assert client.get(f"/imports/{job.pk}").status_code == 403
    assert client.get(f"/imports/{job.pk}/status").status_code == 403
    assert client.post(f"/imports/{job.pk}/run").status_code == 403
    assert client.get("/admin/leads/importjob/add/").status_code in (302, 403)
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_an_upload_without_the_csrf_token_is_refused(manager):
    """The view checks the size before anything reads the body, then runs the CSRF check itself."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    assert upload(client, csv_bytes(TRADE_SHOW)).status_code == 403
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_the_import_page_needs_a_login(client):
    response = client.get("/imports/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_the_list_of_recent_imports_takes_the_same_queries_for_one_or_many_jobs(
    client, manager, django_assert_num_queries
):
    client.force_login(manager)
    ImportJobFactory(file="imports/a.csv", original_name="a.csv", created_by=manager)
    client.get("/imports/")  # warm the session and the role cache
    with django_assert_num_queries(4) as one:  # + the static lists the form offers ("Add to list")
        client.get("/imports/")
    for n in range(5):
        ImportJobFactory(file=f"imports/{n}.csv", original_name=f"{n}.csv", created_by=manager)
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get("/imports/")
    assert response.content.decode().count("/imports/") >= 6


# --- Admin ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_manager_uploads_through_admin(client, manager):
    client.force_login(manager)
    assert client.get("/admin/leads/importjob/add/").status_code == 200
    response = client.post(
        "/admin/leads/importjob/add/",
        {
            "file": SimpleUploadedFile("admin.xlsx", xlsx_bytes(TRADE_SHOW)),
            "source_detail": "",
            "id_column": "",
        },
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}"
    assert job.created_by == manager
    import_leads_task(job.pk)
    assert Lead.objects.count() == 2
    assert client.get("/admin/leads/importjob/").status_code == 200
    change = client.get(f"/admin/leads/importjob/{job.pk}/change/")
    assert change.status_code == 200 and b"admin.xlsx" in change.content


@pytest.mark.django_db
def test_admin_refuses_an_unreadable_file_with_a_message(client, manager):
    client.force_login(manager)
    response = client.post("/admin/leads/importjob/add/", {"file": SimpleUploadedFile("x.txt", b"hello")})
    assert response.status_code == 200  # admin re-shows the form with the error
    assert UNSUPPORTED_FORMAT in response.content.decode()
    assert not ImportJob.objects.exists()


# --- A real worker -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_imports_an_uploaded_file_and_the_status_endpoint_says_done(celery_worker_live, client, manager):
    client.force_login(manager)
    rows = [
        ["Email", "Company", "Status"],
        *[[f"lead{n}@example.org", "Acme", "working"] for n in range(30)],
        ["bad", "", ""],
    ]
    upload(client, csv_bytes(rows), name="worker.csv")
    response = start(client)
    assert response.status_code == 302
    status_url = f"{response['Location']}/status"
    assert wait_for(lambda: client.get(status_url).json()["finished"], timeout=30), (
        "the worker never finished the import"
    )
    status = client.get(status_url).json()
    assert (status["status"], status["created"], status["rejected"], status["percent"]) == ("done", 30, 1, 100)
    assert Lead.objects.filter(status="active").count() == 30
    # The imported leads are processed in bulk by the same worker.
    assert wait_for(lambda: not Lead.objects.filter(processed_at__isnull=True).exists(), timeout=30), (
        "leads left unprocessed"
    )
