"""Lead-local time: what time it is where the lead is, and who is callable now."""
import zoneinfo
from datetime import datetime, time
from functools import lru_cache

from django.conf import settings
from django.utils import timezone

_ALL_ZONES = sorted(zoneinfo.available_timezones())


@lru_cache(maxsize=1024)
def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def local_now(time_zone: str, *, now: datetime | None = None) -> datetime | None:
    """The current time in a lead's time zone (None when it has none)."""
    zone = _zone(time_zone) if time_zone else None
    return (now or timezone.now()).astimezone(zone) if zone else None


def _business_hours() -> tuple[time, time, set[int]]:
    start, end = getattr(settings, "CALLABLE_HOURS", (9, 17))
    days = set(getattr(settings, "CALLABLE_WEEKDAYS", (0, 1, 2, 3, 4)))
    return time(start), time(end), days


def is_callable(time_zone: str, *, now: datetime | None = None) -> bool:
    """Inside business hours (settings.CALLABLE_HOURS on CALLABLE_WEEKDAYS) where the lead is."""
    local = local_now(time_zone, now=now)
    if local is None:
        return False
    start, end, days = _business_hours()
    return local.weekday() in days and start <= local.time() < end


def zones_callable_now(*, now: datetime | None = None) -> list[str]:
    """Every IANA zone that is inside business hours right now: the list a `time_zone IN (...)`
    filter uses, so "callable now" is an indexed lookup instead of per-row time arithmetic."""
    now = now or timezone.now()
    return [name for name in _ALL_ZONES if is_callable(name, now=now)]
