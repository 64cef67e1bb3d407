"""Twilio's side of a request: which account sent it, the URL it signed, the signature
(twilio's own RequestValidator) and its form fields, checked before anything is routed."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, QueryDict
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from ..common.http import from_trusted_proxy
from ..models import TwilioAccount

SIGNATURE_MISSING = f"Twilio signs its requests with {SIGNATURE_HEADER}: this one is not signed."
SIGNATURE_INVALID = (
    f"{SIGNATURE_HEADER} does not match this URL and these fields for the account's auth token "
    "(check the account SID and token, and TWILIO_PUBLIC_BASE_URL behind a proxy)."
)
ACCOUNT_UNKNOWN = "AccountSid is not a Twilio account configured here (TWILIO_ACCOUNT_SID or admin → Twilio accounts)."
FIELD_REQUIRED = "Twilio sends this field: it is missing."
FIELD_REPEATED = "Send this field once."
FIELD_INVALID = "Not a value Twilio sends for this field."
CALL_SID_INVALID = "A Twilio call SID: CA followed by 32 hex characters."
DIRECTION_NOT_INBOUND = "Only inbound calls are routed here (Direction: inbound)."
DURATION_INVALID = "Whole seconds, from 0 to 86400."
RECORDING_URL_INVALID = "A recording URL on https://api.twilio.com."
RATE_LIMITED = "Too many requests. Retry later."

CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
RECORDING_SID = re.compile(r"RE[0-9a-fA-F]{32}")
# Caller ids Twilio gives a withheld, restricted or unavailable number (its documented placeholders).
TWILIO_WITHHELD = frozenset({"+266696687", "+7378742833", "+2562533", "+8656696", "+86282452253"})
FIELD_MAX = 200
HOST_MAX = 255


class TwilioRejected(Exception):
    """The request cannot be taken: the HTTP status, and a message per field (or "detail")."""

    def __init__(self, errors: dict[str, str], *, status: int):
        super().__init__(errors)
        self.errors, self.status = errors, status


def twilio_account_token(*, account_sid: str) -> str | None:
    """The auth token of the account with this SID: admin's row (None when inactive), else the environment's."""
    if not ACCOUNT_SID.fullmatch(account_sid or ""):
        return None
    row = TwilioAccount.objects.filter(account_sid=account_sid).values_list("auth_token", "is_active").first()
    if row is not None:  # the admin's row decides, even when switched off
        return row[0] if row[1] and row[0] else None
    if settings.TWILIO_AUTH_TOKEN and account_sid == settings.TWILIO_ACCOUNT_SID:
        return settings.TWILIO_AUTH_TOKEN
    return None


def _forwarded(request: HttpRequest, header: str) -> str:
    """The first (client-side) value of an X-Forwarded-* header our proxy set."""
    value = request.headers.get(header, "").split(",")[0].strip()
    return value if len(value) <= HOST_MAX and "\x00" not in value else ""


def twilio_public_base(*, request: HttpRequest) -> str:
    """scheme://host as Twilio called it: TWILIO_PUBLIC_BASE_URL when set; else, through one of
    TRUSTED_PROXIES, the X-Forwarded-Proto/Host it set; else this request's own (Django's
    SECURE_PROXY_SSL_HEADER and USE_X_FORWARDED_HOST apply)."""
    if settings.TWILIO_PUBLIC_BASE_URL:
        return settings.TWILIO_PUBLIC_BASE_URL
    if from_trusted_proxy(request):
        scheme = _forwarded(request, "X-Forwarded-Proto").lower()
        host = _forwarded(request, "X-Forwarded-Host")
        if scheme in ("http", "https") or host:
            return f"{scheme if scheme in ('http', 'https') else request.scheme}://{host or request.get_host()}"
    return f"{request.scheme}://{request.get_host()}"


def twilio_form(*, request: HttpRequest) -> QueryDict:
    """The posted fields: Twilio posts a urlencoded form; any other body is read as no fields (and
    so fails the signature), never handed to another parser."""
    if request.content_type == "application/x-www-form-urlencoded":
        return request.POST
    return QueryDict()


def twilio_verify(*, request: HttpRequest, form: QueryDict) -> str:
    """Check X-Twilio-Signature over the URL Twilio called and the posted fields; the account SID.
    Raises TwilioRejected (403) for a missing or wrong signature or an account not configured here."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature:
        raise TwilioRejected({"detail": SIGNATURE_MISSING}, status=403)
    account_sid = form.get("AccountSid", "")
    token = twilio_account_token(account_sid=account_sid)
    if token is None:
        raise TwilioRejected({"detail": ACCOUNT_UNKNOWN}, status=403)
    url = twilio_public_base(request=request) + request.get_full_path()
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    if not RequestValidator(token).validate(url, form, signature, algorithm):
        raise TwilioRejected({"detail": SIGNATURE_INVALID}, status=403)
    return account_sid


class Fields:
    """The posted form, read field by field; every problem is collected, one message per field."""

    def __init__(self, form):
        self.form, self.errors = form, {}

    def text(self, name: str, *, required: bool = True) -> str | None:
        values = self.form.getlist(name)
        if not values:
            if required:
                self.errors[name] = FIELD_REQUIRED
            return None
        if len(values) > 1:
            self.errors[name] = FIELD_REPEATED
            return None
        value = values[0].strip()
        if not value and not required:
            return None  # an optional field sent empty is a field not sent
        if "\x00" in value or len(value) > FIELD_MAX or (required and not value):
            self.errors[name] = FIELD_INVALID if value else FIELD_REQUIRED
            return None
        return value

    def match(self, name: str, pattern: re.Pattern, message: str, *, required: bool = True) -> str | None:
        value = self.text(name, required=required)
        if value is not None and not pattern.fullmatch(value):
            self.errors[name] = message
            return None
        return value

    def choice(self, name: str, choices, *, required: bool = True) -> str | None:
        value = self.text(name, required=required)
        if value is not None and value.lower() not in choices:
            self.errors[name] = FIELD_INVALID
            return None
        return value.lower() if value is not None else None

    def seconds(self, name: str) -> int | None:
        value = self.text(name, required=False)
        if value is None or value == "":
            return None
        if not value.isascii() or not value.isdigit() or int(value) > 86_400:
            self.errors[name] = DURATION_INVALID
            return None
        return int(value)

    def recording_url(self, name: str) -> str | None:
        value = self.text(name, required=False)
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme != "https" or not (parts.hostname or "").endswith(".twilio.com") or len(value) > 500:
            self.errors[name] = RECORDING_URL_INVALID
            return None
        return value

    def check(self) -> None:
        if self.errors:
            raise TwilioRejected(self.errors, status=400)


def caller_number(value: str | None) -> str | None:
    """Twilio's placeholder for a withheld caller id, as the routing knows it."""
    return "anonymous" if value in TWILIO_WITHHELD else value
