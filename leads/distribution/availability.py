"""Who can take a lead right now (active, in the office, in working hours, under capacity), and
when first contact is due, counting only the owner's business hours.

Everything takes `now`, so tests freeze the clock by passing it rather than patching time.
A user without an Agent row routes with the defaults: active, UTC, Monday–Friday 09:00–17:00,
no capacity limits.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from django.db.models import Count, Q

from ..models import Assignment, Lead
from ..selectors import OPEN_STATUSES  # noqa: F401 (defined with the reads; re-exported for the stage)

# Why an agent was skipped: these strings end up in the assignment reason on the timeline.
INACTIVE = "inactive"
OUT_OF_OFFICE = "out of office"
OUTSIDE_HOURS = "outside working hours"
AT_CAPACITY = "at capacity"
DAILY_LIMIT = "daily limit reached"
NO_PHONE = "no phone number"
MISSED_SLA = "missed the SLA"

DEFAULT_WORKING_HOURS = {str(day): [["09:00", "17:00"]] for day in range(5)}

# Admin validation messages (tests assert on them).
HOURS_NOT_DICT = 'Working hours are a JSON object per weekday (0 = Monday), e.g. {"0": ["09:00", "17:00"]}.'
HOURS_BAD_DAY = "Weekdays are the keys 0 (Monday) to 6 (Sunday), not {day!r}."
HOURS_BAD_RANGE = 'Each weekday holds ["HH:MM", "HH:MM"] or a list of such pairs; {day!r} has {value!r}.'
HOURS_BAD_TIME = "{value!r} is not a time of day like 09:00 (24:00 ends a day)."
BAD_TIME_ZONE = "{value!r} is not an IANA time zone such as Europe/Berlin."

# Beyond this, a calendar with no working time at all: SLA minutes count as plain minutes.
SLA_SEARCH_DAYS = 21


@lru_cache(maxsize=512)
def zone_of(name: str) -> zoneinfo.ZoneInfo:
    """The agent's zone; an unknown name (should not pass the admin form) falls back to UTC."""
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _parse_time(value: str) -> time | None:
    """'09:00' → 09:00; '24:00' → None (the end of the day)."""
    if not isinstance(value, str):
        raise ValueError(HOURS_BAD_TIME.format(value=value))
    text = value.strip()
    if text in ("24:00", "24:00:00"):
        return None
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(HOURS_BAD_TIME.format(value=value)) from exc


Interval = tuple[time, time | None]  # end None = midnight at the end of the day


def _intervals(day: str, value) -> list[Interval]:
    if value in (None, [], ""):
        return []
    if not isinstance(value, list):
        raise ValueError(HOURS_BAD_RANGE.format(day=day, value=value))
    pairs = [value] if len(value) == 2 and all(isinstance(v, str) for v in value) else value
    intervals = []
    for pair in pairs:
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError(HOURS_BAD_RANGE.format(day=day, value=value))
        start = _parse_time(pair[0])
        if start is None:
            raise ValueError(HOURS_BAD_TIME.format(value=pair[0]))
        intervals.append((start, _parse_time(pair[1])))
    return intervals


def working_hours_parse(value) -> dict[int, list[Interval]]:
    """Weekday → working intervals; empty means Monday–Friday 09:00–17:00. Raises ValueError."""
    if value in (None, {}, ""):
        value = DEFAULT_WORKING_HOURS
    if not isinstance(value, dict):
        raise ValueError(HOURS_NOT_DICT)
    parsed: dict[int, list[Interval]] = {}
    for day, hours in value.items():
        if str(day) not in {str(d) for d in range(7)}:
            raise ValueError(HOURS_BAD_DAY.format(day=day))
        parsed[int(day)] = _intervals(str(day), hours)
    return parsed


def time_zone_validate(value: str) -> str:
    """The name if it is an IANA zone, else ValueError (for the admin form)."""
    if value not in zoneinfo.available_timezones():
        raise ValueError(BAD_TIME_ZONE.format(value=value))
    return value


def _hours_of(agent) -> dict[int, list[Interval]]:
    raw = getattr(agent, "working_hours", None) if agent is not None else None
    try:
        return working_hours_parse(raw)
    except ValueError:
        # Saved around the admin form (e.g. in the shell): route with the default week, not crash.
        return working_hours_parse(None)


def _zone(agent) -> zoneinfo.ZoneInfo:
    return zone_of(getattr(agent, "time_zone", "") or "UTC") if agent is not None else zone_of("UTC")


def local_time(agent, now: datetime) -> datetime:
    """`now` on the agent's wall clock."""
    return now.astimezone(_zone(agent))


def day_start(agent, now: datetime) -> datetime:
    """Midnight of the agent's current day, as an aware datetime (for 'new leads today')."""
    local = local_time(agent, now)
    return datetime.combine(local.date(), time(0), tzinfo=local.tzinfo)


def _segments(agent, day: date) -> list[tuple[datetime, datetime]]:
    """The working periods that start on `day` (local), as UTC datetimes."""
    zone = _zone(agent)
    segments = []
    for start, end in _hours_of(agent).get(day.weekday(), []):
        begin = datetime.combine(day, start, tzinfo=zone)
        if end is None:
            finish = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        elif end > start:
            finish = datetime.combine(day, end, tzinfo=zone)
        else:  # a night shift: ends the next morning
            finish = datetime.combine(day + timedelta(days=1), end, tzinfo=zone)
        segments.append((begin.astimezone(UTC), finish.astimezone(UTC)))
    return sorted(segments)


def in_working_hours(agent, now: datetime) -> bool:
    """Inside one of the agent's working periods (a night shift counts on the day it starts)."""
    today = local_time(agent, now).date()
    return any(
        begin <= now < finish for day in (today - timedelta(days=1), today) for begin, finish in _segments(agent, day)
    )


def is_out_of_office(agent, now: datetime) -> bool:
    """Today (the agent's day) falls within the out-of-office dates; either end may be open."""
    if agent is None or (agent.out_of_office_from is None and agent.out_of_office_until is None):
        return False
    today = local_time(agent, now).date()
    starts, until = agent.out_of_office_from, agent.out_of_office_until
    return (starts is None or starts <= today) and (until is None or today <= until)


@dataclass(frozen=True)
class Load:
    """What an agent holds now: open leads, and leads given to them today."""

    open_leads: int = 0
    new_today: int = 0


def unavailable_reason(
    *,
    user,
    agent,
    now: datetime,
    working_hours: bool,
    load: Load | None = None,
    need_phone: bool = False,
) -> str | None:
    """None if the agent can take a lead now, else why not (one of the constants above).
    `load` None skips the capacity checks (a call from a lead the agent already owns)."""
    if not user.is_active or (agent is not None and not agent.is_active):
        return INACTIVE
    if is_out_of_office(agent, now):
        return OUT_OF_OFFICE
    if working_hours and not in_working_hours(agent, now):
        return OUTSIDE_HOURS
    if need_phone and not (agent is not None and agent.phone):
        return NO_PHONE
    if load is not None and agent is not None:
        if agent.max_open_leads is not None and load.open_leads >= agent.max_open_leads:
            return AT_CAPACITY
        if agent.max_new_per_day is not None and load.new_today >= agent.max_new_per_day:
            return DAILY_LIMIT
    return None


def needs_load(agent) -> bool:
    """Only agents with a limit cost a count query."""
    return agent is not None and (agent.max_open_leads is not None or agent.max_new_per_day is not None)


def sla_due(*, start: datetime, minutes: int, agent) -> datetime:
    """`minutes` of the agent's working time after `start`: 60 minutes from Friday 16:30 is
    Monday 09:30 for a Monday–Friday 09:00–17:00 week."""
    remaining = timedelta(minutes=minutes)
    first_day = local_time(agent, start).date() - timedelta(days=1)  # a night shift begun yesterday
    for offset in range(SLA_SEARCH_DAYS):
        for begin, finish in _segments(agent, first_day + timedelta(days=offset)):
            if finish <= start:
                continue
            begin = max(begin, start)
            if remaining <= finish - begin:
                return begin + remaining
            remaining -= finish - begin
    return start + timedelta(minutes=minutes)  # no working time at all: plain minutes


def agent_loads(*, agents: dict[int, object], now: datetime) -> dict[int, Load]:
    """Open leads and today's new leads for the agents (user id → Agent) that have limits;
    at most two queries, whatever the number of agents."""

    limited = {user_id: agent for user_id, agent in agents.items() if needs_load(agent)}
    if not limited:
        return {}
    open_ids = [user_id for user_id, agent in limited.items() if agent.max_open_leads is not None]
    open_counts = (
        dict(
            Lead.objects.filter(owner_id__in=open_ids, status__in=OPEN_STATUSES)
            .order_by()
            .values_list("owner_id")
            .annotate(n=Count("id"))
            .values_list("owner_id", "n")
        )
        if open_ids
        else {}
    )
    day_ids = {user_id: agent for user_id, agent in limited.items() if agent.max_new_per_day is not None}
    today = assignments_today(agents=day_ids, now=now)
    return {
        user_id: Load(open_leads=open_counts.get(user_id, 0), new_today=today.get(user_id, 0)) for user_id in limited
    }


def assignments_today(*, agents: dict[int, object], now: datetime) -> dict[int, int]:
    """Leads given to each agent (user id → Agent or None) since their own midnight: one query,
    one conditional count per agent."""

    if not agents:
        return {}
    starts = {user_id: day_start(agent, now) for user_id, agent in agents.items()}
    counts = Assignment.objects.filter(agent_id__in=list(agents), assigned_at__gte=min(starts.values())).aggregate(
        **{
            f"u{user_id}": Count("id", filter=Q(agent_id=user_id, assigned_at__gte=start))
            for user_id, start in starts.items()
        }
    )
    return {user_id: counts.get(f"u{user_id}") or 0 for user_id in agents}
