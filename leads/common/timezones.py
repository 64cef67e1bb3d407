"""Time zones, in one place: which names are valid, a zone by name, the time where a lead is and
whether it is business hours there, and which zone a country or place is in (from the tz
database's own zone.tab, shipped by the tzdata package, never fetched)."""

import importlib.resources
import zoneinfo
from datetime import datetime, time
from functools import lru_cache

from django.conf import settings
from django.utils import timezone

TIME_ZONES = frozenset(zoneinfo.available_timezones())
_ALL_ZONES = sorted(TIME_ZONES)


@lru_cache(maxsize=1024)
def zone_or_none(name: str) -> zoneinfo.ZoneInfo | None:
    """The IANA zone called `name`, or None when it is blank or unknown."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


# --- the time where the lead is --------------------------------------------------------------------


def local_now(time_zone: str, *, now: datetime | None = None) -> datetime | None:
    """The current time in a lead's time zone (None when it has none)."""
    zone = zone_or_none(time_zone) if time_zone else None
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


# --- the zone of a country or a place --------------------------------------------------------------


@lru_cache(maxsize=1)
def zones_by_country() -> dict[str, list[tuple[str, str]]]:
    """ISO country code → [(zone, comment)] from tzdata's zone.tab."""
    table: dict[str, list[tuple[str, str]]] = {}
    text = importlib.resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            table.setdefault(parts[0], []).append((parts[2], parts[3] if len(parts) > 3 else ""))
    return table


def country_time_zone(country: str) -> tuple[str, float]:
    """(zone, confidence) for a whole country: its only zone, or the one zone.tab says covers
    "most of" it (Germany: Europe/Berlin, not Europe/Busingen); ('', 0) when that is ambiguous (US)."""
    zones = zones_by_country().get((country or "").upper(), [])
    if len(zones) == 1:
        return zones[0][0], 0.9
    most = [zone for zone, comment in zones if "most" in comment.lower()]
    return (most[0], 0.8) if len(most) == 1 else ("", 0.0)


def single_time_zone(country: str) -> str:
    """The country's zone when one zone covers (most of) it, else ''."""
    return country_time_zone(country)[0]


def _simple(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def zone_for_place(country: str, *, region: str = "", city: str = "") -> tuple[str, float]:
    """(zone, confidence) for a place: a single-zone country is certain; otherwise a zone named
    after the city (America/Chicago) or whose description mentions the region or city."""
    zones = zones_by_country().get((country or "").upper(), [])
    if len(zones) == 1:
        return zones[0][0], 0.9
    for place, confidence in ((city, 0.75), (region, 0.6)):
        key = _simple(place)
        if len(key) < 3:
            continue
        for zone, _comment in zones:
            if _simple(zone.rsplit("/", 1)[-1]) == key:
                return zone, confidence
        for zone, comment in zones:
            if key in _simple(comment):
                return zone, confidence - 0.1
    return country_time_zone(country)
