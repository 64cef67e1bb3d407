"""Sequence pages for marketers and managers (reps get 403): the list, the editor with its steps,
a preview and test send, the enrollments, the statistics; and the lead page's enroll button
(a rep may enroll a lead they can see). Thin: forms validate, services in leads/nurturing write."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import BadHeaderError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ..common.pagination import FastCountPaginator
from ..common.rendering import RenderError
from ..common.validation import id_parse
from ..models.nurturing import Enrollment, Sequence, SequenceStep
from ..nurturing.forms import LeadPickForm, SequenceForm, StepForm
from ..nurturing.sending import email_build, email_test_send
from ..nurturing.sequences import EnrollmentError, enrollment_exit, lead_enroll
from ..nurturing.stats import bar_chart, sequence_stats
from ..nurturing.step_editing import sequence_step_add, sequence_step_delete, sequence_step_move
from ..permissions import can_build_segments
from ..selectors import visible_to
from ..workspace.counts import visible_exists

ENROLLMENT_PAGE_SIZE = 50
SEQUENCE_REQUIRED = "Choose a sequence."


def _require_marketing(request: HttpRequest) -> None:
    if not can_build_segments(request.user):
        raise PermissionDenied


def _sequence_or_404(pk: int) -> Sequence:
    return get_object_or_404(Sequence, pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def sequence_list_view(request: HttpRequest) -> HttpResponse:
    """Every sequence with its enrolled and active counts; a form to make a new one."""
    _require_marketing(request)
    form = SequenceForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            sequence = form.save(commit=False)
            sequence.created_by = request.user
            sequence.save()
            form.save_m2m()
            messages.success(request, _("Sequence created. Add its steps."))
            return redirect("leads:sequence_detail", pk=sequence.pk)
    sequences = list(Sequence.objects.order_by("name"))
    # Counted per sequence in two grouped queries (joining both would multiply the rows).
    enrolled = {
        row["sequence_id"]: row
        for row in Enrollment.objects.order_by()
        .values("sequence_id")
        .annotate(enrolled=Count("pk"), active=Count("pk", filter=Q(status=Enrollment.Status.ACTIVE)))
    }
    steps = dict(
        SequenceStep.objects.order_by().values("sequence_id").annotate(n=Count("pk")).values_list("sequence_id", "n")
    )
    for sequence in sequences:
        counts = enrolled.get(sequence.pk, {})
        sequence.enrolled, sequence.active = counts.get("enrolled", 0), counts.get("active", 0)
        sequence.step_count = steps.get(sequence.pk, 0)
    return render(
        request,
        "leads/nurture/sequence_list.html",
        {"sequences": sequences, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def sequence_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The editor: the sequence's settings, its steps (edit, reorder, delete) and a new step."""
    _require_marketing(request)
    sequence = _sequence_or_404(pk)
    form = SequenceForm(request.POST or None, instance=sequence)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, _("Sequence saved."))
            return redirect("leads:sequence_detail", pk=sequence.pk)
    return _editor(
        request, sequence, form=form, step_form=StepForm(sequence=sequence), status=400 if form.errors else 200
    )


def _editor(request, sequence, *, form, step_form, status=200, step_error=""):
    steps = list(sequence.steps.select_related("branch_target").order_by("position", "id"))
    waiting = dict(
        Enrollment.objects.filter(sequence=sequence, status=Enrollment.Status.ACTIVE)
        .order_by()
        .values_list("step_id")
        .annotate(n=Count("pk"))
    )
    for step in steps:
        step.waiting = waiting.get(step.pk, 0)
    return render(
        request,
        "leads/nurture/sequence_detail.html",
        {"sequence": sequence, "form": form, "step_form": step_form, "steps": steps, "step_error": step_error},
        status=status,
    )


@login_required
@require_POST
def step_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a step at the end."""
    _require_marketing(request)
    sequence = _sequence_or_404(pk)
    step_form = StepForm(request.POST, sequence=sequence, instance=SequenceStep(sequence=sequence))
    if not step_form.is_valid():
        return _editor(request, sequence, form=SequenceForm(instance=sequence), step_form=step_form, status=400)
    sequence_step_add(step=step_form.save(commit=False))
    messages.success(request, _("Step added."))
    return redirect(reverse("leads:sequence_detail", args=[sequence.pk]) + "#steps")


@login_required
@require_http_methods(["GET", "POST"])
def step_edit_view(request: HttpRequest, pk: int, step_id: int) -> HttpResponse:
    """Edit one step (its email renders in the sandbox before it is saved)."""
    _require_marketing(request)
    sequence = _sequence_or_404(pk)
    step = get_object_or_404(SequenceStep, pk=step_id, sequence=sequence)
    form = StepForm(request.POST or None, sequence=sequence, instance=step)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Step saved."))
        return redirect(reverse("leads:sequence_detail", args=[sequence.pk]) + "#steps")
    return render(
        request,
        "leads/nurture/sequence_step_form.html",
        {"sequence": sequence, "step": step, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def step_move_view(request: HttpRequest, pk: int, step_id: int) -> HttpResponse:
    """Move a step up or down (htmx swaps the steps table; without JS the page reloads)."""
    _require_marketing(request)
    step = get_object_or_404(SequenceStep, pk=step_id, sequence_id=pk)
    try:
        sequence_step_move(step=step, offset=-1 if request.POST.get("direction") == "up" else 1)
    except ValidationError as exc:
        # Refused (a branch would jump back): the steps table says why, in place (htmx selects #steps).
        sequence = _sequence_or_404(pk)
        return _editor(
            request,
            sequence,
            form=SequenceForm(instance=sequence),
            step_form=StepForm(sequence=sequence),
            status=200 if request.htmx else 400,
            step_error=" ".join(exc.messages),
        )
    return redirect(reverse("leads:sequence_detail", args=[pk]) + "#steps")


@login_required
@require_POST
def step_delete_view(request: HttpRequest, pk: int, step_id: int) -> HttpResponse:
    """Delete a step; leads waiting at it move on to the next one."""
    _require_marketing(request)
    step = get_object_or_404(SequenceStep, pk=step_id, sequence_id=pk)
    sequence_step_delete(step=step)
    messages.success(request, _("Step deleted."))
    return redirect(reverse("leads:sequence_detail", args=[pk]) + "#steps")


@login_required
@require_http_methods(["GET", "POST"])
def step_preview_view(request: HttpRequest, pk: int, step_id: int) -> HttpResponse:
    """The email rendered for a chosen lead; POST sends that rendering to the user's own address."""
    _require_marketing(request)
    sequence = _sequence_or_404(pk)
    step = get_object_or_404(SequenceStep, pk=step_id, sequence=sequence, kind=SequenceStep.Kind.EMAIL)
    data = request.POST if request.method == "POST" else (request.GET if "lead" in request.GET else None)
    pick = LeadPickForm(data, leads=visible_to(request.user))
    context = {"sequence": sequence, "step": step, "pick": pick}
    status = 200
    if data is not None and pick.is_valid():
        lead = pick.cleaned_data["lead"]
        try:
            built = email_build(
                sequence=sequence,
                step=step,
                lead=lead,
                enrollment_id=None,
                to_email=request.user.email or "preview@example.com",
                tracked=False,
            )
            context.update(
                lead=lead, subject=built.subject, text=built.message.body, html=built.message.alternatives[0][0]
            )
            if request.method == "POST":
                email_test_send(step=step, lead=lead, to_email=request.user.email)
                messages.success(request, _("Test email sent to %(email)s.") % {"email": request.user.email})
        except (RenderError, BadHeaderError) as exc:
            context["error"] = str(exc)
            status = 400
    elif data is not None:
        status = 400
    return render(request, "leads/nurture/sequence_preview.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def sequence_enrollments_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Who is in the sequence, at which step, when the next step runs; enroll a lead by hand."""
    _require_marketing(request)
    sequence = _sequence_or_404(pk)
    pick = LeadPickForm(request.POST or None, leads=visible_to(request.user))
    status = 200
    if request.method == "POST":
        if pick.is_valid():
            try:
                lead_enroll(sequence=sequence, lead=pick.cleaned_data["lead"], by=request.user)
                messages.success(request, _("Lead enrolled."))
                return redirect("leads:sequence_enrollments", pk=sequence.pk)
            except EnrollmentError as exc:
                pick.add_error("lead", str(exc))
        status = 400
    state = request.GET.get("status", Enrollment.Status.ACTIVE)
    # The one visibility rule, as for every list of leads (marketers and managers see all today).
    enrollments = (
        Enrollment.objects.filter(visible_exists(request.user), sequence=sequence)
        .select_related("lead", "step")
        .order_by("next_run_at", "-id")
    )
    if state in Enrollment.Status.values:
        enrollments = enrollments.filter(status=state)
    page = FastCountPaginator(enrollments, ENROLLMENT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "leads/nurture/sequence_enrollments.html",
        {"sequence": sequence, "page": page, "pick": pick, "state": state, "states": Enrollment.Status.choices},
        status=status,
    )


@login_required
@require_POST
def enrollment_remove_view(request: HttpRequest, pk: int, enrollment_id: int) -> HttpResponse:
    """Take a lead out of the sequence by hand."""
    _require_marketing(request)
    enrollment = get_object_or_404(Enrollment, pk=enrollment_id, sequence_id=pk)
    if enrollment_exit(enrollment=enrollment, reason=Enrollment.ExitReason.MANUAL, by=request.user):
        messages.success(request, _("Lead removed from the sequence."))
    return redirect("leads:sequence_enrollments", pk=pk)


@login_required
def sequence_stats_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Per sequence and per step: enrolled, sent, opened, clicked, replied, unsubscribed, bounced, converted."""
    _require_marketing(request)
    sequence = _sequence_or_404(pk)
    stats = sequence_stats(sequence=sequence)
    return render(
        request,
        "leads/nurture/sequence_stats.html",
        {"sequence": sequence, "stats": stats, "chart": bar_chart(bars=stats.funnel)},
    )


@login_required
@require_POST
def nurture_enroll_lead_view(request: HttpRequest) -> HttpResponse:
    """The lead page's "Add to sequence": anyone who can see the lead (reps too) may enroll it."""
    lead_id, sequence_id = request.POST.get("lead", ""), request.POST.get("sequence", "")
    lead_pk, sequence_pk = id_parse(lead_id), id_parse(sequence_id)
    lead = get_object_or_404(visible_to(request.user), pk=lead_pk) if lead_pk else None
    if lead is None:
        raise PermissionDenied
    target = request.POST.get("next") or lead.get_absolute_url()
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = lead.get_absolute_url()
    sequence = Sequence.objects.filter(pk=sequence_pk, is_active=True).first() if sequence_pk else None
    if sequence is None:
        messages.error(request, SEQUENCE_REQUIRED)
        return redirect(target)
    try:
        lead_enroll(sequence=sequence, lead=lead, by=request.user)
        messages.success(request, _("Enrolled in %(name)s.") % {"name": sequence.name})
    except EnrollmentError as exc:
        messages.error(request, str(exc))
    return redirect(target)
