"""The mapping step before an import runs, and what its report offers afterwards.

An upload from the import page is stored as a draft job; the page shows the detected mapping per
column (changeable), a preview of the first rows as they will land, the date order and whether
the leads are routed to reps; confirming starts the job. Afterwards: the rejected rows as a CSV
with a reason column, and a re-run with the statuses the import did not know mapped."""

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.files import File
from django.db import connection
from django.db.models import IntegerField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from ...models import CaptureRecord, ImportJob, Lead
from .cleaner import import_rows_clean
from .columns import import_columns, import_columns_choose, import_inspect
from .crm_formats import CREATED
from .dates import import_date_order_guess
from .files import ImportFileError, import_sheet
from .jobs import import_job_start, import_too_large_message, import_upload_limit
from .rows import ImportRow, RowRules
from .statuses import status_key

NOT_A_DRAFT = "This import has started already: its mapping cannot change."
UNKNOWN_STATUS_TARGET = 'Status "{value}" cannot become "{target}".'

PREVIEW_ROWS = 10
GUESS_ROWS = 200  # rows read to guess the date order


@dataclass
class Preview:
    """The first rows as they will land, and what the mapping step shows beside them."""

    headers: list[str]
    columns: dict[str, str]
    samples: dict[str, str] = field(default_factory=dict)  # column -> its first value
    rows: list[ImportRow] = field(default_factory=list)
    skipped: int = 0


def import_job_draft(
    *,
    upload: File,
    by: User | None,
    source_detail: str = "",
    id_column: str = "",
    dry_run: bool = False,
    add_to_list=None,
) -> ImportJob:
    """Store an uploaded file as a draft job for the mapping step (ImportFileError if it cannot be read);
    the date order is guessed from the file's created dates."""
    name = os.path.basename(upload.name or "")
    if getattr(upload, "size", 0) and upload.size > import_upload_limit():
        raise ImportFileError(import_too_large_message())
    job = ImportJob(
        file=upload,
        original_name=name[:255],
        source_detail=source_detail.strip(),
        id_column=id_column.strip(),
        dry_run=dry_run,
        add_to_list=add_to_list,
        status=ImportJob.Status.DRAFT,
        created_by=by if by is not None and by.is_authenticated else None,
    )
    job.column_map = import_inspect(fileobj=upload, name=name, id_column=job.id_column)
    job.date_order = _date_order_guess(upload, name, job.column_map)
    job.save()
    return job


def _date_order_guess(fileobj: Any, name: str, columns: dict[str, str]) -> str:
    dated = [header for header, target in columns.items() if target == CREATED]
    if not dated:
        return ImportJob.DateOrder.MONTH_FIRST
    with import_sheet(fileobj=fileobj, name=name) as sheet:
        positions = [sheet.headers.index(header) for header in dated]
        values = []
        for count, row in enumerate(sheet.rows):
            if count >= GUESS_ROWS:
                break
            values.extend(str(row.cells[p]) for p in positions if p < len(row.cells) and row.cells[p])
    return import_date_order_guess(values)


def _open(job: ImportJob) -> Any:
    """A file object of its own on the stored file: the job's FieldFile stays as it is (closing that one
    would leave import_job_start a closed file)."""
    return job.file.storage.open(job.file.name, "rb")


def _rules(job: ImportJob) -> RowRules:
    return RowRules(status_map=job.status_map or {}, date_order=job.date_order)


def import_job_preview(*, job: ImportJob, rows: int = PREVIEW_ROWS) -> Preview:
    """The job's first rows cleaned with its current mapping, as they will land."""
    name = job.original_name or os.path.basename(job.file.name or "")
    with _open(job) as fileobj, import_sheet(fileobj=fileobj, name=name) as sheet:
        detected = import_columns(headers=sheet.headers, id_column=job.id_column)
        columns = import_columns_choose(headers=sheet.headers, detected=detected, chosen=job.column_choices or {})
        preview = Preview(headers=sheet.headers, columns=columns)
        skipped: list[int] = []
        for row in import_rows_clean(sheet, columns=columns, rules=_rules(job), skipped=skipped):
            for header in sheet.headers:
                if header in row.payload and header not in preview.samples:
                    preview.samples[header] = str(row.payload[header])[:80]
            preview.rows.append(row)
            if len(preview.rows) >= rows:
                break
        preview.skipped = len(skipped)
    return preview


def import_job_headers(*, job: ImportJob) -> list[str]:
    """The file's column names in the file's order (the job's JSON maps do not keep an order)."""
    name = job.original_name or os.path.basename(job.file.name or "")
    with _open(job) as fileobj, import_sheet(fileobj=fileobj, name=name) as sheet:
        return sheet.headers


def _clean_status_map(mapping: dict[str, str]) -> dict[str, str]:
    cleaned = {}
    for value, target in mapping.items():
        if not target:
            continue
        if target not in Lead.Status.values:
            raise ImportFileError(UNKNOWN_STATUS_TARGET.format(value=value, target=target), field="status_map")
        cleaned[status_key(value)] = target
    return cleaned


def import_job_confirm(
    *,
    job: ImportJob,
    by: User | None,
    column_choices: dict[str, str],
    status_map: dict[str, str] | None = None,
    date_order: str = "",
    route_leads: bool = True,
) -> ImportJob:
    """Apply the mapping step's choices to a draft job and start it."""
    if job.status != ImportJob.Status.DRAFT:
        raise ImportFileError(NOT_A_DRAFT)
    apply_choices(job=job, column_choices=column_choices, status_map=status_map, date_order=date_order)
    job.route_leads = route_leads
    return import_job_start(job=job, by=by)


def apply_choices(
    *, job: ImportJob, column_choices: dict[str, str], status_map: dict[str, str] | None, date_order: str
) -> None:
    """Check and keep the mapping step's choices on the job (ImportFileError names a bad one)."""
    headers = list(job.column_map)
    import_columns_choose(headers=headers, detected=dict(job.column_map), chosen=column_choices)
    job.column_choices = {header: target for header, target in column_choices.items() if header in job.column_map}
    if status_map is not None:
        job.status_map = {**(job.status_map or {}), **_clean_status_map(status_map)}
    if date_order in ImportJob.DateOrder.values:
        job.date_order = date_order


def import_job_rerun(*, job: ImportJob, by: User | None, status_map: dict[str, str]) -> ImportJob:
    """A draft of a finished job's file with the same options and more statuses mapped: confirming it
    imports the file again, which updates the leads the first run made (nothing is duplicated)."""
    draft = ImportJob(
        file=job.file.name,
        original_name=job.original_name,
        source_detail=job.source_detail,
        id_column=job.id_column,
        column_map=job.column_map,
        column_choices=job.column_choices,
        status_map={**(job.status_map or {}), **_clean_status_map(status_map)},
        date_order=job.date_order,
        route_leads=job.route_leads,
        dry_run=job.dry_run,
        add_to_list_id=job.add_to_list_id,
        status=ImportJob.Status.DRAFT,
        created_by=by if by is not None and by.is_authenticated else None,
    )
    draft.save()
    return draft


def import_rejected_rows(*, job: ImportJob) -> tuple[list[str], Iterator[list[Any]]]:
    """Every rejected row of a finished job as the file had it, with its line and reason: the file is
    read and cleaned again with the job's mapping (the cleaning alone rejects rows), streamed."""
    name = job.original_name or os.path.basename(job.file.name or "")
    with _open(job) as fileobj, import_sheet(fileobj=fileobj, name=name) as sheet:
        headers = sheet.headers
    header = ["Line", *headers, "Reason"]

    def rows() -> Iterator[list[Any]]:
        with _open(job) as fileobj, import_sheet(fileobj=fileobj, name=name) as sheet:
            columns = import_columns_choose(
                headers=sheet.headers,
                detected=import_columns(headers=sheet.headers, id_column=job.id_column),
                chosen=job.column_choices or {},
            )
            for row in import_rows_clean(sheet, columns=columns, rules=_rules(job)):
                if row.error:
                    yield [row.line, *(row.payload.get(h, "") for h in headers), row.error]

    return header, rows()


def import_routing_held(*, lead_id: int) -> bool:
    """Whether the lead's latest capture is an import that asked not to route its leads to reps."""
    latest = (
        CaptureRecord.objects.filter(lead_id=lead_id)
        .order_by("-received_at", "-pk")
        .annotate(job_id=Cast(KeyTextTransform("import_job", "payload"), IntegerField()))
        .values_list("job_id", flat=True)[:1]
    )
    job_id = next(iter(latest), None)
    return job_id is not None and ImportJob.objects.filter(pk=job_id, route_leads=False).exists()


def import_routing_held_many(*, lead_ids: list[int]) -> set[int]:
    """The leads among `lead_ids` whose routing is held (import_routing_held for a batch: the
    pipeline's batch path); one query when no import ever held its routing."""
    if not ImportJob.objects.filter(route_leads=False).exists():
        return set()
    if connection.vendor != "postgresql":
        return {pk for pk in lead_ids if import_routing_held(lead_id=pk)}
    latest = (
        CaptureRecord.objects.filter(lead_id__in=lead_ids)
        .order_by("lead_id", "-received_at", "-pk")
        .distinct("lead_id")
        .annotate(job_id=Cast(KeyTextTransform("import_job", "payload"), IntegerField()))
        .values_list("lead_id", "job_id")
    )
    job_of = {lead_id: job_id for lead_id, job_id in latest if job_id is not None}
    held = set(ImportJob.objects.filter(pk__in=set(job_of.values()), route_leads=False).values_list("pk", flat=True))
    return {lead_id for lead_id, job_id in job_of.items() if job_id in held}
