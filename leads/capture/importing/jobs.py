"""Import jobs: who may import, starting, claiming and running a job (the file streamed in batches,
cleaned ahead by a thread or a second process: cleaner.py), with its progress kept on the ImportJob
row the UI polls."""

import logging
import os
import zipfile
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from xml.etree.ElementTree import ParseError

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Q, QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from ... import jobs
from ...common.bulk import statistics_refresh
from ...models import ImportJob, Lead
from ...privacy import tombstones
from .cleaner import cleaned
from .columns import import_columns, import_columns_choose, import_inspect
from .files import ImportFileError, Sheet, import_sheet
from .owners import import_owners_index
from .rows import RowRules
from .writer import ImportSettings, RowOutcome, import_batch

logger = logging.getLogger(__name__)

# Messages users can act on (tests assert on them).
FILE_TOO_LARGE = "The file is larger than {limit}."
IMPORT_FAILED = "The import stopped after {rows} rows: {error}"
NOT_A_DRY_RUN = "Only a dry run can be run for real."

ERRORS_KEPT = 1000  # rejected rows listed on the job (all are counted)
UNKNOWN_KEPT = 200  # distinct unknown statuses and owners listed per kind (a column of ids is not a status)
STALE_AFTER = timedelta(hours=1)  # longer than the import task's time limit


# --- Running a job ------------------------------------------------------------------------------


class _Progress:
    """Writes a job's counters after each batch. A dry run holds one transaction that is rolled
    back at the end, so on PostgreSQL it reports through a second connection the UI can see."""

    FIELDS = ("processed_rows", "created_count", "updated_count", "rejected_count")

    def __init__(self, job: ImportJob):
        self.job = job
        self.side = None
        if job.pk and job.dry_run and connection.vendor == "postgresql":
            self.side = connections.create_connection(connection.alias)

    def save(self) -> None:
        job = self.job
        if not job.pk:
            return
        if self.side is None:
            ImportJob.objects.filter(pk=job.pk).update(
                **{name: getattr(job, name) for name in (*self.FIELDS, "errors")}
            )
            return
        quote = self.side.ops.quote_name
        assignments = ", ".join(f"{quote(ImportJob._meta.get_field(name).column)} = %s" for name in self.FIELDS)
        with self.side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(ImportJob._meta.db_table)} SET {assignments} WHERE id = %s",  # noqa: S608 (names are ours)
                [*(getattr(job, name) for name in self.FIELDS), job.pk],
            )

    def close(self) -> None:
        if self.side is not None:
            self.side.close()


def _unknown(job: ImportJob, kind: str, value: str) -> None:
    values = job.unknown_values.setdefault(kind, {})
    if value in values or len(values) < UNKNOWN_KEPT:
        values[value] = values.get(value, 0) + 1


def _count(job: ImportJob, outcomes: list[RowOutcome]) -> None:
    for outcome in outcomes:
        job.processed_rows += 1
        if outcome.row.unknown_status:
            _unknown(job, "status", outcome.row.unknown_status)
        if outcome.unknown_owner:
            _unknown(job, "owner", outcome.unknown_owner)
        if outcome.lead is None:
            job.rejected_count += 1
            if len(job.errors) < ERRORS_KEPT:
                job.errors.append({"line": outcome.row.line, "reason": outcome.row.error})
        elif outcome.created:
            job.created_count += 1
        else:
            job.updated_count += 1


def _run_rows(
    sheet: Sheet,
    *,
    columns: dict[str, str],
    options: ImportSettings,
    progress: _Progress,
    on_row: Callable[[RowOutcome], None] | None,
    path: str | None = None,
    name: str = "",
) -> None:
    job, skipped = options.job, 0
    rules = RowRules(status_map=job.status_map or {}, date_order=job.date_order)
    for batch, skipped_lines in cleaned(sheet, columns=columns, rules=rules, path=path, name=name):
        skipped += len(skipped_lines)
        tombstones.import_rows_refuse(rows=batch)  # erased people are not imported again
        outcomes = import_batch(rows=batch, options=options)
        if not options.dry_run:
            # The next batch's lookups are planned from the lead table's statistics: a big import
            # into a small table left them saying "a few rows", and 100,000 Salesforce rows took
            # 144 s instead of 56 (whole indexes read per batch). ANALYZE whenever it grew by half.
            statistics_refresh(Lead)
        _count(options.job, outcomes)
        job.skipped_rows = skipped
        progress.save()
        if on_row:
            for outcome in outcomes:
                on_row(outcome)
    job.skipped_rows = skipped


def _local_path(job: ImportJob) -> str | None:
    """The job's stored file on this machine's disk, for the cleaner process (None: remote storage)."""
    try:
        return job.file.path if job.file else None
    except NotImplementedError:  # a storage without local paths (S3 and the like)
        return None


def _job_save(job: ImportJob, *fields: str) -> None:
    if job.pk:
        job.save(update_fields=list(fields))


def import_run(*, job: ImportJob, fileobj: Any = None, on_row: Callable[[RowOutcome], None] | None = None) -> ImportJob:
    """Run an import job: stream its file, write leads in batches, keep the progress and the
    rejected rows on the job, and finish it as done or failed (a dry run writes nothing)."""
    name = job.original_name or os.path.basename(job.file.name or "")
    job.status, job.started_at, job.finished_at = ImportJob.Status.RUNNING, job.started_at or timezone.now(), None
    job.processed_rows = job.created_count = job.updated_count = job.rejected_count = 0
    job.errors, job.message, job.unknown_values, job.skipped_rows = [], "", {}, 0
    options = ImportSettings(
        job=job,
        override=job.source_detail,
        default=name,
        actor_id=job.created_by_id,
        dry_run=job.dry_run,
        owners=import_owners_index(),
    )
    progress = _Progress(job)
    own_file = fileobj is None
    try:
        if own_file:
            fileobj = job.file.open("rb")
        with import_sheet(fileobj=fileobj, name=name) as sheet:
            detected = import_columns(headers=sheet.headers, id_column=job.id_column)
            columns = import_columns_choose(headers=sheet.headers, detected=detected, chosen=job.column_choices or {})
            job.column_map, job.total_rows = columns, sheet.estimate
            _job_save(
                job,
                "status",
                "started_at",
                "finished_at",
                "total_rows",
                "column_map",
                "processed_rows",
                "created_count",
                "updated_count",
                "rejected_count",
                "errors",
                "message",
            )
            # A big file on this machine's disk is cleaned by a second process (cleaner.py).
            path = _local_path(job) if own_file and connection.vendor == "postgresql" else None
            if job.dry_run:
                with transaction.atomic():
                    _run_rows(sheet, columns=columns, options=options, progress=progress, on_row=on_row)
                    transaction.set_rollback(True)
            else:
                _run_rows(
                    sheet, columns=columns, options=options, progress=progress, on_row=on_row, path=path, name=name
                )
        job.status = ImportJob.Status.DONE
        job.total_rows = job.processed_rows
    except ImportFileError as exc:
        job.status, job.message = ImportJob.Status.FAILED, exc.message
    except (DatabaseError, OSError, ValueError, KeyError, zipfile.BadZipFile, ParseError, ValidationError) as exc:
        logger.exception("import job %s failed", job.pk)
        job.status = ImportJob.Status.FAILED
        job.message = IMPORT_FAILED.format(rows=job.processed_rows, error=exc)
    except BaseException:
        # Anything else (a bug, the task's time limit): the job must not stay "running"; re-raised.
        job.status, job.message = (
            ImportJob.Status.FAILED,
            IMPORT_FAILED.format(rows=job.processed_rows, error="an internal error"),
        )
        job.finished_at = timezone.now()
        _job_save(
            job,
            "status",
            "message",
            "finished_at",
            "processed_rows",
            "created_count",
            "updated_count",
            "rejected_count",
            "errors",
        )
        raise
    finally:
        progress.close()
        if own_file and job.file:
            job.file.close()
    job.finished_at = timezone.now()
    _job_save(
        job,
        "status",
        "total_rows",
        "processed_rows",
        "created_count",
        "updated_count",
        "rejected_count",
        "errors",
        "message",
        "finished_at",
        "unknown_values",
        "skipped_rows",
    )
    return job


# --- Jobs: who may import, starting, claiming ---------------------------------------------------


def import_upload_limit() -> int:
    """The largest file an import takes, in bytes (settings.IMPORT_MAX_UPLOAD_SIZE)."""
    return int(getattr(settings, "IMPORT_MAX_UPLOAD_SIZE", 200 * 1024 * 1024))


def import_too_large_message() -> str:
    return FILE_TOO_LARGE.format(limit=filesizeformat(import_upload_limit()))


def import_job_start(*, job: ImportJob, by: User | None) -> ImportJob:
    """Check the header of an unsaved job's file, store the job and its file, and enqueue the
    import after commit (admin and the upload page both come here)."""
    upload = job.file.file
    name = os.path.basename(job.original_name or getattr(upload, "name", "") or job.file.name)
    if getattr(upload, "size", 0) and upload.size > import_upload_limit():
        raise ImportFileError(import_too_large_message())
    job.column_map = import_inspect(fileobj=upload, name=name, id_column=job.id_column)
    job.original_name = name[:255]
    job.created_by = by if by is not None and by.is_authenticated else None
    job.status = ImportJob.Status.PENDING
    with transaction.atomic():
        job.save()
        jobs.enqueue("leads.capture.tasks.import_leads_task", job.pk)
    return job


def import_job_create(
    *,
    upload: File,
    by: User | None,
    source_detail: str = "",
    id_column: str = "",
    dry_run: bool = False,
    add_to_list=None,
) -> ImportJob:
    """Create an import job from an uploaded file and enqueue it (ImportFileError if the file cannot be read);
    with `add_to_list` (a static Segment), every imported lead joins that list."""
    job = ImportJob(
        file=upload,
        original_name=os.path.basename(upload.name or ""),
        source_detail=source_detail.strip(),
        id_column=id_column.strip(),
        dry_run=dry_run,
        add_to_list=add_to_list,
    )
    return import_job_start(job=job, by=by)


def import_job_repeat(*, job: ImportJob, by: User | None) -> ImportJob:
    """Run a dry run's file for real: a new job on the same stored file with the same options."""
    if not job.dry_run:
        raise ImportFileError(NOT_A_DRY_RUN)
    real = ImportJob(
        file=job.file.name,
        original_name=job.original_name,
        source_detail=job.source_detail,
        id_column=job.id_column,
        column_map=job.column_map,
        dry_run=False,
        add_to_list_id=job.add_to_list_id,
        created_by=by if by is not None and by.is_authenticated else None,
        column_choices=job.column_choices,
        status_map=job.status_map,
        date_order=job.date_order,
        route_leads=job.route_leads,
    )
    with transaction.atomic():
        real.save()
        jobs.enqueue("leads.capture.tasks.import_leads_task", real.pk)
    return real


def import_job_claim(*, job_id: int) -> ImportJob | None:
    """Take a waiting job for running (exactly one worker wins), or None if it is not waiting. A job
    left running longer than any run may last lost its worker: it is taken again (imports repeat safely)."""
    now = timezone.now()
    waiting = Q(status=ImportJob.Status.PENDING) | Q(status=ImportJob.Status.RUNNING, started_at__lt=now - STALE_AFTER)
    claimed = ImportJob.objects.filter(waiting, pk=job_id).update(status=ImportJob.Status.RUNNING, started_at=now)
    return ImportJob.objects.get(pk=job_id) if claimed else None


def import_job_fail(*, job_id: int, message: str) -> None:
    """Mark a job failed (the task ran out of time, or its file is gone)."""
    ImportJob.objects.filter(pk=job_id).exclude(status=ImportJob.Status.DONE).update(
        status=ImportJob.Status.FAILED, message=message, finished_at=timezone.now()
    )


def import_file(
    *,
    path: str,
    source_detail: str = "",
    id_column: str = "",
    dry_run: bool = False,
    by: User | None = None,
    on_row: Callable[[RowOutcome], None] | None = None,
    date_order: str = ImportJob.DateOrder.MONTH_FIRST,
    route_leads: bool = True,
) -> ImportJob:
    """Import a file from disk now, in this process (the import_leads command). A real run keeps a
    job and a copy of the file as its record; a dry run keeps nothing."""
    name = os.path.basename(path)
    with open(path, "rb") as fileobj:
        job = ImportJob(
            original_name=name[:255],
            source_detail=source_detail.strip(),
            id_column=id_column.strip(),
            dry_run=dry_run,
            created_by=by,
            status=ImportJob.Status.RUNNING,
            date_order=date_order,
            route_leads=route_leads,
        )
        job.column_map = import_inspect(fileobj=fileobj, name=name, id_column=job.id_column)
        if dry_run:
            return import_run(job=job, fileobj=fileobj, on_row=on_row)
        job.file.save(name, File(fileobj, name=name), save=False)
        job.started_at = timezone.now()
        job.save()
    return import_run(job=job, on_row=on_row)


def import_jobs_recent(*, limit: int = 20) -> QuerySet[ImportJob]:
    """The latest import jobs, newest first, with who started them."""
    return ImportJob.objects.select_related("created_by").order_by("-created_at")[:limit]
