"""Server-rendered lead pages. Thin: selectors read, services write."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ..enrichment.service import enrichment_accept, enrichment_dismiss, enrichment_hints
from ..forms import LeadForm, NoteForm
from ..localtime import is_callable, local_now
from ..models import EnrichmentValue, Interaction, Lead
from ..tasks import enqueue_after_commit, enrich_leads_task
from ..pagination import MAX_PAGE_SIZE, FastCountPaginator
from ..roles import is_manager, is_rep, sees_all_leads
from ..selectors import lead_filterset, lead_get, lead_interactions
from ..services import DuplicateLeadError, interaction_record, lead_create, lead_update

DEFAULT_PAGE_SIZE = 25
TIMELINE_PAGE_SIZE = 50


def page_size_from(request: HttpRequest) -> int:
    try:
        size = int(request.GET.get("page_size", DEFAULT_PAGE_SIZE))
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return max(1, min(size, MAX_PAGE_SIZE))


def _can_write(user) -> bool:
    return is_manager(user) or is_rep(user)


def _visible_lead_or_404(request: HttpRequest, pk: int) -> Lead:
    try:
        return lead_get(user=request.user, pk=pk)
    except Lead.DoesNotExist as exc:
        raise Http404("No such lead.") from exc


def filtered_page(request: HttpRequest, filterset, *, page_size: int | None = None) -> dict:
    """The context of a filtered, paginated list: the filter (its form and errors), the page,
    the paginator (fast counts) and the query string without `page` for the page links."""
    queryset = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    paginator = FastCountPaginator(queryset, page_size or page_size_from(request))
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "filter": filterset,
        "page": paginator.get_page(request.GET.get("page")),
        "paginator": paginator,
        "query": query.urlencode(),
    }


@login_required
def lead_list_view(request: HttpRequest) -> HttpResponse:
    filterset = lead_filterset(user=request.user, data=request.GET)
    context = filtered_page(request, filterset)
    context.update(can_write=_can_write(request.user), sees_all=sees_all_leads(request.user))
    return render(request, "leads/lead_list.html", context, status=200 if filterset.is_valid() else 400)


@login_required
def lead_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible_lead_or_404(request, pk)
    kind = request.GET.get("kind", "")
    timeline = lead_interactions(lead=lead)
    if kind in Interaction.Kind.values:
        timeline = timeline.filter(kind=kind)
    timeline_page = FastCountPaginator(timeline, TIMELINE_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    local = local_now(lead.time_zone)
    return render(
        request,
        "leads/lead_detail.html",
        {
            "lead": lead,
            "timeline": timeline_page.object_list,
            "page": timeline_page,
            "paginator": timeline_page.paginator,
            "query": query.urlencode(),
            "kind": kind,
            "kinds": Interaction.Kind.choices,
            "note_form": NoteForm(),
            "can_write": _can_write(request.user),
            "is_manager": is_manager(request.user),
            "hints": enrichment_hints(lead=lead),
            "suggestions": lead.enrichment_values.filter(status=EnrichmentValue.Status.SUGGESTED),
            "local_time": local,
            "callable": is_callable(lead.time_zone),
            "score_history": _score_history(lead),
        },
    )


def _score_history(lead: Lead) -> list[tuple[str, int]]:
    """(date, score) points from the timeline's significant score changes, oldest first."""
    changes = list(
        lead.interactions.filter(kind=Interaction.Kind.SCORE_CHANGE).order_by("-occurred_at").values_list("occurred_at", "data")[:30]
    )
    points = [(when.date().isoformat(), int(data.get("to", 0))) for when, data in reversed(changes)]
    if changes:
        points.insert(0, (changes[-1][0].date().isoformat(), int(changes[-1][1].get("from", 0))))
    return points


@login_required
def lead_score_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Why this score: the rules that fired, the model's features, contributions that add up."""
    from ..scoring.service import score_explain

    lead = _visible_lead_or_404(request, pk)
    return render(request, "leads/lead_score.html", {"lead": lead, "explanation": score_explain(lead=lead)})


@login_required
@require_POST
def lead_enrich_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue enrichment of one lead now (from the lead page)."""
    lead = _visible_lead_or_404(request, pk)
    if not _can_write(request.user):
        raise PermissionDenied
    enqueue_after_commit(enrich_leads_task, [lead.pk])
    messages.success(request, "Enrichment queued; the profile updates in a moment.")
    return redirect(lead)


@login_required
@require_POST
def lead_suggestion_view(request: HttpRequest, pk: int, suggestion_id: int) -> HttpResponse:
    """A manager accepts or dismisses an enrichment suggestion that conflicts with a value."""
    lead = _visible_lead_or_404(request, pk)
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
    if not _can_write(request.user):
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
    lead = _visible_lead_or_404(request, pk)
    if not _can_write(request.user):
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
    lead = _visible_lead_or_404(request, pk)
    if not _can_write(request.user):
        raise PermissionDenied
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The note was not saved: " + "; ".join(m for ms in form.errors.values() for m in ms))
        return redirect(lead)
    interaction_record(
        lead=lead, kind=form.cleaned_data["kind"], actor=request.user,
        subject=form.cleaned_data["subject"], body=form.cleaned_data["body"],
    )
    messages.success(request, "Added to the timeline.")
    return redirect(lead)
