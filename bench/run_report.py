"""What `bench/run.py` writes: the machine it ran on, the results table, the report, and the README's
results block; and waiting for a quiet machine before measuring."""

from __future__ import annotations

import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import benchenv  # noqa: E402

if TYPE_CHECKING:
    from run import Result

BENCH_DIR = Path(__file__).resolve().parent
README = BENCH_DIR / "README.md"
MARK_START = "<!-- bench:results:start -->"
MARK_END = "<!-- bench:results:end -->"


def machine() -> dict:
    from django.db import connection

    info = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["ram_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    import subprocess

    import django

    info["django"] = django.get_version()
    try:
        if os.environ.get("BENCH_CODE_VERSION"):  # e.g. when measuring an exported tree without .git
            raise OSError
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=benchenv.ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=benchenv.ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        info["commit"] = commit + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        info["commit"] = os.environ.get("BENCH_CODE_VERSION", "unknown")
    info["database"] = connection.vendor
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            info["postgres"] = cursor.fetchone()[0]
            names = ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "jit")
            cursor.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in names))
            info["postgres_settings"] = dict(zip(names, cursor.fetchone()))
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('leads_lead'))")
            info["leads_table_size"] = cursor.fetchone()[0]
    return info


def table(results: list[Result]) -> str:
    lines = [
        "| role | endpoint | requests | p50 ms | p95 ms | max ms | queries/request | matches | SQL p50 ms | CPU p50 ms | p95 < 50 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in results:
        count = "" if r.count is None else f"{r.count:,}" + ("" if r.count_exact else " (est.)")
        ok = "yes" if r.meets_target else "**NO**"
        lines.append(
            f"| {r.role} | `{r.path}` | {r.requests} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.max_ms:.1f} | {r.queries_label} "
            f"| {count} | {r.db_p50_ms:.1f} | {r.cpu_p50_ms:.1f} | {ok} |"
        )
    return "\n".join(lines)


def report(results: list[Result], info: dict, args, lead_total: int, load) -> str:
    settings = info.get("postgres_settings", {})
    load_line = (
        f"{load.seconds:.0f} s for {load.leads:,} leads ({', '.join(f'{k} {v:.0f} s' for k, v in load.phases.items())})"
        + ("" if load.loaded else ", measured when the table was last loaded")
        if load.seconds
        else "not measured (the table was already loaded by an earlier run)"
    )
    lines = [
        f"Run: {info['date']} · code at {info['commit']} · {lead_total:,} leads · "
        f"{args.requests} timed requests per endpoint after {args.warmup} warm-up",
        "",
        f"Machine: {info.get('cpu')}, {info.get('cores')} cores, {info.get('ram_gb', '?')} GB RAM · "
        f"Python {info['python']} · Django {info['django']} · "
        + (
            f"PostgreSQL {info['postgres']} (shared_buffers {settings.get('shared_buffers')}, "
            f"work_mem {settings.get('work_mem')}, jit {settings.get('jit')}) · leads table {info['leads_table_size']}"
            if "postgres" in info
            else info["database"]
        ),
        "",
        f"1-minute load average before/after the measurement: {info['loadavg_before']} / {info['loadavg_after']} "
        "(the process under test uses one core; other work on the machine inflates the figures)",
        "",
        f"Machine speed: a fixed loop of 10 million additions took {info.get('speed_before')} s before and "
        f"{info.get('speed_after')} s after the measurement (0.66 s in the fastest stretch seen; higher is slower)",
        "",
        f"Load: {load_line}",
        "",
        table(results),
    ]
    return "\n".join(lines)


def wait_until_quiet(max_seconds: float, threshold: float) -> float:
    """Wait (up to max_seconds) for the 1-minute load average to drop below threshold; return it."""
    deadline = time.monotonic() + max_seconds
    load = os.getloadavg()[0]
    if load >= threshold and max_seconds > 0:
        print(
            f"load average {load:.2f} >= {threshold}: waiting up to {max_seconds:.0f} s for a quiet machine", flush=True
        )
    while load >= threshold and time.monotonic() < deadline:
        time.sleep(5)
        load = os.getloadavg()[0]
    return load


def update_readme(text: str, *, marks: tuple[str, str] | None = None) -> None:
    """Write `text` between the README's result marks (the main table's, or `marks`)."""
    start, end = marks or (MARK_START, MARK_END)
    content = README.read_text() if README.exists() else ""
    if start in content and end in content:
        head, rest = content.split(start, 1)
        _, tail = rest.split(end, 1)
        README.write_text(f"{head}{start}\n{text}\n{end}{tail}")
    else:
        README.write_text(f"{content}\n{start}\n{text}\n{end}\n")
