#!/usr/bin/env python
"""Bulk rescore at scale: every open lead, set-based, on PostgreSQL.

    .venv/bin/python bench/score_bench.py [--leads 1000000] [--active-share 0.1] [--workers 2] [--reload]

Loads --leads leads into a dedicated database (leadcrm_scorebench, with bench/load_leads.py),
gives a share of them recent engagement (page views of /pricing and other pages, form submits,
calls: about five interactions each, inserted set-based), enables the shipped default rules, and
times leads_rescore() over all open leads: the engagement aggregate, then one UPDATE per 100,000
ids writing fit points, score, grade; plus the timeline entries for significant changes and MQL
qualification. Target on this 2-core machine: under 2 minutes for 1,000,000 leads.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/leadcrm_scorebench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/8")

import benchenv  # noqa: E402
from run_report import wait_until_quiet  # noqa: E402

CLOCK_TICK = os.sysconf("SC_CLK_TCK")
RANGE_LINE = re.compile(r"rescore range (\d+)-(\d+): (\d+) leads, compute ([\d.]+) s, write ([\d.]+) s")


def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (fields 14 and 15 of proc(5)); None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def _backends(cursor) -> list[int]:
    """This database's other PostgreSQL backends (the workers' connections; PostgreSQL runs here)."""
    cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
    return [pid for (pid,) in cursor.fetchall()]


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            found += [int(child), *_children(int(child))]
    return found


def _sample(seen: dict[int, tuple[float, float]], connection, worker) -> None:
    """Note the CPU time of the worker's processes and of this database's backends (the first and
    the latest figure of each: a backend that appears mid-run counts from when it was first seen)."""
    with connection.cursor() as cursor:
        pids = _backends(cursor)
    for pid in pids + (_children(worker.pid) if worker is not None else []):
        cpu = _cpu_seconds(pid)
        if cpu is not None:
            seen[pid] = (seen.get(pid, (cpu, cpu))[0], cpu)


def _wal(connection) -> tuple[int, int, int]:
    """WAL bytes and full-page images written so far, and checkpoints begun (pg_stat_wal and
    pg_stat_bgwriter, PostgreSQL 14+): a rewrite right after a checkpoint pays a full-page image for
    every page it touches first, so a run's time depends on where the checkpoint cycle stands."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT w.wal_bytes, w.wal_fpi, b.checkpoints_timed + b.checkpoints_req FROM pg_stat_wal w, pg_stat_bgwriter b"
        )
        return tuple(int(value) for value in cursor.fetchone())


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def rescore_runs(*, workers: int, count: int = 2) -> list[float] | None:
    """Rescore every open lead `count` times (on `workers` Celery worker processes, or in this process
    with 0), printing each run's time, load average, per-range compute and write, and CPU; returns
    the wall times (None when a run failed). Also used by bench/tree_apply_bench.py."""
    from django.db import connection

    from leads.models import OutboxJob, ScoreJob
    from leads.scoring.service import leads_rescore, rescore_all_start

    runs: list[float] = []
    worker = None
    # A rescore left pending by an interrupted run would be taken as this run's (rescore_all_start
    # reuses a pending job) while its message is gone with that run's broker: close it first.
    ScoreJob.objects.filter(status__in=("pending", "running")).update(
        status="failed", message="left by an interrupted bench run"
    )
    OutboxJob.objects.filter(task_name__startswith="leads.scoring.tasks.").delete()
    if workers:
        from leadcrm.celery import app

        app.control.purge()
        # The worker logs at INFO: its range tasks say what each range cost (compute, write).
        log = Path(tempfile.mkdtemp(prefix="score_bench_")) / "worker.log"
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
                str(workers),
                "--prefetch-multiplier",
                "1",
                "-Q",
                "celery",
            ],
            cwd=benchenv.ROOT,
            env={**os.environ, "LOG_LEVEL": "INFO"},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        time.sleep(4)  # let the pool start before the clock runs
    # A quiet machine: the load average a --reload leaves behind is the loader's, not the rescore's.
    wait_until_quiet(180, 0.5)
    try:
        # Run 1 rewrites nearly every open lead (the loader's random scores all change: the worst case,
        # as after a rule that touches everyone); run 2 is the steady state, where only leads whose
        # engagement decayed or whose rules changed are rewritten.
        for attempt in range(count):
            load_before = _load()
            wal_before = _wal(connection)
            seen: dict[int, tuple[float, float]] = {}  # pid → (CPU at first sight, CPU last seen)
            _sample(seen, connection, worker)
            log_at = log.stat().st_size if worker is not None else 0
            started = time.monotonic()
            if worker is None:
                result = leads_rescore()
                scored, logged, qualified = result.scored, result.logged, len(result.qualified)
            else:
                job = rescore_all_start(reason=f"bench run {attempt + 1}")
                while ScoreJob.objects.filter(pk=job.pk, status__in=("pending", "running")).exists():
                    if time.monotonic() - started > 1800:
                        print("timed out", file=sys.stderr)
                        return None
                    _sample(seen, connection, worker)
                    time.sleep(0.5)
                _sample(seen, connection, worker)
                job.refresh_from_db()
                if job.status != "done":
                    print(f"rescore {job.status}: {job.message}", file=sys.stderr)
                    return None
                scored, logged, qualified = job.processed, job.logged, job.qualified
            runs.append(time.monotonic() - started)
            wal = [after - before for before, after in zip(wal_before, _wal(connection))]
            how = f"{workers} worker processes" if worker is not None else "in-process"
            print(
                f"run {attempt + 1} ({how}): {scored} open leads rescored in {runs[-1]:.1f}s "
                f"({scored / runs[-1]:,.0f} leads/s); {logged} significant changes logged, {qualified} qualified; "
                f"load average {load_before} → {_load()}; WAL {wal[0] / 2**30:.1f} GiB, {wal[1]:,} full-page images, "
                f"{wal[2]} checkpoints",
                flush=True,
            )
            if worker is not None:
                with log.open() as lines:
                    lines.seek(log_at)
                    ranges = [tuple(float(v) for v in m.groups()) for m in RANGE_LINE.finditer(lines.read())]
                cpu = sum(last - first for first, last in seen.values())
                if ranges:
                    compute = [r[3] for r in ranges]
                    write = [r[4] for r in ranges]
                    print(
                        f"  {len(ranges)} ranges: compute {sum(compute):.1f} s (mean {sum(compute) / len(ranges):.2f}, "
                        f"max {max(compute):.2f}), write {sum(write):.1f} s (mean {sum(write) / len(ranges):.2f}, "
                        f"max {max(write):.2f}); CPU of the worker processes and their PostgreSQL backends {cpu:.1f} s",
                        flush=True,
                    )
                    for start, end, leads, c, w in ranges:
                        print(f"    ids {start:.0f}-{end:.0f}: {leads:.0f} leads, compute {c:.2f} s, write {w:.2f} s")
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=60)
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--active-share", type=float, default=0.1, help="share of leads with recent interactions")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (0: in this process)")
    parser.add_argument(
        "--reload", action="store_true", help="load the leads afresh (random scores again: run 1 is the worst case)"
    )
    args = parser.parse_args()
    benchenv.setup()
    from django.db import connection
    from load_leads import load_leads

    from leads.models import Interaction, Lead, ScoringRule
    from leads.scoring.service import OPEN

    load_leads(args.leads, reload=args.reload)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM leads_interaction WHERE channel = 'bench'")
        started = time.monotonic()
        # ~5 recent interactions for every 1/share-th lead, spread over the last 60 days.
        step = max(1, round(1 / args.active_share))
        cursor.execute(
            """
            INSERT INTO leads_interaction (lead_id, kind, occurred_at, channel, subject, body, data)
            SELECT l.id, k.kind, now() - (random() * interval '60 days'), 'bench', '', k.body, '{}'::jsonb
            FROM leads_lead l
            CROSS JOIN (VALUES ('page_view', 'https://www.example.com/pricing'), ('page_view', 'https://www.example.com/blog/a'),
                               ('page_view', 'https://www.example.com/demo'), ('form_submit', ''), ('call_out', '')) AS k(kind, body)
            WHERE l.id %% %s = 0
            """,
            [step],
        )
        inserted = cursor.rowcount
        cursor.execute("ANALYZE leads_interaction")
    print(f"{inserted} interactions for 1 in {step} leads in {time.monotonic() - started:.1f}s", flush=True)
    open_leads = Lead.objects.filter(status__in=OPEN).count()
    rules = ScoringRule.objects.filter(is_active=True).count()
    runs = rescore_runs(workers=args.workers)
    if runs is None:
        return 1
    print(
        f"PostgreSQL {connection.pg_version}; {open_leads} open of {Lead.objects.count()} leads; {rules} active rules; "
        f"{Interaction.objects.filter(channel='bench').count()} engagement interactions"
    )
    return 0 if max(runs) < 120 else 1


if __name__ == "__main__":
    sys.exit(main())
