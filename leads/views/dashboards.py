"""Managers' dashboards: an overview (each chart loads on its own, with htmx, or by its link), one
chart with its table view, and its CSV/XLSX export. Thin: leads.reporting reads and draws."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from ..common.exporting import rows_export_response
from ..permissions import can_open_dashboard
from ..reporting.dashboards import DASHBOARDS, Dashboard, Options, dashboard_build, dashboards_for
from ..reporting.forms import VIEWS, dashboard_filter_form


def _options(form) -> Options:
    data = form.cleaned_data
    return Options(start=data["start"], end=data["end"], team=data.get("team"), by_grade=bool(data.get("by_grade")))


def _query(options: Options) -> str:
    params = {"start": options.start.isoformat(), "end": options.end.isoformat()}
    if options.team is not None:
        params["team"] = options.team.pk
    if options.by_grade:
        params["by_grade"] = "on"
    return urlencode(params)


def _dashboard_or_404(request: HttpRequest, slug: str) -> Dashboard:
    dashboard = DASHBOARDS.get(slug)
    if dashboard is None:
        raise Http404("No such dashboard.")
    if not can_open_dashboard(request.user, for_marketers=dashboard.marketers):
        raise PermissionDenied
    return dashboard


@login_required
@require_GET
def dashboard_index_view(request: HttpRequest) -> HttpResponse:
    """Every dashboard the user may see, for the chosen range and team."""
    dashboards = dashboards_for(user=request.user)
    if not dashboards:
        raise PermissionDenied
    form = dashboard_filter_form(params=request.GET)
    if not form.is_valid():
        return render(request, "leads/dashboards/index.html", {"form": form, "dashboards": dashboards}, status=400)
    options = _options(form)
    return render(
        request,
        "leads/dashboards/index.html",
        {"form": form, "dashboards": dashboards, "options": options, "query": _query(options)},
    )


@login_required
@require_GET
def dashboard_chart_view(request: HttpRequest, slug: str) -> HttpResponse:
    """One dashboard: its chart, or (?view=table) its numbers as a table; htmx gets the card alone."""
    dashboard = _dashboard_or_404(request, slug)
    form = dashboard_filter_form(params=request.GET)
    view = request.GET.get("view") if request.GET.get("view") in VIEWS else "chart"
    context = {"form": form, "dashboard": dashboard, "view": view, "show_by_grade": dashboard.slug == "scores"}
    template = "leads/dashboards/_card.html" if request.htmx else "leads/dashboards/chart.html"
    if not form.is_valid():
        return render(request, template, context, status=400)
    options = _options(form)
    context.update(
        options=options,
        query=_query(options),
        built=dashboard_build(dashboard=dashboard, user=request.user, options=options, chart=view == "chart"),
    )
    return render(request, template, context)


@login_required
@require_GET
def dashboard_export_view(request: HttpRequest, slug: str) -> HttpResponse:
    """The dashboard's table as a formula-safe CSV (or ?format=xlsx)."""
    dashboard = _dashboard_or_404(request, slug)
    form = dashboard_filter_form(params=request.GET)
    if not form.is_valid():
        context = {"form": form, "dashboard": dashboard, "view": "table", "show_by_grade": dashboard.slug == "scores"}
        return render(request, "leads/dashboards/chart.html", context, status=400)
    options = _options(form)
    table = dashboard_build(dashboard=dashboard, user=request.user, options=options, chart=False).table
    return rows_export_response(
        header=table.header,
        rows=table.rows,
        fmt=form.cleaned_data["format"] or "csv",
        filename=f"dashboard-{slug}-{options.start}-{options.end}",
    )
