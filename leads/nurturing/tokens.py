"""Signed tokens of a sent email: open pixel, click redirect, unsubscribe. Signed with
django.core.signing over the step run (enrollment id, step id) and, for a click, the exact URL: a
token for one email cannot be turned into a redirect elsewhere."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from ..common.validation import id_parse

CLICK_SALT = "leadcrm.nurture.click"
OPEN_SALT = "leadcrm.nurture.open"
UNSUBSCRIBE_SALT = "leadcrm.nurture.unsubscribe"


def _run_key(enrollment_id: int, step_id: int) -> str:
    return f"{enrollment_id}.{step_id}"


def _run_from_key(key: str) -> tuple[int, int] | None:
    enrollment_id, _, step_id = str(key).partition(".")
    if not (id_parse(enrollment_id) and id_parse(step_id)):
        return None
    return id_parse(enrollment_id), id_parse(step_id)


def open_token(*, enrollment_id: int, step_id: int) -> str:
    """The signed token of an email's open pixel."""
    return signing.Signer(salt=OPEN_SALT).sign(_run_key(enrollment_id, step_id))


def unsubscribe_token(*, enrollment_id: int, step_id: int) -> str:
    """The signed token of an email's unsubscribe link (never expires: old mail must still work)."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(_run_key(enrollment_id, step_id))


def click_token(*, enrollment_id: int, step_id: int, url: str) -> str:
    """The signed token of one link in one email (the URL is inside the signature)."""
    return signing.dumps([enrollment_id, step_id, url], salt=CLICK_SALT, compress=True)


def token_unsign(token: str, salt: str) -> tuple[int, int] | None:
    try:
        return _run_from_key(signing.Signer(salt=salt).unsign(token))
    except signing.BadSignature:
        return None


def click_token_read(*, token: str) -> tuple[int, int, str] | None:
    """(enrollment id, step id, url) of a genuine click token, else None."""
    try:
        enrollment_id, step_id, url = signing.loads(token, salt=CLICK_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not (isinstance(enrollment_id, int) and isinstance(step_id, int) and isinstance(url, str)):
        return None
    if not url.lower().startswith(("http://", "https://")):
        return None
    return enrollment_id, step_id, url


def absolute_url(name: str, token: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse(name, args=[token])


def unsubscribe_url(*, enrollment_id: int, step_id: int) -> str:
    return absolute_url("nurture_unsubscribe", unsubscribe_token(enrollment_id=enrollment_id, step_id=step_id))


# --- Who may be mailed ------------------------------------------------------------------------
