"""Tombstones: the keyed hash of an erased person's normalised email, checked wherever an address
comes in or mail goes out (capture, import, sending). It imports only the models, so the stages may
call it.

Every capture asks, so each process keeps the set of digests it read for CACHE_SECONDS instead of a
query per capture (the erasing process knows its new tombstone at once, the others within
CACHE_SECONDS; the erasure's re-check job, due after that, erases whatever slipped in meanwhile)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.utils.crypto import salted_hmac

from ..common.normalize import normalize_email
from ..models import ErasureTombstone

# Messages tests assert on.
CAPTURE_REFUSED = "This address cannot be accepted."
CAPTURE_REFUSED_REASON = "erased: the address matches an erasure tombstone (input dropped, not stored)"
IMPORT_REFUSED = "The person with this address was erased at their request: the row is not imported."
NOT_MAILABLE_ERASED = "The address belongs to a person who was erased."

CACHE_SECONDS = 10.0
_KEY_SALT = "leadcrm.privacy.tombstone"
_cache: tuple[float, frozenset[str]] | None = None


def email_digest(*, email: str) -> str:
    """The keyed hash (HMAC-SHA256, hex) of the normalised address ('' for no address)."""
    normalised = normalize_email(email)
    if not normalised:
        return ""
    secret = getattr(settings, "PRIVACY_TOMBSTONE_KEY", "") or settings.SECRET_KEY
    return salted_hmac(_KEY_SALT, normalised, secret=secret, algorithm="sha256").hexdigest()


def _digests() -> frozenset[str]:
    global _cache
    now = time.monotonic()
    cached = _cache  # read once: another thread of a web process may forget it meanwhile
    if cached is None or cached[0] < now:
        cached = _cache = (now + CACHE_SECONDS, frozenset(ErasureTombstone.objects.values_list("digest", flat=True)))
    return cached[1]


def tombstones_forget() -> None:
    """Read the tombstones again at the next check (after one was made or removed)."""
    global _cache
    _cache = None


def tombstones_remember(*, digests: Iterable[str]) -> None:
    """This process made these tombstones: it refuses them at once, before the cache expires."""
    global _cache
    current = _digests()
    cached = _cache
    _cache = (cached[0] if cached else time.monotonic() + CACHE_SECONDS, current | frozenset(digests))


def tombstones_assume_none(*, seconds: float = 3600.0) -> None:
    """Say there are no tombstones for that long (tests: their query counts must not depend on when
    this process last read the table)."""
    global _cache
    _cache = (time.monotonic() + seconds, frozenset())


def email_erased(*, email: str | None) -> bool:
    """Whether the address belongs to an erased person (False for no address)."""
    if not email:
        return False
    digests = _digests()
    return bool(digests) and email_digest(email=email) in digests


def capture_context_scrubbed(context: Any) -> Any:
    """A copy of a capture's context without what it carried (payload, raw body, address, agent):
    the refusal is logged with its reason, and the erased person's data is not stored again."""
    return dataclasses.replace(context, payload={}, raw="", ip=None, user_agent="", source_detail="")


def import_rows_refuse(*, rows: Iterable[Any]) -> int:
    """Reject the import rows whose email is tombstoned (row.error set, the cells dropped); how many."""
    if not _digests():
        return 0
    refused = 0
    for row in rows:
        if not row.error and email_erased(email=(row.fields or {}).get("email")):
            row.error, row.fields, row.payload = IMPORT_REFUSED, {}, {}
            refused += 1
    return refused
