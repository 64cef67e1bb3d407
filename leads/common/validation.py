"""Validation and normalisation of lead data, shared by the API serializer, the HTML
forms and (later) every capture channel. Messages are constants that tests assert on."""

import json
from typing import Any

from django.core.exceptions import ValidationError

from .normalize import normalize_phone, normalize_time_zone

LOST_REASON_REQUIRED = "A lost lead needs a lost reason."
NULL_CHARACTERS = "Null characters are not allowed."
ATTRIBUTES_NOT_OBJECT = "Attributes must be a JSON object."
ATTRIBUTES_TOO_LARGE = "Attributes are limited to 64 KB."
REASSIGN_FORBIDDEN = "Only managers can give a lead to someone else."
EMAIL_TAKEN = "A lead with this email already exists."
EXTERNAL_ID_TAKEN = "A lead with this external id already exists."

ATTRIBUTES_MAX_BYTES = 64 * 1024
MAX_ID = 2**63 - 1  # PostgreSQL's bigint


def id_parse(value: Any) -> int | None:
    """A database id typed or posted by a user, or None. ASCII digits only: "²" passes
    str.isdigit() but not int() (a 500 on seven form endpoints), and a 30-digit number passes
    int() but not the database (another 500)."""
    text = (
        value.strip()
        if isinstance(value, str)
        else str(value)
        if isinstance(value, int) and not isinstance(value, bool)
        else ""
    )
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def ids_parse(values: Any) -> list[int]:
    """The valid ids among posted values (id_parse each), in order, without repeats."""
    parsed = (id_parse(value) for value in values or [])
    return list(dict.fromkeys(number for number in parsed if number is not None))


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False


def validate_attributes(value: Any) -> dict:
    """Custom attributes: a JSON object without NUL characters, at most 64 KB."""
    if not isinstance(value, dict):
        raise ValidationError(ATTRIBUTES_NOT_OBJECT)
    if _contains_nul(value):
        raise ValidationError(NULL_CHARACTERS)
    if len(json.dumps(value, default=str)) > ATTRIBUTES_MAX_BYTES:
        raise ValidationError(ATTRIBUTES_TOO_LARGE)
    return value


def lead_clean(data: dict, *, current: dict | None = None) -> dict:
    """Normalise phone and time zone and check cross-field rules; raise ValidationError
    with per-field messages. `current` holds the lead's stored values on an update."""
    current = current or {}
    merged = {**current, **data}
    errors: dict[str, list[str]] = {}
    if "phone" in data:
        country = merged.get("country") or None
        try:
            data["phone"] = normalize_phone(data["phone"], region=str(country) if country else None)
        except ValueError as exc:
            errors["phone"] = [str(exc)]
    if "time_zone" in data:
        try:
            data["time_zone"] = normalize_time_zone(data["time_zone"])
        except ValueError as exc:
            errors["time_zone"] = [str(exc)]
    if "attributes" in data:
        try:
            validate_attributes(data["attributes"])
        except ValidationError as exc:
            errors["attributes"] = exc.messages
    if merged.get("status") == "lost" and not (merged.get("lost_reason") or "").strip():
        errors["lost_reason"] = [LOST_REASON_REQUIRED]
    if errors:
        raise ValidationError(errors)
    if "status" in data and data["status"] != "lost" and current.get("status") == "lost" and "lost_reason" not in data:
        data["lost_reason"] = ""  # a re-opened lead drops its old reason
    return data
