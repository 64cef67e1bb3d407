#!/usr/bin/env python
"""Capture throughput through the public web-form endpoint, under gunicorn on PostgreSQL.

    .venv/bin/python bench/capture_bench.py [--seconds 30] [--clients 16] [--workers 4] [--threads 1]

Creates a bench web form (rate limit lifted, minimum fill time 0) in a dedicated database
(leadcrm_capturebench), starts gunicorn with REDIS_URL set (rate-limit counters in Redis,
tasks published to Redis; no Celery worker runs, so the numbers are the web tier's alone),
and drives it with wrk: every request posts a new person (a unique email), form-encoded,
with a valid signed render stamp. Prints leads/s and the latency distribution (wrk --latency)
and checks the database for exactly one lead per 2xx answer.

Target (this 2-core machine, PostgreSQL): at least 300 leads/s with p99 under 100 ms at 16 clients.
Needs Debian's wrk (apt-get install wrk). wrk, gunicorn and PostgreSQL share the two cores.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/leadcrm_capturebench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/6")

import benchenv  # noqa: E402

LUA = r"""
-- Each wrk thread has its own Lua state: give each a distinct id so emails never repeat.
local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end
counter = 0
request = function()
  counter = counter + 1
  local body = "first_name=Bench&company=Load+Co&message=hello&email=bench-" .. RUN .. "-" .. tostring(tid) ..
    "-" .. counter .. "%40example.com&_ts=" .. STAMP
  return wrk.format("POST", PATH, {["Content-Type"] = "application/x-www-form-urlencoded", ["Accept"] = "application/json"}, body)
end
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("capture_bench: needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2

    benchenv.setup()
    from urllib.parse import quote

    from django.db import connection

    from leads.capture.webforms import form_timestamp
    from leads.models import Lead, WebForm

    web_form, _ = WebForm.objects.update_or_create(
        key="bench",
        defaults={
            "name": "Bench form", "fields": ["first_name", "email", "company", "message"],
            "required_fields": ["email"], "rate_limit": "100000000/m", "min_fill_seconds": 0, "allowed_hosts": [],
        },
    )
    before = Lead.objects.filter(email__startswith="bench-").count()
    stamp = quote(form_timestamp(web_form), safe="")
    port = _free_port()
    env = {**os.environ}
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "leadcrm.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(args.workers),
         "--threads", str(args.threads), "--log-level", "warning"],
        cwd=benchenv.ROOT, env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/f/bench", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        def script() -> str:
            """A wrk script whose emails no earlier run used."""
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
                file.write(f'STAMP = "{stamp}"\nPATH = "/f/bench"\nRUN = "{time.time_ns()}"\n' + LUA)
            return file.name

        # Warm up each worker's connection and caches, then measure.
        subprocess.run(["wrk", "-t2", f"-c{args.clients}", "-d3s", "-s", script(), url], capture_output=True, check=True)
        after_warmup = Lead.objects.filter(email__startswith="bench-").count()
        # This machine's PostgreSQL runs with autovacuum off (conf.d/90-ci.conf), so nothing would
        # ever analyze the growing tables: without statistics the planner scans every lead for the
        # email lookup. Do what autovacuum does in production.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE leads_lead, leads_capturerecord, leads_interaction")
        result = subprocess.run(
            ["wrk", "-t2", f"-c{args.clients}", f"-d{args.seconds}s", "--latency", "-s", script(), url],
            capture_output=True, text=True, check=True,
        )
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
    output = result.stdout
    print(output)
    created = Lead.objects.filter(email__startswith="bench-").count() - after_warmup
    requests_total = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.MULTILINE))
    print(f"leads created: {created} in {args.seconds}s = {created / args.seconds:.0f} leads/s "
          f"(requests {requests_total}, non-2xx {errors}); p50 {percentiles.get('50')}, p99 {percentiles.get('99')}")
    print(f"PostgreSQL {connection.pg_version}; gunicorn {args.workers} sync workers x {args.threads} threads; "
          f"{args.clients} clients; {os.cpu_count()} CPUs; warm-up leads {after_warmup - before}")
    # Every accepted request made its own lead (a few more may finish after wrk stops counting).
    return 0 if created >= requests_total - errors and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
