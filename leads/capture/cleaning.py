"""Turn what a channel received into clean lead fields.

Strict (the API): any bad value is a per-field error. Lenient (forms posted by
machines, email, webhooks, imports): a bad value is set aside in
attributes["_invalid"] so the lead is still captured and nothing typed is lost.
"""

import re
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django_countries import countries

from ..common.normalize import normalize_email, normalize_phone, normalize_time_zone
from ..common.validation import NULL_CHARACTERS, validate_attributes
from ..models import Lead

UNKNOWN_FIELD = "Unknown field."
NOT_TEXT = "Must be text."
TOO_LONG = "At most {max} characters."
INVALID_EMAIL = "Enter a valid email address."
INVALID_URL = "Enter a valid URL."
INVALID_COUNTRY = "Enter an ISO 3166 country code, for example DE, or a country name."
INVALID_CHOICE = "Not one of the allowed values: {choices}."
TAGS_NOT_LIST = "Tags must be a list of text."
NOTHING_TO_CAPTURE = "Send at least one of email, phone, external_id, first_name, last_name or company."
IDENTIFYING_FIELDS = ("email", "phone", "external_id", "first_name", "last_name", "company")

TEXT_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "job_title",
    "region",
    "city",
    "postal_code",
    "industry",
    "source_detail",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "external_id",
)
CAPTURE_FIELDS = frozenset(
    (
        *TEXT_FIELDS,
        "email",
        "phone",
        "website",
        "country",
        "time_zone",
        "company_size",
        "attributes",
        "tags",
        "email_opt_in",
    )
)
_url = URLValidator(schemes=["http", "https"])


# Both answers depend on the text alone, and a file repeats its countries and company websites:
# the country list's lookups were ~9 % of a 100,000-row import, the URL regex ~4 %.
@lru_cache(maxsize=4096)
def _country_code(text: str) -> str:
    return countries.alpha2(text) or countries.by_name(text) or ""


# A plain website (letters, digits and hyphens in dot-separated labels of at most 63, a letters-only
# top-level domain, then any path) passes URLValidator's pattern: such addresses skip its costlier
# regex and IDNA checks, everything else goes through it.
_PLAIN_URL = re.compile(r"https?://(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(?:[/?#]\S*)?", re.IGNORECASE)


@lru_cache(maxsize=4096)
def _url_valid(url: str) -> bool:
    if len(url) <= 200 and _PLAIN_URL.fullmatch(url):
        return True
    try:
        _url(url)
    except ValidationError:
        return False
    return True


def _max_length(name: str) -> int:
    return Lead._meta.get_field(name).max_length


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValidationError(NOT_TEXT)
    if "\x00" in value:
        raise ValidationError(NULL_CHARACTERS)
    return " ".join(value.split())  # collapse whitespace and line breaks


def _clean_field(name: str, value: Any, *, country: str | None) -> Any:
    if name in TEXT_FIELDS:
        text = _text(value)
        if len(text) > _max_length(name):
            raise ValidationError(TOO_LONG.format(max=_max_length(name)))
        return text
    if name == "email":
        email = normalize_email(_text(value))
        if email:
            validate_email(email)
        return email
    if name == "phone":
        try:
            return normalize_phone(_text(value), region=country)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
    if name == "website":
        url = _text(value)
        if url and "://" not in url:
            url = f"https://{url}"
        if url and not _url_valid(url):
            _url(url)  # raises the validator's own error
        return url
    if name == "country":
        text = _text(value)
        if not text:
            return ""
        code = _country_code(text)
        if not code:
            raise ValidationError(INVALID_COUNTRY)
        return code
    if name == "time_zone":
        try:
            return normalize_time_zone(_text(value))
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
    if name == "company_size":
        text = _text(value)
        if text and text not in Lead.CompanySize.values:
            raise ValidationError(INVALID_CHOICE.format(choices=", ".join(Lead.CompanySize.values)))
        return text
    if name == "attributes":
        return validate_attributes(value if value is not None else {})
    if name == "tags":
        if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
            raise ValidationError(TAGS_NOT_LIST)
        return sorted({_text(tag)[:50] for tag in value if _text(tag)})
    if name == "email_opt_in":
        return bool(value)
    raise ValidationError(UNKNOWN_FIELD)


def capture_clean(data: dict[str, Any], *, strict: bool) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Clean capture input: (clean fields, per-field errors). Lenient mode returns no errors:
    unknown keys become custom attributes and bad values are kept under attributes["_invalid"]."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    extra_attributes: dict[str, Any] = {}
    invalid: dict[str, Any] = {}
    raw_country = data.get("country")
    country = None
    if raw_country:
        try:
            country = _clean_field("country", raw_country, country=None) or None
        except ValidationError:
            country = None
    for name, value in data.items():
        if name not in CAPTURE_FIELDS:
            if strict:
                errors[name] = [UNKNOWN_FIELD]
            elif isinstance(name, str) and "\x00" not in name:
                extra_attributes[name] = value
            continue
        try:
            cleaned[name] = _clean_field(name, value, country=country)
        except ValidationError as exc:
            if strict:
                errors[name] = exc.messages
            else:
                invalid[name] = value if isinstance(value, (str, int, float, bool)) else str(value)
    if strict and not errors and not any(cleaned.get(name) for name in IDENTIFYING_FIELDS):
        errors["non_field_errors"] = [NOTHING_TO_CAPTURE]  # an empty capture made an empty lead
    if not strict and (extra_attributes or invalid):
        attributes = dict(cleaned.get("attributes") or {})
        for key, value in extra_attributes.items():
            attributes.setdefault(key, value)
        if invalid:
            attributes["_invalid"] = invalid
        try:
            cleaned["attributes"] = validate_attributes(attributes)
        except ValidationError:
            cleaned["attributes"] = cleaned.get("attributes") or {}
    return cleaned, errors
