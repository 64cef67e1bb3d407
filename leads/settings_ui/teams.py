"""Teams: name, manager, members and their round-robin weights, the SLA, escalation and the
phone numbers that ring the team."""

from django import forms
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet

from ..common.normalize import normalize_phone
from ..models import SettingsChange, Team, TeamMembership, TeamSettings
from ..roles import SALES_MANAGERS, SALES_REPS
from .audit import settings_change_record

# Per-field messages (tests assert on them).
TEAM_NAME_TAKEN = "There is already a team called {name}."
WEIGHT_RANGE = "A weight is a whole number from 1 to 100 (2 gets twice the turns of 1)."
WEIGHT_REQUIRED = "Give the member a weight (1 for an equal share)."
PHONE_LINE_INVALID = (
    "Line {line}: {value} is not a phone number. Write it in international form, e.g. +44 20 7946 0000."
)
PHONE_TAKEN = "{number} already rings team {team}: a number can ring one team only."
SLA_RANGE = "The SLA is from 1 to 10,080 minutes (a week of working time)."
ESCALATION_RANGE = "From 0 (escalate at the first miss) to 10 misses."
NO_MEMBERS_FOR_WEIGHTS = "Tick the reps who belong to the team."


def team_list() -> QuerySet[Team]:
    """Teams by name with their routing settings, manager and members (two queries)."""
    memberships = TeamMembership.objects.select_related("user").order_by("user__username")
    return (
        Team.objects.select_related("routing", "manager")
        .prefetch_related(Prefetch("memberships", queryset=memberships))
        .order_by("name")
    )


def member_candidates(team: Team | None) -> list[User]:
    """Active sales reps, and anyone already in the team, by username."""
    scope = Q(groups__name=SALES_REPS, is_active=True)
    if team is not None and team.pk:
        scope |= Q(team_memberships__team=team)
    return list(User.objects.filter(scope).distinct().order_by("username"))


class TeamForm(forms.Form):
    """The team and its routing; one member tick box and weight per rep (no script needed)."""

    name = forms.CharField(label="Name", max_length=100)
    manager = forms.ModelChoiceField(
        label="Manager",
        required=False,
        queryset=User.objects.none(),
        help_text="Escalations after missed SLAs go to this manager.",
    )
    sla_minutes = forms.IntegerField(
        label="First contact within (minutes)",
        min_value=1,
        max_value=10080,
        initial=60,
        error_messages={"min_value": SLA_RANGE, "max_value": SLA_RANGE},
        help_text="Counted in the owner's working hours; missed: the lead goes to the next rep.",
    )
    max_reassignments = forms.IntegerField(
        label="Escalate to the manager after this many missed SLAs",
        min_value=0,
        max_value=10,
        initial=2,
        error_messages={"min_value": ESCALATION_RANGE, "max_value": ESCALATION_RANGE},
    )
    require_working_hours = forms.BooleanField(
        label="Only give leads to reps inside their working hours", required=False
    )
    keep_returning_owner = forms.BooleanField(
        label="A returning lead (or its company) keeps its owner",
        required=False,
        initial=True,
    )
    phone_numbers = forms.CharField(
        label="Phone numbers that ring this team",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, in international form (+44 20 7946 0000).",
    )

    def __init__(self, *args, team: Team | None = None, **kwargs):
        self.team = team
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = (
            User.objects.filter(Q(groups__name=SALES_MANAGERS) | Q(is_superuser=True), is_active=True)
            .distinct()
            .order_by("username")
        )
        weights = {m.user_id: m.weight for m in team.memberships.all()} if team is not None and team.pk else {}
        self.candidates = member_candidates(team)
        for user in self.candidates:
            self.fields[f"member_{user.pk}"] = forms.BooleanField(
                label=user.get_full_name() or user.username,
                required=False,
                initial=user.pk in weights,
            )
            self.fields[f"weight_{user.pk}"] = forms.IntegerField(
                label=f"Weight of {user.username}",
                required=False,
                min_value=1,
                max_value=100,
                initial=weights.get(user.pk, 1),
                error_messages={"min_value": WEIGHT_RANGE, "max_value": WEIGHT_RANGE},
                widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "style": "width: 6em"}),
            )

    def member_rows(self):
        """(user, tick box, weight) per candidate, for the members table."""
        return [(user, self[f"member_{user.pk}"], self[f"weight_{user.pk}"]) for user in self.candidates]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        others = Team.objects.filter(name__iexact=name)
        if self.team is not None and self.team.pk:
            others = others.exclude(pk=self.team.pk)
        if others.exists():
            raise forms.ValidationError(TEAM_NAME_TAKEN.format(name=name))
        return name

    def clean_phone_numbers(self) -> list[str]:
        numbers: list[str] = []
        errors: list[str] = []
        lines = [line.strip() for line in (self.cleaned_data.get("phone_numbers") or "").splitlines()]
        for line_no, line in enumerate(lines, start=1):
            if not line:
                continue
            try:
                number = normalize_phone(line)
            except ValueError:
                errors.append(PHONE_LINE_INVALID.format(line=line_no, value=line))
                continue
            if number not in numbers:
                numbers.append(number)
        taken = TeamSettings.objects.exclude(phone_numbers=[]).select_related("team")
        if self.team is not None and self.team.pk:
            taken = taken.exclude(team=self.team)
        for other in taken:
            for number in set(numbers) & set(other.phone_numbers if isinstance(other.phone_numbers, list) else []):
                errors.append(PHONE_TAKEN.format(number=number, team=other.team.name))
        if errors:
            raise forms.ValidationError(errors)
        return numbers

    def clean(self):
        cleaned = super().clean()
        for user in self.candidates:
            if (
                cleaned.get(f"member_{user.pk}")
                and cleaned.get(f"weight_{user.pk}") is None
                and not self.has_error(f"weight_{user.pk}")
            ):
                self.add_error(f"weight_{user.pk}", WEIGHT_REQUIRED)
        return cleaned

    def members(self) -> dict[int, int]:
        """The ticked reps' user ids → weights."""
        return {
            user.pk: self.cleaned_data[f"weight_{user.pk}"]
            for user in self.candidates
            if self.cleaned_data.get(f"member_{user.pk}")
        }


def team_initial(team: Team) -> dict:
    """The form's starting values from the saved team."""
    routing = _routing(team)
    return {
        "name": team.name,
        "manager": team.manager_id,
        "sla_minutes": routing.sla_minutes,
        "max_reassignments": routing.max_reassignments,
        "require_working_hours": routing.require_working_hours,
        "keep_returning_owner": routing.keep_returning_owner,
        "phone_numbers": "\n".join(routing.phone_numbers if isinstance(routing.phone_numbers, list) else []),
    }


def _routing(team: Team) -> TeamSettings:
    try:
        return team.routing
    except TeamSettings.DoesNotExist:
        return TeamSettings(team=team)


def team_snapshot(team: Team) -> dict:
    """The team as the audit shows it."""
    if not team.pk:
        return {}
    routing = _routing(team)
    members = TeamMembership.objects.filter(team=team).select_related("user").order_by("user__username")
    return {
        "name": team.name,
        "manager": team.manager.username if team.manager_id else None,
        "members": {m.user.username: m.weight for m in members},
        "sla_minutes": routing.sla_minutes,
        "max_reassignments": routing.max_reassignments,
        "require_working_hours": routing.require_working_hours,
        "keep_returning_owner": routing.keep_returning_owner,
        "phone_numbers": list(routing.phone_numbers or []),
    }


ROUTING_FIELDS = ("sla_minutes", "max_reassignments", "require_working_hours", "keep_returning_owner", "phone_numbers")


def team_save(*, team: Team | None, data: dict, members: dict[int, int], by: User) -> Team:
    """Create or change a team, its routing and its members (weights), and record the change.
    The team row is locked first, as a round-robin turn locks it, so no turn sees half a change."""
    with transaction.atomic():
        if team is not None and team.pk:
            team = Team.objects.select_for_update(no_key=True).get(pk=team.pk)
        else:
            team = Team()
        before = team_snapshot(team)
        team.name, team.manager = data["name"], data.get("manager")
        team.save()
        TeamSettings.objects.update_or_create(team=team, defaults={key: data[key] for key in ROUTING_FIELDS})
        TeamMembership.objects.filter(team=team).exclude(user_id__in=list(members)).delete()
        existing = {m.user_id: m for m in TeamMembership.objects.filter(team=team)}
        for user_id, weight in members.items():
            membership = existing.get(user_id)
            if membership is None:
                TeamMembership.objects.create(team=team, user_id=user_id, weight=weight)
            elif membership.weight != weight:
                membership.weight = weight
                membership.save(update_fields=["weight"])
        team = Team.objects.select_related("routing", "manager").get(pk=team.pk)
        settings_change_record(
            by=by,
            area=SettingsChange.Area.TEAM,
            obj_id=team.pk,
            obj_repr=team.name,
            before=before,
            after=team_snapshot(team),
        )
    return team
