"""The Forms page (managers and marketers build, preview, publish and measure web forms) and the
two public endpoints the embed script uses: the layout (/f/<key>/schema.json, a view) and the
beacon (/f/<key>/beacon: a start, a step reached)."""

from __future__ import annotations

import json
from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from ..capture.forms_builder.analytics import MAX_RANGE_DAYS, form_count, form_stats, metric_valid
from ..capture.forms_builder.public_form import BuilderForm, client_schema, profile_known
from ..capture.forms_builder.schema import FIELD_TYPES, LEAD_FIELD_TYPES, LEGAL_BASES, PURPOSES, UTM_FIELDS
from ..capture.forms_builder.services import (
    built_forms,
    form_create,
    form_duplicate,
    form_embed_snippet,
    form_leads,
    form_publish,
    form_schema_save,
)
from ..capture.webforms import embed_snippets, web_form_active
from ..common.safejson import JSONRejected, json_loads_safe
from ..models import Lead, Segment, Sequence, Team, WebForm
from ..permissions import is_marketer
from ..reporting.charts import column_chart
from ..roles import is_manager
from .public import _cors, _origin_allowed

BAD_JSON = "The body is not a JSON object."
BAD_RANGE = "Give dates as YYYY-MM-DD, the start before the end, at most a year apart."
BAD_METRIC = "Unknown event."
BEACON_RATE = "120/m"


def _require_builder(request: HttpRequest) -> None:
    if not (is_manager(request.user) or is_marketer(request.user)):
        raise PermissionDenied


def _form_or_404(pk: int) -> WebForm:
    return get_object_or_404(WebForm, pk=pk)


class FormSettings(forms.ModelForm):
    """A form's settings beside its layout: where it may run, what follows a submission, anti-spam."""

    redirect_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Redirect URL",
        help_text="Instead of the thank-you message; its host must be one of the allowed hosts.",
    )
    hosts = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Allowed hosts",
        help_text="One per line (www.example.com, or host:port). Sites that may embed the form, post to it and be redirected to.",
    )
    follow_list = forms.ModelChoiceField(
        Segment.objects.filter(kind=Segment.Kind.STATIC), required=False, label="Add to list"
    )
    follow_sequence = forms.ModelChoiceField(
        Sequence.objects.filter(is_active=True), required=False, label="Enroll in sequence"
    )
    follow_notify = forms.ModelChoiceField(
        User.objects.filter(is_active=True).order_by("username"), required=False, label="Notify user"
    )
    follow_team = forms.ModelChoiceField(Team.objects.all(), required=False, label="Assign by the round robin of team")

    class Meta:
        model = WebForm
        fields = [
            "name",
            "thank_you_message",
            "redirect_url",
            "rate_limit",
            "min_fill_seconds",
            "utm_source",
            "utm_medium",
            "utm_campaign",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hosts"].initial = "\n".join(self.instance.allowed_hosts or [])
        follow = (self.instance.schema or {}).get("follow_ups") or {}
        for name in ("list", "sequence", "notify", "team"):
            self.fields[f"follow_{name}"].initial = follow.get(name)

    def clean(self):
        cleaned = super().clean()
        self.instance.allowed_hosts = [h.strip().lower() for h in (cleaned.get("hosts") or "").split() if h.strip()]
        return cleaned

    def save(self, commit=True):
        web_form = super().save(commit=False)
        schema = dict(web_form.schema or {})
        schema["follow_ups"] = {
            name: self.cleaned_data[f"follow_{name}"].pk
            for name in ("list", "sequence", "notify", "team")
            if self.cleaned_data.get(f"follow_{name}")
        }
        web_form.schema = schema
        web_form.save()
        return web_form


@login_required
@require_http_methods(["GET", "POST"])
def forms_list_view(request: HttpRequest) -> HttpResponse:
    """Every form with its state; a name creates a new draft."""
    _require_builder(request)
    if request.method == "POST":
        try:
            web_form = form_create(name=request.POST.get("name", ""))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("leads:forms")
        return redirect("leads:form_edit", web_form.pk)
    return render(request, "leads/forms_builder/list.html", {"forms": list(built_forms())})


@login_required
@require_http_methods(["GET", "POST"])
def form_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The builder: the layout (edited in the browser, saved as JSON) and the settings form."""
    _require_builder(request)
    web_form = _form_or_404(pk)
    settings_form = FormSettings(request.POST or None, instance=web_form)
    if request.method == "POST":
        if settings_form.is_valid():
            settings_form.save()
            messages.success(request, _("Settings saved."))
            return redirect("leads:form_edit", web_form.pk)
    attribute_keys = sorted(
        {
            key
            for attrs in Lead.objects.exclude(attributes={}).values_list("attributes", flat=True)[:500]
            if isinstance(attrs, dict)
            for key in attrs
            if not key.startswith("_")
        }
    )
    context = {
        "web_form": web_form,
        "settings_form": settings_form,
        "embed_js": form_embed_snippet(web_form=web_form),
        "embed_iframe": embed_snippets(web_form)[0],
        "builder": {
            "schema": web_form.schema or {},
            "save_url": reverse("leads:form_layout", args=[web_form.pk]),
            "types": list(FIELD_TYPES),
            "lead_fields": {**LEAD_FIELD_TYPES, **{n: "hidden" for n in UTM_FIELDS}},
            "purposes": PURPOSES,
            "bases": LEGAL_BASES,
            "attributes": attribute_keys,
        },
    }
    return render(request, "leads/forms_builder/edit.html", context, status=400 if request.method == "POST" else 200)


def _builder_json(request: HttpRequest, pk: int):
    """The form a builder may edit, and the request's JSON body (None when it is not JSON)."""
    _require_builder(request)
    web_form = _form_or_404(pk)
    try:
        return web_form, json_loads_safe(request.body)
    except JSONRejected:
        return web_form, None


@login_required
@require_POST
def form_layout_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the layout the builder sends (JSON); 400 with messages by path when it does not hold."""
    web_form, data = _builder_json(request, pk)
    if not isinstance(data, dict):
        return JsonResponse({"schema": [BAD_JSON]}, status=400)
    try:
        schema = form_schema_save(web_form=web_form, schema=data)
    except ValidationError as exc:
        return JsonResponse(exc.message_dict, status=400)
    return JsonResponse({"schema": schema})


@login_required
@require_POST
def form_duplicate_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A draft copy of the form, opened in the builder."""
    _require_builder(request)
    copy = form_duplicate(web_form=_form_or_404(pk))
    messages.success(request, _("Duplicated: this is the draft copy."))
    return redirect("leads:form_edit", copy.pk)


@login_required
@require_POST
def form_publish_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Publish or unpublish (publish=0) the form."""
    _require_builder(request)
    web_form = _form_or_404(pk)
    try:
        form_publish(web_form=web_form, published=request.POST.get("publish") != "0")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    if request.POST.get("next") == "list":
        return redirect("leads:forms")
    return redirect("leads:form_edit", web_form.pk)


@login_required
@require_GET
def form_preview_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The form as visitors will see it, published or not; its submissions create nothing."""
    _require_builder(request)
    web_form = _form_or_404(pk)
    if not web_form.schema:
        raise Http404("Not a built form.")
    config = client_schema(web_form=web_form, known=set(), preview=True)
    return render(request, "leads/forms_builder/public.html", {"web_form": web_form, "config": config, "preview": True})


@login_required
@require_POST
def form_preview_submit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Check a preview submission like a real one and answer what would be captured; nothing is written."""
    web_form, data = _builder_json(request, pk)
    if not isinstance(data, dict) or not web_form.schema:
        return JsonResponse({"detail": BAD_JSON}, status=400)
    data = {
        str(k): v if isinstance(v, str) else json.dumps(v) if not isinstance(v, bool) else ("on" if v else "")
        for k, v in data.items()
    }
    form = BuilderForm(data, web_form=web_form, known=set())
    if not form.is_valid():
        return JsonResponse({f: [str(m) for m in ms] for f, ms in form.errors.items()}, status=400)
    return JsonResponse({"status": "preview", "would_capture": form.lead_data(), "consents": form.consents()})


def _date(value: str):
    try:
        return parse_date(value)
    except ValueError:  # well-formed but impossible (2026-13-01)
        return None


def _range(request: HttpRequest):
    today = timezone.localdate()
    start = _date(request.GET["from"]) if request.GET.get("from") else today - timedelta(days=29)
    end = _date(request.GET["to"]) if request.GET.get("to") else today
    if start is None or end is None or start > end or (end - start).days > MAX_RANGE_DAYS:
        return None
    return start, end


@login_required
@require_GET
def form_analytics_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Views, starts, submissions, conversion, refusals, step drop-off and the leads' fate over a date range."""
    _require_builder(request)
    web_form = _form_or_404(pk)
    span = _range(request)
    if span is None:
        return render(
            request, "leads/forms_builder/analytics.html", {"web_form": web_form, "error": BAD_RANGE}, status=400
        )
    stats = form_stats(web_form=web_form, start=span[0], end=span[1])
    chart = column_chart(
        slug=f"form-{web_form.pk}",
        title=_("Views, starts and submissions per day"),
        desc=_("Per day from %(start)s to %(end)s.") % {"start": span[0], "end": span[1]},
        categories=[d.strftime("%m-%d") for d in stats.days],
        series=[_("Views"), _("Starts"), _("Submissions")],
        values=[[stats.views.get(d, 0), stats.starts.get(d, 0), stats.submissions.get(d, 0)] for d in stats.days],
        stacked=False,
    )
    steps = len((web_form.schema or {}).get("steps", [])) or 1
    context = {
        "web_form": web_form,
        "stats": stats,
        "chart": chart,
        "drop_off": stats.drop_off(steps),
        "steps": steps,
        "leads": list(form_leads(web_form=web_form, user=request.user, limit=20)),
    }
    return render(request, "leads/forms_builder/analytics.html", context)


# --- Public: the embed's layout and beacon ------------------------------------------------------


@csrf_exempt  # public and embeddable like /f/<key>: read-only, CORS limited to the form's allowed hosts
@require_http_methods(["GET", "OPTIONS"])
def form_schema_json_view(request: HttpRequest, key: str) -> HttpResponse:
    """The layout for this visitor (a view counted); ?vid= the tracking cookie, ?pt= a nurture link's token."""
    web_form = web_form_active(key=key)
    if web_form is None or not web_form.schema:
        raise Http404("No such form.")
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), request, web_form)
    form_count(web_form_id=web_form.pk, metric="view")
    known = profile_known(visitor_id=request.GET.get("vid", ""), token=request.GET.get("pt", ""))
    response = JsonResponse(client_schema(web_form=web_form, known=known))
    response["Cache-Control"] = "no-store"
    return _cors(response, request, web_form)


@csrf_exempt  # navigator.sendBeacon cannot carry a CSRF token; the origin is checked and the rate limited
@require_POST
def form_beacon_view(request: HttpRequest, key: str) -> HttpResponse:
    """Count a start (first field touched) or a step reached: body `start` or `step:<n>`."""
    web_form = web_form_active(key=key)
    if web_form is None or not web_form.schema:
        raise Http404("No such form.")
    if not _origin_allowed(request, web_form):
        return JsonResponse({"detail": "This form does not accept events from that site."}, status=403)
    metric = request.body[:20].decode("ascii", "replace").strip()
    if not metric_valid(metric=metric):
        return JsonResponse({"detail": BAD_METRIC}, status=400)
    if is_ratelimited(request, group=f"formbeacon:{key}", key="ip", rate=BEACON_RATE, increment=True):
        return JsonResponse({"detail": "Too many events."}, status=429)
    form_count(web_form_id=web_form.pk, metric=metric)
    return _cors(HttpResponse(status=204), request, web_form)
