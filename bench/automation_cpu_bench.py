#!/usr/bin/env python
"""CPU per triggering lead of automations: the set-based path against the one-by-one path.

    .venv/bin/python bench/automation_cpu_bench.py [--batches 3] [--one-by-one 100]

Run it after bench/automation_bench.py, in its database (leadcrm_bench_auto; DATABASE_URL to change):
it reuses that bench's 10 automations and leads. In this process, no workers: a batch of 500 leads
(as one task gets them) is started on all 10 automations with `automations_start`, `--batches`
times, then `--one-by-one` leads go through the path every run took before the set-based one
(`runs_start` + `run_execute` per run). It reports wall time and the CPU time of this process and of
its PostgreSQL backend (from /proc), per triggering lead: on a shared machine the CPU figures hold
when the wall times do not.
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
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--one-by-one", type=int, default=100)
    args = parser.parse_args()
    benchenv.setup(migrate=False)
    from django.db import connection
    from django.db.models import F
    from django.db.models.functions import Mod

    from leads.automations.runs import run_execute, runs_start
    from leads.automations.services import automations_start
    from leads.models import Automation, Lead

    automations = list(Automation.objects.filter(enabled=True).order_by("pk").values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    leads = list(Lead.objects.order_by("pk").values_list("pk", flat=True)[: 500 * args.batches + args.one_by_one])

    def measure(label: str, ids: list[int], work) -> None:
        Lead.objects.filter(pk__in=ids).update(tags=[], industry="", score=Mod(F("id"), 100))  # as the bench loads them
        py, pg, wall = time.process_time(), cpu_seconds(pid), time.perf_counter()
        runs = work(ids)
        py, pg, wall = time.process_time() - py, cpu_seconds(pid) - pg, time.perf_counter() - wall
        print(
            f"{label}: {len(ids)} leads, {runs} runs, wall {wall:.1f} s, CPU python {py:.2f} s + postgres {pg:.2f} s"
            f" = {(py + pg) / len(ids) * 1000:.1f} ms per lead; load {open('/proc/loadavg').read().split()[0]}",
            flush=True,
        )

    def set_based(ids: list[int]) -> int:
        return automations_start(
            automation_ids=automations, lead_ids=ids, trigger_event="bench", trigger_key=f"cpu{time.time()}", depth=1
        )

    def one_by_one(ids: list[int]) -> int:
        key, ran = f"one{time.time()}", 0
        for automation_id in automations:
            for run_id in runs_start(automation_id=automation_id, lead_ids=ids, trigger_event="bench", trigger_key=key):
                ran += run_execute(run_id=run_id) is not None
        return ran

    for batch in range(args.batches):
        measure("set-based batch", leads[batch * 500 : (batch + 1) * 500], set_based)
    if args.one_by_one:
        measure("one by one", leads[500 * args.batches :], one_by_one)


if __name__ == "__main__":
    main()
