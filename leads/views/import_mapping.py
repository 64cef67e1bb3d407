"""The import's mapping step (a draft job: columns, preview, date order, routing), its rejected rows
as CSV, and a re-run with unknown statuses mapped. Thin: the work is in capture.importing.mapping."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..capture.importing import (
    SKIP,
    TARGET_LABELS,
    ImportFileError,
    import_job_confirm,
    import_job_preview,
    import_job_rerun,
    import_rejected_rows,
)
from ..capture.importing.columns import ATTRIBUTE_PREFIX
from ..capture.importing.mapping import apply_choices, import_job_headers
from ..common.exporting import rows_export_response
from ..models import ImportJob
from .imports import _require_importer

PREVIEW_FIELDS = (
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("company", "Company"),
    ("job_title", "Title"),
    ("website", "Website"),
    ("city", "City"),
    ("region", "Region"),
    ("country", "Country"),
    ("source_detail", "Source"),
)


def _choices_from(request: HttpRequest, job: ImportJob) -> dict[str, str]:
    """The form names columns by their position in the file (a header may hold any character)."""
    chosen = {}
    for position, header in enumerate(import_job_headers(job=job)):
        value = request.POST.get(f"column-{position}")
        if value is not None:
            chosen[header] = value
    return chosen


def _status_map_from(request: HttpRequest, prefix: str = "status-") -> dict[str, str]:
    values = request.POST.getlist(f"{prefix}value")
    targets = request.POST.getlist(f"{prefix}target")
    return {value: target for value, target in zip(values, targets) if target}


def _render_mapping(request: HttpRequest, job: ImportJob, *, error: str = "", status: int = 200) -> HttpResponse:
    try:
        preview = import_job_preview(job=job)
    except ImportFileError as exc:
        preview, error = None, exc.message
    columns = []
    for position, header in enumerate(preview.headers if preview else list(job.column_map)):
        current = preview.columns.get(header, job.column_map[header]) if preview else job.column_map[header]
        attribute = f"{ATTRIBUTE_PREFIX}{header}"
        options = [(attribute, "Keep as a custom attribute"), (SKIP, "Do not import"), *TARGET_LABELS.items()]
        columns.append(
            {
                "position": position,
                "header": header,
                "current": current,
                "options": options,
                "sample": preview.samples.get(header, "") if preview else "",
            }
        )
    rows = []
    for row in preview.rows if preview else []:
        fields = row.fields
        rows.append(
            {
                "line": row.line,
                "error": row.error,
                "status": row.status or ("new" if not row.error else ""),
                "unknown_status": row.unknown_status,
                "owner": row.owner,
                "created_at": row.created_at,
                "values": [fields.get(name, "") for name, _ in PREVIEW_FIELDS],
                "attributes": fields.get("attributes") or {},
            }
        )
    return render(
        request,
        "leads/import_mapping.html",
        {
            "job": job,
            "columns": columns,
            "rows": rows,
            "preview_fields": [label for _, label in PREVIEW_FIELDS],
            "skipped": preview.skipped if preview else 0,
            "error": error,
            "date_orders": ImportJob.DateOrder.choices,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_mapping_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the detected mapping and a preview. POST: refresh the preview with the choices, or start."""
    _require_importer(request)
    job = get_object_or_404(ImportJob, pk=pk)
    if job.status != ImportJob.Status.DRAFT:
        return redirect("leads:import_detail", pk=job.pk)
    if request.method == "GET":
        return _render_mapping(request, job)
    choices = _choices_from(request, job)
    date_order = request.POST.get("date_order", "")
    route_leads = request.POST.get("route_leads") == "on"
    try:
        if request.POST.get("action") == "start":
            job = import_job_confirm(
                job=job, by=request.user, column_choices=choices, date_order=date_order, route_leads=route_leads
            )
            return redirect("leads:import_detail", pk=job.pk)
        apply_choices(job=job, column_choices=choices, status_map=None, date_order=date_order)
        job.route_leads = route_leads
        job.save(update_fields=["column_choices", "date_order", "route_leads"])
    except ImportFileError as exc:
        return _render_mapping(request, job, error=exc.message, status=400)
    return _render_mapping(request, job)


@login_required
@require_POST
def import_rerun_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Map the statuses a finished import did not know and take its file to the mapping step again."""
    _require_importer(request)
    job = get_object_or_404(ImportJob, pk=pk)
    try:
        draft = import_job_rerun(job=job, by=request.user, status_map=_status_map_from(request))
    except ImportFileError as exc:
        messages.error(request, exc.message)
        return redirect("leads:import_detail", pk=job.pk)
    return redirect("leads:import_mapping", pk=draft.pk)


@login_required
@require_GET
def import_rejected_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The rejected rows as the file had them, with a Reason column (formula-neutralised by exporting)."""
    _require_importer(request)
    job = get_object_or_404(ImportJob, pk=pk)
    try:
        header, rows = import_rejected_rows(job=job)
    except (ImportFileError, OSError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return redirect("leads:import_detail", pk=job.pk)
    stem = (job.original_name.rsplit(".", 1)[0] or "import")[:80]
    return rows_export_response(header=header, rows=rows, fmt="csv", filename=f"{stem}-rejected")
