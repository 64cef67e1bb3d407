"""Bulk conversion of leads into customers (POST leads:bulk_convert, called by the lead list)."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..roles import is_manager, is_rep
from ..selectors import visible_to
from ..validation import ids_parse

NO_LEADS_CHOSEN = "Choose at least one lead to convert."
BAD_LEAD_IDS = "Lead ids are whole numbers."


def _next_url(request: HttpRequest) -> str:
    """Back where the user came from (same host only: no open redirect), else the lead list."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "leads:list"


@login_required
@require_POST
def lead_bulk_convert_view(request: HttpRequest) -> HttpResponse:
    """Convert the chosen leads (`ids`, repeated): link a single clear match or create a customer;
    leads matching several customers are listed for a person to choose on their page."""
    from customers.services import leads_bulk_convert

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
    messages.success(request, _("Converted: %(created)d new customers, %(linked)d linked, %(already)d already converted.") % {
        "created": result.created, "linked": result.linked, "already": result.already,
    })
    if result.needs_choice:
        messages.warning(request, _("%(n)d leads match several customers: open them to choose (ids %(ids)s).") % {
            "n": len(result.needs_choice), "ids": ", ".join(map(str, result.needs_choice[:20])),
        })
    if result.refused:
        messages.warning(request, _("%(n)d leads were not converted: not yours, or lost.") % {"n": len(result.refused)})
    return redirect(_next_url(request))
