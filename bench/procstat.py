"""What the benches read of a process from /proc: CPU time, resident memory, its children.

On a shared machine wall times move with everyone else's work; the CPU time a process spent
(utime + stime, fields 14 and 15 of proc(5)) does not, so every bench reports it beside the wall time.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads) in seconds; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def rss_kb(pids: list[int]) -> int:
    """Resident memory of these processes together, in kB (processes that are gone count 0)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
        except FileNotFoundError:
            continue
    return total


def with_children(parent: int) -> list[int]:
    """A process and its direct children (a Celery worker and its pool processes)."""
    children = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout.split()
    return [parent, *map(int, children)]


def process_group(leader: int) -> list[int]:
    """Every process of a process group (a worker started with start_new_session=True)."""
    return [
        int(pid) for pid in subprocess.run(["pgrep", "-g", str(leader)], capture_output=True, text=True).stdout.split()
    ]


def descendants(pid: int) -> list[int]:
    """A process and all its descendants (gunicorn's master and workers), read from /proc now."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        found.append(parent)
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                todo.extend(int(child) for child in task.read_text().split())
            except FileNotFoundError:
                pass
    return found


def pids_named(name: str) -> list[int]:
    """Every process whose command name is `name` (redis-server, wrk)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return pids


def machine_busy_seconds() -> float:
    """CPU time the whole machine (all cores) spent not idle, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLOCK_TICK
