#!/usr/bin/env python
"""Applying a tree model to open leads: what computing costs and what writing costs.

    DATABASE_URL=postgres://…/<db> .venv/bin/python bench/tree_apply_bench.py

Run after bench/model_choice_bench.py (its closed leads and its trained tree model stay in the
database). Every lead is opened (probability cleared), then probabilities_update() runs twice in
this one process: the first computes and writes every lead (the first application of a model), the
second computes every lead and writes none (a retrain that moves nothing). Wall and CPU time of
each; the CPU per lead of the second run is the compute cost a worker pays, from which the
1,000,000-lead figure on 2 worker processes is extrapolated (the writes are the row-write cost of
leads_lead, worked on separately).
"""
import os
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/leadcrm_choicebench")

import benchenv  # noqa: E402


def main() -> int:
    benchenv.setup()
    from leads.models import Lead
    from leads.scoring import predictive
    from leads.scoring.predictive.applying import is_boosted, tree_predictor

    model = predictive.model_current()
    assert is_boosted(model), "run bench/model_choice_bench.py first (it leaves a tree model)"
    tree_predictor(model)  # loaded once per worker process, as in the worker
    n = Lead.objects.update(status="new", probability=None)
    figures = {"leads": f"{n:,}", "trees": str(len(tree_predictor(model)[0]["trees"]))}
    for name in ("first: every lead written", "again: nothing written"):
        started, cpu = time.perf_counter(), time.process_time()
        written = predictive.probabilities_update()
        wall, used = time.perf_counter() - started, time.process_time() - cpu
        figures[name] = f"{wall:.1f} s wall, {used:.1f} s CPU, {written:,} written"
        figures[f"_{name}"] = (wall, used)
    wall, cpu = figures.pop("_again: nothing written")
    figures.pop("_first: every lead written")
    figures["compute CPU per 100,000 leads"] = f"{cpu / n * 100_000:.1f} s"
    figures["1,000,000 leads on 2 workers, compute only (extrapolated)"] = f"{cpu / n * 1_000_000 / 2:.0f} s"
    figures["load avg (1/5/15 min)"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    for key, value in figures.items():
        print(f"{key}: {value}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
