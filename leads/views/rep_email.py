"""A rep's email from the lead page (docs/reps.md): compose (template, snippet, preview, send now or
at a time), retry or cancel a message, the templates page, and the public open/click endpoints.

Compose is one form with several buttons (`action`): with htmx each answers with the compose
section; without JavaScript, with a page of its own (and a redirect back once sent)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.core import is_ratelimited

from ..capture.tracking import VISITOR_COOKIE, visitor_key_valid
from ..models import EmailTemplate, Lead, RepEmail
from ..rep_email.compose import Draft, draft_render, rep_email_cancel, sender_for
from ..rep_email.compose import rep_email_create as message_create
from ..rep_email.forms import ACTIONS, ComposeForm, TemplateForm
from ..rep_email.page import compose_context, compose_initial
from ..rep_email.sending import rep_email_retry
from ..rep_email.templates import (
    TEMPLATES_LIMIT,
    template_create,
    template_delete,
    template_may_edit,
    template_update,
    templates_visible,
)
from ..rep_email.tracking import rep_email_click_record, rep_email_open_record
from ..roles import is_manager
from .lead_page import errors_onto_form, writable_lead
from .tracking import NO_STORE, PIXEL_GIF

UNKNOWN_ACTION = "Unknown action."
CLICK_REFUSED = "This link is not valid."
SENT = "Email sent to {to}."
QUEUED = "Email queued to {to}; it shows as sent once the mail server took it."
SCHEDULED = "Email scheduled for {when} (the lead's local time)."


def _back(request: HttpRequest) -> str:
    """Where to return after a plain form post: a path of this site only (never an open redirect)."""
    back = request.POST.get("back") or request.GET.get("back") or ""
    if (
        back
        and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure())
        and back.startswith("/")
    ):
        return back
    return ""


def _respond(
    request: HttpRequest, lead: Lead, form: ComposeForm, *, status: int = 200, preview=None, flash: str = ""
) -> HttpResponse:
    back = _back(request)
    context = compose_context(request=request, lead=lead, form=form, preview=preview, back=back) | {
        "flash": flash,
        "lead": lead,
    }
    template = "leads/rep_email/_compose.html" if request.htmx else "leads/rep_email/compose_page.html"
    response = render(request, template, context, status=status)
    if flash:
        response["HX-Trigger"] = "lead-changed"
    return response


@login_required
def compose_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: a blank message (`in_reply_to`: a reply in that thread). POST: apply a template, insert
    a snippet, preview, send now or schedule."""
    lead = writable_lead(request, pk)
    user = request.user
    if request.method != "POST":
        subject = request.GET.get("subject", "")[:290]
        if subject and not subject.lower().startswith("re:"):
            subject = f"Re: {subject}"
        initial = compose_initial(
            user=user, lead=lead, in_reply_to=request.GET.get("in_reply_to", "")[:998], subject=subject
        )
        return _respond(request, lead, ComposeForm(initial=initial, user=user, lead=lead))
    action = request.POST.get("action", "send")
    if action not in ACTIONS:
        return HttpResponseBadRequest(UNKNOWN_ACTION, content_type="text/plain; charset=utf-8")
    form = ComposeForm(request.POST, user=user, lead=lead)
    if action in ("apply", "insert"):
        data = request.POST.copy()
        picked = form.fields["template" if action == "apply" else "snippet"]
        try:
            chosen = picked.clean(request.POST.get("template" if action == "apply" else "snippet"))
        except ValidationError as exc:
            form.is_valid()
            form.add_error("template" if action == "apply" else "snippet", exc)
            return _respond(request, lead, form, status=400)
        if chosen is not None and action == "apply":
            data["subject"], data["body"] = chosen.subject, chosen.body + compose_initial(user=user, lead=lead)["body"]
        elif chosen is not None:
            data["body"] = (data.get("body", "").rstrip() + "\n\n" + chosen.body).lstrip()
        return _respond(request, lead, ComposeForm(data, user=user, lead=lead))
    if not form.is_valid():
        return _respond(request, lead, form, status=400)
    draft: Draft = form.draft()
    if action == "preview":
        try:
            preview = draft_render(lead=lead, user=user, subject=draft.subject, body=draft.body)
            preview.sender = sender_for(user=user)
        except ValidationError as exc:
            errors_onto_form(exc, form)
            return _respond(request, lead, form, status=400)
        return _respond(request, lead, form, preview=preview)
    if action == "send":
        draft.send_at = None
    elif draft.send_at is None:
        form.add_error("send_at", "Choose when to send it.")
        return _respond(request, lead, form, status=400)
    try:
        message = message_create(lead=lead, user=user, draft=draft)
    except ValidationError as exc:
        errors_onto_form(exc, form)
        return _respond(request, lead, form, status=400)
    if draft.send_at:
        flash = SCHEDULED.format(when=draft.send_at.astimezone(form.zone).strftime("%Y-%m-%d %H:%M"))
    else:
        flash = QUEUED.format(to=", ".join(message.to))
    if not request.htmx:
        messages.success(request, flash)
        return redirect(_back(request) or lead.get_absolute_url())
    blank = ComposeForm(initial=compose_initial(user=user, lead=lead), user=user, lead=lead)
    return _respond(request, lead, blank, flash=flash)


def _message(request: HttpRequest, pk: int, message_id: int) -> tuple[Lead, RepEmail]:
    lead = writable_lead(request, pk)
    return lead, get_object_or_404(RepEmail, pk=message_id, lead_id=lead.pk)


@login_required
@require_POST
def message_retry_view(request: HttpRequest, pk: int, message_id: int) -> HttpResponse:
    """Send a failed message again now."""
    lead, message = _message(request, pk, message_id)
    if not rep_email_retry(message=message):
        return HttpResponse(
            "Only a failed message can be sent again.", status=409, content_type="text/plain; charset=utf-8"
        )
    return _after_message_action(request, lead, "Sending again.")


@login_required
@require_POST
def message_cancel_view(request: HttpRequest, pk: int, message_id: int) -> HttpResponse:
    """Cancel a scheduled message (409 once it is being sent)."""
    lead, message = _message(request, pk, message_id)
    if message.sender_id != request.user.pk and not is_manager(request.user):
        raise PermissionDenied
    if not rep_email_cancel(message=message):
        return HttpResponse(
            "It is being sent or was sent already.", status=409, content_type="text/plain; charset=utf-8"
        )
    return _after_message_action(request, lead, "Scheduled email cancelled.")


def _after_message_action(request: HttpRequest, lead: Lead, flash: str) -> HttpResponse:
    if not request.htmx:
        messages.success(request, flash)
        return redirect(_back(request) or lead.get_absolute_url())
    form = ComposeForm(initial=compose_initial(user=request.user, lead=lead), user=request.user, lead=lead)
    return _respond(request, lead, form, flash=flash)


# --- Templates page ---------------------------------------------------------------------------


@login_required
def templates_view(request: HttpRequest) -> HttpResponse:
    """The user's templates and snippets and the shared ones; a form to add one."""
    manager = is_manager(request.user)
    form = TemplateForm(request.POST or None, may_share=manager)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                template_create(
                    user=request.user,
                    kind=data["kind"],
                    name=data["name"],
                    subject=data["subject"],
                    body=data["body"],
                    is_shared=data.get("is_shared", False),
                )
            except ValidationError as exc:
                errors_onto_form(exc, form)
            else:
                messages.success(request, "Saved.")
                return redirect("leads:email_templates")
        status = 400
    items = list(templates_visible(user=request.user)[:TEMPLATES_LIMIT])
    for item in items:
        item.editable = template_may_edit(user=request.user, template=item)
    return render(
        request, "leads/rep_email/templates.html", {"items": items, "form": form, "is_manager": manager}, status=status
    )


def _editable(request: HttpRequest, pk: int) -> EmailTemplate:
    template = get_object_or_404(templates_visible(user=request.user), pk=pk)
    if not template_may_edit(user=request.user, template=template):
        raise PermissionDenied
    return template


@login_required
def template_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit one of the user's templates (a manager: also a shared one)."""
    template = _editable(request, pk)
    form = TemplateForm(request.POST or None, instance=template, may_share=is_manager(request.user))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            template.refresh_from_db()
            try:
                template_update(
                    user=request.user,
                    template=template,
                    name=data["name"],
                    subject=data["subject"],
                    body=data["body"],
                    is_shared=data.get("is_shared", template.is_shared),
                )
            except ValidationError as exc:
                errors_onto_form(exc, form)
            else:
                messages.success(request, "Saved.")
                return redirect("leads:email_templates")
        status = 400
    return render(request, "leads/rep_email/template_edit.html", {"form": form, "template": template}, status=status)


@login_required
@require_POST
def template_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete one of the user's templates (a manager: also a shared one)."""
    template_delete(user=request.user, template=_editable(request, pk))
    messages.success(request, "Deleted.")
    return redirect("leads:email_templates")


# --- Public: open pixel and click redirect ---------------------------------------------------


def _limited(request: HttpRequest) -> bool:
    return is_ratelimited(request, group="rep-email", key="ip", rate=settings.TRACKING_RATE, increment=True)


@require_GET
def open_view(request: HttpRequest, token: str) -> HttpResponse:
    """The 1×1 pixel of a rep's tracked email: its first load marks the message opened."""
    if not _limited(request):
        rep_email_open_record(token=token)
    response = HttpResponse(PIXEL_GIF, content_type="image/gif")
    response["Cache-Control"] = NO_STORE
    return response  # the same answer for a forged token


@require_GET
def click_view(request: HttpRequest, token: str) -> HttpResponse:
    """A tracked link: only the URL signed into this message's token is a redirect target."""
    cookie = request.COOKIES.get(VISITOR_COOKIE, "")
    url = rep_email_click_record(
        token=token,
        visitor_key=cookie if visitor_key_valid(visitor_key=cookie) else "",
        record=not _limited(request),
    )
    if url is None:
        return HttpResponseBadRequest(CLICK_REFUSED, content_type="text/plain; charset=utf-8")
    response = HttpResponseRedirect(url)  # signed by us: a URL of this very message
    response["Cache-Control"] = NO_STORE
    response["Referrer-Policy"] = "no-referrer"
    return response
