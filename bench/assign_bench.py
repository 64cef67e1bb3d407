#!/usr/bin/env python
"""Assignment throughput through real Celery workers, with the fairness figures.

    .venv/bin/python bench/assign_bench.py [--leads 20000] [--agents 10] [--concurrency 2]
                                           [--mode batch|single] [--batch 100] [--update-readme]

Loads N unassigned leads into a dedicated database (leadcrm_assignbench), one team of --agents
reps of equal weight behind a catch-all territory, starts a Celery worker (prefork,
--concurrency processes) on Redis db 10, enqueues the assignments and waits until every lead
has an owner. Each lead is placed in its own transaction under the team's row lock, exactly as
in production: an Assignment row, an "assignment" timeline entry with its reason, an in-app
notification, and the email (Django's in-memory mail backend here, so no SMTP server is timed).

--mode batch   assign_leads_task with --batch lead ids per task (the "Assign now" admin action,
               manage.py assign_leads, the queue drain): one email task per batch.
--mode single  assign_lead_task per lead, and one email task per lead.

Reports leads/s from the first enqueue to the last owner, per-agent counts and max − min (the
guarantee is max − min ≤ 1 for equal weights), and checks every lead was assigned exactly once.
Target (this 2-core machine, PostgreSQL, worker and database sharing the cores): ≥ 200 leads/s
with 2 worker processes. The exit status is 1 when the target or the fairness check fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/leadcrm_assignbench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/10")
os.environ.setdefault("EMAIL_URL", "memorymail://")

import benchenv  # noqa: E402

TARGET = 200.0


def setup_data(*, leads: int, agents: int) -> list[str]:
    """A fresh table of unassigned leads, one team of equal reps, a catch-all territory."""
    from django.contrib.auth.models import User
    from django.db import connection

    from leads.models import Lead, Team, TeamMembership, Territory

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE leads_lead, leads_assignment, leads_notification, leads_rotationstate RESTART IDENTITY CASCADE"
        )
    Territory.objects.all().delete()
    Team.objects.filter(name="Bench team").delete()
    team = Team.objects.create(name="Bench team")
    usernames = [f"bench{i:02d}" for i in range(1, agents + 1)]
    for username in usernames:
        user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        TeamMembership.objects.create(team=team, user=user)
    catch_all = Territory.objects.create(name="Everywhere", is_catch_all=True)
    catch_all.teams.add(team)
    countries = ["US", "GB", "DE", "FR", "ES", "IT", "CA", "NL", "SE", "IE"]
    rows = []
    for i in range(leads):
        rows.append(
            Lead(
                first_name="Bench",
                last_name=f"Lead {i}",
                email=f"lead{i}@mail.example",
                email_kind="free",
                country=countries[i % len(countries)],
                source="web_form",
                score=i % 100,
            )
        )
        if len(rows) == 5000:
            Lead.objects.bulk_create(rows)
            rows = []
    Lead.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
    return usernames


def update_readme(text: str, *, mode: str) -> None:
    """Replace this benchmark's figures in bench/README.md."""
    benchenv.readme_block_replace(name=f"assign:{mode}", text=text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--mode", choices=["batch", "single"], default="batch")
    parser.add_argument("--batch", type=int, default=100, help="lead ids per task in batch mode")
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    benchenv.setup()
    from django.db import connection

    from leadcrm.celery import app
    from leads.distribution.tasks import assign_lead_task, assign_leads_task
    from leads.models import Assignment, Interaction, Lead, Notification

    started = time.monotonic()
    usernames = setup_data(leads=args.leads, agents=args.agents)
    load_before = os.getloadavg()[0]
    print(f"loaded {args.leads} leads and {args.agents} agents in {time.monotonic() - started:.1f}s", flush=True)

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
    try:
        time.sleep(4)  # let the pool start before the clock runs
        ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
        started = time.monotonic()
        if args.mode == "batch":
            for start in range(0, len(ids), args.batch):
                assign_leads_task.delay(ids[start : start + args.batch])
        else:
            for lead_id in ids:
                assign_lead_task.delay(lead_id)
        enqueued = time.monotonic() - started
        while True:
            done = Lead.objects.filter(owner__isnull=False).count()
            if done >= len(ids):
                break
            if time.monotonic() - started > 1800:
                print(f"timed out with {done} of {len(ids)} assigned", file=sys.stderr)
                return 1
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        worker.terminate()
        worker.wait(timeout=60)

    rate = len(ids) / elapsed
    per_agent = Counter(Lead.objects.values_list("owner__username", flat=True))
    counts = [per_agent.get(name, 0) for name in usernames]
    spread = max(counts) - min(counts)
    once = Assignment.objects.count() == len(ids) == Assignment.objects.values("lead").distinct().count()
    timeline = Interaction.objects.filter(kind="assignment").count()
    notifications = Notification.objects.count()
    fair = spread <= 1 and once and timeline == notifications == len(ids)
    cpu = os.cpu_count()
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({cpu} CPUs), PostgreSQL {connection.pg_version // 10000}, "
        f"Celery prefork × {args.concurrency}, mode `{args.mode}`"
        + (f" ({args.batch} leads per task)" if args.mode == "batch" else "")
        + f"; 1-minute load average {load_before:.1f} before the run.",
        "",
        "| leads | agents | seconds | leads/s | per-agent min | per-agent max | max − min | assigned exactly once |",
        "|---:|---:|---:|---:|---:|---:|---:|:---:|",
        f"| {len(ids):,} | {len(usernames)} | {elapsed:.1f} | **{rate:.0f}** | {min(counts)} | {max(counts)} | {spread} | {'yes' if once else 'NO'} |",
        "",
        "Per agent: " + ", ".join(f"{name} {per_agent.get(name, 0)}" for name in usernames) + ".",
        f"Enqueueing took {enqueued:.1f}s of that; {timeline:,} timeline entries and {notifications:,} notifications written.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.update_readme:
        update_readme(text, mode=args.mode)
    ok = rate >= TARGET and fair
    print("target met" if ok else f"target MISSED (≥ {TARGET:.0f} leads/s, max − min ≤ 1, each lead once)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
