"""Import pages: upload a CSV/XLSX file, check and change the column mapping on a preview, follow
the job's progress bar, read its report (rejected rows as CSV, unknown statuses to map and re-run).
Managers and marketers import; everyone else gets 403."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..capture.importing import (
    ImportFileError,
    import_check_name,
    import_job_draft,
    import_job_repeat,
    import_jobs_recent,
    import_too_large_message,
    import_upload_limit,
)
from ..models import ImportJob, Lead, Segment
from ..permissions import can_import

POLL_SECONDS = 2


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        help_text="A .csv or .xlsx file whose first row names the columns.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )
    source_detail = forms.CharField(
        label="Source",
        required=False,
        max_length=200,
        help_text="Source detail for every row (otherwise the file's Lead Source column, or the file name).",
    )
    id_column = forms.CharField(
        label="Id column",
        required=False,
        max_length=100,
        help_text="A column holding a stable id, kept as the external id: rows without email or phone "
        "are matched by it, and for leads it matches, the file's values win.",
    )
    dry_run = forms.BooleanField(
        label="Dry run",
        required=False,
        help_text="Show what would be created, updated and rejected; change nothing.",
    )
    add_to_list = forms.ModelChoiceField(
        label="Add to list",
        required=False,
        queryset=Segment.objects.filter(kind=Segment.Kind.STATIC).order_by("name"),
        help_text="A static list every imported lead joins (new and existing leads alike).",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            import_check_name(name=upload.name)
        except ImportFileError as exc:
            raise forms.ValidationError(exc.message) from exc
        if upload.size > import_upload_limit():
            raise forms.ValidationError(import_too_large_message())
        return upload


def _require_importer(request: HttpRequest) -> None:
    if not can_import(request.user):
        raise PermissionDenied


def _too_large(request: HttpRequest) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > import_upload_limit() + 64 * 1024
    except ValueError:
        return False


@csrf_exempt  # checked by csrf_protect below, once the size is known to be acceptable
@login_required
@require_http_methods(["GET", "POST"])
def import_list_view(request: HttpRequest) -> HttpResponse:
    """Refuse an oversized upload before anything reads its body (the CSRF check would)."""
    _require_importer(request)
    if request.method == "POST" and _too_large(request):
        return _render_list(request, ImportUploadForm(), status=413, error=import_too_large_message())
    return _import_list(request)


@csrf_protect
def _import_list(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = import_job_draft(
                upload=form.cleaned_data["file"],
                by=request.user,
                source_detail=form.cleaned_data["source_detail"],
                id_column=form.cleaned_data["id_column"],
                dry_run=form.cleaned_data["dry_run"],
                add_to_list=form.cleaned_data["add_to_list"],
            )
        except ImportFileError as exc:
            form.add_error(exc.field, exc.message)
        else:
            return redirect("leads:import_mapping", pk=job.pk)
    return _render_list(request, form, status=400 if form.errors else 200)


def _render_list(request: HttpRequest, form: ImportUploadForm, *, status: int, error: str = "") -> HttpResponse:
    return render(
        request,
        "leads/import_list.html",
        {"form": form, "error": error, "jobs": import_jobs_recent(limit=20)},
        status=status,
    )


@login_required
@require_GET
def import_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_importer(request)
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)
    if job.status == ImportJob.Status.DRAFT:
        return redirect("leads:import_mapping", pk=job.pk)
    finished = job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED)
    unknown = job.unknown_values or {}
    return render(
        request,
        "leads/import_detail.html",
        {
            "job": job,
            "finished": finished,
            "poll_seconds": POLL_SECONDS,
            "column_map": sorted(job.column_map.items()),
            "unknown_statuses": sorted((unknown.get("status") or {}).items()),
            "unknown_owners": sorted((unknown.get("owner") or {}).items()),
            "statuses": Lead.Status.choices,
        },
    )


def import_status_json(job: ImportJob) -> dict:
    """The job's progress as the page's script reads it."""
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": job.get_status_display(),
        "finished": job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED),
        "dry_run": job.dry_run,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "percent": job.progress_percent,
        "created": job.created_count,
        "updated": job.updated_count,
        "rejected": job.rejected_count,
        "message": job.message,
    }


@login_required
@require_GET
def import_status_view(request: HttpRequest, pk: int) -> JsonResponse:
    _require_importer(request)
    job = get_object_or_404(
        ImportJob.objects.only(
            "status",
            "dry_run",
            "total_rows",
            "processed_rows",
            "created_count",
            "updated_count",
            "rejected_count",
            "message",
        ),
        pk=pk,
    )
    response = JsonResponse(import_status_json(job))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def import_run_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Run a dry run's file for real."""
    _require_importer(request)
    job = get_object_or_404(ImportJob, pk=pk)
    try:
        real = import_job_repeat(job=job, by=request.user)
    except ImportFileError as exc:
        messages.error(request, exc.message)
        return redirect("leads:import_detail", pk=job.pk)
    return redirect("leads:import_detail", pk=real.pk)
