"""Managers review possible duplicates and merge them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from ..capture.duplicates import MERGE_FIELDS, lead_merge
from ..common.pagination import FastCountPaginator
from ..models import PossibleDuplicate
from ..roles import is_manager

COMPARED_FIELDS = [name for name in MERGE_FIELDS if name not in ("owner", "team")] + ["owner", "team"]


def _manager_only(request: HttpRequest) -> None:
    if not is_manager(request.user):
        raise PermissionDenied


@login_required
def duplicate_list_view(request: HttpRequest) -> HttpResponse:
    _manager_only(request)
    pairs = PossibleDuplicate.objects.filter(status=PossibleDuplicate.Status.OPEN).select_related("lead", "other")
    page = FastCountPaginator(pairs.order_by("-detected_at", "-id"), 50).get_page(request.GET.get("page"))
    return render(request, "leads/duplicate_list.html", {"page": page, "paginator": page.paginator, "query": ""})


@login_required
def duplicate_merge_view(request: HttpRequest, pk: int) -> HttpResponse:
    _manager_only(request)
    pair = get_object_or_404(
        PossibleDuplicate.objects.select_related("lead__owner", "other__owner", "lead__team", "other__team"),
        pk=pk,
        status=PossibleDuplicate.Status.OPEN,
    )
    if request.method == "POST":
        if request.POST.get("action") == "dismiss":
            pair.status = PossibleDuplicate.Status.DISMISSED
            pair.resolved_by, pair.resolved_at = request.user, timezone.now()
            pair.save(update_fields=["status", "resolved_by", "resolved_at"])
            messages.success(request, "Marked as not a duplicate.")
            return redirect("leads:duplicates")
        keep, merge = (pair.lead, pair.other) if request.POST.get("keep") != "other" else (pair.other, pair.lead)
        picks = {}
        for name in COMPARED_FIELDS:
            choice = request.POST.get(f"pick_{name}")
            if choice in ("lead", "other"):
                picks[name] = "keep" if getattr(pair, choice).pk == keep.pk else "merge"
        kept = lead_merge(keep=keep, merge=merge, by=request.user, picks=picks)
        messages.success(request, f"Merged into {kept}.")
        return redirect(kept)
    rows = [(name, getattr(pair.lead, name), getattr(pair.other, name)) for name in COMPARED_FIELDS]
    return render(request, "leads/duplicate_merge.html", {"pair": pair, "rows": rows})
