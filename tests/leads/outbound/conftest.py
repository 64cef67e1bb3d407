"""A real HTTP receiver on 127.0.0.1 for outbound webhooks, and a subscription to it."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from leads.outbound.subscriptions import subscription_create


class Receiver:
    """Keeps every POST (headers, body); answers `status`. stop() and start() keep the port."""

    def __init__(self):
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        self.port = 0
        self._server = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                payload = b'{"ok": true}' if receiver.status < 300 else b"receiver is unhappy"
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def bodies_of(self, event_type: str) -> list[tuple[dict[str, str], bytes]]:
        import json

        return [(headers, body) for headers, body in self.received if json.loads(body)["type"] == event_type]


@pytest.fixture
def receiver(settings):
    server = Receiver()
    settings.OUTBOUND_WEBHOOK_ALLOWED_HOSTS = [f"127.0.0.1:{server.port}"]
    yield server
    server.stop()


@pytest.fixture
def subscribe(receiver, manager):
    """subscribe(events) -> a subscription of the receiver to those events."""

    def make(events, **kwargs):
        return subscription_create(url=receiver.url, events=list(events), by=manager, **kwargs)

    return make
