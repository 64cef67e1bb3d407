"""Small HTTP helpers for the public endpoints."""
from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The visitor's IP: REMOTE_ADDR, or the address our own trusted proxies saw
    (TRUSTED_PROXY_COUNT entries from the right of X-Forwarded-For)."""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def wants_json(request: HttpRequest) -> bool:
    """JSON in, or JSON asked for."""
    return request.content_type == "application/json" or "application/json" in request.headers.get("Accept", "")
