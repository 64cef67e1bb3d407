#!/usr/bin/env python
"""Nurture sending throughput: sequence emails sent by real Celery workers to a local SMTP server.

    .venv/bin/python bench/email_bench.py [--emails 10000] [--concurrency 2] [--domains 200] [--update-readme]

Uses its own database (leadcrm_seqbench; never the shared 1M leadcrm_bench), loads --emails leads
spread over --domains receiving domains, makes a one-step sequence (one email) and enrolls every
lead with one set-based leads_enroll. It then starts an aiosmtpd server on 127.0.0.1 (in this
process, counting messages) and a Celery worker (prefork, --concurrency processes), calls the beat
task process_due_enrollments_task once and waits for the last message.

Each send is the production path: lease the batch (select_for_update skip_locked), lock the
enrollment, check the lead may be mailed (suppression, consent), render in the sandbox, claim the
StepRun, count the hour's sends for the rate limits in SQL, SMTP (one connection per batch), then
record the Message-ID (StepRun, OutboundMessage), the timeline entry, and move the enrollment on.

Reports emails/s from the beat task to the last message, checks every lead got exactly one email,
and records the 1-minute load average. Target: ≥ 100 emails/s. Exit status 1 if missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/leadcrm_seqbench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
# Limits far above the run: the bench measures sending, not the throttle.
os.environ.setdefault("NURTURE_DOMAIN_HOURLY_LIMIT", "1000000")
os.environ.setdefault("NURTURE_HOURLY_LIMIT", "1000000")
os.environ.setdefault("PUBLIC_BASE_URL", "https://crm.example.com")

import benchenv  # noqa: E402

TARGET = 100.0


class CountingHandler:
    def __init__(self):
        self.count = 0
        self.recipients: set[str] = set()
        self.last_at = 0.0
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.count += 1
            self.recipients.update(envelope.rcpt_tos)
            self.last_at = time.monotonic()
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup_data(*, emails: int, domains: int):
    """Fresh leads, one one-step sequence, everyone enrolled (returns the sequence and the enroll time)."""
    from django.db import connection

    from leads.models import Lead
    from leads.models.nurturing import Sequence, SequenceStep
    from leads.nurturing.sequences import leads_enroll

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE leads_lead, leads_sequence, leads_outboundmessage, leads_emailsuppression RESTART IDENTITY CASCADE"
        )
    rows = [
        Lead(
            first_name=f"Reader{i}",
            last_name="Bench",
            email=f"reader{i}@d{i % domains}.example",
            company="Bench Inc",
            source="web_form",
            status="nurturing",
        )
        for i in range(emails)
    ]
    Lead.objects.bulk_create(rows, batch_size=5000)
    sequence = Sequence.objects.create(name="Bench newsletter", from_name="Bench", from_email="news@crm.example.com")
    SequenceStep.objects.create(
        sequence=sequence,
        position=0,
        kind="email",
        subject='News for {{ lead.first_name|default:"you" }}',
        body="Hi {{ lead.first_name }},\n\nThis month at {{ lead.company }}: https://acme.test/news?id=1\n\n{{ sender.name }}",
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
    started = time.monotonic()
    enrolled = leads_enroll(sequence=sequence, lead_ids=Lead.objects.all(), source="manual")
    enroll_seconds = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_enrollment")
    assert enrolled == emails, enrolled
    return sequence, enroll_seconds


def update_readme(text: str) -> None:
    """Replace this benchmark's figures in bench/README.md."""
    benchenv.readme_block_replace(name="nurture-sending", text=text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--domains", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()

    from aiosmtpd.controller import Controller

    handler = CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{controller.port}"
    benchenv.setup()
    from django.db import connection

    from leadcrm.celery import app
    from leads.models.nurturing import Enrollment, StepRun
    from leads.nurturing.tasks import process_due_enrollments_task

    started = time.monotonic()
    sequence, enroll_seconds = setup_data(emails=args.emails, domains=args.domains)
    print(
        f"loaded and enrolled {args.emails} leads in {time.monotonic() - started:.1f}s (enroll {enroll_seconds:.2f}s)",
        flush=True,
    )

    app.control.purge()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "leadcrm",
            "worker",
            "-l",
            "WARNING",
            "--concurrency",
            str(args.concurrency),
            "--prefetch-multiplier",
            "1",
            "-Q",
            "celery",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=benchenv.ROOT,
        env={**os.environ},
    )
    loads = []
    try:
        time.sleep(5)  # let the pool start before the clock runs
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        process_due_enrollments_task.delay()
        while handler.count < args.emails:
            if time.monotonic() - started > 900:
                print(f"timed out with {handler.count} of {args.emails} sent", file=sys.stderr)
                return 1
            time.sleep(0.5)
            loads.append(os.getloadavg()[0])
        elapsed = handler.last_at - started
        # Let the last batch record its sends before checking.
        deadline = time.monotonic() + 30
        while StepRun.objects.filter(status="sent").count() < args.emails and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        controller.stop()

    rate = args.emails / elapsed
    once = handler.count == len(handler.recipients) == args.emails
    sent = StepRun.objects.filter(status="sent").count()
    completed = Enrollment.objects.filter(sequence=sequence, status="completed").count()
    ok = rate >= TARGET and once and sent == completed == args.emails
    load_during = max(loads) if loads else os.getloadavg()[0]
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} CPUs), "
        f"PostgreSQL {connection.pg_version // 10000}, Celery prefork × {args.concurrency}, aiosmtpd on 127.0.0.1 in the bench "
        f"process; 1-minute load average {load_before:.1f} before, up to {load_during:.1f} during the run.",
        "",
        "| emails | domains | enroll (one INSERT … SELECT) | send seconds | emails/s | each lead mailed exactly once |",
        "|---:|---:|---:|---:|---:|:---:|",
        f"| {args.emails:,} | {args.domains} | {enroll_seconds:.2f} s | {elapsed:.1f} | **{rate:.0f}** | {'yes' if once and sent == args.emails else 'NO'} |",
        "",
        f"Target ≥ {TARGET:.0f} emails/s: {'met' if rate >= TARGET else 'MISSED'}.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.update_readme:
        update_readme(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
