"""Segments and static lists for marketers and managers (reps get 403): the list of segments, the
builder with a live count and preview, a static list's members, export and size over time."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import jobs
from ..common.exporting import DEFAULT_EXPORT_COLUMNS, EXPORT_COLUMNS, FORMATS, leads_export_response
from ..common.pagination import FastCountPaginator
from ..common.safejson import UNPARSABLE, JSONRejected, json_loads_safe
from ..common.validation import id_parse, ids_parse
from ..models import Segment
from ..nurturing.builder import builder_apply, builder_nodes, builder_options, builder_parse
from ..nurturing.segments import (
    PREVIEW_LIMIT,
    list_add_leads,
    list_add_references,
    list_remove_leads,
    segment_count,
    segment_definition_clean,
    segment_members,
    segment_preview,
    segment_queryset,
    segment_save,
    segment_snapshots,
)
from ..permissions import can_build_segments
from ..selectors import lead_list, visible_to

MEMBERS_PAGE_SIZE = 50
NO_LIST_CHOSEN = _("Choose a static list.")
NO_LEADS_CHOSEN = _("Select some leads first.")
BAD_JSON = "Send a JSON object with a definition."


def _require_nurturer(request: HttpRequest) -> None:
    if not can_build_segments(request.user):
        raise PermissionDenied


def _segment_or_404(pk: int) -> Segment:
    return get_object_or_404(Segment, pk=pk)


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["name", "description", "refresh_on_schedule"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class ExportForm(forms.Form):
    columns = forms.MultipleChoiceField(
        label=_("Columns"),
        choices=[(key, label) for key, (label, _path) in EXPORT_COLUMNS.items()],
        widget=forms.CheckboxSelectMultiple,
        initial=list(DEFAULT_EXPORT_COLUMNS),
    )
    format = forms.ChoiceField(
        label=_("Format"),
        choices=[("csv", "CSV"), ("xlsx", "Excel (XLSX)")],
        initial="csv",
        widget=forms.RadioSelect,
    )


class ListAddForm(forms.Form):
    references = forms.CharField(
        label=_("Emails or lead ids"),
        max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "ann@example.com, 1234"}),
        help_text=_("Separated by spaces, commas or new lines."),
    )


# --- The list of segments ----------------------------------------------------------------------


@login_required
@require_GET
def segment_list_view(request: HttpRequest) -> HttpResponse:
    _require_nurturer(request)
    segments = Segment.objects.select_related("created_by").defer("definition").order_by("name")
    return render(request, "leads/nurture/segment_list.html", {"segments": segments})


# --- The builder (create and edit) -----------------------------------------------------------------


def _preview(request: HttpRequest, *, segment: Segment, definition: dict) -> dict:
    """The count and first leads of a draft, or its errors (shown beside the builder without JavaScript)."""
    try:
        return {
            "count": segment_count(user=request.user, definition=definition, segment=segment),
            "leads": segment_preview(user=request.user, definition=definition, segment=segment),
        }
    except ValidationError as exc:
        return {"errors": exc.message_dict}


def _builder_context(
    request: HttpRequest,
    *,
    segment: Segment,
    form: SegmentForm,
    definition: dict,
    errors: dict,
    preview: dict | None = None,
) -> dict:
    return {
        "segment": segment,
        "form": form,
        "tree": builder_nodes(definition=definition, errors=errors, options=builder_options(segment=segment)),
        "errors": errors,
        "preview_limit": PREVIEW_LIMIT,
        "preview": preview,
    }


def _builder(request: HttpRequest, segment: Segment) -> HttpResponse:
    if segment.kind == Segment.Kind.STATIC:
        return _list_form(request, segment)
    creating = segment.pk is None
    if request.method == "GET":
        form = SegmentForm(instance=segment)
        definition = segment.definition or {"match": "all", "conditions": []}
        preview = _preview(request, segment=segment, definition=definition) if segment.pk else None
        return render(
            request,
            "leads/nurture/segment_builder.html",
            _builder_context(request, segment=segment, form=form, definition=definition, errors={}, preview=preview),
        )
    definition = builder_parse(data=request.POST)
    action = request.POST.get("action", "save")
    form = SegmentForm(request.POST, instance=segment)
    if action != "save":
        # Add or remove a row, or the field changed: show the tree again, unsaved and unjudged.
        definition = builder_apply(definition=definition, action=action)
        form = (
            SegmentForm(request.POST, instance=segment) if request.POST.get("name") else SegmentForm(instance=segment)
        )
        if request.htmx:
            context = _builder_context(request, segment=segment, form=form, definition=definition, errors={})
            return render(request, "leads/nurture/segment_builder_tree.html", context)
        preview = _preview(request, segment=segment, definition=definition)
        context = _builder_context(
            request, segment=segment, form=form, definition=definition, errors={}, preview=preview
        )
        return render(request, "leads/nurture/segment_builder.html", context)
    errors: dict = {}
    try:
        cleaned = segment_definition_clean(definition=definition, segment=segment)
    except ValidationError as exc:
        errors = exc.message_dict
    if form.is_valid() and not errors:
        segment = form.save(commit=False)
        segment_save(segment=segment, definition=cleaned, by=request.user)
        messages.success(request, _("Segment saved.") if not creating else _("Segment created."))
        return redirect("leads:segment_detail", pk=segment.pk)
    return render(
        request,
        "leads/nurture/segment_builder.html",
        _builder_context(request, segment=segment, form=form, definition=definition, errors=errors),
        status=400,
    )


def _list_form(request: HttpRequest, segment: Segment) -> HttpResponse:
    form = SegmentForm(request.POST or None, instance=segment)
    if request.method == "POST" and form.is_valid():
        segment = segment_save(segment=form.save(commit=False), by=request.user)
        messages.success(request, _("List saved."))
        return redirect("leads:segment_detail", pk=segment.pk)
    return render(
        request,
        "leads/nurture/segment_list_form.html",
        {"segment": segment, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def segment_create_view(request: HttpRequest) -> HttpResponse:
    _require_nurturer(request)
    kind = request.GET.get("kind") or request.POST.get("kind") or Segment.Kind.DYNAMIC
    if kind not in Segment.Kind.values:
        kind = Segment.Kind.DYNAMIC
    return _builder(request, Segment(kind=kind, refresh_on_schedule=kind == Segment.Kind.DYNAMIC))


@login_required
@require_http_methods(["GET", "POST"])
def segment_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_nurturer(request)
    return _builder(request, _segment_or_404(pk))


def _definition_from(request: HttpRequest):
    """The draft definition a preview request sends: JSON {"definition": …} or the builder's form."""
    if request.content_type == "application/json":
        try:
            body = json_loads_safe(request.body or b"{}")
        except JSONRejected as exc:  # too deep, numbers out of range, lone surrogates, not JSON
            raise ValidationError({"definition": [BAD_JSON if exc.message in UNPARSABLE else exc.message]}) from exc
        if not isinstance(body, dict):
            raise ValidationError({"definition": [BAD_JSON]})
        return body.get("definition", body if "conditions" in body else None), body.get("segment")
    return builder_parse(data=request.POST), request.POST.get("segment")


def _lead_row(lead) -> dict:
    return {
        "id": lead.pk,
        "name": str(lead),
        "email": lead.email,
        "company": lead.company,
        "status": lead.status,
        "score": lead.score,
        "grade": lead.grade,
        "owner": lead.owner.username if lead.owner_id else None,
        "url": lead.get_absolute_url(),
    }


@login_required
@require_POST
def segment_preview_view(request: HttpRequest) -> HttpResponse:
    """The live count and the first leads of a draft definition: JSON (400 with per-field errors), or
    the preview fragment for htmx."""
    _require_nurturer(request)
    segment = None
    try:
        definition, segment_id = _definition_from(request)
        if id_parse(segment_id):
            segment = Segment.objects.filter(pk=id_parse(segment_id)).first()
        if segment is not None and segment.kind == Segment.Kind.STATIC:
            segment = None
        count = segment_count(user=request.user, definition=definition, segment=segment)
        leads = segment_preview(user=request.user, definition=definition, segment=segment)
    except ValidationError as exc:
        errors = exc.message_dict
        if request.htmx:
            return render(request, "leads/nurture/segment_preview.html", {"errors": errors})
        return JsonResponse({"errors": errors}, status=400)
    if request.htmx:
        return render(request, "leads/nurture/segment_preview.html", {"count": count, "leads": leads})
    return JsonResponse({"count": count, "preview": [_lead_row(lead) for lead in leads]})


# --- One segment or list ----------------------------------------------------------------------------


def _members_page(request: HttpRequest, segment: Segment, *, add_form: ListAddForm, status: int = 200) -> HttpResponse:
    """A static list's page: its members, paginated, and the form that adds more."""
    members = segment_members(user=request.user, segment=segment)
    page = FastCountPaginator(members, MEMBERS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "leads/nurture/segment_members.html",
        {"segment": segment, "page": page, "add_form": add_form},
        status=status,
    )


@login_required
@require_GET
def segment_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_nurturer(request)
    segment = _segment_or_404(pk)
    if segment.kind == Segment.Kind.STATIC:
        return _members_page(request, segment, add_form=ListAddForm())
    error, count, leads = "", None, []
    try:
        count = segment_count(user=request.user, segment=segment)
        leads = segment_preview(user=request.user, segment=segment)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    return render(
        request,
        "leads/nurture/segment_detail.html",
        {
            "segment": segment,
            "count": count,
            "leads": leads,
            "error": error,
            "sequences": segment.entry_sequences.order_by("name"),
        },
    )


@login_required
@require_POST
def segment_refresh_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-evaluate a segment in the background (the entrants enroll in its sequences)."""

    _require_nurturer(request)
    segment = _segment_or_404(pk)
    jobs.enqueue("leads.nurturing.tasks.refresh_segment_task", segment.pk)
    messages.info(request, _("Refreshing the segment; its size updates in a moment."))
    return redirect("leads:segment_detail", pk=segment.pk)


@login_required
@require_POST
def segment_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_nurturer(request)
    segment = _segment_or_404(pk)
    segment.delete()
    messages.success(request, _("Deleted %(name)s.") % {"name": segment.name})
    return redirect("leads:segment_list")


@login_required
@require_GET
def segment_export_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The export form; with its fields in the query string, the CSV or XLSX download."""
    _require_nurturer(request)
    segment = _segment_or_404(pk)
    submitted = "format" in request.GET
    form = ExportForm(request.GET if submitted else None)
    if submitted and form.is_valid():
        try:
            leads = segment_queryset(user=request.user, segment=segment).order_by("pk")
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            return leads_export_response(
                leads=leads,
                columns=form.cleaned_data["columns"],
                fmt=form.cleaned_data["format"],
                filename=slugify(segment.name) or f"segment-{segment.pk}",
            )
    return render(
        request,
        "leads/nurture/segment_export.html",
        {"segment": segment, "form": form, "formats": FORMATS},
        status=400 if form.errors else 200,
    )


CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 640, 200, 30


def _chart(snapshots) -> dict:
    """An inline SVG line of size over time: points scaled into the chart's box (server-rendered)."""
    if not snapshots:
        return {}
    sizes = [s.size for s in snapshots]
    top = max(max(sizes), 1)
    inner_w, inner_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD
    step = inner_w / max(len(sizes) - 1, 1)
    points = [
        (round(CHART_PAD + i * step, 1), round(CHART_PAD + inner_h - inner_h * size / top, 1))
        for i, size in enumerate(sizes)
    ]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "pad": CHART_PAD,
        "top": top,
        "points": " ".join(f"{x},{y}" for x, y in points),
        "dots": points,
        "baseline": CHART_HEIGHT - CHART_PAD,
        "right": CHART_WIDTH - CHART_PAD,
        "first": snapshots[0].taken_at,
        "last": snapshots[-1].taken_at,
    }


@login_required
@require_GET
def segment_stats_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_nurturer(request)
    segment = _segment_or_404(pk)
    snapshots = segment_snapshots(segment=segment)
    return render(
        request,
        "leads/nurture/segment_stats.html",
        {"segment": segment, "snapshots": list(reversed(snapshots)), "chart": _chart(snapshots)},
    )


# --- Static list members ----------------------------------------------------------------------------


def _static_or_404(pk: int) -> Segment:
    return get_object_or_404(Segment, pk=pk, kind=Segment.Kind.STATIC)


@login_required
@require_POST
def list_members_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_nurturer(request)
    segment = _static_or_404(pk)
    form = ListAddForm(request.POST)
    if not form.is_valid():
        return _members_page(request, segment, add_form=form, status=400)
    added, missing = list_add_references(segment=segment, text=form.cleaned_data["references"], user=request.user)
    messages.success(request, ngettext("%(n)s lead added.", "%(n)s leads added.", added) % {"n": added})
    if missing:
        messages.warning(request, _("Not found: %(refs)s") % {"refs": ", ".join(missing[:20])})
    return redirect("leads:segment_detail", pk=segment.pk)


@login_required
@require_POST
def list_members_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_nurturer(request)
    segment = _static_or_404(pk)
    ids = ids_parse(request.POST.getlist("lead"))
    removed = list_remove_leads(segment=segment, lead_ids=visible_to(request.user).filter(pk__in=ids)) if ids else 0
    messages.success(request, ngettext("%(n)s lead removed.", "%(n)s leads removed.", removed) % {"n": removed})
    return redirect("leads:segment_detail", pk=segment.pk)


def _back(request: HttpRequest, query: str) -> HttpResponse:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    url = reverse("leads:list")
    return redirect(f"{url}?{query}" if query else url)


@login_required
@require_POST
def list_add_view(request: HttpRequest) -> HttpResponse:
    """The lead list's bulk action: POST `list` (a static list's id) and `lead` ids, or `query` (the
    list's current filter query string) for every lead it matches; back to `next` with a message."""
    _require_nurturer(request)
    query = request.POST.get("query", "")
    list_id = request.POST.get("list", "")
    list_pk = id_parse(list_id)
    segment = Segment.objects.filter(pk=list_pk, kind=Segment.Kind.STATIC).first() if list_pk else None
    if segment is None:
        messages.error(request, NO_LIST_CHOSEN)
        return _back(request, query)
    ids = ids_parse(request.POST.getlist("lead"))
    if ids:
        leads = visible_to(request.user).filter(pk__in=ids)
    elif "query" in request.POST:
        try:
            leads = lead_list(user=request.user, filters=QueryDict(query))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return _back(request, query)
    else:
        messages.error(request, NO_LEADS_CHOSEN)
        return _back(request, query)
    added = list_add_leads(segment=segment, lead_ids=leads, by=request.user)
    messages.success(
        request,
        ngettext("%(n)s lead added to %(name)s.", "%(n)s leads added to %(name)s.", added)
        % {"n": added, "name": segment.name},
    )
    return _back(request, query)
