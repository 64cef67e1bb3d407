"""The lead page and its actions (docs/workspace.md, "The lead page").

Every action is a plain form POST that redirects back to the lead (works without JavaScript).
With htmx (`request.htmx`) the same POST answers with the changed section of the page, plus the
header and timeline swapped out-of-band, so the page updates without a reload. A form with errors
answers 400 with the section and its per-field messages (htmx swaps 400 on this page:
static/leadcrm/leadpage.js).

The page reads a fixed number of queries, whatever the number of interactions or tasks.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..common.pagination import FastCountPaginator
from ..common.timezones import is_callable, local_now
from ..enrichment.service import enrichment_hints
from ..models import EnrichmentValue, Enrollment, Interaction, Lead, PossibleDuplicate, Sequence, Task
from ..permissions import can_write, lead_visible_or_404
from ..rep_email.threads import timeline_with_threads
from ..roles import is_manager
from ..selectors import lead_interactions
from ..services import DuplicateLeadError, lead_update
from ..workspace.followups import call_log, lead_reassign, task_complete, task_from_form
from .forms import NoteForm
from .page_forms import INLINE_FIELDS, CallLogForm, InlineFieldForm, ReassignForm, StatusForm, TaskForm

STATUS_CONVERTED_LEAD = "This lead is a customer now; its status stays converted."

TIMELINE_PAGE_SIZE = 50
OPEN_TASKS_LIMIT = 50
DUPLICATES_LIMIT = 10
ENROLLMENTS_LIMIT = 20
SEQUENCES_LIMIT = 100
NURTURE_TEMPLATE = "leads/nurture/_lead_enrollments.html"
NURTURE_ENROLL_URL = "leads:nurture_enroll_lead"

# Sections of the page an action can re-render (id → template).
SECTIONS = {
    "lead-header": "leads/page/_header.html",
    "lead-contact": "leads/page/_contact.html",
    "lead-fields": "leads/page/_fields.html",
    "lead-tasks": "leads/page/_tasks.html",
    "lead-manage": "leads/page/_manage.html",
    "lead-timeline": "leads/page/_timeline.html",
}


PAGE_RELATED = ("owner", "team", "converted_customer", "converted_by")


def visible_lead_or_404(request: HttpRequest, pk: int) -> Lead:
    """The lead if the user may see it, with what the page shows of its relations."""
    return lead_visible_or_404(request.user, pk, related=PAGE_RELATED)


def writable_lead(request: HttpRequest, pk: int) -> Lead:
    lead = visible_lead_or_404(request, pk)
    if not can_write(request.user):
        raise PermissionDenied
    return lead


@dataclass
class FieldRow:
    """One editable field of the lead, as shown (and edited in place) on the page."""

    name: str
    label: str
    value: object
    display: str


def field_rows(lead: Lead) -> list[FieldRow]:
    rows = []
    for name in INLINE_FIELDS:
        model_field = Lead._meta.get_field(name)
        value = getattr(lead, name)
        if name == "country":
            display = lead.country.name if lead.country else ""
        elif getattr(model_field, "choices", None):
            display = getattr(lead, f"get_{name}_display")()
        else:
            display = value or ""
        rows.append(FieldRow(name=name, label=str(model_field.verbose_name).capitalize(), value=value, display=display))
    return rows


def score_history(lead: Lead) -> list[tuple[str, int]]:
    """(date, score) points from the timeline's significant score changes, oldest first."""
    changes = list(
        lead.interactions.filter(kind=Interaction.Kind.SCORE_CHANGE)
        .order_by("-occurred_at")
        .values_list("occurred_at", "data")[:30]
    )
    points = [(when.date().isoformat(), int(data.get("to", 0))) for when, data in reversed(changes)]
    if changes:
        points.insert(0, (changes[-1][0].date().isoformat(), int(changes[-1][1].get("from", 0))))
    return points


def _template_exists(name: str) -> bool:
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    return True


def _url_or_none(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def page_context(request: HttpRequest, lead: Lead, **forms) -> dict:
    """Everything the lead page shows (a fixed number of queries). `forms` replaces the blank forms
    with bound ones carrying errors."""
    user = request.user
    writer = can_write(user)
    manager = is_manager(user)
    kind = request.GET.get("kind", "")
    timeline = lead_interactions(lead=lead)
    if kind in Interaction.Kind.values:
        timeline = timeline.filter(kind=kind)
    timeline_page = FastCountPaginator(timeline, TIMELINE_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    now = timezone.now()
    converted = lead.converted_customer_id is not None
    duplicates = list(
        PossibleDuplicate.objects.filter(Q(lead_id=lead.pk) | Q(other_id=lead.pk), status=PossibleDuplicate.Status.OPEN)
        .select_related("lead", "other")
        .order_by("-detected_at", "-id")[:DUPLICATES_LIMIT]
    )
    nurture_template = NURTURE_TEMPLATE if _template_exists(NURTURE_TEMPLATE) else None
    enroll_url = _url_or_none(NURTURE_ENROLL_URL)
    return {
        "lead": lead,
        "now": now,
        # Email conversations as threads (sent and received together), not one row per message.
        "timeline": timeline_with_threads(
            lead_id=lead.pk, items=timeline_page.object_list, first_page=timeline_page.number == 1
        ),
        "page": timeline_page,
        "paginator": timeline_page.paginator,
        "query": query.urlencode(),
        "kind": kind,
        "kinds": Interaction.Kind.choices,
        "can_write": writer,
        "is_manager": manager,
        "hints": enrichment_hints(lead=lead),
        "suggestions": lead.enrichment_values.filter(status=EnrichmentValue.Status.SUGGESTED),
        "fields": field_rows(lead),
        "local_time": local_now(lead.time_zone),
        "callable": is_callable(lead.time_zone),
        "score_history": score_history(lead),
        "sla_overdue": lead.sla_due_at is not None and lead.first_contacted_at is None and lead.sla_due_at < now,
        "open_tasks": list(
            lead.tasks.filter(done_at__isnull=True)
            .select_related("assigned_to")
            .order_by("due_at", "id")[:OPEN_TASKS_LIMIT]
        ),
        "duplicates": duplicates,
        "enrollments": list(
            Enrollment.objects.filter(lead_id=lead.pk).select_related("sequence", "step")[:ENROLLMENTS_LIMIT]
        ),
        "nurture_template": nurture_template,
        # The nurture template's "Add to sequence" form (anyone who sees the lead may enroll it).
        "sequences": list(Sequence.objects.filter(is_active=True).only("pk", "name").order_by("name")[:SEQUENCES_LIMIT])
        if nurture_template and enroll_url and not converted
        else [],
        "converted": converted,
        "note_form": forms.get("note_form") or NoteForm(),
        "call_form": forms.get("call_form") or CallLogForm(),
        "task_form": forms.get("task_form") or (TaskForm(lead=lead, user=user) if writer else None),
        "status_form": forms.get("status_form")
        or StatusForm(initial={"status": lead.status, "lost_reason": lead.lost_reason}),
        "reassign_form": forms.get("reassign_form")
        or (ReassignForm(lead=lead, initial={"owner": lead.owner_id}) if manager else None),
    } | _extensions(request=request, lead=lead, writer=writer, forms=forms)


def _extensions(*, request: HttpRequest, lead: Lead, writer: bool, forms: dict) -> dict:
    """What other apps add to the lead page (settings.LEAD_PAGE_EXTENSIONS, by dotted path: the
    customers app adds conversion, and leads never imports customers)."""
    context: dict = {}
    for path in settings.LEAD_PAGE_EXTENSIONS:
        context.update(import_string(path)(request=request, lead=lead, writer=writer, forms=forms))
    return context


@login_required
def lead_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The lead page."""
    lead = visible_lead_or_404(request, pk)
    return render(request, "leads/lead_detail.html", page_context(request, lead))


def section_respond(
    request: HttpRequest, lead: Lead, section: str, *, status: int = 200, message: str = "", **forms
) -> HttpResponse:
    """After an action: htmx gets the section (and, when it worked, the header and timeline
    out-of-band); a plain POST gets a redirect, or the whole page with the errors (400)."""
    failed = status >= 400
    if not request.htmx:
        if not failed:
            if message:
                messages.success(request, message)
            return redirect(lead)
        return render(request, "leads/lead_detail.html", page_context(request, lead, **forms), status=status)
    lead = visible_lead_or_404(request, lead.pk) if not failed else lead
    context = page_context(request, lead, **forms)
    primary = SECTIONS[section]
    extra = (
        []
        if failed
        else [
            name
            for key, name in SECTIONS.items()
            if key in ("lead-header", "lead-timeline", "lead-manage") and key != section
        ]
    )
    context.update(primary=primary, oob=extra, flash=message)
    response = render(request, "leads/page/_swap.html", context, status=status)
    return response if failed else _changed(response)


LEAD_CHANGED_EVENT = "lead-changed"


def _changed(response: HttpResponse) -> HttpResponse:
    """Tell the page the lead changed (HX-Trigger), so parts loaded on demand, like an opened
    score explanation, fetch themselves again."""
    response["HX-Trigger"] = LEAD_CHANGED_EVENT
    return response


def errors_onto_form(form_errors: ValidationError, form) -> None:
    """Move a service's per-field ValidationError onto the form."""
    for field, messages_ in form_errors.message_dict.items():
        for message in messages_:
            form.add_error(field if field in form.fields else None, message)


def _submit(request: HttpRequest, lead: Lead, form, *, section: str, form_key: str, message: str, run) -> HttpResponse:
    """Validate the form and run the service on its data: a ValidationError from either lands on
    the form (400), success answers as _respond does."""
    if form.is_valid():
        try:
            run(form.cleaned_data)
        except ValidationError as exc:
            errors_onto_form(exc, form)
        else:
            return section_respond(request, lead, section, message=message)
    return section_respond(request, lead, section, status=400, **{form_key: form})


@login_required
@require_POST
def lead_call_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a call (outcome and notes); the owner's first one is the lead's first contact."""
    lead = writable_lead(request, pk)
    return _submit(
        request,
        lead,
        CallLogForm(request.POST),
        section="lead-contact",
        form_key="call_form",
        message=_("Call logged."),
        run=lambda data: call_log(lead=lead, by=request.user, outcome=data["outcome"], notes=data["notes"]),
    )


@login_required
@require_POST
def lead_task_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a task with a due date, for the chosen user, else the owner, else the user."""
    lead = writable_lead(request, pk)
    return _submit(
        request,
        lead,
        TaskForm(request.POST, lead=lead, user=request.user),
        section="lead-tasks",
        form_key="task_form",
        message=_("Task added."),
        run=lambda data: task_from_form(lead=lead, data=data, by=request.user, owner=lead.owner),
    )


@login_required
@require_POST
def lead_task_done_view(request: HttpRequest, pk: int, task_id: int) -> HttpResponse:
    """Mark one of the lead's tasks done."""
    lead = writable_lead(request, pk)
    try:
        task = Task.objects.select_related("lead").get(pk=task_id, lead_id=lead.pk)
    except Task.DoesNotExist as exc:
        raise Http404("No such task.") from exc
    task_complete(task=task, by=request.user)
    return section_respond(request, lead, "lead-tasks", message=_("Task done."))


def status_change_apply(lead: Lead, data: dict, by) -> None:
    """Change a lead's status from the status form's data (the lead page and the board share it)."""
    if lead.converted_customer_id is not None:
        raise ValidationError({"status": [STATUS_CONVERTED_LEAD]})
    lead_update(lead=lead, data={"status": data["status"], "lost_reason": data["lost_reason"]}, by=by)


@login_required
@require_POST
def lead_status_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the status (lost needs a reason; converted goes through Convert)."""
    lead = writable_lead(request, pk)
    return _submit(
        request,
        lead,
        StatusForm(request.POST),
        section="lead-manage",
        form_key="status_form",
        message=_("Status changed."),
        run=lambda data: status_change_apply(lead, data, request.user),
    )


@login_required
@require_POST
def lead_reassign_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Managers give the lead to a rep of its team."""
    lead = visible_lead_or_404(request, pk)
    if not is_manager(request.user):
        raise PermissionDenied
    return _submit(
        request,
        lead,
        ReassignForm(request.POST, lead=lead),
        section="lead-manage",
        form_key="reassign_form",
        message=_("Lead reassigned."),
        run=lambda data: lead_reassign(lead=lead, owner=data["owner"], by=request.user),
    )


@login_required
def lead_field_view(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    """Edit one field in place: GET the form (a fragment with htmx, a small page without),
    POST it (the field's new value with htmx, a redirect without)."""
    if field not in INLINE_FIELDS:
        raise Http404("Not an inline field.")
    lead = writable_lead(request, pk)
    instance = Lead.objects.get(pk=lead.pk)
    form = InlineFieldForm(request.POST or None, instance=instance, user=request.user, field=field)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                lead_update(lead=lead, data=form.changed_data_for_service(), by=request.user)
            except DuplicateLeadError as exc:
                form.add_error(exc.field, exc.message)
            else:
                if not request.htmx:
                    messages.success(request, _("Saved."))
                    return redirect(lead)
                row = next(row for row in field_rows(lead) if row.name == field)
                context = page_context(request, lead)
                # The header shows name, title and company: it is swapped with the field, and an
                # opened score explanation reloads itself on the lead-changed event (leadpage.js).
                context.update(
                    row=row,
                    primary="leads/page/_field_value.html",
                    oob=["leads/page/_header.html", "leads/page/_timeline.html"],
                )
                return _changed(render(request, "leads/page/_swap.html", context))
        status = 400
    label = str(Lead._meta.get_field(field).verbose_name).capitalize()
    context = {"lead": lead, "form": form, "field": field, "label": label}
    template = "leads/page/_field_form.html" if request.htmx else "leads/lead_field.html"
    return render(request, template, context, status=status)


@login_required
def lead_field_value_view(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    """The field's value as shown on the page (htmx "cancel" of an inline edit)."""
    if field not in INLINE_FIELDS:
        raise Http404("Not an inline field.")
    lead = visible_lead_or_404(request, pk)
    row = next(row for row in field_rows(lead) if row.name == field)
    return render(
        request,
        "leads/page/_field_value.html",
        {"lead": lead, "row": row, "hints": enrichment_hints(lead=lead), "can_write": can_write(request.user)},
    )
