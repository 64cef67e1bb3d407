"""Template helpers for the distribution pages: SLA time left, durations."""

from datetime import datetime

from django import template

register = template.Library()


def _span(seconds: float) -> str:
    """'45 s', '12 min', '3 h 05 min', '2 d 4 h'."""
    seconds = int(abs(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@register.filter
def duration(seconds) -> str:
    """Seconds as a short duration ('—' for none)."""
    return "—" if seconds is None else _span(seconds)


@register.filter
def sla_left(due: datetime | None, now: datetime) -> str:
    """'25 min left' or 'overdue by 1 h 05 min' ('no SLA' when there is no deadline)."""
    if due is None:
        return "no SLA"
    left = (due - now).total_seconds()
    return f"{_span(left)} left" if left >= 0 else f"overdue by {_span(left)}"


@register.filter
def percent(share) -> str:
    return "—" if share is None else f"{share:.0%}"
