"""The lead list: filters in a side panel shown as removable chips, sortable columns chosen per
user, saved views, counts by status in tabs, bulk actions, keyboard navigation
(static/leadcrm/lead_list.js). Thin: leads.workspace (counts, preferences, saved_views) and leads.selectors read, services write.

A fixed number of queries per page, whatever the data; fast at a million leads (capped counts).
"""

from __future__ import annotations

from collections import Counter

import django_filters
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import NullBooleanSelect, Select
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from ..automations.services import automation_run_manual
from ..common.exporting import leads_export_response
from ..common.validation import id_parse, ids_parse
from ..models import Automation, Lead, Segment, unranked
from ..nurturing.segments import list_add_leads
from ..permissions import can_build_segments, can_export, can_write
from ..roles import SALES_REPS, is_manager, sees_all_leads
from ..selectors import lead_filterset, visible_parts, visible_to
from ..services import lead_bulk_assign, lead_bulk_set_status
from ..workspace.counts import status_counts
from ..workspace.preferences import LEAD_COLUMNS, columns_for, preference_get, preference_update
from ..workspace.saved_views import (
    builtin_views,
    clean_list_query,
    saved_view_create,
    saved_view_delete,
    saved_views_for,
)
from . import filtered_page
from .page_forms import STATUS_USE_CONVERT

# Validation messages (tests assert on them).
NOTHING_SELECTED = gettext_lazy("Select at least one lead.")
UNKNOWN_ACTION = gettext_lazy("Choose an action.")
UNKNOWN_AUTOMATION = gettext_lazy("Choose an enabled automation.")
UNKNOWN_OWNER = gettext_lazy("Choose a sales rep to assign the leads to.")
UNKNOWN_STATUS = gettext_lazy("Choose a status.")
NO_LIST_CHOSEN = gettext_lazy("Choose a static list to add the leads to.")
TOO_MANY_SELECTED = gettext_lazy("Select at most 500 leads at a time.")

MAX_SELECTED = 500
BOOLEAN_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
# Query parameters that are not filters: no chip for them.
NOT_FILTERS = {"page", "page_size", "ordering", "view"}
# Keys of leads.common.exporting.EXPORT_COLUMNS.
EXPORT_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "country",
    "city",
    "status",
    "score",
    "grade",
    "source",
    "owner",
    "team",
    "created_at",
    "last_activity_at",
)


def _url_or_empty(name: str) -> str:
    """The URL of a view another part of the app provides, or '' when it is not there."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def filter_chips(filterset, query: QueryDict) -> list[dict]:
    """One removable chip per active filter: its label, the value shown, and the list's URL without it."""
    chips = []
    for name, field in filterset.form.fields.items():
        raw = query.get(name, "").strip()
        if name in NOT_FILTERS or not raw:
            continue
        choices = dict(filterset.filters[name].extra.get("choices") or [])
        if choices:
            shown = ", ".join(str(choices.get(part, part)) for part in raw.split(","))
        elif isinstance(filterset.filters[name], django_filters.BooleanFilter):
            if raw.lower() not in BOOLEAN_WORDS:
                continue  # "unknown" (the form's "Any"): not a filter
            shown = _("yes") if BOOLEAN_WORDS[raw.lower()] else _("no")
        else:
            shown = raw
        rest = query.copy()
        rest.pop(name, None)
        rest.pop("page", None)
        chips.append({"name": name, "label": field.label or name, "value": shown, "remove": rest.urlencode()})
    return chips


FILTER_ORDER = (
    "search",
    "status",
    "grade",
    "source",
    "owner",
    "unassigned",
    "callable_now",
    "score_min",
    "score_max",
    "created_after",
    "created_before",
    "ordering",
)


def label_filters(form) -> None:
    """Bootstrap classes and placeholders for the side panel, search first (the
    template renders the fields itself: crispy took 40% of the page's CPU time). The labels are the
    FilterSet's own (HumanFilterSet)."""
    for name, field in form.fields.items():
        if isinstance(field.widget, NullBooleanSelect):
            field.widget.choices = (("unknown", _("Any")), ("true", _("Yes")), ("false", _("No")))
        css = "form-select form-select-sm" if isinstance(field.widget, Select) else "form-control form-control-sm"
        if name in form.errors:
            css += " is-invalid"
        field.widget.attrs["class"] = css
    for name in ("created_after", "created_before"):
        if name in form.fields:
            form.fields[name].widget.attrs["placeholder"] = "2026-01-31"
    if "search" in form.fields:
        form.fields["search"].widget.attrs.update(
            {"placeholder": _("Name, email, company, phone, job title"), "aria-keyshortcuts": "/"}
        )
    form.order_fields(FILTER_ORDER)


def _status_tabs(request: HttpRequest, filterset, paginator) -> list[dict]:
    """The status tabs: each with its capped count, its URL and whether it is the current one.
    On the "All" tab the page's matches are the tabs' matches: when they were few enough to be
    read whole (ids first, with their status), the tabs are counted from them, exactly, and the
    tabs' own statement (which would repeat the search and visibility bitmaps: ~20 ms of a rep's
    search at a million leads) is not run."""
    if not filterset.is_valid():
        return []
    query = request.GET.copy()
    query.pop("page", None)
    current = query.pop("status", [""])[-1]
    counts = {}
    if not any(request.GET.getlist("status")) and paginator.matches.small:
        found = Counter(paginator.matches.column("status"))
        counts = {"all": (paginator.matches.count, True)} | {
            status: (found.get(status, 0), True) for status in Lead.Status.values
        }
    elif (without_status := lead_filterset(user=request.user, data=query)).is_valid():
        # A rep's visible leads are "own OR team queue": counted per part, on the owner/status index.
        parts = [without_status.filter_queryset(part) for part in visible_parts(request.user)]
        searching = bool(without_status.form.cleaned_data.get("search"))
        counts = status_counts(
            queryset=unranked(without_status.qs), parts=[unranked(part) for part in parts], each_status=not searching
        )
    tabs = [
        {"key": "", "label": _("All"), "count": counts.get("all"), "query": query.urlencode(), "active": not current}
    ]
    for value, label in Lead.Status.choices:
        with_status = query.copy()
        with_status["status"] = value
        tabs.append(
            {
                "key": value,
                "label": label,
                "count": counts.get(value),
                "query": with_status.urlencode(),
                "active": current == value,
            }
        )
    return tabs


def _static_lists(user) -> list:
    """The static lists a manager or marketer may add leads to (nobody else: no query)."""
    if not can_build_segments(user):
        return []
    return list(Segment.objects.filter(kind=Segment.Kind.STATIC).order_by("name").only("pk", "name")[:200])


def _assignable_reps() -> list[User]:
    return list(
        User.objects.filter(groups__name=SALES_REPS, is_active=True).order_by("username").only("pk", "username")
    )


@login_required
def lead_list_view(request: HttpRequest) -> HttpResponse:
    """The lead list (see the module docstring)."""
    user = request.user
    preference = preference_get(user=user)
    filterset = lead_filterset(user=user, data=request.GET)
    label_filters(filterset.form)
    context = filtered_page(request, filterset, matches_extra=("status",), probe_first_page=True)
    columns = columns_for(preference)
    query = request.GET.copy()
    query.pop("page", None)
    current_query = clean_list_query(query.urlencode())
    saved = saved_views_for(user=user)
    manager = is_manager(user)
    context.update(
        can_write=can_write(user),
        sees_all=sees_all_leads(user),
        is_manager=manager,
        can_export=can_export(user),
        # Labels translated once here: each of the page's ~175 cells carries its column's label
        # (data-label), and a lazy one is translated again at each use (~500 gettext calls a page).
        columns=[(key, str(label), order) for key, label, order in LEAD_COLUMNS if key in columns],
        all_columns=LEAD_COLUMNS,
        chosen_columns=columns,
        chips=filter_chips(filterset, request.GET),
        tabs=_status_tabs(request, filterset, context["paginator"]),
        ordering=request.GET.get("ordering", ""),
        query_dict=query,
        current_query=current_query,
        builtin_views=builtin_views(user=user),
        saved_views=saved,
        statuses=[(value, label) for value, label in Lead.Status.choices if value != Lead.Status.CONVERTED],
        reps=_assignable_reps() if manager else [],
        static_lists=_static_lists(user),
        automations=_enabled_automations(user),
        bulk_convert_url=_url_or_empty("conversion:bulk_convert"),
        list_url=reverse("leads:list") + ("?" + current_query if current_query else ""),
    )
    return render(request, "leads/lead_list.html", context, status=200 if filterset.is_valid() else 400)


def _back_to_list(query: str) -> HttpResponse:
    """Back to the list with the query it was posted from (always our own list: no open redirect)."""
    return redirect(reverse("leads:list") + ("?" + clean_list_query(query) if query else ""))


def _bad_request(request: HttpRequest, errors: dict[str, list[str]], query: str) -> HttpResponse:
    return render(
        request,
        "leads/lead_bulk_error.html",
        {"errors": errors, "back": reverse("leads:list") + ("?" + clean_list_query(query) if query else "")},
        status=400,
    )


def _selected(request: HttpRequest):
    """The posted lead ids, as a queryset over what the user may see (ValidationError when bad)."""
    raw = request.POST.getlist("ids")
    ids = ids_parse(raw)
    if not ids:
        raise ValidationError({"ids": [str(NOTHING_SELECTED)]})
    if len(ids) > MAX_SELECTED:
        raise ValidationError({"ids": [str(TOO_MANY_SELECTED)]})
    return visible_to(request.user).filter(pk__in=ids)


@login_required
@require_POST
def lead_bulk_view(request: HttpRequest) -> HttpResponse:
    """Bulk actions on the ticked leads: assign (managers), change status (reps and managers;
    lost needs a reason), export CSV/XLSX (managers and marketers). Only visible leads are touched."""
    user = request.user
    action = request.POST.get("action", "")
    query = request.POST.get("query", "")
    if action in ("assign", "automation") and not is_manager(user):
        raise PermissionDenied
    if action == "status" and not can_write(user):
        raise PermissionDenied
    if action in ("export_csv", "export_xlsx") and not can_export(user):
        raise PermissionDenied
    if action == "add_to_list" and not can_build_segments(user):
        raise PermissionDenied
    try:
        leads = _selected(request)
        if action == "assign":
            username = request.POST.get("owner", "")
            owner = (
                User.objects.filter(username=username, groups__name=SALES_REPS, is_active=True).first()
                if username
                else None
            )
            if owner is None:
                raise ValidationError({"owner": [str(UNKNOWN_OWNER)]})
            changed = lead_bulk_assign(leads=leads, owner=owner, by=user)
            messages.success(
                request, _("%(count)s lead(s) assigned to %(owner)s.") % {"count": changed, "owner": owner.username}
            )
        elif action == "status":
            status = request.POST.get("status", "")
            if status not in Lead.Status.values:
                raise ValidationError({"status": [str(UNKNOWN_STATUS)]})
            if status == Lead.Status.CONVERTED:  # a customer is made by converting, not by a label
                raise ValidationError({"status": [STATUS_USE_CONVERT]})
            changed = lead_bulk_set_status(
                leads=leads, status=status, lost_reason=request.POST.get("lost_reason", ""), by=user
            )
            messages.success(request, _("%(count)s lead(s) updated.") % {"count": changed})
        elif action == "add_to_list":
            added = _add_to_list(leads=leads, list_id=request.POST.get("list", ""), by=user)
            messages.success(request, _("%(count)s lead(s) added to the list.") % {"count": added})
        elif action == "automation":
            count = _run_automation(leads=leads, automation_id=request.POST.get("automation", ""), by=user)
            messages.success(request, _("The automation will run on %(count)s lead(s).") % {"count": count})
        elif action in ("export_csv", "export_xlsx"):
            return _export(leads=leads, fmt=action.removeprefix("export_"))
        else:
            raise ValidationError({"action": [str(UNKNOWN_ACTION)]})
    except ValidationError as exc:
        return _bad_request(request, exc.message_dict, query)
    return _back_to_list(query)


def _enabled_automations(user) -> list:
    """The automations a manager may run on ticked leads (nobody else: no query)."""
    return (
        list(Automation.objects.filter(enabled=True).order_by("name").only("pk", "name")[:200])
        if is_manager(user)
        else []
    )


def _run_automation(*, leads, automation_id: str, by) -> int:
    """Run an enabled automation on the ticked (visible) leads, off the request."""
    automation = (
        Automation.objects.filter(pk=int(automation_id), enabled=True).first() if automation_id.isdigit() else None
    )
    if automation is None:
        raise ValidationError({"automation": [str(UNKNOWN_AUTOMATION)]})
    return automation_run_manual(automation=automation, leads=leads, by=by)


def _add_to_list(*, leads, list_id: str, by) -> int:
    """Add the ticked (visible) leads to a static list, through the lists' own service."""
    list_pk = id_parse(list_id)
    segment = Segment.objects.filter(pk=list_pk, kind=Segment.Kind.STATIC).first() if list_pk else None
    if segment is None:
        raise ValidationError({"list": [str(NO_LIST_CHOSEN)]})
    return list_add_leads(segment=segment, lead_ids=leads, by=by)


def _export(*, leads, fmt: str) -> HttpResponse:
    """The ticked leads as a spreadsheet, through leads/exporting.py (formula-safe)."""
    leads = leads.select_related(None).order_by("-created_at", "-id")
    return leads_export_response(leads=leads, columns=EXPORT_COLUMNS, fmt=fmt, filename="leads")


@login_required
@require_POST
def saved_view_create_view(request: HttpRequest) -> HttpResponse:
    """Save the list's current query as a named view (managers may share it with everyone)."""
    query = request.POST.get("query", "")
    try:
        saved_view_create(
            user=request.user,
            name=request.POST.get("name", ""),
            query=query,
            is_shared=bool(request.POST.get("is_shared")),
            may_share=is_manager(request.user),
        )
    except ValidationError as exc:
        return _bad_request(request, exc.message_dict, query)
    messages.success(request, _("View saved."))
    return _back_to_list(query)


@login_required
@require_POST
def saved_view_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete one of the user's saved views (managers may delete shared ones)."""
    if saved_view_delete(user=request.user, pk=pk, may_delete_shared=is_manager(request.user)):
        messages.success(request, _("View deleted."))
    else:
        messages.error(request, _("No such view of yours."))
    return _back_to_list(request.POST.get("query", ""))


@login_required
@require_POST
def lead_columns_view(request: HttpRequest) -> HttpResponse:
    """Save which columns the user's lead list shows."""
    query = request.POST.get("query", "")
    try:
        preference_update(user=request.user, lead_columns=request.POST.getlist("columns"))
    except ValidationError as exc:
        return _bad_request(request, exc.message_dict, query)
    messages.success(request, _("Columns saved."))
    return _back_to_list(query)
