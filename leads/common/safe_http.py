"""SSRF-safe HTTP for every fetch whose URL comes from data: the network enrichment providers, the
Meta Graph API reads and the outbound webhooks (their POST goes through leads/outbound/http.py).

Lead data decides which URL is fetched, so every URL, and again every redirect, is checked before
any connection is made:
- http:// or https:// only, no user name or password, only the standard ports 80 and 443;
- the host is a DNS name or a canonical IP literal: decimal, octal, hex and short IPv4 forms
  (2130706433, 0177.0.0.1, 0x7f000001, 127.1) are refused, as are internal names (localhost,
  *.internal, cloud metadata names, single-label names) before any DNS query;
- the name is resolved ONCE and every address it resolves to must be public: not private,
  loopback, link-local, multicast, reserved, unspecified or shared (100.64/10), including the IPv4
  address an IPv6 one embeds (::ffff:a.b.c.d, ::a.b.c.d, 6to4, Teredo, NAT64);
- the connection goes to that exact address, with the name in the Host header and in TLS (SNI and
  the certificate check), so a DNS answer that changes between the check and the connection
  (DNS rebinding) cannot reach the inside.
settings.ENRICHMENT_WEBSITE_ALLOW (host or host:port, for tests and local setups) and the `allow`
argument (the operator's own API host) are the only exceptions.

Responses are bounded: connect, read and total time, at most N redirects, a size cap (the body is
streamed and cut off), accepted content types only; no cookies are kept and no proxy from the
environment is used (urllib3 reads neither).
"""

import ipaddress
import logging
import re
import socket
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import certifi
import idna
import urllib3
from django.conf import settings

logger = logging.getLogger(__name__)


class ProviderUnavailable(Exception):
    """A provider could not answer right now (timeout, rate limit, server error). The run goes
    on without it; a later re-enrichment (enrich_leads --stale) asks again."""


USER_AGENT = "LeadCRM-Enrichment/1.0 (company profile lookup for a CRM; one page per lead)"

REFUSED_MALFORMED = "The URL is malformed."
REFUSED_SCHEME = "Only http:// and https:// URLs are fetched."
REFUSED_CREDENTIALS = "URLs with a user name or password are not fetched."
REFUSED_PORT = "Only the standard web ports (80 and 443) are fetched."
REFUSED_NUMERIC_HOST = "A numeric host must be a plain dotted IPv4 address or a bracketed IPv6 address."
REFUSED_INTERNAL_NAME = "Internal host names (localhost, metadata services, names without a dot) are not fetched."
REFUSED_ADDRESS = "The host is, or resolves to, a private, loopback, link-local, multicast or other non-public address."
NOT_RESOLVED = "The host name could not be resolved."
TIMED_OUT = "The server did not answer in time."
CONNECTION_FAILED = "The server could not be reached."
TLS_FAILED = "The server's TLS certificate could not be verified for this host name."
TOO_MANY_REDIRECTS = "The page redirected too many times."
BAD_REDIRECT = "The server sent a redirect without a Location."
WRONG_CONTENT_TYPE = "The response is not of an accepted content type."
HTTP_STATUS = "The server answered HTTP {status}."

DEFAULT_PORTS = {"http": 80, "https": 443}
ALLOWED_PORTS = frozenset(DEFAULT_PORTS.values())
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Never carried to another origin on a redirect.
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
CHUNK = 64 * 1024

# Names that only mean something inside a network, and the cloud metadata services: refused
# before any DNS query (so no lookup for them ever leaves the machine).
INTERNAL_NAMES = frozenset(
    {"localhost", "metadata", "metadata.google.internal", "instance-data", "ip6-localhost", "ip6-loopback"}
)
INTERNAL_SUFFIXES = (
    ".localhost",
    ".local",
    ".localdomain",
    ".internal",
    ".intranet",
    ".lan",
    ".home",
    ".corp",
    ".private",
    ".home.arpa",
    ".arpa",
)
SHARED_NETWORK = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d
NAT64_NETWORKS = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))

_DOTTED_QUAD = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)")
# WHATWG URL: a host whose last label is a number is parsed as an IPv4 address (in any base).
_NUMERIC_LABEL = re.compile(r"\d+|0x[0-9a-f]*")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")

# The CA bundle for https (certifi's, so it does not depend on the OS image); tests point it at theirs.
CA_BUNDLE = certifi.where()

# getaddrinfo has no timeout of its own: it runs here so the fetch can stop waiting for it.
_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="safe-http-dns")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchError(Exception):
    """The URL was not fetched; str(error) is one of the messages above."""


class UnsafeURL(FetchError):
    """Refused by the SSRF rules: no connection was made."""


class FetchTimeout(FetchError):
    """Connect, read or total time ran out (or DNS did not answer in time)."""


class HTTPStatusError(FetchError):
    """The final response had a non-2xx status (its body is not read)."""

    def __init__(self, status: int, headers: Mapping[str, str]):
        super().__init__(HTTP_STATUS.format(status=status))
        self.status = status
        self.retry_after = _retry_after(headers.get("Retry-After"))


class TransientProviderError(ProviderUnavailable):
    """A provider's source is busy or down (429, 5xx, timeout): worth asking again later.
    retry_after is the server's hint in seconds, when it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limits:
    connect_timeout: float = 3.0
    read_timeout: float = 5.0  # per read from the socket
    total_timeout: float = 10.0  # DNS, every hop and the whole body
    max_bytes: int = 1024 * 1024  # of decoded body; the rest is not read
    max_redirects: int = 3
    content_types: tuple[str, ...] = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (addresses, all allowed) and what to send."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    addresses: tuple[IPAddress, ...]
    request_path: str
    host_header: str


@dataclass(frozen=True)
class FetchResult:
    url: str  # after redirects
    status: int
    content_type: str
    charset: str | None
    body: bytes
    truncated: bool  # the body was cut off at max_bytes
    redirects: tuple[str, ...] = field(default=())


def address_is_public(address: IPAddress) -> bool:
    """True only for a globally routable unicast address, and for IPv6 only if every IPv4
    address it embeds is public too."""
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return False
    if (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    ):
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address not in SHARED_NETWORK
    if address.is_site_local:
        return False
    return all(address_is_public(embedded) for embedded in _embedded_ipv4(address))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    # Python 3.11 calls ::7f00:1, 2002:7f00:1:: and 64:ff9b::7f00:1 global: look inside.
    found = []
    if address.ipv4_mapped:
        found.append(address.ipv4_mapped)
    if address.sixtofour:
        found.append(address.sixtofour)
    if address.teredo:
        found.extend(address.teredo)
    if address in IPV4_COMPATIBLE or any(address in network for network in NAT64_NETWORKS):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _allowed(host: str, port: int, extra: Iterable[str]) -> bool:
    for entry in [*getattr(settings, "ENRICHMENT_WEBSITE_ALLOW", []), *extra]:
        try:
            parts = urlsplit("//" + entry.strip())
            entry_host, entry_port = (parts.hostname or "").rstrip("."), parts.port
        except ValueError:
            logger.warning("ignoring malformed ENRICHMENT_WEBSITE_ALLOW entry %r", entry)
            continue
        if entry_host and _canonical(entry_host) == host and entry_port in (None, port):
            return True
    return False


def _canonical(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.lower()


def _parse_host(netloc: str, hostname: str) -> tuple[str, IPAddress | None]:
    """(ASCII host, its address if it is an IP literal); raises UnsafeURL for tricks."""
    if "[" in netloc:
        if "%" in hostname:  # an IPv6 zone id names a local interface
            raise UnsafeURL(REFUSED_MALFORMED)
        try:
            address = ipaddress.IPv6Address(hostname)
        except ValueError as exc:
            raise UnsafeURL(REFUSED_MALFORMED) from exc
        return str(address), address
    name = hostname[:-1] if hostname.endswith(".") else hostname
    if not name:
        raise UnsafeURL(REFUSED_MALFORMED)
    try:
        # UTS 46 maps look-alikes (full-width digits and dots, circled digits) to ASCII first,
        # so "１２７。０。０。１" is judged as the 127.0.0.1 it is.
        name = idna.encode(name, uts46=True).decode("ascii") if not name.isascii() else name.lower()
    except idna.IDNAError as exc:
        raise UnsafeURL(REFUSED_MALFORMED) from exc
    if _DOTTED_QUAD.fullmatch(name):
        return name, ipaddress.IPv4Address(name)
    labels = name.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        raise UnsafeURL(REFUSED_NUMERIC_HOST)
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise UnsafeURL(REFUSED_MALFORMED)
    return name, None


def url_check(*, url: str, allow: Iterable[str] = (), dns_timeout: float = 3.0) -> Target:
    """Check a URL against the SSRF rules and resolve its host once; raise UnsafeURL (or
    FetchError/FetchTimeout when DNS fails) instead of returning an unsafe target."""
    if not isinstance(url, str) or any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in url):
        raise UnsafeURL(REFUSED_MALFORMED)
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        netloc, hostname, explicit_port = parts.netloc, parts.hostname or "", parts.port
    except ValueError as exc:  # bad brackets, a port out of range or not a number
        raise UnsafeURL(REFUSED_MALFORMED) from exc
    if scheme not in DEFAULT_PORTS:
        raise UnsafeURL(REFUSED_SCHEME)
    if "@" in netloc:
        raise UnsafeURL(REFUSED_CREDENTIALS)
    if not hostname:
        raise UnsafeURL(REFUSED_MALFORMED)
    port = explicit_port or DEFAULT_PORTS[scheme]
    host, literal = _parse_host(netloc, hostname)
    allowed = _allowed(host, port, allow)
    if not allowed:
        if literal is None and ("." not in host or host in INTERNAL_NAMES or host.endswith(INTERNAL_SUFFIXES)):
            raise UnsafeURL(REFUSED_INTERNAL_NAME)
        if literal is not None and not address_is_public(literal):
            raise UnsafeURL(REFUSED_ADDRESS)
        if port not in ALLOWED_PORTS:
            raise UnsafeURL(REFUSED_PORT)
    addresses = (literal,) if literal is not None else _resolve(host, port, timeout=dns_timeout)
    if not allowed and not all(address_is_public(address) for address in addresses):
        # One private answer is enough to refuse: the name is not a public web site.
        raise UnsafeURL(REFUSED_ADDRESS)
    shown_host = f"[{host}]" if isinstance(literal, ipaddress.IPv6Address) else host
    return Target(
        url=url,
        scheme=scheme,
        host=host,
        port=port,
        addresses=addresses,
        request_path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        host_header=shown_host if port == DEFAULT_PORTS[scheme] else f"{shown_host}:{port}",
    )


def _getaddrinfo(host: str, port: int) -> list:
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)


def _resolve(host: str, port: int, *, timeout: float) -> tuple[IPAddress, ...]:
    future = _resolver.submit(_getaddrinfo, host, port)
    try:
        infos = future.result(timeout=max(timeout, 0.01))
    except FutureTimeout as exc:
        raise FetchTimeout(TIMED_OUT) from exc
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        raise FetchError(NOT_RESOLVED) from exc
    addresses: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        try:
            address = ipaddress.ip_address(sockaddr[0])
        except ValueError:  # a scoped 'fe80::1%eth0' and the like: never public anyway
            raise UnsafeURL(REFUSED_ADDRESS) from None
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchError(NOT_RESOLVED)
    return tuple(addresses)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:  # an HTTP date: callers fall back to their own backoff
        return None


def _pool(target: Target, address: IPAddress, timeout: urllib3.Timeout) -> urllib3.HTTPConnectionPool:
    # The pool connects to the checked address itself; the name only travels in Host and TLS.
    common = {"port": target.port, "timeout": timeout, "retries": False, "maxsize": 1}
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            str(address), cert_reqs="CERT_REQUIRED", ca_certs=CA_BUNDLE, server_hostname=target.host, **common
        )
    return urllib3.HTTPConnectionPool(str(address), **common)


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchTimeout(TIMED_OUT)
    return remaining


def pool_urlopen(pool, method: str, path: str, **options):
    """One request on a pool bound to a checked address, with urllib3's failures as ours: None when
    the address refused or could not be reached (try the next one), FetchTimeout or FetchError
    otherwise. On any failure the pool is closed."""
    try:
        return pool.urlopen(
            method, path, redirect=False, retries=False, preload_content=False, assert_same_host=False, **options
        )
    except urllib3.exceptions.NewConnectionError:
        pool.close()
        return None
    except (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.ReadTimeoutError) as exc:
        pool.close()
        raise FetchTimeout(TIMED_OUT) from exc
    except urllib3.exceptions.SSLError as exc:
        pool.close()
        raise FetchError(TLS_FAILED) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        pool.close()
        raise FetchError(CONNECTION_FAILED) from exc


def _open(target: Target, *, headers: dict[str, str], limits: Limits, deadline: float):
    """Send the GET to the first checked address that accepts a connection."""
    for address in target.addresses[:3]:
        remaining = _remaining(deadline)
        timeout = urllib3.Timeout(
            connect=min(limits.connect_timeout, remaining), read=min(limits.read_timeout, remaining)
        )
        pool = _pool(target, address, timeout)
        response = pool_urlopen(
            pool,
            "GET",
            target.request_path,
            headers={**headers, "Host": target.host_header},
            decode_content=True,
            timeout=timeout,
        )
        if response is not None:  # None: refused or unreachable, try the next address
            return pool, response
    raise FetchError(CONNECTION_FAILED)


def _read_capped(response, *, limits: Limits, deadline: float) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    try:
        while size < limits.max_bytes:
            # Each read may wait at most read_timeout, and never past the total deadline.
            sock = getattr(response.connection, "sock", None)
            remaining = _remaining(deadline)
            if sock is not None:
                sock.settimeout(min(limits.read_timeout, remaining))
            chunk = response.read1(min(CHUNK, limits.max_bytes - size))
            if not chunk:
                return b"".join(chunks), False
            chunks.append(chunk)
            size += len(chunk)
    except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as exc:
        raise FetchTimeout(TIMED_OUT) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:  # reset, bad chunking, bad gzip
        raise FetchError(CONNECTION_FAILED) from exc
    return b"".join(chunks), True


def _media_type(value: str) -> tuple[str, str | None]:
    media, _, params = value.partition(";")
    charset = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", params, re.I)
    return media.strip().lower(), (charset.group(1) if charset else None)


def url_fetch(
    *, url: str, limits: Limits = Limits(), headers: Mapping[str, str] | None = None, allow: Iterable[str] = ()
) -> FetchResult:
    """GET a URL under the SSRF rules and the limits; raise FetchError (UnsafeURL, FetchTimeout,
    HTTPStatusError) when it cannot be fetched safely."""
    deadline = time.monotonic() + limits.total_timeout
    allow = tuple(allow)
    sent = {
        "User-Agent": USER_AGENT,
        "Accept": ", ".join(limits.content_types),
        "Accept-Encoding": "identity",
        "Connection": "close",
        **(headers or {}),
    }
    current, history = url, []
    for _hop in range(limits.max_redirects + 1):
        target = url_check(url=current, allow=allow, dns_timeout=_remaining(deadline))
        pool, response = _open(target, headers=sent, limits=limits, deadline=deadline)
        try:
            if response.status in REDIRECT_STATUSES:
                location = response.headers.get("Location", "").strip()
                if not location:
                    raise FetchError(BAD_REDIRECT)
                following = urljoin(current, location)
                logger.debug("safe_http: %s redirects to %s", current, following)
                if _origin(following) != _origin(current):
                    sent = {k: v for k, v in sent.items() if k.lower() not in CREDENTIAL_HEADERS}
                history.append(current)
                current = following
                continue
            if not 200 <= response.status < 300:
                raise HTTPStatusError(response.status, response.headers)
            media, charset = _media_type(response.headers.get("Content-Type", ""))
            if media not in limits.content_types:
                raise FetchError(WRONG_CONTENT_TYPE)
            body, truncated = _read_capped(response, limits=limits, deadline=deadline)
            return FetchResult(
                url=current,
                status=response.status,
                content_type=media,
                charset=charset,
                body=body,
                truncated=truncated,
                redirects=tuple(history),
            )
        finally:
            response.close()
            pool.close()
    raise FetchError(TOO_MANY_REDIRECTS)


def _origin(url: str) -> tuple[str, str, int | None]:
    try:
        parts = urlsplit(url)
        return parts.scheme.lower(), (parts.hostname or ""), parts.port
    except ValueError:
        return ("", url, None)
