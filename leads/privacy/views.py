"""The privacy pages: the lead page's Privacy block (an extension, settings.LEAD_PAGE_EXTENSIONS),
the archive download and the erasure (managers, with a typed confirmation), and the consent proof
(anyone who sees the lead; reps and managers record a withdrawal)."""

from __future__ import annotations

from collections.abc import Iterator

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ..common.validation import id_parse
from ..models import Consent, Lead
from ..permissions import can_write, is_manager, lead_visible_or_404
from .consent import consent_withdraw, lead_consents
from .erase import person_erase
from .export import person_export

ERASE_CONFIRM_MISMATCH = "Type the email address of the lead (or ERASE when it has none) exactly as shown to confirm."
ERASE_WORD = "ERASE"
ERASED_MESSAGE = "Everything about this person was erased (erasure record #{pk}); their address is tombstoned."


def privacy_context(*, request: HttpRequest, lead: Lead, writer: bool, forms: dict) -> dict:
    """The lead page's Privacy block: managers get the export and erase buttons (no query)."""
    return {"privacy_manager": is_manager(request.user)}


def archive_response(chunks: Iterator[bytes], *, name: str) -> StreamingHttpResponse:
    """The zip, streamed as it is written; never cached by a proxy or the browser."""
    response = StreamingHttpResponse(chunks, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


def archive_name(*, lead: Lead | None = None) -> str:
    """The file name: the lead's number and the date, never the address (names end up in logs)."""
    subject = f"lead-{lead.pk}" if lead is not None else "person"
    return f"leadcrm-privacy-{subject}-{timezone.now():%Y%m%d}.zip"


def _manager_lead(request: HttpRequest, pk: int) -> Lead:
    if not is_manager(request.user):
        raise PermissionDenied
    return lead_visible_or_404(request.user, pk)


@login_required
def lead_export_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Download everything held about the lead's person, as a zip (managers)."""
    lead = _manager_lead(request, pk)
    _, chunks = person_export(lead=lead, by=request.user, via="page")
    return archive_response(chunks, name=archive_name(lead=lead))


class EraseForm(forms.Form):
    confirm = forms.CharField(label=_("Confirmation"), max_length=254, strip=True)

    def __init__(self, *args, expected: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.expected = expected

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"]
        if value.casefold() != self.expected.casefold():
            raise forms.ValidationError(ERASE_CONFIRM_MISMATCH)
        return value


@login_required
@require_http_methods(["GET", "POST"])
def lead_erase_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Erase the lead's person after a typed confirmation (managers)."""
    lead = _manager_lead(request, pk)
    expected = lead.email or ERASE_WORD
    form = EraseForm(request.POST or None, expected=expected)
    if request.method == "POST":
        if form.is_valid():
            record = person_erase(lead=lead, by=request.user, via="page")
            messages.success(request, ERASED_MESSAGE.format(pk=record.pk))
            return redirect("leads:list")
        return render(
            request, "leads/privacy/erase.html", {"lead": lead, "form": form, "expected": expected}, status=400
        )
    return render(request, "leads/privacy/erase.html", {"lead": lead, "form": form, "expected": expected})


class WithdrawForm(forms.Form):
    note = forms.CharField(label=_("How it was withdrawn"), max_length=300, required=False)


@login_required
def lead_consents_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Each consent the lead gave: where, when and how (form, text shown, IP, capture record)."""
    lead = lead_visible_or_404(request.user, pk)
    return render(
        request,
        "leads/privacy/consents.html",
        {
            "lead": lead,
            "consents": list(lead_consents(lead=lead)),
            "can_withdraw": can_write(request.user),
            "form": WithdrawForm(),
        },
    )


@login_required
@require_POST
def consent_withdraw_view(request: HttpRequest, pk: int, consent_id: str) -> HttpResponse:
    """Record that the person withdrew a consent (managers and reps who may edit the lead)."""
    lead = lead_visible_or_404(request.user, pk)
    if not can_write(request.user):
        raise PermissionDenied
    consent = Consent.objects.filter(pk=id_parse(consent_id), lead=lead).first()
    form = WithdrawForm(request.POST)
    if consent is None:
        raise Http404("No such consent.")
    if form.is_valid():
        try:
            consent_withdraw(consent=consent, by=request.user, note=form.cleaned_data["note"])
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The consent is withdrawn: no more mail goes to this address."))
            return redirect("privacy:consents", pk=lead.pk)
    return render(
        request,
        "leads/privacy/consents.html",
        {
            "lead": lead,
            "consents": list(lead_consents(lead=lead)),
            "can_withdraw": True,
            "form": form,
        },
        status=400,
    )
