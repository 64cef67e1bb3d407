"""Website activity tracking: page views from track.js (or the no-JS pixel) kept per anonymous
visitor, and put on a lead's timeline once the visitor is known (a form, a tracked email link).

A hit must stay cheap, because pages send bursts: one upsert of the visitor, one read of its
last view, one insert, and for a known visitor one timeline entry. No enrichment, no rescoring,
no Celery task per hit."""

import re
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from .. import events
from ..engagement import engagement_add
from ..models import Interaction, Lead, PageView, TrackingSite, Visitor

VISITOR_COOKIE = "_lcrm_vid"
VISITOR_COOKIE_MAX_AGE = 365 * 24 * 3600
VISIT_GAP = timedelta(minutes=30)
# A beacon may be queued by the browser for a while; older or future client times are not trusted.
CLIENT_TIME_TOLERANCE = timedelta(minutes=10)
# Identification puts at most this many past views on the timeline (the most recent ones).
IDENTIFY_MAX_VIEWS = 500
MAX_BODY_BYTES = 16 * 1024
URL_MAX = PageView._meta.get_field("url").max_length
TITLE_MAX = PageView._meta.get_field("title").max_length
VISITOR_KEY_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")
INTERACTION_CHANNEL = "tracking"

URL_REQUIRED = "The page URL is required."
URL_INVALID = "Must be an absolute http(s) URL of at most 2,000 characters."
VISITOR_INVALID = "The visitor id must be 8–64 letters, digits, - or _."
NOT_TEXT = "Must be text."
NOT_BOOLEAN = "Must be true or false."
TIME_INVALID = "Must be a time in milliseconds since 1970."
NUL_NOT_ALLOWED = "NUL characters and invalid Unicode are not allowed."
BAD_JSON = "The body must be a JSON object."
BODY_TOO_LARGE = f"A page view is at most {MAX_BODY_BYTES} bytes."
HOST_NOT_ALLOWED = "This site does not accept page views from that host."
RATE_LIMITED = "Too many page views from this address. Slow down."

SKIP_DNT = "do not track"
SKIP_NO_CONSENT = "no consent"


@dataclass
class PageViewInput:
    url: str
    visitor_key: str
    title: str = ""
    referrer: str = ""
    client_time: datetime | None = None
    consent: bool = False
    dnt: bool = False


def visitor_key_new() -> str:
    """A fresh anonymous visitor id (the pixel's, when the page sent none)."""
    return secrets.token_hex(16)


def visitor_key_valid(*, visitor_key: Any) -> bool:
    """Whether a visitor id is well-formed (what track.js makes, and what Visitor can hold)."""
    return isinstance(visitor_key, str) and VISITOR_KEY_RE.fullmatch(visitor_key) is not None


def _unstorable(value: str) -> bool:
    """NUL, or a lone surrogate (valid in JSON escapes, not in UTF-8): the database refuses both."""
    return "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value)


def _text(data: dict, name: str, errors: dict, *, limit: int) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[name] = [NOT_TEXT]
        return ""
    if _unstorable(value):
        errors[name] = [NUL_NOT_ALLOWED]
        return ""
    return value.strip()[:limit]


def _flag(data: dict, name: str, errors: dict) -> bool:
    value = data.get(name, False)
    if isinstance(value, str) and value.lower() in ("", "0", "1", "true", "false"):
        return value.lower() in ("1", "true")
    if not isinstance(value, bool):
        errors[name] = [NOT_BOOLEAN]
        return False
    return value


def _is_page_url(value: Any) -> bool:
    if not isinstance(value, str) or _unstorable(value) or len(value.strip()) > URL_MAX:
        return False
    try:
        parts = urlsplit(value.strip())
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # an unbalanced [ in the host, a bad port
        return False


def page_view_parse(*, data: dict) -> PageViewInput:
    """Validate one hit (`url`, `visitor`, `title`, `referrer`, `time`, `consent`, `dnt`);
    ValidationError with a message per field."""
    errors: dict[str, list[str]] = {}
    url = data.get("url")
    if url in (None, ""):
        errors["url"] = [URL_REQUIRED]
    elif not _is_page_url(url):
        errors["url"] = [URL_INVALID]
    visitor_key = data.get("visitor")
    if not visitor_key_valid(visitor_key=visitor_key):
        errors["visitor"] = [VISITOR_INVALID]
    title = _text(data, "title", errors, limit=TITLE_MAX)
    referrer = _text(data, "referrer", errors, limit=URL_MAX)
    client_time = None
    raw_time = data.get("time")
    if raw_time not in (None, ""):
        try:
            if isinstance(raw_time, bool):
                raise TypeError
            client_time = datetime.fromtimestamp(float(raw_time) / 1000, tz=UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            errors["time"] = [TIME_INVALID]
    consent = _flag(data, "consent", errors)
    dnt = _flag(data, "dnt", errors)
    if errors:
        raise ValidationError(errors)
    return PageViewInput(
        url=url.strip(),
        visitor_key=visitor_key,
        title=title,
        referrer=referrer,
        client_time=client_time,
        consent=consent,
        dnt=dnt,
    )


def tracking_host_allowed(*, site: TrackingSite, url: str) -> bool:
    """Whether a page (or an Origin) belongs to the site: its host, with or without port, is in
    allowed_hosts. An empty list accepts every host (convenient while setting a site up)."""
    hosts = {host.lower() for host in site.allowed_hosts or [] if isinstance(host, str)}
    if not hosts:
        return True
    parts = urlsplit(url)
    return (parts.hostname or "") in hosts or parts.netloc.lower() in hosts


def tracking_skip_reason(*, site: TrackingSite, hit: PageViewInput, dnt_header: bool) -> str | None:
    """Why this hit must not be stored (Do-Not-Track, missing consent), or None to store it."""
    if site.honour_dnt and (dnt_header or hit.dnt):
        return SKIP_DNT
    if site.require_consent and not hit.consent:
        return SKIP_NO_CONSENT
    return None


def _occurred_at(client_time: datetime | None) -> datetime:
    now = timezone.now()
    if client_time is not None and now - CLIENT_TIME_TOLERANCE <= client_time <= now:
        return client_time
    return now


def _visitor_upsert(*, site_id: int, visitor_key: str, seen_at: datetime) -> tuple[int, int | None]:
    """Insert the visitor or touch its last_seen_at in one statement; returns (id, lead_id).
    The row lock it takes orders this hit against a concurrent identification."""
    quote = connection.ops.quote_name
    column = {f.name: quote(f.column) for f in Visitor._meta.concrete_fields}
    table = quote(Visitor._meta.db_table)
    seen = connection.ops.adapt_datetimefield_value(seen_at)
    sql = (
        f"INSERT INTO {table} ({column['site']}, {column['visitor_key']}, {column['first_seen_at']}, {column['last_seen_at']}) "
        f"VALUES (%s, %s, %s, %s) "
        f"ON CONFLICT ({column['site']}, {column['visitor_key']}) DO UPDATE SET {column['last_seen_at']} = "
        f"CASE WHEN EXCLUDED.{column['last_seen_at']} > {table}.{column['last_seen_at']} "
        f"THEN EXCLUDED.{column['last_seen_at']} ELSE {table}.{column['last_seen_at']} END "
        f"RETURNING {column['id']}, {column['lead']}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [site_id, visitor_key, seen, seen])
        visitor_id, lead_id = cursor.fetchone()
    return visitor_id, lead_id


def _view_data(view: PageView, site_key: str, visitor_key: str) -> dict:
    return {
        "url": view.url,
        "title": view.title,
        "referrer": view.referrer,
        "visit_number": view.visit_number,
        "page_view": view.pk,
        "site": site_key,
        "visitor": visitor_key,
    }


def page_view_record(*, site: TrackingSite, hit: PageViewInput) -> PageView:
    """Store one page view for the hit's visitor (upserted); a known visitor's view also goes
    on its lead's timeline and moves last_activity_at."""
    occurred_at = _occurred_at(hit.client_time)
    with transaction.atomic():
        visitor_id, lead_id = _visitor_upsert(site_id=site.pk, visitor_key=hit.visitor_key, seen_at=occurred_at)
        last = (
            PageView.objects.filter(visitor_id=visitor_id, occurred_at__lte=occurred_at)
            .order_by("-occurred_at")
            .values_list("occurred_at", "visit_number")
            .first()
        )
        if last is None:
            visit_number = 1
        else:
            visit_number = last[1] + (1 if occurred_at - last[0] >= VISIT_GAP else 0)
        view = PageView.objects.create(
            site=site,
            visitor_id=visitor_id,
            url=hit.url,
            title=hit.title,
            referrer=hit.referrer,
            occurred_at=occurred_at,
            visit_number=visit_number,
        )
        if lead_id is not None:
            # A stand-in with only the pk: the timeline entry needs no other column, and
            # loading the lead would cost every hit of a known visitor one more query.
            events.activity_recorded(
                lead=Lead(pk=lead_id),
                kind=Interaction.Kind.PAGE_VIEW,
                channel=INTERACTION_CHANNEL,
                subject=f"Viewed {view.title or view.url}",
                body=view.url,
                data=_view_data(view, site.key, hit.visitor_key),
                occurred_at=occurred_at,
            )
            new_visit = last is None or visit_number != last[1]
            engagement_add(
                lead_id=lead_id, day=timezone.localdate(occurred_at), page_views=1, visits=1 if new_visit else 0
            )
    return view


def _count_engagement(*, lead_id: int, views: list[PageView]) -> None:
    """Add a newly identified visitor's past views to the lead's engagement counters, per day
    (a visit counts on the day of its first view)."""
    first_of_visit: dict[tuple[int, int], PageView] = {}
    for view in views:
        key = (view.visitor_id, view.visit_number)
        if key not in first_of_visit or view.occurred_at < first_of_visit[key].occurred_at:
            first_of_visit[key] = view
    per_day: dict = defaultdict(lambda: [0, 0])
    for view in views:
        per_day[timezone.localdate(view.occurred_at)][0] += 1
    for view in first_of_visit.values():
        per_day[timezone.localdate(view.occurred_at)][1] += 1
    for day, (page_views, visits) in per_day.items():
        engagement_add(lead_id=lead_id, day=day, page_views=page_views, visits=visits)


def visitor_identify(*, site_key: str | None, visitor_key: str, lead: Lead) -> int:
    """Link an anonymous visitor (of one site, or of every site by its id) to a lead and put its
    past page views on the lead's timeline, grouped into visits; returns how many were added.
    Call it after the capture's transaction has committed (lock order: visitor, then lead)."""
    if not visitor_key_valid(visitor_key=visitor_key) or lead is None or lead.pk is None:
        return 0
    with transaction.atomic():
        visitors = Visitor.objects.filter(visitor_key=visitor_key, lead__isnull=True)
        if site_key:
            visitors = visitors.filter(site__key=site_key)
        # Locked in id order: a concurrent hit of the same visitor waits, then sees the lead.
        found = list(visitors.select_for_update(of=("self",)).order_by("pk").values_list("pk", "site__key"))
        if not found:
            return 0
        site_keys = dict(found)
        Visitor.objects.filter(pk__in=site_keys).update(lead=lead)
        views = list(
            PageView.objects.filter(visitor_id__in=site_keys).order_by("-occurred_at", "-id")[:IDENTIFY_MAX_VIEWS]
        )
        if not views:
            return 0
        events.page_views_identified(
            lead=lead,
            channel=INTERACTION_CHANNEL,
            views=[
                (
                    view.occurred_at,
                    f"Viewed {view.title or view.url}",
                    view.url,
                    _view_data(view, site_keys[view.visitor_id], visitor_key),
                )
                for view in reversed(views)
            ],
        )
        _count_engagement(lead_id=lead.pk, views=views)
        lead.last_activity_at = max(filter(None, [lead.last_activity_at, views[0].occurred_at]))
    return len(views)


def tracking_snippet(*, site: TrackingSite) -> str:
    """The script tag to paste into the site's pages (and a no-JS pixel)."""
    # The unhashed name: a pasted snippet must keep working when a release changes the file.
    script_url = settings.STATIC_URL + "leadcrm/track.js"
    if not script_url.startswith(("http://", "https://", "//")):
        script_url = settings.PUBLIC_BASE_URL + "/" + script_url.lstrip("/")
    extra = ""
    if site.require_consent:
        extra += ' data-consent="required"'
    if site.honour_dnt:
        extra += ' data-dnt="honour"'
    pixel = settings.PUBLIC_BASE_URL + reverse("tracking_pixel", args=[site.key])
    return (
        f'<script src="{script_url}" data-site="{site.key}"{extra} async></script>\n'
        f'<noscript><img src="{pixel}" alt="" width="1" height="1" style="position:absolute"></noscript>'
    )
