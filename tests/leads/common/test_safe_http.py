"""The SSRF-safe fetcher: lead data chooses the URL, so no trick may reach this machine, the local
network or a cloud metadata service; and whatever it does fetch is bounded in time and size.

"No connection made" is proved three ways: a listening socket on 127.0.0.1 and ::1 (whose port the
URLs use) counts the connections it gets, a guard records every socket connect of the test, and a
fake DNS records every lookup (a refused URL makes none of them)."""

import gzip
import ipaddress
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

from leads.common import safe_http
from leads.common.safe_http import (
    BAD_REDIRECT,
    REFUSED_ADDRESS,
    REFUSED_CREDENTIALS,
    REFUSED_INTERNAL_NAME,
    REFUSED_MALFORMED,
    REFUSED_NUMERIC_HOST,
    REFUSED_PORT,
    REFUSED_SCHEME,
    TIMED_OUT,
    TLS_FAILED,
    TOO_MANY_REDIRECTS,
    WRONG_CONTENT_TYPE,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    Limits,
    UnsafeURL,
    address_is_public,
    url_fetch,
)
from tests.leads.enrichment import ConnectionCounter, LocalServer, fake_dns, guard_connections, html, redirect

HOSTNAME = socket.gethostname()  # "vm" here: /etc/hosts maps it (and localhost) to 127.0.0.1
FAST = Limits(connect_timeout=0.5, read_timeout=0.5, total_timeout=2.0)

DIRECT_TRICKS = [
    # Loopback in all its spellings, on the counting listener's port.
    ("http://127.0.0.1:{port}/", REFUSED_ADDRESS),
    ("http://localhost:{port}/", REFUSED_INTERNAL_NAME),
    ("http://LocalHost.:{port}/", REFUSED_INTERNAL_NAME),
    ("http://api.localhost:{port}/", REFUSED_INTERNAL_NAME),
    (f"http://{HOSTNAME}:{{port}}/", REFUSED_INTERNAL_NAME if "." not in HOSTNAME else REFUSED_ADDRESS),
    ("http://[::1]:{port6}/", REFUSED_ADDRESS),
    ("http://0.0.0.0:{port}/", REFUSED_ADDRESS),
    ("http://[::]:{port6}/", REFUSED_ADDRESS),
    ("http://0:{port}/", REFUSED_NUMERIC_HOST),
    ("http://2130706433:{port}/", REFUSED_NUMERIC_HOST),
    ("http://0x7f000001:{port}/", REFUSED_NUMERIC_HOST),
    ("http://0177.0.0.1:{port}/", REFUSED_NUMERIC_HOST),
    ("http://0x7f.0.0.1:{port}/", REFUSED_NUMERIC_HOST),
    ("http://127.1:{port}/", REFUSED_NUMERIC_HOST),
    ("http://127.0.1:{port}/", REFUSED_NUMERIC_HOST),
    ("http://[::ffff:127.0.0.1]:{port}/", REFUSED_ADDRESS),
    ("http://[::ffff:7f00:1]:{port}/", REFUSED_ADDRESS),
    ("http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/", REFUSED_ADDRESS),
    ("http://[::127.0.0.1]:{port}/", REFUSED_ADDRESS),  # IPv4-compatible
    ("http://①②⑦.0.0.1:{port}/", REFUSED_ADDRESS),  # IDNA maps circled digits to 127.0.0.1
    ("http://１２７．０．０．１:{port}/", REFUSED_ADDRESS),  # full-width digits and dots
    # Cloud metadata services.
    ("http://169.254.169.254/latest/meta-data/", REFUSED_ADDRESS),
    ("http://metadata.google.internal/computeMetadata/v1/", REFUSED_INTERNAL_NAME),
    ("http://metadata/computeMetadata/v1/", REFUSED_INTERNAL_NAME),
    ("http://[fd00:ec2::254]/latest/meta-data/", REFUSED_ADDRESS),
    ("http://100.100.100.200/latest/meta-data/", REFUSED_ADDRESS),
    # Private, shared, link-local, multicast, broadcast.
    ("http://10.0.0.1/", REFUSED_ADDRESS),
    ("http://172.16.0.1/", REFUSED_ADDRESS),
    ("http://172.31.255.255/", REFUSED_ADDRESS),
    ("http://192.168.1.1/", REFUSED_ADDRESS),
    ("http://100.64.0.1/", REFUSED_ADDRESS),
    ("http://[fe80::1]/", REFUSED_ADDRESS),
    ("http://[fc00::1]/", REFUSED_ADDRESS),
    ("http://224.0.0.1/", REFUSED_ADDRESS),
    ("http://[ff02::1]/", REFUSED_ADDRESS),
    ("http://255.255.255.255/", REFUSED_ADDRESS),
    # IPv4 hidden inside IPv6: 6to4, NAT64, Teredo; and an IPv6 zone id.
    ("http://[2002:7f00:1::]/", REFUSED_ADDRESS),
    ("http://[2002:a9fe:a9fe::]/", REFUSED_ADDRESS),
    ("http://[64:ff9b::a9fe:a9fe]/", REFUSED_ADDRESS),
    ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", REFUSED_ADDRESS),
    ("http://[fe80::1%25lo]:{port6}/", REFUSED_MALFORMED),
    # Other schemes, credentials, ports, malformed URLs.
    ("file:///etc/passwd", REFUSED_SCHEME),
    ("ftp://example.com/", REFUSED_SCHEME),
    ("gopher://127.0.0.1:{port}/_GET%20/", REFUSED_SCHEME),
    ("dict://127.0.0.1:{port}/info", REFUSED_SCHEME),
    ("javascript:alert(1)", REFUSED_SCHEME),
    ("http://user:pass@example.com/", REFUSED_CREDENTIALS),
    ("http://example.com@127.0.0.1:{port}/", REFUSED_CREDENTIALS),
    ("http://example.com:8080/", REFUSED_PORT),
    ("https://example.com:22/", REFUSED_PORT),
    ("http://127.0.0.1:{port}\\@example.com/", REFUSED_MALFORMED),
    ("http://exa mple.com/", REFUSED_MALFORMED),
    ("http://example.com:99999/", REFUSED_MALFORMED),
    ("http:///etc/passwd", REFUSED_MALFORMED),
]

REDIRECT_TARGETS = [
    ("http://127.0.0.1:{port}/", 302, REFUSED_ADDRESS),
    ("http://localhost:{port}/", 301, REFUSED_INTERNAL_NAME),
    ("http://[::1]:{port6}/", 307, REFUSED_ADDRESS),
    ("http://[::ffff:127.0.0.1]:{port}/", 308, REFUSED_ADDRESS),
    ("http://2130706433:{port}/", 303, REFUSED_NUMERIC_HOST),
    ("//127.0.0.1:{port}/", 302, REFUSED_ADDRESS),  # scheme-relative
    ("http://169.254.169.254/latest/meta-data/iam/", 302, REFUSED_ADDRESS),
    ("http://metadata.google.internal/computeMetadata/v1/", 302, REFUSED_INTERNAL_NAME),
    ("http://10.0.0.1/", 301, REFUSED_ADDRESS),
    ("http://192.168.1.1/admin", 307, REFUSED_ADDRESS),
    ("http://intranet.example.com/", 302, REFUSED_ADDRESS),  # a public-looking name that resolves inside
    ("file:///etc/passwd", 302, REFUSED_SCHEME),
    ("gopher://127.0.0.1:{port}/", 302, REFUSED_SCHEME),
]


@pytest.fixture
def listener():
    counter = ConnectionCounter()
    yield counter
    counter.close()


@pytest.fixture
def connects(monkeypatch):
    return guard_connections(monkeypatch)


@pytest.fixture
def lookups(monkeypatch):
    return fake_dns(monkeypatch, {"intranet.example.com": ["10.1.2.3"]})


@pytest.fixture(autouse=True)
def nothing_allowed(settings):
    settings.ENRICHMENT_WEBSITE_ALLOW = []


@pytest.mark.parametrize("template, message", DIRECT_TRICKS)
def test_a_trick_url_is_refused_before_any_lookup_or_connection(template, message, listener, connects, lookups):
    url = template.format(port=listener.port, port6=listener.port6 or listener.port)
    with pytest.raises(UnsafeURL) as refused:
        url_fetch(url=url, limits=FAST)
    assert str(refused.value) == message
    assert (listener.count(), connects, lookups) == (0, [], [])


@pytest.mark.parametrize(
    "name, addresses",
    [
        ("intranet.example.com", ["10.1.2.3"]),
        ("printer.example.org", ["192.168.0.20"]),
        ("cgnat.example.net", ["100.64.12.1"]),
        ("loop.example.com", ["127.0.0.1"]),
        ("loop6.example.com", ["::1"]),
        ("mapped.example.com", ["::ffff:127.0.0.1"]),
        ("nat64.example.com", ["64:ff9b::a9fe:a9fe"]),
        ("aws.example.com", ["169.254.169.254"]),
        # One inside answer among public ones is enough to refuse.
        ("mixed.example.com", ["93.184.215.14", "127.0.0.1"]),
    ],
)
def test_a_public_looking_name_that_resolves_inside_is_refused_after_dns(
    name, addresses, monkeypatch, listener, connects
):
    lookups = fake_dns(monkeypatch, {name: addresses})
    with pytest.raises(UnsafeURL, match=re.escape(REFUSED_ADDRESS)):
        url_fetch(url=f"https://{name}/", limits=FAST)
    assert lookups == [name]  # the check ran on the resolved addresses
    assert (listener.count(), connects) == (0, [])


@pytest.mark.parametrize("template, status, message", REDIRECT_TARGETS)
def test_a_redirect_from_an_allowed_server_to_an_inside_target_is_refused(
    template, status, message, settings, listener, connects, lookups
):
    target = template.format(port=listener.port, port6=listener.port6 or listener.port)
    with LocalServer({"/": redirect(target, status)}) as server:
        settings.ENRICHMENT_WEBSITE_ALLOW = [server.host_port]
        with pytest.raises(UnsafeURL) as refused:
            url_fetch(url=server.url("/"), limits=FAST)
    assert str(refused.value) == message
    assert len(server.requests) == 1
    assert listener.count() == 0
    assert connects == [("127.0.0.1", server.port)]  # only the allowed server was ever connected to


def test_the_listener_does_count_a_connection_that_is_allowed(settings, listener, connects):
    """Control for the tests above: the same listener, once allowed, is reached (and never answers)."""
    settings.ENRICHMENT_WEBSITE_ALLOW = [f"127.0.0.1:{listener.port}"]
    with pytest.raises(FetchTimeout):
        url_fetch(url=f"http://127.0.0.1:{listener.port}/", limits=Limits(read_timeout=0.2, total_timeout=1))
    assert listener.count() == 1
    assert connects == [("127.0.0.1", listener.port)]


def test_the_allow_list_names_exact_hosts_and_ports(settings, listener):
    settings.ENRICHMENT_WEBSITE_ALLOW = [f"127.0.0.1:{listener.port + 1 if listener.port < 65535 else 1}"]
    with pytest.raises(UnsafeURL, match=re.escape(REFUSED_ADDRESS)):
        url_fetch(url=f"http://127.0.0.1:{listener.port}/", limits=FAST)
    with pytest.raises(UnsafeURL, match=re.escape(REFUSED_NUMERIC_HOST)):
        url_fetch(url=f"http://127.1:{listener.port}/", limits=FAST)  # another spelling is not allowed
    assert listener.count() == 0


@pytest.mark.parametrize(
    "address, public",
    [
        ("93.184.215.14", True),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("2002:5db8:d70e::", True),  # 6to4 of a public address
        ("::ffff:8.8.8.8", False),  # mapped addresses never appear in a real public DNS answer
        ("127.0.0.1", False),
        ("0.0.0.0", False),
        ("100.64.0.1", False),
        ("192.0.2.1", False),  # documentation
        ("198.18.0.1", False),  # benchmarking
        ("240.0.0.1", False),
        ("::", False),
        ("::7f00:1", False),
        ("2002:c0a8:101::", False),  # 6to4 of 192.168.1.1
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("fec0::1", False),  # site-local
    ],
)
def test_address_rules(address, public):
    assert address_is_public(ipaddress.ip_address(address)) is public


def test_dns_is_asked_once_and_the_connection_goes_to_that_address(settings, monkeypatch, connects):
    """DNS rebinding: a name that answers 127.0.0.1 (allowed here) and then an inside address
    must be connected to at the first answer, with the name in the Host header."""
    answers = iter([["127.0.0.1"], ["10.9.9.9"], ["10.9.9.9"]])
    with LocalServer({"/": html("<title>Shop</title>")}) as server:
        lookups = fake_dns(monkeypatch, {"shop.test": lambda: next(answers)})
        settings.ENRICHMENT_WEBSITE_ALLOW = [f"shop.test:{server.port}"]
        result = url_fetch(url=f"http://shop.test:{server.port}/", limits=FAST)
    assert result.body == b"<title>Shop</title>"
    assert lookups == ["shop.test"]
    assert connects == [("127.0.0.1", server.port)]
    assert server.requests[0]["headers"]["Host"] == f"shop.test:{server.port}"


def test_every_redirect_hop_is_resolved_and_checked_again(settings, monkeypatch, connects):
    with LocalServer() as server:
        server.routes["/"] = redirect(f"http://www.shop.test:{server.port}/home")
        server.routes["/home"] = redirect("http://evil.shop.test/")  # port 80: refused only by its address
        lookups = fake_dns(
            monkeypatch, {"shop.test": ["127.0.0.1"], "www.shop.test": ["127.0.0.1"], "evil.shop.test": ["127.0.0.1"]}
        )
        settings.ENRICHMENT_WEBSITE_ALLOW = [f"shop.test:{server.port}", f"www.shop.test:{server.port}"]
        with pytest.raises(UnsafeURL, match=re.escape(REFUSED_ADDRESS)):
            url_fetch(url=f"http://shop.test:{server.port}/", limits=FAST)
    assert lookups == ["shop.test", "www.shop.test", "evil.shop.test"]
    assert [r["path"] for r in server.requests] == ["/", "/home"]
    assert [r["headers"]["Host"] for r in server.requests] == [
        f"shop.test:{server.port}",
        f"www.shop.test:{server.port}",
    ]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for shop.test (openssl is part of the base system here)."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(folder / "key.pem"),
            "-out",
            str(folder / "cert.pem"),
            "-days",
            "2",
            "-subj",
            "/CN=shop.test",
            "-addext",
            "subjectAltName=DNS:shop.test",
        ],
        check=True,
        capture_output=True,
    )
    return folder / "cert.pem", folder / "key.pem"


def test_https_connects_to_the_checked_address_with_sni_and_a_certificate_check_for_the_name(
    settings, monkeypatch, certificate, connects
):
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server_names = []
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    with LocalServer({"/": html("<title>Secure shop</title>")}, tls=context) as server:
        fake_dns(monkeypatch, {"shop.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
        settings.ENRICHMENT_WEBSITE_ALLOW = [f"shop.test:{server.port}", f"other.test:{server.port}"]
        # With the public CA bundle, a self-signed certificate is refused: verification is on.
        with pytest.raises(FetchError, match=re.escape(TLS_FAILED)):
            url_fetch(url=f"https://shop.test:{server.port}/", limits=FAST)
        monkeypatch.setattr(safe_http, "CA_BUNDLE", str(cert))
        result = url_fetch(url=f"https://shop.test:{server.port}/", limits=FAST)
        # Same address, another name: the certificate does not match it.
        with pytest.raises(FetchError, match=re.escape(TLS_FAILED)):
            url_fetch(url=f"https://other.test:{server.port}/", limits=FAST)
    assert result.body == b"<title>Secure shop</title>"
    assert server_names == ["shop.test", "shop.test", "other.test"]
    assert set(connects) == {("127.0.0.1", server.port)}
    assert [r["headers"]["Host"] for r in server.requests] == [f"shop.test:{server.port}"]


@pytest.fixture
def site(settings):
    with LocalServer() as server:
        settings.ENRICHMENT_WEBSITE_ALLOW = [server.host_port]
        yield server


def test_what_is_sent_a_clear_user_agent_and_no_cookies(site):
    site.routes["/"] = redirect("/next", Set_Cookie="session=abc; Path=/")
    site.routes["/next"] = html("<p>ok</p>", Set_Cookie="tracker=1")
    result = url_fetch(url=site.url("/"), limits=FAST)
    assert result.url == site.url("/next")
    assert result.redirects == (site.url("/"),)
    first, second = (r["headers"] for r in site.requests)
    assert first["User-Agent"] == second["User-Agent"] == safe_http.USER_AGENT
    assert "LeadCRM" in safe_http.USER_AGENT
    assert "Cookie" not in second


def test_credentials_are_not_carried_to_another_origin_on_redirect(settings):
    with LocalServer() as other, LocalServer() as api:
        other.routes["/"] = html("{}")
        api.routes["/same"] = redirect("/final")
        api.routes["/final"] = redirect(other.url("/"))
        settings.ENRICHMENT_WEBSITE_ALLOW = [api.host_port, other.host_port]
        url_fetch(url=api.url("/same"), limits=FAST, headers={"Authorization": "Bearer secret"})
    assert [r["headers"].get("Authorization") for r in api.requests] == ["Bearer secret", "Bearer secret"]
    assert "Authorization" not in other.requests[0]["headers"]


def test_the_body_is_streamed_and_cut_off_at_the_size_cap(site):
    sent = []
    finished = threading.Event()

    def endless(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Connection", "close")
        handler.end_headers()
        block = b"<p>" + b"x" * 65533
        try:
            for _ in range(1024):  # 64 MiB at most, so the server stops by itself
                handler.wfile.write(block)
                sent.append(len(block))
        finally:
            finished.set()

    site.routes["/"] = endless
    started = time.monotonic()
    result = url_fetch(url=site.url("/"), limits=Limits(max_bytes=1024 * 1024, total_timeout=5))
    assert (len(result.body), result.truncated) == (1024 * 1024, True)
    assert time.monotonic() - started < 3
    assert finished.wait(5)
    assert sum(sent) < 64 * 1024 * 1024  # the client hung up: the rest was never sent, let alone read


def test_a_compressed_bomb_is_cut_off_at_the_size_cap_too(site):
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))  # 64 MiB that travels as ~64 KiB
    site.routes["/"] = lambda h: h.reply(200, bomb, "text/html", Content_Encoding="gzip")
    result = url_fetch(url=site.url("/"), limits=Limits(max_bytes=256 * 1024))
    assert (len(result.body), result.truncated) == (256 * 1024, True)


def test_a_page_of_another_content_type_is_refused_unread(site):
    site.routes["/report.pdf"] = html("%PDF-1.7", content_type="application/pdf")
    site.routes["/plain"] = html("hello", content_type="text/plain")
    site.routes["/none"] = lambda h: h.reply(200, b"<p>?</p>", content_type="")
    for path in ("/report.pdf", "/plain", "/none"):
        with pytest.raises(FetchError, match=re.escape(WRONG_CONTENT_TYPE)):
            url_fetch(url=site.url(path), limits=FAST)
    assert url_fetch(url=site.url("/report.pdf"), limits=Limits(content_types=("application/pdf",))).body == b"%PDF-1.7"


def test_a_server_that_does_not_answer_times_out(site):
    site.routes["/"] = lambda h: site.release.wait(10)
    started = time.monotonic()
    with pytest.raises(FetchTimeout, match=re.escape(TIMED_OUT)):
        url_fetch(url=site.url("/"), limits=Limits(read_timeout=0.3, total_timeout=5))
    assert time.monotonic() - started < 2


def test_a_server_that_drips_bytes_is_stopped_at_the_total_deadline(site):
    def drip(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.end_headers()
        for _ in range(400):  # one byte every 50 ms: each read is quick, the whole would take 20 s
            if site.release.wait(0.05):
                return
            handler.wfile.write(b"x")
            handler.wfile.flush()

    site.routes["/"] = drip
    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        url_fetch(url=site.url("/"), limits=Limits(read_timeout=1.0, total_timeout=0.6))
    assert time.monotonic() - started < 2


def test_redirects_are_capped_and_a_loop_ends(site):
    site.routes["/a"] = redirect("/b")
    site.routes["/b"] = redirect("/a")
    with pytest.raises(FetchError, match=re.escape(TOO_MANY_REDIRECTS)):
        url_fetch(url=site.url("/a"), limits=Limits(max_redirects=3))
    assert len(site.requests) == 4  # the first request and three redirects, then it stops
    site.routes["/1"] = redirect("/2")
    site.routes["/2"] = redirect("/3")
    site.routes["/3"] = html("<p>end</p>")
    assert url_fetch(url=site.url("/1"), limits=Limits(max_redirects=2)).body == b"<p>end</p>"
    with pytest.raises(FetchError, match=re.escape(TOO_MANY_REDIRECTS)):
        url_fetch(url=site.url("/1"), limits=Limits(max_redirects=1))


def test_error_statuses_and_a_redirect_without_location(site):
    site.routes["/busy"] = html("slow down", status=429, Retry_After="30")
    site.routes["/nowhere"] = lambda h: h.reply(302, b"")
    with pytest.raises(HTTPStatusError) as error:
        url_fetch(url=site.url("/busy"), limits=FAST)
    assert (error.value.status, error.value.retry_after) == (429, 30.0)
    with pytest.raises(HTTPStatusError) as error:
        url_fetch(url=site.url("/missing"), limits=FAST)
    assert error.value.status == 404
    with pytest.raises(FetchError, match=re.escape(BAD_REDIRECT)):
        url_fetch(url=site.url("/nowhere"), limits=FAST)
