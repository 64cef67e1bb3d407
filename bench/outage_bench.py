#!/usr/bin/env python
"""Recovery from a broker outage: N leads captured while the broker is down, time to drain them.

    .venv/bin/python bench/outage_bench.py [--leads 10000] [--outage 60] [--concurrency 2] [--kill-worker]

Uses its own database (leadcrm_outagebench) and its own redis-server on a free port (the
machine's Redis is never stopped). Starts a Celery worker with beat (--concurrency processes,
the production beat schedule: the outbox sweep every 10 s), kills the redis-server, captures N
leads through `capture()` (each gets an owner and an assignment email once processed), keeps the
broker down for --outage seconds in all, starts it again (empty: nothing queued survives) and
reports the time from recovery to the last lead processed and to the last email sent.
With --kill-worker the worker is SIGKILLed when the outage starts and started again at recovery.
With --profile the batch pipeline runs in this process (no broker, no worker) over --leads fresh
leads, batch by batch: CPU and statements per lead, and the top functions by cumulative time.
Target (issue 22): 10,000 leads, 60 s outage, <= 60 s from recovery to the last lead, 2 workers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/leadcrm_outagebench")

import benchenv  # noqa: E402
import procstat  # noqa: E402

DOMAIN = "outage.bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Redis:
    """A redis-server of our own, without persistence: a restart drops every queued message."""

    def __init__(self, port: int, directory: str):
        self.port, self.directory, self.process = port, directory, None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.directory,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def start_worker(url: str, concurrency: int) -> subprocess.Popen:
    env = {**os.environ, "REDIS_URL": url, "EMAIL_URL": "memorymail://", "LOG_LEVEL": "ERROR"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "leadcrm",
            "worker",
            "-B",
            "-c",
            str(concurrency),
            "-l",
            "error",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=benchenv.ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def cpu_seconds(process: subprocess.Popen) -> float:
    """utime + stime of the worker's process group (main, pool processes, embedded beat)."""
    return sum(procstat.cpu_seconds(pid) for pid in procstat.process_group(process.pid))


def kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


# The tables the captures grew. Autovacuum is off on the bench machine (`SHOW autovacuum`), so a
# fresh bench database is planned as if empty: a lookup by email_base then walks another partial
# index whole (48 ms instead of 0.05). In production autovacuum analyzes a table grown by 10 %.
ANALYZED = ("leads_lead", "leads_capturerecord", "leads_interaction", "leads_outboxjob", "leads_enrichmentvalue")


def clean_slate(connection) -> None:
    """Earlier runs' leads (and everything that refers to them) and jobs go: this is the bench's own
    database. A TRUNCATE, because deleting 10,000 leads row by row took minutes (the deferred
    foreign-key checks at COMMIT)."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE leads_lead, leads_outboxjob CASCADE")


def analyze(connection) -> None:
    """ANALYZE what the captures grew, as autovacuum would have (see ANALYZED)."""
    started = time.monotonic()
    with connection.cursor() as cursor:
        for table in ANALYZED:
            cursor.execute(f"ANALYZE {table}")
    print(f"ANALYZE of {', '.join(ANALYZED)}: {time.monotonic() - started:.1f} s", flush=True)


def profile(count: int) -> int:
    """The batch pipeline in this process over `count` fresh leads: CPU and statements per lead."""
    import cProfile
    import pstats

    benchenv.setup()
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from leads import jobs
    from leads.capture.service import CaptureContext, capture
    from leads.models import OutboxJob
    from leads.pipeline import leads_process

    clean_slate(connection)
    jobs._broker_down_until = time.monotonic() + 3600  # noqa: SLF001 (no broker here: the jobs stay in the outbox)
    ids = [
        capture(
            data={"email": f"p{n}@profile.{DOMAIN}", "first_name": f"P {n}"}, context=CaptureContext(channel="api")
        ).lead.pk
        for n in range(count)
    ]
    OutboxJob.objects.filter(task_name="leads.tasks.process_lead_task").delete()
    analyze(connection)
    size = jobs.BATCH_JOB_SIZE
    profiler, statements, cpu = cProfile.Profile(), 0, 0.0
    for start in range(0, len(ids), size):
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            before = time.process_time()
            profiler.enable()
            leads_process(lead_ids=ids[start : start + size])
            profiler.disable()
            cpu += time.process_time() - before
        statements += len(queries.captured_queries)
    OutboxJob.objects.filter(task_name="leads.workspace.tasks.notify_by_email_task").delete()
    print(
        f"{count} leads in batches of {size}: {1000 * cpu / count:.2f} ms of this process's CPU per lead, "
        f"{statements / count:.2f} statements per lead; load average {os.getloadavg()}"
    )
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--outage", type=float, default=60.0, help="seconds the broker stays down in all")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--kill-worker", action="store_true")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--profile", action="store_true", help="the batch pipeline in one process, profiled")
    args = parser.parse_args()
    if args.profile:
        return profile(args.leads)

    redis = Redis(free_port(), tempfile.mkdtemp(prefix="outage-bench-"))
    redis.start()
    url = f"redis://127.0.0.1:{redis.port}/0"
    os.environ["REDIS_URL"] = url  # this process publishes there too (read by the settings)
    benchenv.setup()

    from django.contrib.auth import get_user_model
    from django.db import connection

    from leads import jobs
    from leads.capture.service import CaptureContext, capture
    from leads.models import Lead, Notification, OutboxJob, Team, TeamMembership, Territory

    clean_slate(connection)
    team, _ = Team.objects.get_or_create(name="Outage bench")
    for name in ("outage_rep1", "outage_rep2"):
        user, _ = get_user_model().objects.get_or_create(username=name, defaults={"email": f"{name}@example.com"})
        TeamMembership.objects.get_or_create(team=team, user=user)
    territory, _ = Territory.objects.get_or_create(name="Outage bench", defaults={"is_catch_all": True, "priority": 1})
    territory.teams.set([team])

    worker = start_worker(url, args.concurrency)
    time.sleep(8)  # the worker and beat are up
    print(f"load average before: {os.getloadavg()}", flush=True)
    down = time.monotonic()
    redis.stop()
    if args.kill_worker:
        kill(worker)
    for number in range(args.leads):
        capture(
            data={"email": f"lead{number}@{DOMAIN}", "first_name": f"Lead {number}"},
            context=CaptureContext(channel="api"),
        )
    jobs.publisher_flush(timeout=600)
    captured = time.monotonic() - down
    print(f"captured {args.leads} leads in {captured:.1f} s with the broker down", flush=True)
    analyze(connection)
    time.sleep(max(0.0, args.outage - captured))
    redis.start()
    recovered = time.monotonic()
    print(f"broker back after {recovered - down:.1f} s", flush=True)
    if args.kill_worker:
        worker = start_worker(url, args.concurrency)
    cpu_before = cpu_seconds(worker)
    ours = Lead.objects.filter(email__endswith=f"@{DOMAIN}")
    processed_at = emailed_at = first_at = None
    try:
        while time.monotonic() - recovered < args.timeout:
            if first_at is None and ours.filter(processed_at__isnull=False).exists():
                first_at = time.monotonic() - recovered
                print(f"first lead processed {first_at:.1f} s after recovery (the outage noticed)", flush=True)
            if processed_at is None and not ours.filter(processed_at__isnull=True).exists():
                processed_at = time.monotonic() - recovered
                rate = args.leads / max(0.001, processed_at - (first_at or 0))
                print(
                    f"every lead processed {processed_at:.1f} s after recovery ({rate:.0f} leads/s once draining)",
                    flush=True,
                )
            if processed_at is not None and not OutboxJob.objects.exists():
                emailed_at = time.monotonic() - recovered
                print(f"every job done (assignment emails sent) {emailed_at:.1f} s after recovery", flush=True)
                break
            time.sleep(0.5)
        cpu = cpu_seconds(worker) - cpu_before
        print(
            f"worker CPU after recovery: {cpu:.1f} s, {1000 * cpu / args.leads:.1f} ms per lead "
            f"(so {args.concurrency} idle cores could drain ~{args.concurrency * args.leads / max(cpu, 0.001):.0f} leads/s "
            "before PostgreSQL's share)",
            flush=True,
        )
    finally:
        kill(worker)
        redis.stop()
    emails = Notification.objects.filter(lead__in=ours, kind="assigned")
    print(
        f"leads {ours.count()}, processed {ours.filter(processed_at__isnull=False).count()}, "
        f"assignment notifications {emails.count()}, emailed {emails.filter(emailed_at__isnull=False).count()}; "
        f"load average after: {os.getloadavg()}",
        flush=True,
    )
    return 0 if processed_at is not None and processed_at <= 60 else 1


if __name__ == "__main__":
    sys.exit(main())
