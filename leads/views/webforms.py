"""The web forms page for managers: each form's counts, and the held submissions to release."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..capture.webform_submissions import held_submission_release, held_submissions, web_form_stats
from ..roles import is_manager


def _require_manager(request: HttpRequest) -> None:
    if not is_manager(request.user):
        raise PermissionDenied


@login_required
def web_form_list_view(request: HttpRequest) -> HttpResponse:
    """Each form's submissions, held and refused counts; the held submissions with their reason."""
    _require_manager(request)
    return render(request, "leads/web_forms.html", {"web_forms": web_form_stats(), "held": held_submissions()})


@login_required
@require_POST
def held_submission_release_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Release a held submission: it is captured like any other (and makes or updates a lead)."""
    _require_manager(request)
    try:
        result = held_submission_release(record_id=pk, by=request.user)
    except ValidationError as exc:  # CaptureRejected included: the payload fails the form's checks
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Released: %(lead)s is in the pipeline.") % {"lead": result.lead})
    return redirect("leads:web_forms")
