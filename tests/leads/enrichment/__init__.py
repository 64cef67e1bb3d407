"""Local stand-ins for the outside world used by the network-provider tests: an HTTP(S) server
whose routes a test sets, a listener that counts the connections it gets (it must stay at 0 for
every refused URL), a guard that records every outgoing connect, and a fake DNS table."""

import http.server
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

Route = Callable[["Handler"], None]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def do_GET(self):  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        self.query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        self.server.owner.requests.append({"path": self.path, "headers": dict(self.headers.items())})
        route = self.server.owner.routes.get(parts.path)
        try:
            if route is None:
                self.reply(404, b"not here")
            else:
                route(self)
        except ConnectionError:  # the client hung up (size cap, timeout): expected in these tests
            self.close_connection = True

    def reply(self, status: int, body: bytes = b"", content_type: str = "text/html; charset=utf-8", **headers):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # keep test output clean
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    owner: "LocalServer"

    def handle_error(self, request, client_address):
        pass  # clients that hang up on purpose are not errors here


class _Server6(_Server):
    address_family = socket.AF_INET6


class LocalServer:
    """`with LocalServer({"/": route}) as server:` serves on 127.0.0.1 (or ::1) on a free port.
    `server.release` is set on exit so routes that wait on it end with the test."""

    def __init__(
        self, routes: dict[str, Route] | None = None, *, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None
    ):
        self.routes = dict(routes or {})
        self.requests: list[dict] = []
        self.release = threading.Event()
        server_class = _Server6 if ":" in host else _Server
        self._server = server_class((host, 0), Handler)
        self._server.owner = self
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.host = host
        self.port = self._server.server_address[1]
        self.scheme = "https" if tls else "http"
        # A short poll so shutdown() returns at once at the end of each test.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def host_port(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return f"{self.scheme}://{self.host_port}{path}"

    def __enter__(self) -> "LocalServer":
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


def html(body: str, status: int = 200, content_type: str = "text/html; charset=utf-8", **headers) -> Route:
    return lambda handler: handler.reply(status, body.encode("utf-8"), content_type, **headers)


def redirect(location: str, status: int = 302, **headers) -> Route:
    return lambda handler: handler.reply(status, b"", Location=location, **headers)


class ConnectionCounter:
    """Listening sockets on 127.0.0.1 and, where possible, ::1 on the same port. They never
    answer; count() accepts whatever reached them (a completed TCP handshake waits in the
    backlog, so the count is exact as soon as the client's connect has returned)."""

    def __init__(self):
        self._sockets = []
        v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        v4.bind(("127.0.0.1", 0))
        self.port = v4.getsockname()[1]
        self._sockets.append(v4)
        self.port6 = None
        if socket.has_ipv6:
            v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                v6.bind(("::1", self.port))
            except OSError:
                v6.bind(("::1", 0))
            self.port6 = v6.getsockname()[1]
            self._sockets.append(v6)
        for sock in self._sockets:
            sock.listen(64)
            sock.setblocking(False)
        self.accepted = 0

    def count(self) -> int:
        for sock in self._sockets:
            while True:
                try:
                    conn, _ = sock.accept()
                except (BlockingIOError, InterruptedError):
                    break
                conn.close()
                self.accepted += 1
        return self.accepted

    def close(self):
        for sock in self._sockets:
            sock.close()


def guard_connections(monkeypatch) -> list[tuple]:
    """Record every socket connect made during the test, and refuse any that would leave this
    machine (nothing here may send traffic to a non-loopback address)."""
    attempts: list[tuple] = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        attempts.append(address[:2] if isinstance(address, tuple) else (address,))
        if isinstance(address, tuple) and not ipaddress.ip_address(address[0].split("%")[0]).is_loopback:
            raise OSError("test guard: no connection may leave this machine")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


def fake_dns(monkeypatch, table: dict[str, list[str] | Callable[[], list[str]]]) -> list[str]:
    """Answer DNS from `table` (a name not in it does not resolve: no query leaves the machine;
    a callable answers differently each time, like a rebinding DNS server) and record each lookup."""
    from leads.common import safe_http

    lookups: list[str] = []

    def getaddrinfo(host, port):
        lookups.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answers = []
        entry = table[host]
        for address in entry() if callable(entry) else entry:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
            answers.append((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
        return answers

    monkeypatch.setattr(safe_http, "_getaddrinfo", getaddrinfo)
    return lookups
