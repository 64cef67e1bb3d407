"""Answer oversized request bodies with 413 instead of Django's generic 400; a lean middleware
chain for the public capture endpoints."""

import re

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, JsonResponse
from django.utils.module_loading import import_string

BODY_TOO_LARGE = "The request body is too large."


def _too_large() -> JsonResponse:
    return JsonResponse({"detail": BODY_TOO_LARGE, "max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}, status=413)


class RequestBodyLimitMiddleware:
    """413 when Content-Length is over DATA_UPLOAD_MAX_MEMORY_SIZE (or a streamed body turns out to be)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit and not request.path.startswith(tuple(settings.LARGE_UPLOAD_PATHS)):
            return _too_large()
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, RequestDataTooBig):
            return _too_large()
        return None


# The public capture endpoints need none of these: an anonymous web-form post (its view is
# csrf_exempt and is protected by the origin check, the signed render stamp, the honeypot and the
# per-address rate limit) and a token-authenticated API capture (no cookie authenticates it, so no
# session, CSRF, second factor or lock-out applies) read no session, set no message, render no
# htmx partial and serve no static file. Skipping them saved ~0.5 ms of CPU per capture
# (bench/README.md, "Capture through the public web form"). Everything else runs as for any
# request: the request id, the security headers, the body limit, the language, the common checks
# and the clickjacking header.
SKIPPED_ON_CAPTURE = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django_otp.middleware.OTPMiddleware",
        "leadcrm.twofactor.middleware.TwoFactorMiddleware",
        "leads.workspace.user_time_zone.UserTimeZoneMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django_htmx.middleware.HtmxMiddleware",
        "axes.middleware.AxesMiddleware",
    }
)
_FORM_POST = re.compile(r"/f/[-a-zA-Z0-9_]+\Z")  # the path of web_form_view (leadcrm/urls.py)
_API_CAPTURE = "/api/v1/capture"
_TOKEN_PREFIX = "Token "  # DRF's TokenAuthentication, which the API tries first


def capture_request_is_lean(request: HttpRequest) -> bool:
    """A POST of a web form, or of the capture API with a token (a session-authenticated browser
    posting to the API keeps the whole stack, CSRF check included)."""
    if request.method != "POST":
        return False
    path = request.path_info
    if path == _API_CAPTURE:
        return request.META.get("HTTP_AUTHORIZATION", "").startswith(_TOKEN_PREFIX)
    return _FORM_POST.match(path) is not None


class LeanCaptureMiddleware:
    """First in MIDDLEWARE: a capture request (capture_request_is_lean) goes through a chain of the
    other middlewares without SKIPPED_ON_CAPTURE; every other request through the whole chain."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.handler = BaseHandler()
        self.lean = _lean_chain(self.handler)

    def __call__(self, request: HttpRequest):
        if capture_request_is_lean(request):
            request.user = AnonymousUser()  # the API's token authentication replaces it for the view
            return self.lean(request)
        return self.get_response(request)


def _lean_chain(handler: BaseHandler):
    """What BaseHandler.load_middleware builds (sync), from settings.MIDDLEWARE less SKIPPED_ON_CAPTURE."""
    handler._view_middleware, handler._template_response_middleware, handler._exception_middleware = [], [], []
    chain = convert_exception_to_response(handler._get_response)
    for path in reversed(settings.MIDDLEWARE):
        if path in SKIPPED_ON_CAPTURE or path == f"{__name__}.LeanCaptureMiddleware":
            continue
        middleware = import_string(path)(chain)
        if hasattr(middleware, "process_view"):
            handler._view_middleware.insert(0, middleware.process_view)
        if hasattr(middleware, "process_template_response"):
            handler._template_response_middleware.append(middleware.process_template_response)
        if hasattr(middleware, "process_exception"):
            handler._exception_middleware.append(middleware.process_exception)
        chain = convert_exception_to_response(middleware)
    handler._middleware_chain = chain
    return chain
