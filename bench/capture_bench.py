#!/usr/bin/env python
"""Capture throughput through the public web-form endpoint, under gunicorn on PostgreSQL.

    .venv/bin/python bench/capture_bench.py [--seconds 30] [--clients 16] [--workers 4] [--threads 1] [--worker-class sync]
    .venv/bin/python bench/capture_bench.py --profile 2000     # one process, no server: cProfile and SQL
    .venv/bin/python bench/capture_bench.py --api [--profile N]  # the same through POST /api/v1/capture (a manager's token, JSON)
    .venv/bin/python bench/capture_bench.py --ceiling        # the machine's ceiling: one ORM INSERT per post (bench/ceiling_app.py)

Creates a bench web form (rate limit lifted, minimum fill time 0) in a dedicated database
(leadcrm_capturebench), starts gunicorn with REDIS_URL set (rate-limit counters in Redis;
no Celery worker runs, so the numbers are the web tier's alone; after the run the script relays the
captures' jobs to Redis as a worker's outbox relay would and prints that CPU per job separately),
and drives it with wrk: every request posts a new person (a unique email), form-encoded,
with a valid signed render stamp. Prints leads/s and the latency distribution (wrk --latency)
and checks the database for exactly one lead per 2xx answer. It also reads the CPU time (utime +
stime from /proc) of the gunicorn processes, the bench database's PostgreSQL backends, PostgreSQL's
background processes, redis-server and wrk before and after the measured run, and prints each
one's milliseconds per request: on two shared cores that sum is what caps the throughput.

Target (issue 22 §2, this 2-core machine, PostgreSQL): at least 800 leads/s with p99 ≤ 50 ms at 16
clients, through the form and through the API (the first target, 300 leads/s with p99 under 100 ms,
was met in November). On the shared benchmark machines the speed moves by a third or more within
minutes (a fixed Python loop does not show it: its time stayed put while a capture's CPU rose by
half), so compare code by interleaving runs of the old and the new, not by runs minutes apart.
Needs Debian's wrk (apt-get install wrk). wrk, gunicorn and PostgreSQL share the two cores.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
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
import ceiling_table  # noqa: E402
import procstat  # noqa: E402

# Each wrk thread has its own Lua state: give each a distinct id so emails never repeat.
LUA_THREADS = r"""
local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end
counter = 0
"""

LUA = (
    LUA_THREADS
    + r"""
request = function()
  counter = counter + 1
  local body = "first_name=Bench&company=Load+Co&message=hello&email=bench-" .. RUN .. "-" .. tostring(tid) ..
    "-" .. counter .. "%40example.com&_ts=" .. STAMP
  return wrk.format("POST", PATH, {["Content-Type"] = "application/x-www-form-urlencoded", ["Accept"] = "application/json"}, body)
end
"""
)


API_LUA = (
    LUA_THREADS
    + r"""
request = function()
  counter = counter + 1
  local body = '{"first_name": "Bench", "company": "Load Co", "message": "hello", "email": "bench-' .. RUN .. '-' ..
    tostring(tid) .. '-' .. counter .. '@example.com"}'
  return wrk.format("POST", PATH, {["Content-Type"] = "application/json", ["Accept"] = "application/json",
    ["Authorization"] = "Token " .. TOKEN}, body)
end
"""
)


def _cpu_ms(pid: int) -> float:
    return procstat.cpu_seconds(pid) * 1000


def _cpu_groups(gunicorn_pid: int) -> dict[str, list[int]]:
    """The processes a capture costs CPU in, by group (pids read now: backends come and go)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        backends = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend'")
        background = [row[0] for row in cursor.fetchall()]
    postmaster = (
        int(Path("/proc", str(backends[0]), "stat").read_text().rsplit(")", 1)[1].split()[1]) if backends else None
    )
    return {
        "gunicorn (master + workers)": procstat.descendants(gunicorn_pid),
        "postgres backends (bench db)": backends,
        "postgres background (wal writer, checkpointer...)": background + ([postmaster] if postmaster else []),
        "redis-server": procstat.pids_named("redis-server"),
    }


def _cpu_snapshot(groups: dict[str, list[int]]) -> dict[int, float]:
    return {pid: _cpu_ms(pid) for pids in groups.values() for pid in pids}


def _cpu_report(
    before: dict[int, float], after_groups: dict[str, list[int]], wrk_ms: float, busy_ms: float, requests: int
) -> list[tuple[str, float]]:
    """ms of CPU per request, per group (a process that appeared during the run counts from 0)."""
    rows = []
    for name, pids in after_groups.items():
        spent = sum(max(0.0, _cpu_ms(pid) - before.get(pid, 0.0)) for pid in set(pids))
        rows.append((name, spent / requests))
    rows.append(("wrk", wrk_ms / requests))
    rows.append(("sum of the above", sum(ms for _, ms in rows)))
    rows.append(("whole machine (other jobs included)", busy_ms / requests))
    return rows


def _profile(requests: int, web_form, stamp: str, token: str = "") -> None:
    """Post `requests` submissions through Django's WSGI handler in this process (no server,
    no wrk), as gunicorn would call it; print the CPU of this process, of its PostgreSQL backend
    and of redis-server per request, the SQL of one request, and cProfile's top functions."""
    import cProfile
    import io
    import pstats

    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    application = get_wsgi_application()
    run = time.time_ns()

    def post(i: int) -> int:
        if token:
            body = (
                f'{{"first_name": "Bench", "company": "Load Co", "message": "hello", '
                f'"email": "bench-{run}-p-{i}@example.com"}}'
            ).encode()
            path, content_type = "/api/v1/capture", "application/json"
        else:
            body = (
                f"first_name=Bench&company=Load+Co&message=hello&email=bench-{run}-p-{i}%40example.com&_ts={stamp}"
            ).encode()
            path, content_type = "/f/bench", "application/x-www-form-urlencoded"
        environ = {
            "REQUEST_METHOD": "POST",
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "HTTP_ACCEPT": "application/json",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if token:
            environ["HTTP_AUTHORIZATION"] = f"Token {token}"
        status = []
        response = application(environ, lambda s, h, exc_info=None: status.append(s))
        try:
            for _chunk in response:
                pass
        finally:
            response.close()  # request_finished: what gunicorn does after each request
        return int(status[0].split()[0])

    for i in range(50):  # warm-up: imports, the connection, caches
        assert post(i) < 300
    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        post(-1)
    print(f"SQL of one request ({len(statements)} statements):")
    for sql in statements:
        print(f"  {sql[:160]}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    redis = procstat.pids_named("redis-server")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    pg0, redis0 = _cpu_ms(backend), sum(_cpu_ms(pid) for pid in redis)
    # CPU time of this thread, not wall time: waiting on PostgreSQL costs no CPU here (the
    # background publishing thread's CPU shows as the gap between process and thread time).
    profiler = cProfile.Profile(time.thread_time)
    thread0 = time.thread_time()
    profiler.enable()
    for i in range(requests):
        post(1000 + i)
    profiler.disable()
    thread_ms = (time.thread_time() - thread0) * 1000 / requests
    # The backend may be replaced (CONN_MAX_AGE); read the one in use now.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        if cursor.fetchone()[0] != backend:
            print("(the PostgreSQL connection was replaced during the run: its CPU is undercounted)")
    python_ms = (time.process_time() - cpu0) * 1000 / requests
    wall_ms = (time.perf_counter() - wall0) * 1000 / requests
    print(f"per request, {requests} requests, cProfile on (inflates Python's share):")
    print(
        f"  wall {wall_ms:.2f} ms; this process {python_ms:.2f} ms CPU (request thread {thread_ms:.2f}); its PostgreSQL backend "
        f"{(_cpu_ms(backend) - pg0) / requests:.2f} ms; redis-server {(sum(_cpu_ms(pid) for pid in redis) - redis0) / requests:.2f} ms"
    )
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(60)
        print(out.getvalue())
    # The same without the profiler, for honest CPU figures: five rounds, the quietest one counts
    # (other jobs on the machine only ever add to these figures).
    rounds = []
    batch = max(requests // 5, 1)
    for round_ in range(5):
        cpu0, wall0, thread0 = time.process_time(), time.perf_counter(), time.thread_time()
        pg0, redis0 = _cpu_ms(backend), sum(_cpu_ms(pid) for pid in redis)
        for i in range(batch):
            post(10_000_000 * (round_ + 1) + i)
        rounds.append(
            (
                (time.process_time() - cpu0) * 1000 / batch,
                (time.thread_time() - thread0) * 1000 / batch,
                (_cpu_ms(backend) - pg0) / batch,
                (sum(_cpu_ms(pid) for pid in redis) - redis0) / batch,
                (time.perf_counter() - wall0) * 1000 / batch,
            )
        )
    process, thread, pg, redis_ms, wall = min(rounds, key=lambda r: r[0] + r[2])
    print(
        f"without the profiler, per request (quietest of 5 rounds of {batch}): wall {wall:.2f} ms; this process "
        f"{process:.2f} ms CPU (request thread {thread:.2f}); its PostgreSQL backend {pg:.2f} ms; "
        f"redis-server {redis_ms:.2f} ms; all rounds: {', '.join(f'{r[0] + r[2]:.2f}' for r in rounds)} ms"
    )
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def _relay_cost(take: int) -> None:
    """What a capture now costs a worker: its job published by the outbox relay (leads/outbox_relay.py)
    instead of by the web process. No worker runs here, so this process relays the jobs the run
    left, `take` per statement as at full speed (800 leads/s x 0.2 s polls), and prints the CPU of
    this process, its PostgreSQL backend and redis-server per job; then the messages are dropped."""
    from django.db import connection

    from leadcrm.celery import app
    from leads.models import OutboxJob
    from leads.outbox_relay import outbox_relay

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    redis = procstat.pids_named("redis-server")
    cpu0, pg0, redis0 = time.process_time(), _cpu_ms(backend), sum(_cpu_ms(pid) for pid in redis)
    jobs_taken = messages = 0
    while True:
        taken, sent, failed = outbox_relay(limit=take)
        jobs_taken, messages = jobs_taken + taken, messages + sent
        if failed or not taken:
            break
    if jobs_taken:
        process_ms = (time.process_time() - cpu0) * 1000 / jobs_taken
        pg_ms = (_cpu_ms(backend) - pg0) / jobs_taken
        redis_ms = (sum(_cpu_ms(pid) for pid in redis) - redis0) / jobs_taken
        print(
            f"outbox relay (a worker's share), {jobs_taken} jobs in {messages} messages, {take} per take, CPU per job: "
            f"relay {process_ms:.3f} ms, its PostgreSQL backend {pg_ms:.3f} ms, redis-server {redis_ms:.3f} ms "
            f"= {process_ms + pg_ms + redis_ms:.3f} ms"
        )
    app.control.purge()  # no worker will run them: drop the messages and their rows
    OutboxJob.objects.filter(published_at__isnull=False, claimed_at__isnull=True).delete()


def _api_token() -> str:
    """A manager's API token (the integration's): its captures go the manager's way (no `within`)."""
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    from leads.roles import SALES_MANAGERS

    user, _ = User.objects.get_or_create(username="bench-api", defaults={"email": "bench-api@example.com"})
    user.groups.add(Group.objects.get_or_create(name=SALES_MANAGERS)[0])
    return Token.objects.get_or_create(user=user)[0].key


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, help="gunicorn worker processes (default: bin/serve.sh's)")
    parser.add_argument("--threads", type=int, help="gunicorn threads per worker (default: bin/serve.sh's)")
    parser.add_argument("--worker-class", help="gunicorn worker class, sync or gthread (default: bin/serve.sh's)")
    parser.add_argument("--api", action="store_true", help="post to /api/v1/capture with a manager's token (JSON)")
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="serve bench/ceiling_app.py instead (one ORM INSERT per post, no middleware) with the same options",
    )
    parser.add_argument(
        "--relay-take",
        type=int,
        default=160,
        metavar="N",
        help="jobs per relay statement when measuring the outbox relay after the run",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="instead: profile N requests in this process through the WSGI handler",
    )
    args = parser.parse_args()
    if not args.profile and not shutil.which("wrk"):
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
            "name": "Bench form",
            "fields": ["first_name", "email", "company", "message"],
            "required_fields": ["email"],
            "rate_limit": "100000000/m",
            "min_fill_seconds": 0,
            "allowed_hosts": [],
        },
    )

    def captured() -> int:
        if not args.ceiling:
            return Lead.objects.filter(email__startswith="bench-").count()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {ceiling_table.TABLE}")
            return cursor.fetchone()[0]

    if args.ceiling:
        with connection.cursor() as cursor:
            cursor.execute(ceiling_table.DDL)
    before = captured()
    stamp = quote(form_timestamp(web_form), safe="")
    token = _api_token() if args.api else ""
    if args.profile:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE leads_lead, leads_capturerecord, leads_interaction")
        _profile(args.profile, web_form, stamp, token)
        return 0
    load_before, speed = os.getloadavg(), benchenv.speed_reference()
    port = _free_port()
    # The shipped web command itself (bin/serve.sh web: its worker class, threads, keep-alive and
    # access log), on a free local port; the options below only override its environment.
    env = {**os.environ, "PORT": str(port), "WEB_BIND": "127.0.0.1", "PYTHON": sys.executable}
    for name, value in (
        ("WEB_CONCURRENCY", args.workers),
        ("WEB_THREADS", args.threads),
        ("WEB_WORKER_CLASS", args.worker_class),
    ):
        if value is not None:
            env[name] = str(value)
    access_log = tempfile.TemporaryFile()  # what a log collector would read from its stdout
    if args.ceiling:  # the same command, serving bench/ceiling_app.py
        env.update(WEB_APP="ceiling_app:application", PYTHONPATH=str(BENCH_DIR))
    gunicorn = subprocess.Popen(
        ["bash", str(benchenv.ROOT / "bin" / "serve.sh"), "web"], cwd=benchenv.ROOT, env=env, stdout=access_log
    )
    scripts: list[str] = []
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # a busy shared machine boots workers slowly
        while True:
            try:
                urllib.request.urlopen(f"{url}/f/bench", timeout=10).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

        def script() -> str:
            """A wrk script whose emails no earlier run used."""
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
                if token:
                    file.write(f'TOKEN = "{token}"\nPATH = "/api/v1/capture"\nRUN = "{time.time_ns()}"\n' + API_LUA)
                else:
                    file.write(f'STAMP = "{stamp}"\nPATH = "/f/bench"\nRUN = "{time.time_ns()}"\n' + LUA)
            scripts.append(file.name)
            return file.name

        # Warm up each worker's connection and caches, then measure.
        subprocess.run(
            ["wrk", "-t2", f"-c{args.clients}", "-d3s", "-s", script(), url], capture_output=True, check=True
        )
        after_warmup = captured()
        # This machine's PostgreSQL runs with autovacuum off (conf.d/90-ci.conf), so nothing would
        # ever analyze the growing tables: without statistics the planner scans every lead for the
        # email lookup. Do what autovacuum does in production.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE leads_lead, leads_capturerecord, leads_interaction")
        groups = _cpu_groups(gunicorn.pid)
        cpu_before, busy_before = _cpu_snapshot(groups), procstat.machine_busy_seconds() * 1000
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = subprocess.run(
            ["wrk", "-t2", f"-c{args.clients}", f"-d{args.seconds}s", "--latency", "-s", script(), url],
            capture_output=True,
            text=True,
            check=True,
        )
        busy_ms = procstat.machine_busy_seconds() * 1000 - busy_before
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        wrk_ms = 1000 * (children.ru_utime + children.ru_stime - children_before.ru_utime - children_before.ru_stime)
        after_groups = _cpu_groups(gunicorn.pid)
        for name, pids in groups.items():
            after_groups[name] = sorted(set(pids) | set(after_groups[name]))
        requests_total = int(re.search(r"(\d+) requests in", result.stdout).group(1))
        cpu_rows = _cpu_report(cpu_before, after_groups, wrk_ms, busy_ms, max(requests_total, 1))
        server = Path(f"/proc/{gunicorn.pid}/cmdline").read_bytes().decode().split("\0")
        app_name = "ceiling_app:application" if args.ceiling else "leadcrm.wsgi"
        server = " ".join(server[server.index(app_name) :]).strip()
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
        access_log.close()
        for name in scripts:
            os.unlink(name)
    output = result.stdout
    print(output)
    created = captured() - after_warmup
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.MULTILINE))
    print(
        f"leads created: {created} in {args.seconds}s = {created / args.seconds:.0f} leads/s "
        f"(requests {requests_total}, non-2xx {errors}); p50 {percentiles.get('50')}, p99 {percentiles.get('99')}"
    )
    print(
        f"{'POST /api/v1/capture (token, JSON)' if args.api else 'POST /f/bench (form-encoded)'}; PostgreSQL {connection.pg_version}; "
        f"{'the ceiling (bench/ceiling_app.py)' if args.ceiling else 'bin/serve.sh web'}: gunicorn {server}; "
        f"{args.clients} clients; {os.cpu_count()} CPUs; warm-up leads {after_warmup - before}; "
        f"leads in the table now {Lead.objects.count()} (each run adds its own)"
    )
    print("CPU per request (utime + stime):")
    for name, ms in cpu_rows:
        print(f"  {name:<52} {ms:6.2f} ms")
    ours, machine = cpu_rows[-2][1], cpu_rows[-1][1]
    others = max(0.0, machine - ours) * requests_total / (args.seconds * 1000 * (os.cpu_count() or 1))
    print(
        f"load average before the run: {' '.join(f'{v:.2f}' for v in load_before)} (after it: "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}, the bench's own processes included); "
        f"CPU not counted above (other jobs, the kernel's share of the traffic) was {others:.0%} of the machine; "
        f"machine speed: a fixed loop of 10 million additions took {speed} s before the run (0.66 s at its fastest)"
    )
    if not args.ceiling:
        _relay_cost(args.relay_take)
    # Every accepted request made its own lead (a few more may finish after wrk stops counting).
    return 0 if created >= requests_total - errors and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
