"""Conversion on the lead's pages: the lead page's Convert panel (an extension the lead page asks
for by path, settings.LEAD_PAGE_EXTENSIONS), its POST, and the lead list's bulk conversion. They live
with customers because conversion is theirs: customers depend on leads, never the reverse."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from leads.common.validation import ids_parse
from leads.models import Lead
from leads.roles import is_manager, is_rep
from leads.selectors import visible_to
from leads.views.lead_page import errors_onto_form, section_respond, writable_lead
from leads.views.page_forms import PageForm

from .selectors import customer_visible_to
from .services import Outcome, customer_matches, lead_can_convert, lead_convert, leads_bulk_convert

CONVERT_CHOICE_INVALID = "Choose create, link or cancel."
CONVERT_CUSTOMER_REQUIRED = "Choose the customer to link this lead to."


class ConvertForm(PageForm):
    id_prefix = "convert"
    action = forms.ChoiceField(
        choices=[
            ("auto", gettext_lazy("Convert")),
            ("create", gettext_lazy("Create a new customer")),
            ("link", gettext_lazy("Link to this customer")),
            ("cancel", gettext_lazy("Cancel")),
        ],
        error_messages={"invalid_choice": CONVERT_CHOICE_INVALID, "required": CONVERT_CHOICE_INVALID},
    )
    customer = forms.IntegerField(required=False, min_value=1)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "link" and not cleaned.get("customer"):
            self.add_error("customer", CONVERT_CUSTOMER_REQUIRED)
        return cleaned


def conversion_context(*, request: HttpRequest, lead: Lead, writer: bool, forms: dict) -> dict:
    """The lead page's Convert panel: whether the user may convert, the matching customers, the form."""
    converted = lead.converted_customer_id is not None
    convertible = (
        writer and not converted and lead.status != Lead.Status.LOST and lead_can_convert(lead=lead, user=request.user)
    )
    return {
        "can_convert": convertible,
        "matches": customer_matches(lead=lead) if convertible else [],
        "convert_form": forms.get("convert_form") or ConvertForm(),
        "convert_choice": forms.get("convert_choice", False),
    }


@login_required
@require_POST
def lead_convert_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Convert the lead: create a customer, link it to a matching one, or cancel."""
    lead = writable_lead(request, pk)
    form = ConvertForm(request.POST)
    if not form.is_valid():
        return section_respond(request, lead, "lead-manage", status=400, convert_form=form, convert_choice=True)
    action = form.cleaned_data["action"]
    if action == "cancel":
        return section_respond(request, lead, "lead-manage", message=_("Not converted."))
    try:
        result = lead_convert(lead=lead, by=request.user, action=action, customer=form.cleaned_data["customer"])
    except ValidationError as exc:
        errors_onto_form(exc, form)
        return section_respond(request, lead, "lead-manage", status=400, convert_form=form, convert_choice=True)
    if result.outcome == Outcome.NEEDS_CHOICE:
        # Customers match: show the choice (create, link, cancel) rather than guessing.
        return section_respond(request, lead, "lead-manage", status=409, convert_form=form, convert_choice=True)
    text = {
        Outcome.CREATED: _("Converted: new customer %(name)s."),
        Outcome.LINKED: _("Converted: linked to customer %(name)s."),
        Outcome.ALREADY: _("Already converted into %(name)s."),
    }[result.outcome] % {"name": result.customer.name}
    if request.htmx or not customer_visible_to(request.user).filter(pk=result.customer.pk).exists():
        return section_respond(request, lead, "lead-manage", message=text)
    messages.success(request, text)
    return redirect(result.customer)


NO_LEADS_CHOSEN = "Choose at least one lead to convert."
BAD_LEAD_IDS = "Lead ids are whole numbers."


def _next_url(request: HttpRequest) -> str:
    """Back where the user came from (same host only: no open redirect), else the lead list."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "leads:list"


@login_required
@require_POST
def lead_bulk_convert_view(request: HttpRequest) -> HttpResponse:
    """Convert the chosen leads (`ids`, repeated): link a single clear match or create a customer;
    leads matching several customers are listed for a person to choose on their page."""
    if not (is_manager(request.user) or is_rep(request.user)):
        raise PermissionDenied
    raw = request.POST.getlist("ids")
    ids = sorted(ids_parse(raw))
    if len(ids) != len(set(raw)):
        messages.error(request, BAD_LEAD_IDS)
        return redirect(_next_url(request))
    if not ids:
        messages.error(request, NO_LEADS_CHOSEN)
        return redirect(_next_url(request))
    try:
        result = leads_bulk_convert(leads=visible_to(request.user).filter(pk__in=ids), by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_next_url(request))
    messages.success(
        request,
        _("Converted: %(created)d new customers, %(linked)d linked, %(already)d already converted.")
        % {
            "created": result.created,
            "linked": result.linked,
            "already": result.already,
        },
    )
    if result.needs_choice:
        messages.warning(
            request,
            _("%(n)d leads match several customers: open them to choose (ids %(ids)s).")
            % {
                "n": len(result.needs_choice),
                "ids": ", ".join(map(str, result.needs_choice[:20])),
            },
        )
    if result.refused:
        messages.warning(request, _("%(n)d leads were not converted: not yours, or lost.") % {"n": len(result.refused)})
    return redirect(_next_url(request))
