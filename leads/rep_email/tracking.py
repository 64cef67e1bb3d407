"""Open and click tracking of a rep's email: nurturing's scheme (django.core.signing, a pixel and
signed redirects, the URL inside the click's signature) over the message row, with salts of its
own, so a token of one kind or one message can never be read as another."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from .. import events
from ..models import Lead, RepEmail

OPEN_SALT = "leadcrm.rep_email.open"
CLICK_SALT = "leadcrm.rep_email.click"


def open_token(*, rep_email_id: int) -> str:
    """The signed token of a message's open pixel."""
    return signing.Signer(salt=OPEN_SALT).sign(str(rep_email_id))


def click_token(*, rep_email_id: int, url: str) -> str:
    """The signed token of one link in one message (the URL is inside the signature)."""
    return signing.dumps([rep_email_id, url], salt=CLICK_SALT, compress=True)


def open_url(*, rep_email_id: int) -> str:
    return settings.PUBLIC_BASE_URL + reverse("rep_email_open", args=[open_token(rep_email_id=rep_email_id)])


def click_url(*, rep_email_id: int, url: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse("rep_email_click", args=[click_token(rep_email_id=rep_email_id, url=url)])


def _message(rep_email_id: int) -> RepEmail | None:
    return RepEmail.objects.select_related("lead").filter(pk=rep_email_id, tracked=True).first()


def rep_email_open_record(*, token: str, now: datetime | None = None) -> bool:
    """The pixel loaded: the first open of the message goes on the timeline (feeds scoring)."""
    try:
        rep_email_id = int(signing.Signer(salt=OPEN_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return False
    message = _message(rep_email_id)
    if message is None:
        return False
    now = now or timezone.now()
    with transaction.atomic():
        if RepEmail.objects.filter(pk=message.pk, opened_at__isnull=True).update(opened_at=now):
            Lead.objects.filter(pk=message.lead_id).update(emails_opened=F("emails_opened") + 1)
            events.rep_email_opened(
                lead=message.lead, rep_email_id=message.pk, subject=message.subject, occurred_at=now
            )
    return True


def click_token_read(*, token: str) -> tuple[int, str] | None:
    """(message id, url) of a genuine click token, else None."""
    try:
        rep_email_id, url = signing.loads(token, salt=CLICK_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not (isinstance(rep_email_id, int) and isinstance(url, str) and url.lower().startswith(("http://", "https://"))):
        return None
    return rep_email_id, url


def rep_email_click_record(
    *, token: str, visitor_key: str = "", record: bool = True, now: datetime | None = None
) -> str | None:
    """A tracked link was clicked: the URL to redirect to (None: forged or unknown). `record`: put
    it on the timeline (False when the visitor is rate-limited)."""
    read = click_token_read(token=token)
    if read is None:
        return None
    rep_email_id, url = read
    message = _message(rep_email_id)
    if message is None:
        return None
    if not record:
        return url
    now = now or timezone.now()
    with transaction.atomic():
        first = RepEmail.objects.filter(pk=message.pk, clicked_at__isnull=True).update(clicked_at=now)
        RepEmail.objects.filter(pk=message.pk, opened_at__isnull=True).update(opened_at=now)  # a click is an open
        if first:
            Lead.objects.filter(pk=message.lead_id).update(emails_clicked=F("emails_clicked") + 1)
        events.rep_email_clicked(
            lead=message.lead,
            rep_email_id=message.pk,
            url=url,
            subject=message.subject,
            occurred_at=now,
            visitor_key=visitor_key,
        )
    return url
