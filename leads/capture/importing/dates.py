"""Dates as CRMs export them: ISO ("2025-11-03 14:22", "2025-11-03T14:22:05.000Z"), and the
locale's own ("11/3/2025", "11/3/2025 2:22 PM", "03.11.2025 14:22"), read day-first or
month-first as the file's locale writes them (the import's date order)."""

import re
from datetime import date, datetime, time, tzinfo

from django.utils import timezone

MONTH_FIRST, DAY_FIRST = "mdy", "dmy"

_LOCAL = re.compile(
    r"(?P<a>\d{1,2})[/.\-](?P<b>\d{1,2})[/.\-](?P<year>\d{4}|\d{2})"
    r"(?:[ T,]+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
)


def _aware(moment: datetime, zone: tzinfo | None) -> datetime:
    """A time without a zone is the site's local time (the zone the team works in)."""
    return timezone.make_aware(moment, zone) if timezone.is_naive(moment) else moment


def import_date(value: object, *, order: str = MONTH_FIRST, zone: tzinfo | None = None) -> datetime | None:
    """An exported date or date-time as an aware datetime, or None when the text is not one. A time
    without a zone is in `zone` (the current time zone when None; an import reads it once, as the
    lookup of the current zone cost ~3 % of a 100,000-row import when made per date)."""
    zone = zone or timezone.get_current_timezone()
    if isinstance(value, datetime):
        return _aware(value, zone)
    if isinstance(value, date):
        return _aware(datetime.combine(value, time()), zone)
    text = " ".join(str(value).split())
    if not text:
        return None
    iso = text.replace("Z", "+00:00") if text.endswith("Z") else text
    try:
        return _aware(datetime.fromisoformat(iso), zone)
    except ValueError:
        pass
    match = _LOCAL.fullmatch(text)
    if not match:
        return None
    first, second = int(match["a"]), int(match["b"])
    month, day = (second, first) if order == DAY_FIRST else (first, second)
    year = int(match["year"])
    year += 2000 if year < 100 else 0
    hour, minute = int(match["hour"] or 0), int(match["minute"] or 0)
    if match["ampm"]:
        if hour > 12:
            return None
        hour = hour % 12 + (12 if match["ampm"][0] in "Pp" else 0)
    try:
        return _aware(datetime(year, month, day, hour, minute, int(match["second"] or 0)), zone)
    except ValueError:
        return None


def import_date_order_guess(values: list[str]) -> str:
    """Day-first when some date's first number cannot be a month (13/11/2025), else month-first."""
    for value in values:
        match = _LOCAL.fullmatch(" ".join(str(value).split()))
        if match and int(match["a"]) > 12 >= int(match["b"]):
            return DAY_FIRST
    return MONTH_FIRST


__all__ = ["DAY_FIRST", "MONTH_FIRST", "import_date", "import_date_order_guess"]
