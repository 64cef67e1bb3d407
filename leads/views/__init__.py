"""Server-rendered lead pages. Thin: selectors read, services write."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .. import jobs
from ..capture.typed import lead_create
from ..common.pagination import MAX_PAGE_SIZE, FastCountPaginator
from ..enrichment.service import enrichment_accept, enrichment_dismiss
from ..events import note_added
from ..models import EnrichmentValue, Lead, unranked
from ..permissions import can_write, lead_visible_or_404
from ..roles import is_manager
from ..scoring.service import score_explain
from ..services import DuplicateLeadError, lead_update
from .forms import LeadForm, NoteForm
from .lead_page import lead_detail_view as page_view

DEFAULT_PAGE_SIZE = 25


def page_size_from(request: HttpRequest) -> int:
    try:
        size = int(request.GET.get("page_size", DEFAULT_PAGE_SIZE))
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return max(1, min(size, MAX_PAGE_SIZE))


def filtered_page(
    request: HttpRequest,
    filterset,
    *,
    page_size: int | None = None,
    matches_extra: tuple[str, ...] = (),
    probe_first_page: bool = False,
) -> dict:
    """The context of a filtered, paginated list: the filter (its form and errors), the page,
    the paginator (fast counts) and the query string without `page` for the page links.
    `matches_extra`: columns a small result's read brings along (FastCountPaginator);
    `probe_first_page`: look for page 1 among the newest rows first (leads.common.matches.walk_probe)."""
    queryset = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    paginator = FastCountPaginator(queryset, page_size or page_size_from(request))
    paginator.matches_source = unranked(queryset)  # (the same rows, read without the rank join)
    paginator.matches_extra = matches_extra
    paginator.first_page_wanted = probe_first_page and request.GET.get("page") in (None, "", "1")
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "filter": filterset,
        "page": paginator.get_page(request.GET.get("page")),
        "paginator": paginator,
        "query": query.urlencode(),
    }


def lead_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The lead page (leads/views/lead_page.py holds it and its actions)."""
    return page_view(request, pk)


@login_required
def lead_score_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Why this score: the rules that fired, the model's features, contributions that add up."""
    lead = lead_visible_or_404(request.user, pk)
    template = (
        "leads/_score_explanation.html" if request.htmx else "leads/lead_score.html"
    )  # htmx: the lead page's collapsible
    return render(request, template, {"lead": lead, "explanation": score_explain(lead=lead)})


@login_required
@require_POST
def lead_enrich_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue enrichment of one lead now (from the lead page)."""
    lead = lead_visible_or_404(request.user, pk)
    if not can_write(request.user):
        raise PermissionDenied
    jobs.enqueue("leads.enrichment.tasks.enrich_leads_task", [lead.pk])
    messages.success(request, "Enrichment queued; the profile updates in a moment.")
    return redirect(lead)


@login_required
@require_POST
def lead_suggestion_view(request: HttpRequest, pk: int, suggestion_id: int) -> HttpResponse:
    """A manager accepts or dismisses an enrichment suggestion that conflicts with a value."""
    lead = lead_visible_or_404(request.user, pk)
    if not is_manager(request.user):
        raise PermissionDenied
    suggestion = get_object_or_404(
        EnrichmentValue, pk=suggestion_id, lead=lead, status=EnrichmentValue.Status.SUGGESTED
    )
    if request.POST.get("action") == "accept":
        enrichment_accept(suggestion=suggestion, by=request.user)
        messages.success(request, f"{suggestion.field} updated.")
    else:
        enrichment_dismiss(suggestion=suggestion, by=request.user)
    return redirect(lead)


@login_required
def lead_create_view(request: HttpRequest) -> HttpResponse:
    if not can_write(request.user):
        raise PermissionDenied
    form = LeadForm(request.POST or None, user=request.user, initial={"source": Lead.Source.MANUAL})
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.fields}
        if not is_manager(request.user):
            data["owner"] = request.user
        try:
            lead = lead_create(data=data, by=request.user)
        except DuplicateLeadError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(request, "Lead created.")
            return redirect(lead)
    return render(request, "leads/lead_form.html", {"form": form, "lead": None}, status=400 if form.errors else 200)


@login_required
def lead_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_visible_or_404(request.user, pk)
    if not can_write(request.user):
        raise PermissionDenied
    form = LeadForm(request.POST or None, instance=Lead.objects.get(pk=lead.pk), user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            lead_update(lead=lead, data=form.changed_data_for_service(), by=request.user)
        except DuplicateLeadError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(request, "Lead saved.")
            return redirect(lead)
    return render(request, "leads/lead_form.html", {"form": form, "lead": lead}, status=400 if form.errors else 200)


@login_required
@require_POST
def lead_note_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_visible_or_404(request.user, pk)
    if not can_write(request.user):
        raise PermissionDenied
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The note was not saved: " + "; ".join(m for ms in form.errors.values() for m in ms))
        return redirect(lead)
    note_added(
        lead=lead,
        kind=form.cleaned_data["kind"],
        by=request.user,
        subject=form.cleaned_data["subject"],
        body=form.cleaned_data["body"],
    )
    messages.success(request, "Added to the timeline.")
    return redirect(lead)
