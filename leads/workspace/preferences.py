"""The lead list's columns and the user's time zone: their preferences (one row each)."""

from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ..models import UserPreference

# Validation messages (tests assert on them).
UNKNOWN_COLUMN = _("Unknown column: %(column)s.")
NO_COLUMNS = _("Choose at least one column.")
UNKNOWN_TIME_ZONE = _("%(value)s is not a time zone such as Europe/Berlin.")

# (key, label, ordering field or "") — the columns a user may show; the order is the table's.
LEAD_COLUMNS = (
    ("company", _("Company"), ""),
    ("email", _("Email"), ""),
    ("phone", _("Phone"), ""),
    ("status", _("Status"), ""),
    ("score", _("Score"), "score"),
    ("probability", _("Probability"), "probability"),
    ("owner", _("Owner"), ""),
    ("source", _("Source"), ""),
    ("country", _("Country"), ""),
    ("time_zone", _("Local time zone"), "callable_now"),
    ("last_activity", _("Last activity"), "last_activity_at"),
    ("updated", _("Updated"), "updated_at"),
    ("created", _("Created"), "created_at"),
)
COLUMN_KEYS = tuple(key for key, _label, _order in LEAD_COLUMNS)
DEFAULT_COLUMNS = ("company", "email", "status", "score", "owner", "source", "created")


def preference_get(*, user) -> UserPreference:
    """The user's preferences (unsaved defaults when they have none yet)."""
    return UserPreference.objects.filter(user_id=user.pk).first() or UserPreference(user_id=user.pk)


def columns_for(preference: UserPreference) -> list[str]:
    """The columns to show: the saved choice (unknown keys dropped), else the defaults."""
    chosen = [key for key in preference.lead_columns or [] if key in COLUMN_KEYS]
    return chosen or list(DEFAULT_COLUMNS)


def preference_update(*, user, lead_columns: list[str] | None = None, time_zone: str | None = None) -> UserPreference:
    """Save the user's list columns and/or time zone (ValidationError with per-field messages)."""
    errors: dict[str, list] = {}
    if lead_columns is not None:
        unknown = [key for key in lead_columns if key not in COLUMN_KEYS]
        if unknown:
            errors["lead_columns"] = [ValidationError(UNKNOWN_COLUMN, params={"column": unknown[0]}).messages[0]]
        elif not lead_columns:
            errors["lead_columns"] = [str(NO_COLUMNS)]
    if time_zone:
        try:
            zoneinfo.ZoneInfo(time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = [ValidationError(UNKNOWN_TIME_ZONE, params={"value": time_zone[:64]}).messages[0]]
    if errors:
        raise ValidationError(errors)
    defaults = {}
    if lead_columns is not None:
        defaults["lead_columns"] = [key for key in COLUMN_KEYS if key in lead_columns]  # the table's order
    if time_zone is not None:
        defaults["time_zone"] = time_zone
    preference, _created = UserPreference.objects.update_or_create(user_id=user.pk, defaults=defaults)
    return preference
