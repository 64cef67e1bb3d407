"""The record of every settings change: who, when, and the setting before and after."""

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet

from ..models import SettingsChange

RECENT = 20


def plain(value: Any) -> Any:
    """A value as JSON keeps it (dates as ISO text, model objects as their text)."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def settings_change_record(
    *,
    by: User | None,
    area: str,
    obj_id: int | None,
    obj_repr: str,
    before: dict | None,
    after: dict | None,
) -> SettingsChange | None:
    """Write one change (None when nothing differs: a form saved as it was is no change)."""
    before, after = plain(before or {}), plain(after or {})
    if before and after and before == after:
        return None
    action = (
        SettingsChange.Action.CREATED
        if not before
        else SettingsChange.Action.DELETED
        if not after
        else SettingsChange.Action.CHANGED
    )
    return SettingsChange.objects.create(
        by=by,
        area=area,
        object_id=obj_id,
        object_repr=str(obj_repr)[:200],
        action=action,
        before=before,
        after=after,
    )


@dataclass(frozen=True)
class Difference:
    key: str
    before: Any
    after: Any


def change_differences(change: SettingsChange) -> list[Difference]:
    """What changed, key by key (every key of a creation or a deletion)."""
    keys = list(dict.fromkeys([*change.before, *change.after]))
    return [
        Difference(key=key.replace("_", " ").capitalize(), before=change.before.get(key), after=change.after.get(key))
        for key in keys
        if change.before.get(key) != change.after.get(key)
    ]


def changes_recent(*, areas: tuple[str, ...] = (), limit: int = RECENT) -> QuerySet[SettingsChange]:
    """The latest changes (of the given areas), newest first, with who made them (one query)."""
    changes = SettingsChange.objects.select_related("by")
    if areas:
        changes = changes.filter(area__in=areas)
    return changes.order_by("-at", "-id")[:limit]
