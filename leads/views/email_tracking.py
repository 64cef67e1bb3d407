"""Public endpoints of sequence email (no login): the open pixel, signed click redirects and the
one-click unsubscribe (RFC 8058). Throttled per IP like the other public endpoints."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from ..capture.tracking import VISITOR_COOKIE, visitor_key_valid
from ..nurturing.responses import email_click_record, email_open_record, email_unsubscribe, unsubscribe_run
from .tracking import NO_STORE, PIXEL_GIF

CLICK_REFUSED = "This link is not valid."
TOO_MANY = "Too many requests from this address. Try again in a minute."


def _limited(request: HttpRequest) -> bool:
    return is_ratelimited(request, group="nurture-email", key="ip", rate=settings.TRACKING_RATE, increment=True)


def _pixel() -> HttpResponse:
    response = HttpResponse(PIXEL_GIF, content_type="image/gif")
    response["Cache-Control"] = NO_STORE
    return response


@require_GET
def email_open_view(request: HttpRequest, token: str) -> HttpResponse:
    """The 1×1 pixel of a sequence email: its first load marks the email opened."""
    if not _limited(request):
        email_open_record(token=token)
    return _pixel()  # the same answer for a forged token: nothing to learn from it


@require_GET
def email_click_view(request: HttpRequest, token: str) -> HttpResponse:
    """A tracked link: only the URL signed into this email's token is a redirect target."""
    cookie = request.COOKIES.get(VISITOR_COOKIE, "")
    visitor_key = cookie if visitor_key_valid(visitor_key=cookie) else ""
    url = email_click_record(token=token, visitor_key=visitor_key, record=not _limited(request))
    if url is None:
        return HttpResponseBadRequest(CLICK_REFUSED, content_type="text/plain; charset=utf-8")
    response = HttpResponseRedirect(url)  # signed by us: an URL of this very email, never user input
    response["Cache-Control"] = NO_STORE
    response["Referrer-Policy"] = "no-referrer"
    return response


# RFC 8058: mail clients POST "List-Unsubscribe=One-Click" to the List-Unsubscribe URL with no
# cookies and no CSRF token; the signed token in the URL is the authorisation. Exempt here only.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def email_unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a confirmation page (link scanners must not unsubscribe anyone). POST: unsubscribe."""
    if _limited(request):
        return HttpResponse(TOO_MANY, status=429, content_type="text/plain; charset=utf-8")
    run = unsubscribe_run(token=token) if token != "preview" else None
    if run is None and token != "preview":
        raise Http404
    context = {"email": run.to_email if run else "you@example.com", "preview": run is None, "done": False}
    if request.method == "POST" and run is not None:
        email_unsubscribe(run=run)
        context["done"] = True
    response = render(request, "leads/nurture/unsubscribe.html", context)
    response["Cache-Control"] = NO_STORE
    return response
