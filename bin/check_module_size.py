"""Fail when a Python module of ours is over the house limit (500 lines; migrations excepted)."""

import sys
from pathlib import Path

LIMIT = 500
ROOTS = ("leadcrm", "leads", "customers", "tests", "bench", "bin")

root = Path(__file__).resolve().parent.parent
too_long = []
for top in ROOTS:
    for path in sorted((root / top).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        lines = sum(1 for _ in path.open(encoding="utf-8"))
        if lines > LIMIT:
            too_long.append((lines, path.relative_to(root)))
for lines, path in too_long:
    print(f"{path}: {lines} lines (limit {LIMIT}): split it into modules that show their parts")
sys.exit(1 if too_long else 0)
