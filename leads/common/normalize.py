"""Normalisers shared by every way a value enters the database.

They return the canonical form or raise ValueError with a message users can act on.
"""

import phonenumbers
from django.conf import settings

from .timezones import TIME_ZONES

INVALID_PHONE = "Enter a valid phone number, for example +44 20 7946 0958."
INVALID_TIME_ZONE = "Enter a valid IANA time zone, for example Europe/Berlin."


def normalize_email(value: str | None) -> str:
    """Lower-case and strip an email address ('' stays '')."""
    return (value or "").strip().lower()


def normalize_phone(value: str | None, *, region: str | None = None) -> str:
    """Return the number in E.164, or '' for an empty value; raise ValueError if invalid."""
    raw = (value or "").strip()
    if not raw:
        return ""
    default_region = (region or getattr(settings, "PHONE_DEFAULT_REGION", None) or "US").upper()
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(INVALID_PHONE) from exc
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(parsed):
        raise ValueError(INVALID_PHONE)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_time_zone(value: str | None) -> str:
    """Return a valid IANA time-zone name, or '' for an empty value; raise ValueError if unknown."""
    name = (value or "").strip()
    if name and name not in TIME_ZONES:
        raise ValueError(INVALID_TIME_ZONE)
    return name
