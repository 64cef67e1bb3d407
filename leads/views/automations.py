"""Automations for managers (others get 403): the list, the builder (trigger, conditions, actions),
an automation's page with its runs and the dry run, enable/disable. Thin: services do the work."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..automations.actions import action_describe
from ..automations.forms import (
    action_rows,
    actions_apply,
    actions_parse,
    builder_choices,
    params_parse,
    trigger_inputs,
)
from ..automations.services import automation_dry_run, automation_runs, automation_save, automation_set_enabled
from ..models import Automation
from ..nurturing.builder import builder_apply, builder_nodes, builder_options, builder_parse
from ..roles import is_manager
from ..selectors import visible_to

LEAD_NOT_FOUND = "No lead you can see has this id or email."


def _require_manager(request: HttpRequest) -> None:
    if not is_manager(request.user):
        raise PermissionDenied


@login_required
def automation_list_view(request: HttpRequest) -> HttpResponse:
    """Every automation with its trigger, state and run counts (one query)."""
    _require_manager(request)
    automations = Automation.objects.annotate(
        run_count=Count("runs"),
        failed_count=Count("runs", filter=Q(runs__status="failed")),
    ).order_by("name")
    return render(request, "leads/automations/list.html", {"automations": automations})


def _context(*, automation: Automation, data: dict, errors: dict) -> dict:
    condition_errors = {
        key.removeprefix("conditions."): value for key, value in errors.items() if key.startswith("conditions.")
    }
    choices = builder_choices()
    return {
        "automation": automation,
        "data": data,
        "errors": errors,
        "choices": choices,
        "trigger_inputs": trigger_inputs(
            trigger=data["trigger"], params=data["trigger_params"], errors=errors, choices=choices
        ),
        "tree": builder_nodes(
            definition=data["conditions"], errors=condition_errors, options=builder_options(segment=None)
        ),
        "rows": action_rows(actions=data["actions"], errors=errors, choices=choices),
    }


def _builder(request: HttpRequest, automation: Automation) -> HttpResponse:
    _require_manager(request)
    if request.method == "GET":
        data = {
            "name": automation.name,
            "description": automation.description,
            "enabled": automation.enabled,
            "trigger": automation.trigger or Automation.Trigger.LEAD_CREATED,
            "trigger_params": automation.trigger_params or {},
            "conditions": automation.conditions or {"match": "all", "conditions": []},
            "actions": automation.actions or [{"type": "add_tags", "tags": []}],
        }
        return render(request, "leads/automations/builder.html", _context(automation=automation, data=data, errors={}))
    post = request.POST
    data = {
        "name": post.get("name", ""),
        "description": post.get("description", ""),
        "enabled": post.get("enabled") == "on",
        "trigger": post.get("trigger", ""),
        "trigger_params": params_parse(data=post),
        "conditions": builder_parse(data=post),
        "actions": actions_parse(data=post),
    }
    action = post.get("action", "save")
    if action != "save":
        # A row added, removed or moved, or the trigger or a type changed: show the form again, unsaved.
        if action.startswith(("add:", "addgroup:", "remove:")):
            data["conditions"] = builder_apply(definition=data["conditions"], action=action)
        else:
            data["actions"] = actions_apply(actions=data["actions"], action=action)
        return render(request, "leads/automations/builder.html", _context(automation=automation, data=data, errors={}))
    creating = automation.pk is None
    try:
        automation = automation_save(automation=automation, data=data, by=request.user)
    except ValidationError as exc:
        context = _context(automation=automation, data=data, errors=exc.message_dict)
        return render(request, "leads/automations/builder.html", context, status=400)
    messages.success(request, _("Automation created.") if creating else _("Automation saved."))
    return redirect("leads:automation_detail", pk=automation.pk)


@login_required
def automation_create_view(request: HttpRequest) -> HttpResponse:
    """The builder for a new automation."""
    return _builder(request, Automation())


@login_required
def automation_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The builder for an existing automation."""
    return _builder(request, get_object_or_404(Automation, pk=pk))


@login_required
def automation_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """An automation: what it does, its latest runs with their steps, and the dry run."""
    _require_manager(request)
    automation = get_object_or_404(Automation, pk=pk)
    report, lead, lead_error = None, None, ""
    reference = request.GET.get("lead", "").strip()
    if reference:
        leads = visible_to(request.user)
        lead = (
            leads.filter(pk=int(reference)) if reference.isdigit() else leads.filter(email__iexact=reference)
        ).first()
        if lead is None:
            lead_error = LEAD_NOT_FOUND
        else:
            report = automation_dry_run(automation=automation, lead=lead)
    return render(
        request,
        "leads/automations/detail.html",
        {
            "automation": automation,
            "steps": [action_describe(action=action) for action in automation.actions],
            "runs": automation_runs(automation=automation),
            "report": report,
            "dry_lead": lead,
            "lead_error": lead_error,
            "reference": reference,
        },
    )


@login_required
@require_POST
def automation_toggle_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Enable or disable; disabling cancels the pending runs and waits."""
    _require_manager(request)
    automation = get_object_or_404(Automation, pk=pk)
    enable = request.POST.get("enabled") == "1"
    cancelled = automation_set_enabled(automation=automation, enabled=enable, by=request.user)
    if enable:
        messages.success(request, _("Automation enabled."))
    else:
        messages.success(request, _("Automation disabled; %(count)s pending run(s) cancelled.") % {"count": cancelled})
    return redirect("leads:automation_detail", pk=automation.pk)
