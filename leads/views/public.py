"""Public (no login) capture endpoints: web forms at /f/<key>."""

import json
import logging

from django.db import DatabaseError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from ..capture.forms_builder.analytics import form_count
from ..capture.forms_builder.public_form import client_schema, profile_known, public_form_bind
from ..capture.forms_builder.services import form_follow_ups_enqueue
from ..capture.service import CaptureContext, CaptureRejected, capture_hold, capture_reject
from ..capture.tracking import visitor_identify
from ..capture.webform_submissions import web_form_submission_capture
from ..capture.webforms import (
    HONEYPOT_FIELD,
    TIMESTAMP_FIELD,
    PublicLeadForm,
    form_timestamp,
    seconds_since_render,
    web_form_active,
    web_forms_forget,
)
from ..common.http import client_ip, wants_json
from ..common.safejson import UNPARSABLE, JSONRejected, json_loads_safe
from ..models import Lead, WebForm

logger = logging.getLogger(__name__)

ORIGIN_NOT_ALLOWED = "This form does not accept submissions from that site."
RATE_LIMITED = "Too many submissions. Please wait a minute and try again."
BAD_JSON = "The body is not a JSON object."
CORS_HEADERS = "Content-Type, Accept"


def _frame_ancestors(web_form: WebForm) -> str:
    hosts = " ".join(f"https://{host} http://{host}" for host in web_form.allowed_hosts)
    return f"frame-ancestors 'self' {hosts}".strip()


def _cors(response: HttpResponse, request: HttpRequest, web_form: WebForm) -> HttpResponse:
    origin = request.headers.get("Origin")
    if origin and origin in web_form.allowed_origins:
        response["Access-Control-Allow-Origin"] = origin
        response["Vary"] = "Origin"
    return response


def _origin_allowed(request: HttpRequest, web_form: WebForm) -> bool:
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None  # no Origin: a server-side post; "null": a sandboxed frame, refused
    own = f"{request.scheme}://{request.get_host()}"
    return origin == own or origin in web_form.allowed_origins


def _render_form(request: HttpRequest, web_form: WebForm, form: PublicLeadForm, status: int = 200) -> HttpResponse:
    response = render(request, "leads/public_form.html", {"web_form": web_form, "form": form}, status=status)
    response["Content-Security-Policy"] = _frame_ancestors(web_form)
    return response


def built_form_page(request: HttpRequest, web_form: WebForm, status: int = 200) -> HttpResponse:
    """A built form's public page: the embed script with the layout inline (a view counted on a GET)."""
    if request.method == "GET":
        form_count(web_form_id=web_form.pk, metric="view")
    known = profile_known(visitor_id=request.GET.get("visitor_id", ""), token=request.GET.get("lcrm_pt", ""))
    config = client_schema(web_form=web_form, known=known)
    config["profile_token"] = request.GET.get("lcrm_pt", "")[:200]
    response = render(
        request, "leads/forms_builder/public.html", {"web_form": web_form, "config": config}, status=status
    )
    response["Content-Security-Policy"] = _frame_ancestors(web_form)
    return response


def _thank_you(request: HttpRequest, web_form: WebForm) -> HttpResponse:
    if wants_json(request):
        # Never the lead's id: a visitor typing someone's email must not learn which lead that is.
        return JsonResponse({"status": "received"}, status=201)
    if web_form.redirect_url and url_has_allowed_host_and_scheme(
        web_form.redirect_url, allowed_hosts=set(web_form.allowed_hosts), require_https=False
    ):
        return HttpResponseRedirect(web_form.redirect_url)
    response = render(request, "leads/public_thanks.html", {"web_form": web_form}, status=200)
    response["Content-Security-Policy"] = _frame_ancestors(web_form)
    return response


@csrf_exempt  # a public, embeddable endpoint: protected by origin checks, a signed stamp, a honeypot and rate limits
@xframe_options_exempt  # framing is governed by CSP frame-ancestors from the form's allowed hosts
@require_http_methods(["GET", "POST", "OPTIONS"])
def web_form_view(request: HttpRequest, key: str) -> HttpResponse:
    web_form = web_form_active(key=key)
    if web_form is None:
        raise Http404("No such form.")
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        if request.headers.get("Origin") in web_form.allowed_origins:
            response["Access-Control-Allow-Methods"] = "POST, GET, OPTIONS"
            response["Access-Control-Allow-Headers"] = CORS_HEADERS
            response["Access-Control-Max-Age"] = "600"
        return _cors(response, request, web_form)
    if request.method == "GET":
        if web_form.schema:  # built on the Forms page: the embed script renders it, here as on any site
            return built_form_page(request, web_form)
        initial = {
            name: request.GET.get(name, "")
            for name in (
                "utm_source",
                "utm_medium",
                "utm_campaign",
                "utm_term",
                "utm_content",
                "visitor_id",
                "landing_page",
            )
        }
        initial["referrer"] = request.GET.get("referrer") or request.headers.get("Referer", "")
        initial[TIMESTAMP_FIELD] = form_timestamp(web_form)
        return _render_form(request, web_form, PublicLeadForm(initial=initial, web_form=web_form))
    try:
        return _cors(_submit(request, web_form), request, web_form)
    except IntegrityError:
        # Our copy of the form may be seconds old: if the form was deleted meanwhile, its capture
        # records cannot point at it. Answer as if we had looked it up now.
        if _web_form_exists(web_form):
            raise
        web_forms_forget()
        raise Http404("No such form.") from None


def _web_form_exists(web_form: WebForm) -> bool:
    try:
        return WebForm.objects.filter(pk=web_form.pk).exists()
    except DatabaseError:  # an enclosing transaction was aborted: we cannot tell, so it was not that
        return True


def _submit(request: HttpRequest, web_form: WebForm) -> HttpResponse:
    ip = client_ip(request)
    context = CaptureContext(
        channel=Lead.Source.WEB_FORM,
        source_detail=web_form.name,
        ip=ip,
        user_agent=request.headers.get("User-Agent", ""),
        web_form=web_form,
    )
    if request.content_type == "application/json":
        try:
            data = json_loads_safe(request.body)
        except JSONRejected as exc:  # too deep, numbers out of range, lone surrogates: per field
            if exc.message not in UNPARSABLE:
                context.payload = {"body": request.body[:2000].decode("utf-8", "replace")}
                capture_reject(context=context, reason=f"refused JSON: {exc.message}")
                return JsonResponse(exc.as_dict(), status=400)
            data = None
        if not isinstance(data, dict):
            context.payload = {"body": request.body[:2000].decode("utf-8", "replace")}
            capture_reject(context=context, reason="malformed JSON")
            return JsonResponse({"detail": BAD_JSON}, status=400)
        data = {
            str(k): v if isinstance(v, str) else json.dumps(v) if not isinstance(v, bool) else ("on" if v else "")
            for k, v in data.items()
        }
    else:
        data = request.POST.dict()
    context.payload = {k: v for k, v in data.items() if k != TIMESTAMP_FIELD}
    if not _origin_allowed(request, web_form):
        capture_reject(context=context, reason=f"origin not allowed: {request.headers.get('Origin')}")
        return JsonResponse({"detail": ORIGIN_NOT_ALLOWED}, status=403)
    if is_ratelimited(request, group=f"webform:{web_form.key}", key="ip", rate=web_form.rate_limit, increment=True):
        capture_reject(context=context, reason="rate limited")
        if wants_json(request):
            return JsonResponse({"detail": RATE_LIMITED}, status=429)
        return HttpResponse(RATE_LIMITED, status=429, content_type="text/plain; charset=utf-8")
    # Bots: answer exactly as for a person, but make no lead.
    if data.get(HONEYPOT_FIELD):
        capture_reject(context=context, reason="honeypot field filled")
        return _thank_you(request, web_form)
    elapsed = seconds_since_render(web_form, data.get(TIMESTAMP_FIELD, ""))
    if elapsed is None:
        capture_reject(context=context, reason="missing or forged form stamp")
        return _thank_you(request, web_form)
    if elapsed < web_form.min_fill_seconds:
        # Likely a bot, but maybe a quick person: held for a manager to release (web forms page).
        capture_hold(context=context, reason=f"filled in {elapsed:.1f}s (minimum {web_form.min_fill_seconds}s)")
        return _thank_you(request, web_form)
    form = public_form_bind(web_form=web_form, data=data)
    if not form.is_valid():
        errors = {field: [str(m) for m in messages] for field, messages in form.errors.items()}
        capture_reject(context=context, reason=f"invalid: {', '.join(sorted(errors))}")
        if wants_json(request):
            return JsonResponse(errors, status=400)
        if web_form.schema:
            return built_form_page(request, web_form, status=400)
        return _render_form(request, web_form, form, status=400)
    try:
        result = web_form_submission_capture(web_form=web_form, form=form, context=context)
    except CaptureRejected as exc:
        if wants_json(request):
            return JsonResponse(exc.message_dict, status=400)
        if web_form.schema:
            return built_form_page(request, web_form, status=400)
        for field, messages in exc.message_dict.items():
            for message in messages:
                form.add_error(field if field in form.fields else None, message)
        return _render_form(request, web_form, form, status=400)
    visitor_identify(
        site_key=None, visitor_key=form.cleaned_data.get("visitor_id", ""), lead=result.lead
    )  # past page views → timeline
    if web_form.schema and not getattr(form, "partial", False):
        form_follow_ups_enqueue(web_form=web_form, result=result)
    return _thank_you(request, web_form)
