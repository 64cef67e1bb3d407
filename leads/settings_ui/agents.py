"""Agents (the reps' routing profiles): capacity, out of office with a reason, the working week
as a grid of from/to times in the agent's own time zone, and the phone calls ring."""

import zoneinfo
from datetime import time

from django import forms
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet

from .. import jobs
from ..common.normalize import INVALID_PHONE, normalize_phone
from ..distribution.availability import DEFAULT_WORKING_HOURS, working_hours_parse
from ..models import Agent, SettingsChange, TeamMembership
from ..roles import SALES_REPS
from .audit import settings_change_record

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SHORT_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Per-field messages (tests assert on them).
HOURS_NEED_END = "Give the time the day ends, or clear the start for a day off."
HOURS_NEED_START = "Give the time the day starts, or clear the end for a day off."
HOURS_SAME = "The day starts and ends at the same time: clear both for a day off."
OOO_UNTIL_BEFORE_FROM = "The last day away is before the first."
OOO_REASON_WITHOUT_DATES = "Give the dates away as well as the reason."
CAPACITY_RANGE = "A whole number from 1 to 10,000, or empty for no limit."
SPLIT_DAY_NOTE = (
    "{day} has more than one working period ({periods}); the grid keeps one, from the first start to the last end."
)


def agent_list() -> QuerySet[User]:
    """Every sales rep (and anyone with a routing profile) with their profile and teams (two queries)."""
    memberships = TeamMembership.objects.select_related("team").order_by("team__name")
    return (
        User.objects.filter(Q(groups__name=SALES_REPS) | Q(agent__isnull=False))
        .distinct()
        .select_related("agent")
        .prefetch_related(Prefetch("team_memberships", queryset=memberships))
        .order_by("username")
    )


def agent_of(user: User) -> Agent | None:
    try:
        return user.agent
    except Agent.DoesNotExist:
        return None


def _hhmm(value: time | None) -> str:
    return value.strftime("%H:%M") if value is not None else "24:00"


def hours_summary(agent: Agent | None) -> str:
    """'Mon–Fri 09:00–17:30' (days with the same hours grouped), 'no working hours' if none."""
    try:
        week = working_hours_parse(agent.working_hours if agent is not None else None)
    except ValueError:
        return "not readable: set them again here"
    spans = [", ".join(f"{s.strftime('%H:%M')}–{_hhmm(e)}" for s, e in week.get(day, [])) for day in range(7)]
    parts, day = [], 0
    while day < 7:
        end = day
        while end + 1 < 7 and spans[end + 1] == spans[day]:
            end += 1
        if spans[day]:
            days = SHORT_DAYS[day] if end == day else f"{SHORT_DAYS[day]}–{SHORT_DAYS[end]}"
            parts.append(f"{days} {spans[day]}")
        day = end + 1
    return "; ".join(parts) or "no working hours"


def _zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name or name == "UTC"]


class AgentForm(forms.Form):
    is_active = forms.BooleanField(label="Takes new leads and calls", required=False, initial=True)
    max_open_leads = forms.IntegerField(
        label="At most this many open leads",
        required=False,
        min_value=1,
        max_value=10000,
        error_messages={"min_value": CAPACITY_RANGE, "max_value": CAPACITY_RANGE},
        help_text="Empty: no limit.",
    )
    max_new_per_day = forms.IntegerField(
        label="At most this many new leads a day",
        required=False,
        min_value=1,
        max_value=10000,
        error_messages={"min_value": CAPACITY_RANGE, "max_value": CAPACITY_RANGE},
        help_text="Empty: no limit.",
    )
    out_of_office_from = forms.DateField(
        label="Away from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    out_of_office_until = forms.DateField(
        label="Away until (last day away)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    out_of_office_reason = forms.CharField(label="Reason", required=False, max_length=200)
    time_zone = forms.ChoiceField(
        label="Time zone", choices=(), initial="UTC", help_text="The working hours below are in this zone."
    )
    phone = forms.CharField(label="Phone", required=False, max_length=40, help_text="Calls for this rep ring here.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = _zone_choices()
        for day, name in enumerate(WEEKDAYS):
            for part in ("from", "to"):
                self.fields[f"day{day}_{part}"] = forms.TimeField(
                    label=f"{name} {part}",
                    required=False,
                    widget=forms.TimeInput(
                        attrs={"type": "time", "class": "form-control form-control-sm"}, format="%H:%M"
                    ),
                )

    def day_rows(self):
        """(weekday name, from field, to field) per day, for the grid."""
        return [(name, self[f"day{day}_from"], self[f"day{day}_to"]) for day, name in enumerate(WEEKDAYS)]

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data.get("phone") or "")
        except ValueError as exc:
            raise forms.ValidationError(INVALID_PHONE) from exc

    def clean(self):
        cleaned = super().clean()
        starts, until = cleaned.get("out_of_office_from"), cleaned.get("out_of_office_until")
        if starts and until and until < starts:
            self.add_error("out_of_office_until", OOO_UNTIL_BEFORE_FROM)
        if cleaned.get("out_of_office_reason") and not (starts or until):
            self.add_error("out_of_office_reason", OOO_REASON_WITHOUT_DATES)
        for day in range(7):
            start, end = cleaned.get(f"day{day}_from"), cleaned.get(f"day{day}_to")
            if self.has_error(f"day{day}_from") or self.has_error(f"day{day}_to"):
                continue
            if start is not None and end is None:
                self.add_error(f"day{day}_to", HOURS_NEED_END)
            elif end is not None and start is None:
                self.add_error(f"day{day}_from", HOURS_NEED_START)
            elif start is not None and start == end:
                self.add_error(f"day{day}_to", HOURS_SAME)
        return cleaned

    def working_hours(self) -> dict[str, list[str]]:
        """Every weekday as a key (a day off is []): an empty object would mean the default week.
        An end of 00:00 is midnight, the end of the day."""
        week = {}
        for day in range(7):
            start, end = self.cleaned_data.get(f"day{day}_from"), self.cleaned_data.get(f"day{day}_to")
            week[str(day)] = (
                [start.strftime("%H:%M"), "24:00" if end == time(0) else end.strftime("%H:%M")] if start else []
            )
        return week


def agent_initial(agent: Agent | None) -> tuple[dict, list[str]]:
    """The form's starting values, and notes on what the grid cannot show (split days)."""
    agent = agent or Agent()
    initial = {
        key: getattr(agent, key)
        for key in (
            "is_active",
            "max_open_leads",
            "max_new_per_day",
            "out_of_office_from",
            "out_of_office_until",
            "out_of_office_reason",
            "time_zone",
            "phone",
        )
    }
    notes = []
    try:
        week = working_hours_parse(agent.working_hours or DEFAULT_WORKING_HOURS)
    except ValueError:
        week = working_hours_parse(None)
    for day, periods in week.items():
        if not periods:
            continue
        initial[f"day{day}_from"] = periods[0][0]
        initial[f"day{day}_to"] = periods[-1][1] or time(0)
        if len(periods) > 1:
            shown = ", ".join(f"{s.strftime('%H:%M')}–{_hhmm(e)}" for s, e in periods)
            notes.append(SPLIT_DAY_NOTE.format(day=WEEKDAYS[day], periods=shown))
    return initial, notes


AGENT_FIELDS = (
    "is_active",
    "max_open_leads",
    "max_new_per_day",
    "out_of_office_from",
    "out_of_office_until",
    "out_of_office_reason",
    "time_zone",
    "phone",
)


def agent_snapshot(agent: Agent) -> dict:
    """The profile as the audit shows it."""
    if not agent.pk:
        return {}
    return {**{key: getattr(agent, key) for key in AGENT_FIELDS}, "working_hours": agent.working_hours}


def agent_save(*, user: User, data: dict, working_hours: dict, by: User) -> Agent:
    """Create or change a rep's routing profile and record the change; someone may have become
    available, so the team queues are drained after the commit."""
    with transaction.atomic():
        agent = Agent.objects.select_for_update().filter(user=user).first() or Agent(user=user)
        before = agent_snapshot(agent)
        for key in AGENT_FIELDS:
            setattr(
                agent,
                key,
                data.get(key)
                if data.get(key) is not None
                else ("" if key in ("phone", "out_of_office_reason") else None),
            )
        agent.is_active = bool(data.get("is_active"))
        agent.working_hours = working_hours
        agent.save()
        settings_change_record(
            by=by,
            area=SettingsChange.Area.AGENT,
            obj_id=agent.pk,
            obj_repr=user.username,
            before=before,
            after=agent_snapshot(agent),
        )
        jobs.enqueue("leads.distribution.tasks.drain_queues_task")
    return agent
