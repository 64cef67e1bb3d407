"""A big file is cleaned by a second process (cleaner.py): the leads, counts, skipped footer lines
and rejected rows are exactly those of the thread that cleans a small file, for a Salesforce report
(CSV, Windows-1252, its footer) and an XLSX file alike."""

import logging

import pytest

from leads.capture.importing import cleaner, import_file
from leads.models import CaptureRecord, ImportJob, Lead
from tests.leads.capture.importing.crm_exports import salesforce_report
from tests.leads.capture.importing.test_import import media_root, write_csv, write_xlsx  # noqa: F401 (autouse)

pytestmark = pytest.mark.django_db

FIELDS = ("email", "first_name", "last_name", "company", "phone", "country", "status", "created_at", "attributes")


def _snapshot(job: ImportJob) -> tuple:
    leads = sorted(Lead.objects.values_list(*FIELDS), key=lambda row: row[0])
    counts = (job.status, job.processed_rows, job.created_count, job.rejected_count, job.skipped_rows)
    return counts, sorted((e["line"], e["reason"]) for e in job.errors), leads


def _import_both_ways(path, monkeypatch, caplog) -> tuple[tuple, tuple]:
    """Import with the thread, forget the leads, import again with the process."""
    monkeypatch.setattr(cleaner, "PROCESS_MIN_ROWS", 10**9)
    by_thread = _snapshot(import_file(path=str(path), route_leads=False))
    CaptureRecord.objects.all().delete()
    Lead.objects.all().delete()
    monkeypatch.setattr(cleaner, "PROCESS_MIN_ROWS", 1)
    with caplog.at_level(logging.INFO, logger="leads.capture.importing.cleaner"):
        by_process = _snapshot(import_file(path=str(path), route_leads=False))
    assert "cleaned by process" in caplog.text
    return by_thread, by_process


def test_a_salesforce_report_cleaned_by_the_process_imports_as_by_the_thread(tmp_path, monkeypatch, caplog):
    header, rows, _ = salesforce_report(2500)  # three batches, and the report's footer lines
    rows[7][6] = "not-an-email"  # a rejected row, reported with its line
    path = write_csv(tmp_path / "report1.csv", [header, *rows], encoding="cp1252")

    by_thread, by_process = _import_both_ways(path, monkeypatch, caplog)

    assert by_process == by_thread
    (status, processed, created, rejected, skipped), errors, leads = by_process
    assert (status, rejected, skipped > 0) == ("done", 1, True) and errors[0][0] == 9
    assert created == processed - rejected == len(leads)


def test_an_xlsx_file_cleaned_by_the_process_keeps_its_typed_cells(tmp_path, monkeypatch, caplog):
    rows = [["Email", "Company", "Visits", "Created Date"]] + [
        [f"p{n}@xlsx.example", f"Firm {n}", n, "3/14/2025 9:05 AM"] for n in range(1, 40)
    ]
    path = write_xlsx(tmp_path / "people.xlsx", rows)

    by_thread, by_process = _import_both_ways(path, monkeypatch, caplog)

    assert by_process == by_thread
    lead = Lead.objects.get(email="p7@xlsx.example")
    assert lead.attributes["Visits"] == 7 and lead.created_at.minute == 5


def _cut_after_row(path, row: int):
    """The XLSX file with its sheet's XML cut off inside `row`: a file damaged past its header."""
    import zipfile

    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = next(name for name in parts if name.startswith("xl/worksheets/sheet"))
    xml = parts[sheet].decode()
    parts[sheet] = xml[: xml.index(f'<row r="{row}"') + 20].encode()
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def test_a_file_the_cleaner_process_cannot_read_fails_the_job_as_the_thread_does(tmp_path, monkeypatch, caplog):
    """openpyxl's parse error in the cleaner process reaches the importing process, which fails the
    job with the thread's message; nothing is half-written."""
    rows = [["Email", "Company"]] + [[f"p{n}@broken.example", f"Firm {n}"] for n in range(1, 60)]
    path = _cut_after_row(write_xlsx(tmp_path / "broken.xlsx", rows), 30)
    outcomes = []
    for threshold in (10**9, 1):  # the thread, then the process
        monkeypatch.setattr(cleaner, "PROCESS_MIN_ROWS", threshold)
        with caplog.at_level(logging.INFO, logger="leads.capture.importing.cleaner"):
            job = import_file(path=str(path), route_leads=False)
        outcomes.append((job.status, job.message.split(":")[0], job.processed_rows))
    assert outcomes[0] == outcomes[1] == ("failed", "The import stopped after 0 rows", 0)
    assert caplog.text.count("cleaned by process") == 1  # the second run, not the first
    assert not Lead.objects.exists()
