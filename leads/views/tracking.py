"""Public tracking endpoints: POST /t/<key>/collect (track.js) and GET /t/<key>/pixel.gif (no JS)."""

import base64

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from ..capture.tracking import (
    BAD_JSON,
    BODY_TOO_LARGE,
    HOST_NOT_ALLOWED,
    MAX_BODY_BYTES,
    NUL_NOT_ALLOWED,
    RATE_LIMITED,
    VISITOR_COOKIE,
    VISITOR_COOKIE_MAX_AGE,
    page_view_parse,
    page_view_record,
    tracking_host_allowed,
    tracking_skip_reason,
    visitor_key_new,
    visitor_key_valid,
)
from ..common.safejson import UNPARSABLE, JSONRejected, json_loads_safe
from ..models import TrackingSite

# The smallest transparent 1x1 GIF.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = "no-store, max-age=0"


def _dnt(request: HttpRequest) -> bool:
    """Do-Not-Track, or its successor Global Privacy Control."""
    return request.headers.get("DNT") == "1" or request.headers.get("Sec-GPC") == "1"


def _origin_allowed(request: HttpRequest, site: TrackingSite) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # beacons from old browsers, server-side senders: the page URL is checked instead
    if origin == "null":
        return not site.allowed_hosts
    try:
        return tracking_host_allowed(site=site, url=origin)
    except ValueError:
        return False


def _cors(response: HttpResponse, request: HttpRequest, site: TrackingSite) -> HttpResponse:
    origin = request.headers.get("Origin")
    if origin and origin != "null" and _origin_allowed(request, site):
        response["Access-Control-Allow-Origin"] = origin
        response["Vary"] = "Origin"
    return response


def _rate_limited(request: HttpRequest) -> bool:
    return is_ratelimited(request, group="tracking", key="ip", rate=settings.TRACKING_RATE, increment=True)


def _record(request: HttpRequest, site: TrackingSite, data: dict) -> HttpResponse | None:
    """Validate and store one hit: None when stored, else the answer (400, 403, or 204 when
    Do-Not-Track or missing consent says it must not be stored)."""
    try:
        hit = page_view_parse(data=data)
    except ValidationError as exc:
        return JsonResponse(exc.message_dict, status=400)
    if not tracking_host_allowed(site=site, url=hit.url):
        return JsonResponse({"detail": HOST_NOT_ALLOWED}, status=403)
    if tracking_skip_reason(site=site, hit=hit, dnt_header=_dnt(request)):
        return HttpResponse(status=204)
    page_view_record(site=site, hit=hit)
    return None


@csrf_exempt  # public and cross-site by design: customers' pages post here; no cookie of ours is trusted
@require_http_methods(["POST", "OPTIONS"])
def tracking_collect_view(request: HttpRequest, key: str) -> HttpResponse:
    if request.method == "OPTIONS":
        site = get_object_or_404(TrackingSite, key=key, is_active=True)
        response = HttpResponse(status=204)
        if _origin_allowed(request, site) and request.headers.get("Origin"):
            response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response["Access-Control-Allow-Headers"] = "Content-Type"
            response["Access-Control-Max-Age"] = "86400"
        return _cors(response, request, site)
    # The limit comes first: a burst is turned away before it costs a query.
    if _rate_limited(request):
        return JsonResponse({"detail": RATE_LIMITED}, status=429)
    site = get_object_or_404(TrackingSite, key=key, is_active=True)
    if not _origin_allowed(request, site):
        return JsonResponse({"detail": HOST_NOT_ALLOWED}, status=403)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return _cors(JsonResponse({"detail": BODY_TOO_LARGE}, status=413), request, site)
    # sendBeacon posts text/plain (no preflight), so the body is read as JSON whatever its type.
    try:
        data = json_loads_safe(request.body)
    except JSONRejected as exc:  # too deep, numbers out of range, lone surrogates: per field
        if exc.message not in UNPARSABLE:
            return _cors(JsonResponse(exc.as_dict(), status=400), request, site)
        data = None
    if not isinstance(data, dict):
        return _cors(JsonResponse({"detail": BAD_JSON}, status=400), request, site)
    refused = _record(request, site, data)
    return _cors(refused or JsonResponse({"status": "recorded"}, status=202), request, site)


@require_GET
def tracking_pixel_view(request: HttpRequest, key: str) -> HttpResponse:
    """For pages without JavaScript: ?u=<url>&r=<referrer>&t=<title>&v=<visitor>[&c=1 for consent]."""
    if _rate_limited(request):
        return JsonResponse({"detail": RATE_LIMITED}, status=429)
    site = get_object_or_404(TrackingSite, key=key, is_active=True)
    params = request.GET
    if any("\x00" in value for values in params.lists() for value in values[1]):
        return JsonResponse({"detail": NUL_NOT_ALLOWED}, status=400)
    visitor_key = params.get("v") or ""
    new_cookie = None
    if not visitor_key:
        # No id from the page: our own cookie (first-party to us) carries one between pixels.
        cookie = request.COOKIES.get(VISITOR_COOKIE, "")
        visitor_key = cookie if visitor_key_valid(visitor_key=cookie) else visitor_key_new()
        new_cookie = visitor_key
    data = {
        "url": params.get("u") or request.headers.get("Referer", ""),
        "referrer": params.get("r", ""),
        "title": params.get("t", ""),
        "visitor": visitor_key,
        "consent": params.get("c", ""),
    }
    refused = _record(request, site, data)
    if refused is not None:
        return refused
    response = HttpResponse(PIXEL_GIF, content_type="image/gif")
    response["Cache-Control"] = NO_STORE
    if new_cookie:
        # Cross-site images carry cookies only with SameSite=None, which browsers accept only with Secure.
        secure = request.is_secure()
        response.set_cookie(
            VISITOR_COOKIE,
            new_cookie,
            max_age=VISITOR_COOKIE_MAX_AGE,
            secure=secure,
            httponly=True,
            samesite="None" if secure else "Lax",
        )
    return response
