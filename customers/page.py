"""The customer's page and its actions (issue 19 §3): what the lead page has — edit fields, notes,
tasks, log a call, the merged timeline — for the customers a user may see (customers/work.py says
where they are written and who may). Plain form POSTs that redirect back (no JavaScript needed);
a form with errors answers 400 with the page and its messages."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from leads.common.pagination import FastCountPaginator
from leads.models import Task
from leads.rep_email.page import customer_email_context
from leads.roles import is_manager
from leads.views.forms import NoteForm
from leads.views.lead_page import errors_onto_form
from leads.views.page_forms import CallLogForm, TaskForm
from leads.workspace.followups import call_log, task_complete, task_from_form

from .models import Customer
from .selectors import customer_get, customer_timeline
from .work import (
    EDITABLE_FIELDS,
    NO_PRIMARY_LEAD,
    OPEN_TASKS_LIMIT,
    customer_can_write,
    customer_note_add,
    customer_open_tasks,
    customer_primary_lead,
    customer_task_get,
    customer_update,
)

TIMELINE_PAGE_SIZE = 50


class CustomerForm(forms.ModelForm):
    """The customer's fields as people edit them (the owner only for managers)."""

    website = forms.URLField(max_length=500, required=False, assume_scheme="https", label=gettext_lazy("Website"))

    class Meta:
        model = Customer
        fields = [*EDITABLE_FIELDS, "owner"]

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        if is_manager(user):
            self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")
        else:
            del self.fields["owner"]

    def _get_validation_exclusions(self):
        return super()._get_validation_exclusions() | {"phone", "email"}  # normalised by customer_update

    def changed_data_for_service(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data if name in self.cleaned_data}


def customer_task_form(data=None, *, customer: Customer, primary, user: User) -> TaskForm:
    """The lead page's task form, on the primary lead, that may also give the task to the customer's owner."""
    form = TaskForm(data, lead=primary, user=user)
    field = form.fields["assigned_to"]
    if customer.owner_id:
        field.queryset = User.objects.filter(
            Q(pk__in=field.queryset.values("pk")) | Q(pk=customer.owner_id), is_active=True
        ).order_by("username")
    field.empty_label = _("the customer's owner, else me")
    return form


def visible_customer_or_404(request: HttpRequest, pk: int) -> Customer:
    try:
        return customer_get(user=request.user, pk=pk)
    except Customer.DoesNotExist as exc:
        raise Http404("No such customer.") from exc


def writable_customer(request: HttpRequest, pk: int) -> Customer:
    customer = visible_customer_or_404(request, pk)
    if not customer_can_write(user=request.user):
        raise PermissionDenied
    return customer


def _linked(customer: Customer) -> list:
    linked = list(customer.linked_leads)
    if customer.lead is not None and all(lead.pk != customer.lead_id for lead in linked):
        linked.insert(0, customer.lead)  # the lead it came from, even if it was unlinked since
    return linked


def page_context(request: HttpRequest, customer: Customer, **forms_) -> dict:
    """Everything the customer's page shows, in a fixed number of queries."""
    user = request.user
    writer = customer_can_write(user=user)
    linked = _linked(customer)
    primary = customer_primary_lead(customer=customer, linked=linked)
    page = FastCountPaginator(customer_timeline(customer=customer), TIMELINE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return {
        "customer": customer,
        "linked_leads": linked,
        "primary_lead": primary,
        "timeline": page.object_list,
        "page": page,
        "paginator": page.paginator,
        "query": "",
        "show_lead": True,
        "can_write": writer,
        "open_tasks": list(customer_open_tasks(customer=customer)[:OPEN_TASKS_LIMIT]),
        "note_form": forms_.get("note_form") or NoteForm(),
        "call_form": forms_.get("call_form") or CallLogForm(),
        "task_form": forms_.get("task_form")
        or (customer_task_form(customer=customer, primary=primary, user=user) if writer and primary else None),
        "no_primary_lead": NO_PRIMARY_LEAD,
    } | customer_email_context(request=request, leads=linked)  # email compose + threads (docs/reps.md)


@login_required
def customer_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer's page."""
    customer = visible_customer_or_404(request, pk)
    return render(request, "customers/customer_detail.html", page_context(request, customer))


def _submit(request: HttpRequest, customer: Customer, form, *, form_key: str, message: str, run) -> HttpResponse:
    """Validate, run the service; its ValidationError lands on the form (400 with the page)."""
    if form.is_valid():
        try:
            run(form.cleaned_data)
        except ValidationError as exc:
            errors_onto_form(exc, form)
        else:
            messages.success(request, message)
            return redirect(customer)
    return render(
        request, "customers/customer_detail.html", page_context(request, customer, **{form_key: form}), status=400
    )


def _primary_or_400(customer: Customer):
    primary = customer_primary_lead(customer=customer)
    if primary is None:
        raise ValidationError({"__all__": [NO_PRIMARY_LEAD]})
    return primary


@login_required
@require_POST
def customer_note_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A note (or a manual call/email entry) on the customer's timeline."""
    customer = writable_customer(request, pk)
    return _submit(
        request,
        customer,
        NoteForm(request.POST),
        form_key="note_form",
        message=_("Added to the timeline."),
        run=lambda data: customer_note_add(customer=customer, by=request.user, **data),
    )


@login_required
@require_POST
def customer_call_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a call with the customer (leads.workspace.followups.call_log on its primary lead)."""
    customer = writable_customer(request, pk)
    return _submit(
        request,
        customer,
        CallLogForm(request.POST),
        form_key="call_form",
        message=_("Call logged."),
        run=lambda data: call_log(
            lead=_primary_or_400(customer),
            by=request.user,
            outcome=data["outcome"],
            notes=data["notes"],
        ),
    )


@login_required
@require_POST
def customer_task_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A task on the customer (on its primary lead), for the chosen user, else the customer's owner, else the user."""
    customer = writable_customer(request, pk)
    primary = customer_primary_lead(customer=customer)
    if primary is None:
        messages.error(request, NO_PRIMARY_LEAD)
        return render(request, "customers/customer_detail.html", page_context(request, customer), status=400)
    return _submit(
        request,
        customer,
        customer_task_form(request.POST, customer=customer, primary=primary, user=request.user),
        form_key="task_form",
        message=_("Task added."),
        run=lambda data: task_from_form(lead=primary, data=data, by=request.user, owner=customer.owner),
    )


@login_required
@require_POST
def customer_task_done_view(request: HttpRequest, pk: int, task_id: int) -> HttpResponse:
    """Mark one of the customer's tasks done."""
    customer = writable_customer(request, pk)
    try:
        task = customer_task_get(customer=customer, pk=task_id)
    except Task.DoesNotExist as exc:
        raise Http404("No such task.") from exc
    task_complete(task=task, by=request.user)
    messages.success(request, _("Task done."))
    return redirect(customer)


@login_required
def customer_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit the customer's fields (a page of its own, as for leads)."""
    customer = writable_customer(request, pk)
    form = CustomerForm(request.POST or None, instance=Customer.objects.get(pk=customer.pk), user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            customer_update(customer=customer, data=form.changed_data_for_service(), by=request.user)
        except ValidationError as exc:
            errors_onto_form(exc, form)
        else:
            messages.success(request, _("Customer saved."))
            return redirect(customer)
    return render(
        request,
        "customers/customer_form.html",
        {"form": form, "customer": customer},
        status=400 if form.errors else 200,
    )
