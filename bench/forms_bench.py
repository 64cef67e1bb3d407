#!/usr/bin/env python
"""What a built form's counting costs: its public page and its beacon at a steady 200 requests/s.

    .venv/bin/python bench/forms_bench.py [--rate 200] [--seconds 20] [--workers 4] [--clients 16]

Starts gunicorn on a dedicated database (leadcrm_formsbench, created and migrated) with Redis
(rate-limit counters), then for each endpoint sends requests at a fixed rate (an open-loop
schedule: a late answer does not slow the next request) and reports p50/p95/p99 latency:
- GET /f/<legacy>    an admin-defined form's page: the same page machinery, no counting (the baseline)
- GET /f/<built>     a built form's page: the layout inline and one INSERT … ON CONFLICT UPDATE (a view)
- GET /f/<built>/schema.json   what the embed script fetches (the same upsert)
- POST /f/<built>/beacon       a start: origin check, rate limit (Redis), the upsert, 204
The day rows must hold exactly the number of counted requests afterwards (no lost updates under
contention on the one row). Prints the 1-minute load average before and after: the machine is shared.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/leadcrm_formsbench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/8")
os.environ.setdefault("TRUSTED_PROXIES", "127.0.0.1")

import benchenv  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def paced(
    port: int,
    method: str,
    path: str,
    *,
    rate: float,
    seconds: float,
    clients: int,
    body: bytes = b"",
    headers: dict | None = None,
) -> dict:
    """Send `rate` requests a second for `seconds` from `clients` keep-alive connections; latencies in ms."""
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine, codes = [], {}
        for n in range(index, total, clients):
            due = start + n / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            try:
                # Each request from another visitor (X-Forwarded-For from a trusted proxy): per-IP limits apply per visitor.
                sent = {k: v.format(a=(n >> 8) & 255, b=n & 255) for k, v in (headers or {}).items()}
                conn.request(method, path, body=body or None, headers=sent)
                response = conn.getresponse()
                response.read()
                codes[response.status] = codes.get(response.status, 0) + 1
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                codes[0] = codes.get(0, 0) + 1
            mine.append(1000 * (time.perf_counter() - due))  # from when it was due: queueing counts
        conn.close()
        with lock:
            latencies.extend(mine)
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {"requests": total, "rate": total / elapsed, "p50": q[49], "p95": q[94], "p99": q[98], "statuses": statuses}


def inprocess(n: int, legacy, built) -> None:
    """Each endpoint n times through Django's test client (no server, no network) and the upsert alone:
    the CPU and wall milliseconds per request, which the load of the shared machine disturbs least."""
    from django.test import Client

    from leads.capture.forms_builder.analytics import form_count

    client = Client(HTTP_ORIGIN="https://www.example.com")
    cases = [
        ("GET /f/<legacy> (baseline, no counting)", lambda: client.get("/f/bench-legacy")),
        ("GET /f/<built> (page + view upsert)", lambda: client.get("/f/bench-built")),
        ("GET /f/<built>/schema.json (embed + view upsert)", lambda: client.get("/f/bench-built/schema.json")),
        (
            "POST /f/<built>/beacon start (upsert)",
            lambda: client.post("/f/bench-built/beacon", "start", content_type="text/plain"),
        ),
        ("form_count() alone (the upsert)", lambda: form_count(web_form_id=built.pk, metric="view")),
    ]
    print(f"\n| in-process, each x{n} | wall ms (median) | CPU ms (mean) |\n|---|---|---|")
    for name, call in cases:
        for _ in range(min(n, 50)):
            call()
        walls = []
        cpu0 = time.process_time()
        for _ in range(n):
            t0 = time.perf_counter()
            response = call()
            walls.append(1000 * (time.perf_counter() - t0))
            if response is not None:
                assert response.status_code in (200, 204), (name, response.status_code)
        cpu = 1000 * (time.process_time() - cpu0) / n
        print(f"| {name} | {statistics.median(walls):.2f} | {cpu:.2f} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--inprocess", type=int, default=0, help="instead: each endpoint N times in this process")
    args = parser.parse_args()
    benchenv.setup()
    from leads.capture.forms_builder.schema import schema_default
    from leads.models import FormDayCount, WebForm

    legacy, _ = WebForm.objects.update_or_create(
        key="bench-legacy",
        defaults={
            "name": "Legacy bench form",
            "fields": ["first_name", "email", "company", "message"],
            "required_fields": ["email"],
            "schema": {},
            "is_active": True,
        },
    )
    built, _ = WebForm.objects.update_or_create(
        key="bench-built",
        defaults={
            "name": "Built bench form",
            "fields": [],
            "required_fields": [],
            "schema": schema_default(),
            "is_active": True,
            "allowed_hosts": ["www.example.com"],
        },
    )
    FormDayCount.objects.filter(web_form=built).delete()
    if args.inprocess:
        from django.core.cache import cache

        cache.clear()  # the beacon's per-IP limit: this process is one visitor
        from django.test.utils import override_settings

        with override_settings(RATELIMIT_ENABLE=False):
            print(f"load average (1 min) before {os.getloadavg()[0]:.2f}; cores {os.cpu_count()}")
            inprocess(args.inprocess, legacy, built)
            print(f"load average (1 min) after {os.getloadavg()[0]:.2f}")
        return 0
    port = _free_port()
    load_before = os.getloadavg()
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "leadcrm.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=benchenv.ROOT,
        env={**os.environ},
    )
    rows = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/f/bench-legacy", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        beacon_headers = {
            "Content-Type": "text/plain",
            "Origin": "https://www.example.com",
            "X-Forwarded-For": "10.1.{a}.{b}",
        }
        scenarios = [
            ("GET /f/<legacy> (baseline, no counting)", "GET", "/f/bench-legacy", b"", {}),
            ("GET /f/<built> (page + view upsert)", "GET", "/f/bench-built", b"", {}),
            ("GET /f/<built>/schema.json (embed + view upsert)", "GET", "/f/bench-built/schema.json", b"", {}),
            ("POST /f/<built>/beacon start (upsert)", "POST", "/f/bench-built/beacon", b"start", beacon_headers),
        ]
        for name, method, path, body, headers in scenarios:
            paced(
                port, method, path, rate=args.rate, seconds=3, clients=args.clients, body=body, headers=headers
            )  # warm-up
            result = paced(
                port,
                method,
                path,
                rate=args.rate,
                seconds=args.seconds,
                clients=args.clients,
                body=body,
                headers=headers,
            )
            rows.append((name, result))
            print(
                f"{name}: {result['rate']:.0f} req/s, p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms, "
                f"p99 {result['p99']:.1f} ms, statuses {result['statuses']}",
                flush=True,
            )
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
    load_after = os.getloadavg()
    counts = dict(FormDayCount.objects.filter(web_form=built).values_list("metric", "count"))
    expected_views = sum(r["statuses"].get(200, 0) for n, r in rows[1:3]) + int(2 * args.rate * 3)
    print(
        f"day rows: {counts} (views expected {expected_views}, starts expected about {rows[3][1]['statuses'].get(204, 0) + int(args.rate * 3)})"
    )
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}; cores {os.cpu_count()}")
    print("\n| endpoint | rate | p50 ms | p95 ms | p99 ms | answers |\n|---|---|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['rate']:.0f}/s | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['statuses']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
