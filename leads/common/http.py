"""Small HTTP helpers for the public endpoints, and the one rule for a client's address.

client_ip is the address every rate limit (django-ratelimit's key "ip", through
RATELIMIT_IP_META_KEY), the API token throttle and the login lock-out (django-axes, through
AXES_CLIENT_IP_CALLABLE) count on. X-Forwarded-For is read only when the request comes from one of
TRUSTED_PROXIES (none by default): anybody can send that header, so trusting it from anyone else
let one client rotate it and look like forty.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies if proxy.strip())


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def from_trusted_proxy(request: HttpRequest) -> bool:
    """The request came through one of our TRUSTED_PROXIES (so its X-Forwarded-* headers are theirs)."""
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    return bool(networks) and _trusted(request.META.get("REMOTE_ADDR", ""), networks)


def client_ip(request: HttpRequest) -> str:
    """The client's IP: REMOTE_ADDR, unless that is one of our TRUSTED_PROXIES; then the nearest
    address in X-Forwarded-For (read from the right) that is not a trusted proxy itself. A
    malformed entry stops the walk at the last trusted hop (never a forged value)."""
    remote = request.META.get("REMOTE_ADDR", "")
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    if not networks or not _trusted(remote, networks):
        return remote
    hops = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    client = remote
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break
        client = hop
        if not _trusted(hop, networks):
            break
    return client


def wants_json(request: HttpRequest) -> bool:
    """JSON in, or JSON asked for."""
    return request.content_type == "application/json" or "application/json" in request.headers.get("Accept", "")
