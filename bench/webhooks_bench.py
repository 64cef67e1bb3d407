#!/usr/bin/env python
"""Outbound webhooks: what recording costs an event, and how fast one sender delivers.

    .venv/bin/python bench/webhooks_bench.py [--leads 10000] [--sends 300]

Runs on its own database (DATABASE_URL defaults to leadcrm_webhooks_bench, created and migrated)
inside one transaction rolled back at the end. It makes --leads leads, then times one bulk status
change of all of them (one event naming every lead, `leads_status_changed`) with no subscription,
with 1 and with 3 subscriptions: the difference is the webhook outbox (a read of the leads, the
sequence upsert, the inserts). Then one sender (`delivery_send`: claim, sign, POST, log) delivers
--sends deliveries to a receiver on 127.0.0.1, one after the other.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/leadcrm_webhooks_bench")

import benchenv  # noqa: E402


class Rollback(Exception):
    """Raised at the end to roll every write back."""


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def run(*, leads: int, sends: int) -> None:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import transaction

    from leads.events import Name, leads_status_changed
    from leads.models import Lead, WebhookDelivery
    from leads.outbound.delivery import delivery_send
    from leads.outbound.subscriptions import subscription_create

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    settings.OUTBOUND_WEBHOOK_ALLOWED_HOSTS = [f"127.0.0.1:{server.server_address[1]}"]
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    try:
        with transaction.atomic():
            manager = User.objects.create(username="webhooks-bench-manager")
            Lead.objects.bulk_create(
                [Lead(first_name=f"B{i}", email=f"b{i}@bench.example") for i in range(leads)], batch_size=5000
            )
            rows = list(Lead.objects.filter(email__endswith="@bench.example").values_list("pk", "status"))
            made_subscriptions = 0
            for subscriptions, status in ((0, "active"), (1, "qualified"), (3, "nurturing")):
                while made_subscriptions < subscriptions:
                    subscription_create(url=url, events=[Name.STATUS_CHANGED], by=manager)
                    made_subscriptions += 1
                before = WebhookDelivery.objects.count()
                start = time.perf_counter()
                leads_status_changed(rows=rows, status=status, by=manager)
                took = time.perf_counter() - start
                made = WebhookDelivery.objects.count() - before
                print(
                    f"{subscriptions} subscription(s): one status change of {len(rows)} leads took {took:.2f} s, "
                    f"{made} deliveries recorded" + (f" ({made / took:,.0f}/s)" if made else "")
                )
            ids = list(WebhookDelivery.objects.order_by("pk").values_list("pk", flat=True)[:sends])
            start = time.perf_counter()
            outcomes = [delivery_send(delivery_id=pk) for pk in ids]
            took = time.perf_counter() - start
            print(
                f"one sender: {len(ids)} deliveries in {took:.2f} s = {len(ids) / took:.0f}/s "
                f"({outcomes.count('delivered')} delivered)"
            )
            raise Rollback
    except Rollback:
        pass
    finally:
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--sends", type=int, default=300)
    args = parser.parse_args()
    benchenv.setup()
    run(leads=args.leads, sends=args.sends)


if __name__ == "__main__":
    main()
