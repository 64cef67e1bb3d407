"""Answer oversized request bodies with 413 instead of Django's generic 400."""
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse

BODY_TOO_LARGE = "The request body is too large."


def _too_large() -> JsonResponse:
    return JsonResponse(
        {"detail": BODY_TOO_LARGE, "max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}, status=413
    )


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
