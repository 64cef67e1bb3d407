#!/usr/bin/env python
"""A bulk status change of N leads (the lead list's bulk action, `lead_bulk_set_status`) in one transaction.

    .venv/bin/python bench/bulk_status_bench.py [--leads 100000] [--automations 10] [--sequences 0]

In its database (DATABASE_URL; leadcrm_bench_auto by default, shared with automation_bench.py): empties
the lead table (TRUNCATE … CASCADE: PostgreSQL then has no statistics of it, as after a restore or a
new install before autovacuum came by) and loads N leads (`new`, owned by one rep), keeps
`--automations` enabled automations on "status changed to nurturing" (they are only enqueued
here: no worker runs), then moves every lead to nurturing with the bulk service as a manager
and reports, apart, the service's statements and its COMMIT (where deferred foreign-key checks
run) as wall time and CPU time of this process and of its PostgreSQL backend (from /proc).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/leadcrm_bench_auto")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")

import benchenv  # noqa: E402
from procstat import cpu_seconds  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100000)
    parser.add_argument("--automations", type=int, default=10)
    args = parser.parse_args()
    benchenv.setup()
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from leads.automations.reactions import automations_forget
    from leads.automations.services import automation_save
    from leads.models import Automation, Lead
    from leads.services import lead_bulk_set_status

    manager, _ = User.objects.get_or_create(username="bench-manager", defaults={"is_staff": True})
    rep, _ = User.objects.get_or_create(username="bench-rep")
    with connection.cursor() as cursor:  # a clean slate: a lead table as a restore or a new install leaves it
        cursor.execute(f"TRUNCATE {Lead._meta.db_table} CASCADE")
    Lead.objects.bulk_create(
        [
            Lead(email=f"bulk{i}@bench.example", first_name=f"Bulk{i}", score=i % 100, owner=rep)
            for i in range(args.leads)
        ],
        batch_size=5000,
    )
    ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
    Automation.objects.filter(name__startswith="Bulk bench ").delete()
    Automation.objects.filter(enabled=True).update(enabled=False)
    for i in range(args.automations):
        automation_save(
            automation=Automation(),
            by=manager,
            data={
                "name": f"Bulk bench {i}",
                "enabled": True,
                "trigger": "status_changed",
                "trigger_params": {"to": "nurturing"},
                "conditions": {},
                "actions": [{"type": "add_tags", "tags": ["bulk"]}],
            },
        )
    automations_forget()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    marks = []

    def mark(label: str) -> None:
        marks.append((label, time.perf_counter(), time.process_time(), cpu_seconds(pid)))

    mark("start")
    with transaction.atomic():
        changed = lead_bulk_set_status(leads=Lead.objects.filter(pk__in=ids), status="nurturing", by=manager)
        mark("statements")
    mark("commit")
    load = open("/proc/loadavg").read().split()[0]
    print(f"bulk status change of {changed} leads ({args.automations} automations enabled), load {load}:")
    for (_, wall0, py0, pg0), (label, wall1, py1, pg1) in zip(marks, marks[1:]):
        print(f"  {label}: wall {wall1 - wall0:.2f} s, CPU python {py1 - py0:.2f} s, postgres {pg1 - pg0:.2f} s")
    Automation.objects.filter(name__startswith="Bulk bench ").delete()
    automations_forget()


if __name__ == "__main__":
    main()
