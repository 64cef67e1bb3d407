"""The Settings pages for managers: the index with the record of changes, teams, agents,
territories and their tester. Scoring's pages are in views_scoring. Thin: forms validate,
the services of this package write and record."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ..models import SettingsChange, Team, Territory
from ..permissions import can_change_settings
from . import agents, teams, territories
from .audit import change_differences, changes_recent

ORDER_NOT_NUMBER = "Orders are whole numbers from 1 to 10,000: {value} is not one."


def manager_only(view):
    """Managers only: anyone else gets 403 (and the login page when logged out)."""

    @login_required
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not can_change_settings(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__, wrapped.__doc__ = view.__name__, view.__doc__
    return wrapped


def history(*areas: str, limit: int = 10) -> list[tuple[SettingsChange, list]]:
    """The latest changes (of these areas) with what differs in each (one query)."""
    return [(change, change_differences(change)) for change in changes_recent(areas=areas, limit=limit)]


@manager_only
def settings_index_view(request: HttpRequest) -> HttpResponse:
    """The four areas, and every recent change with who made it and before/after."""
    return render(request, "leads/settings_ui/index.html", {"history": history(limit=50)})


@manager_only
def team_list_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "leads/settings_ui/teams.html",
        {
            "teams": teams.team_list(),
            "history": history(SettingsChange.Area.TEAM),
        },
    )


@manager_only
def team_edit_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """A new team, or a team's members, weights, SLA, escalation and phone numbers."""
    team = get_object_or_404(teams.team_list(), pk=pk) if pk is not None else None
    initial = teams.team_initial(team) if team is not None else {}
    form = teams.TeamForm(request.POST or None, team=team, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            saved = teams.team_save(team=team, data=form.cleaned_data, members=form.members(), by=request.user)
            messages.success(request, f"Team {saved.name} saved.")
            return redirect("leads:settings_ui:teams")
        return render(request, "leads/settings_ui/team_form.html", {"form": form, "team": team}, status=400)
    return render(request, "leads/settings_ui/team_form.html", {"form": form, "team": team})


@manager_only
def agent_list_view(request: HttpRequest) -> HttpResponse:
    rows = [(user, agents.agent_of(user)) for user in agents.agent_list()]
    return render(
        request,
        "leads/settings_ui/agents.html",
        {
            "rows": [(user, agent, agents.hours_summary(agent)) for user, agent in rows],
            "history": history(SettingsChange.Area.AGENT),
        },
    )


@manager_only
def agent_edit_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """A rep's capacity, time away, working week (in their zone) and phone."""
    user = get_object_or_404(agents.agent_list(), pk=user_id)
    initial, notes = agents.agent_initial(agents.agent_of(user))
    form = agents.AgentForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            agents.agent_save(user=user, data=form.cleaned_data, working_hours=form.working_hours(), by=request.user)
            messages.success(request, f"Routing profile of {user.username} saved.")
            return redirect("leads:settings_ui:agents")
        return render(
            request, "leads/settings_ui/agent_form.html", {"form": form, "person": user, "notes": notes}, status=400
        )
    return render(request, "leads/settings_ui/agent_form.html", {"form": form, "person": user, "notes": notes})


@manager_only
def territory_list_view(request: HttpRequest) -> HttpResponse:
    """Territories in routing order, their rules in words; POST saves the order numbers."""
    rows = list(territories.territory_list())
    errors: dict[int, str] = {}
    if request.method == "POST":
        priorities = {}
        for territory in rows:
            raw = request.POST.get(f"priority_{territory.pk}", "").strip()
            if raw == "":
                continue
            try:
                value = int(raw)
            except ValueError:
                value = 0
            if not 1 <= value <= 10000:
                errors[territory.pk] = ORDER_NOT_NUMBER.format(value=raw)
            priorities[territory.pk] = value
        if not errors:
            moved = territories.territories_reorder(priorities=priorities, by=request.user)
            messages.success(request, f"Order saved ({moved} moved).")
            return redirect("leads:settings_ui:territories")
    return render(
        request,
        "leads/settings_ui/territories.html",
        {
            "rows": [
                (t, territories.rules_in_words(t), errors.get(t.pk), request.POST.get(f"priority_{t.pk}", t.priority))
                for t in rows
            ],
            "history": history(SettingsChange.Area.TERRITORY),
        },
        status=400 if errors else 200,
    )


@manager_only
def territory_edit_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    territory = get_object_or_404(Territory, pk=pk) if pk is not None else None
    initial = territories.territory_initial(territory) if territory is not None else {}
    form = territories.TerritoryForm(request.POST or None, territory=territory, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            saved = territories.territory_save(
                territory=territory,
                data=form.cleaned_data,
                rules=form.cleaned_data["rules"],
                by=request.user,
            )
            messages.success(request, f"Territory {saved.name} saved.")
            return redirect("leads:settings_ui:territories")
        return render(
            request, "leads/settings_ui/territory_form.html", {"form": form, "territory": territory}, status=400
        )
    return render(request, "leads/settings_ui/territory_form.html", {"form": form, "territory": territory})


@manager_only
@require_POST
def territory_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    territory = get_object_or_404(Territory, pk=pk)
    territories.territory_delete(territory=territory, by=request.user)
    messages.success(request, f"Territory {territory.name} deleted.")
    return redirect("leads:settings_ui:territories")


@manager_only
def territory_tester_view(request: HttpRequest) -> HttpResponse:
    """Which territory would this lead go to? The routing's own matching, with the reasons."""
    form = territories.TesterForm(request.GET or None)
    result = territories.territory_test(lead=form.lead()) if request.GET and form.is_valid() else None
    return render(
        request,
        "leads/settings_ui/territory_tester.html",
        {
            "form": form,
            "result": result,
            "teams_exist": Team.objects.exists(),
        },
        status=400 if request.GET and form.errors else 200,
    )
