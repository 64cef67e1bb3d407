"""Progress of a bulk rescore (a status row the page polls; works without JavaScript)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from ..common.http import wants_json
from ..models import ScoreJob
from ..roles import is_manager


@login_required
def score_job_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not is_manager(request.user):
        raise PermissionDenied
    job = get_object_or_404(ScoreJob, pk=pk)
    if wants_json(request) or request.GET.get("format") == "json":
        return JsonResponse(
            {
                "status": job.status,
                "processed": job.processed,
                "total": job.total,
                "percent": job.progress_percent,
                "message": job.message,
            }
        )
    return render(
        request,
        "leads/score_job.html",
        {"job": job, "running": job.status in (ScoreJob.Status.PENDING, ScoreJob.Status.RUNNING)},
    )
