"""POST a webhook under the SSRF-safe fetcher's rules (leads/common/safe_http.py): the URL
is checked and resolved once on every attempt, the connection goes to that checked address (so a
DNS answer that changes cannot reach the inside), no redirect is followed, time is short and only
the first bytes of the answer are read."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass

import urllib3
from django.conf import settings

from ..common import safe_http
from ..common.safe_http import CONNECTION_FAILED, TIMED_OUT, FetchError, FetchTimeout, url_check

USER_AGENT = "LeadCRM-Webhooks/1.0"
EXCERPT_CHARS = 500


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str


def _timeout() -> float:
    return float(getattr(settings, "OUTBOUND_WEBHOOK_TIMEOUT", 5.0))


def _max_bytes() -> int:
    return int(getattr(settings, "OUTBOUND_WEBHOOK_MAX_RESPONSE_BYTES", 64 * 1024))


def webhook_post(*, url: str, body: bytes, headers: dict[str, str], allow: tuple[str, ...]) -> Answer:
    """POST the body to the URL; return the status and an excerpt of the answer, or raise
    FetchError (UnsafeURL when the rules refuse the URL, FetchTimeout, connection errors)."""
    total = _timeout()
    deadline = time.monotonic() + total
    target = url_check(url=url, allow=allow, dns_timeout=min(3.0, total))
    sent = {
        **headers,
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
        "Accept-Encoding": "identity",
        "Connection": "close",
        "Host": target.host_header,
    }
    last_error: FetchError = FetchError(CONNECTION_FAILED)
    for address in target.addresses[:3]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchTimeout(TIMED_OUT)
        pool = _pool(target, address, urllib3.Timeout(connect=min(3.0, remaining), read=remaining))
        response = safe_http.pool_urlopen(pool, "POST", target.request_path, body=body, headers=sent)
        if response is None:  # refused or unreachable: the next address
            last_error = FetchError(CONNECTION_FAILED)
            continue
        try:
            return Answer(status=response.status, excerpt=_excerpt(response))
        finally:
            response.close()
            pool.close()
    raise last_error


def _pool(target: safe_http.Target, address: ipaddress.IPv4Address | ipaddress.IPv6Address, timeout):
    # Connect to the checked address itself; the name travels only in Host and TLS (SNI, certificate).
    common = {"port": target.port, "timeout": timeout, "retries": False, "maxsize": 1}
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            str(address), cert_reqs="CERT_REQUIRED", ca_certs=safe_http.CA_BUNDLE, server_hostname=target.host, **common
        )
    return urllib3.HTTPConnectionPool(str(address), **common)


def _excerpt(response) -> str:
    """The first characters of the answer; at most the size limit is read, the rest never."""
    try:
        data = response.read(min(_max_bytes(), 4 * EXCERPT_CHARS))
    except (urllib3.exceptions.HTTPError, OSError):  # the receiver hung up after its status line: keep the status
        return ""
    return data.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
