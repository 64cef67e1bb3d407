#!/usr/bin/env python
"""Automations handled per second: 10 enabled automations, N leads triggering them at once.

    .venv/bin/python bench/automation_bench.py [--leads 5000] [--workers 2]

In its own database (leadcrm_bench_auto, created and migrated; never the shared 1M-lead one) and
Redis db 9 (REDIS_URL to change): loads N leads, enables 10 automations on "status changed to
nurturing" whose conditions (score ≥ 0, 10, 20, … 90) make each lead match about half of them and
whose actions mix tags, a field, and a task; starts `--workers` real Celery worker processes;
then moves every lead to nurturing with the lead list's bulk service (set-based, --chunk leads
per transaction), and times (1) the bulk changes with their reactions and enqueueing, (2) from the
last of them until the last run is done, (3) end to end. It samples the workers' memory (RSS) as they go, to show it stays flat.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/leadcrm_bench_auto")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")

import benchenv  # noqa: E402
from procstat import rss_kb, with_children  # noqa: E402


def _rss_mb(pids: list[int]) -> float:
    return rss_kb(pids) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=10000, help="leads per bulk status change (one transaction each)")
    args = parser.parse_args()
    benchenv.setup()
    from django.contrib.auth.models import User
    from django.db import connection

    from leadcrm.celery import app
    from leads.automations.reactions import automations_forget
    from leads.automations.services import automation_save
    from leads.models import Automation, AutomationRun, Interaction, Lead, RunStep, Task
    from leads.services import lead_bulk_set_status

    app.control.purge()
    with connection.cursor() as cursor:  # a clean slate every run
        for model in (RunStep, AutomationRun, Automation, Task, Interaction, Lead):
            cursor.execute(f"TRUNCATE {model._meta.db_table} CASCADE")
    manager, _ = User.objects.get_or_create(username="bench-manager")
    Lead.objects.bulk_create(
        [Lead(email=f"auto{i}@bench.example", first_name=f"Lead{i}", score=i % 100) for i in range(args.leads)],
        batch_size=5000,
    )
    actions = [
        [{"type": "add_tags", "tags": ["nurtured"]}],
        [{"type": "set_field", "field": "industry", "value": "Software"}],
        [{"type": "create_task", "title": "Look at this lead", "amount": 2, "unit": "days"}],
    ]
    for i in range(10):
        automation_save(
            automation=Automation(),
            by=manager,
            data={
                "name": f"Bench {i}",
                "enabled": True,
                "trigger": "status_changed",
                "trigger_params": {"to": "nurturing"},
                "conditions": {"match": "all", "conditions": [{"field": "score", "op": "gte", "value": i * 10}]},
                "actions": actions[i % 3],
            },
        )
    automations_forget()
    expected = sum(Lead.objects.filter(score__gte=i * 10).count() for i in range(10))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "leadcrm.settings"}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "leadcrm",
            "worker",
            "-c",
            str(args.workers),
            "--pool",
            "prefork",
            "-l",
            "WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=benchenv.ROOT,
        env=env,
    )
    try:
        time.sleep(8)  # the workers start
        samples = []
        started = time.perf_counter()
        # The trigger: bulk status changes of --chunk leads each (one transaction each, as the lead
        # list's bulk action makes them); the workers start on the first chunk's runs at once.
        changed, last = 0, 0
        while True:
            ids = list(Lead.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[: args.chunk])
            if not ids:
                break
            last = ids[-1]
            changed += lead_bulk_set_status(leads=Lead.objects.filter(pk__in=ids), status="nurturing", by=manager)
        enqueued = time.perf_counter()
        done = 0
        while done < expected:
            time.sleep(1)
            done = AutomationRun.objects.filter(status="done").count()
            samples.append((round(time.perf_counter() - enqueued), done, round(_rss_mb(with_children(worker.pid)))))
            if len(samples) % 30 == 0:  # progress, for a long run watched from outside
                print(
                    "progress (s, runs done, RSS MB, load):",
                    samples[-1],
                    open("/proc/loadavg").read().split()[0],
                    flush=True,
                )
            if time.perf_counter() - enqueued > 3600:
                break
        finished = time.perf_counter()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    seconds = finished - enqueued
    print(f"leads changed: {changed}; runs expected {expected}, done {done}")
    print(f"bulk change + reactions + enqueue: {enqueued - started:.2f} s")
    total = finished - started
    print(
        f"runs done {seconds:.1f} s after the last bulk change: {done / seconds:.0f} runs/s, {changed / seconds:.0f} triggering leads/s "
        f"({args.workers} worker processes)"
    )
    print(
        f"end to end (first bulk change to last run done): {total:.1f} s: {done / total:.0f} runs/s, "
        f"{changed / total:.0f} triggering leads/s"
    )
    step = max(1, len(samples) // 8)
    print("memory of the workers (s, runs done, RSS MB):", samples[::step] + samples[-1:])
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
