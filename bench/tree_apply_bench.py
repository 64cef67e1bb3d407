#!/usr/bin/env python
"""Applying a tree model to open leads: what computing costs and what writing costs.

    DATABASE_URL=postgres://…/<db> .venv/bin/python bench/tree_apply_bench.py
    DATABASE_URL=postgres://…/<db> .venv/bin/python bench/tree_apply_bench.py --leads 1000000 [--reload] [--trees 95]

Without --leads: run after bench/model_choice_bench.py (its closed leads and its trained tree model
stay in the database). Every lead is opened (probability cleared), then probabilities_update() runs
twice in this one process: the first computes and writes every lead (the first application of a
model), the second computes every lead and writes none (a retrain that moves nothing). Wall and CPU
time of each; the CPU per lead of the second run is the compute cost a worker pays.

With --leads N: the production path at scale. N leads from bench/load_leads.py (the realistic lead
table: every index, the trigram haystack), a tree model of --trees trees (fitted here on a sample of
the closed leads, a fixed number of boosting rounds: what a trained model costs to walk, whatever
it learned) made the model in use, then the rescore a training starts (rescore_all_start() → the
Celery worker's processes → one task per range of ids) timed twice, as bench/score_bench.py does:
run 1 is the model's first application (every open lead gets a new probability and a new score)
when the leads' probabilities are the loader's random ones (right after `--reload` or
`bench/score_bench.py --reload`; a second bench on the same leads fits the same trees, so its run 1
moves nothing), run 2 applies it again (nothing moves, nothing is written: the compute cost alone).
"""

import argparse
import os
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/leadcrm_choicebench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")  # the worker it starts and it share a broker

import benchenv  # noqa: E402

SAMPLE = 20_000  # closed leads the bench's trees are fitted on


def in_process() -> int:
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


def tree_model_install(*, trees: int):
    """A tree model of `trees` boosting rounds over the columns training would choose, fitted on a
    sample of the closed leads, saved as the model in use."""
    import numpy as np

    from leads.models import ScoringModel
    from leads.scoring.predictive.boosted import hgb_export, hgb_fit
    from leads.scoring.predictive.encoding import candidate_features
    from leads.scoring.predictive.tabular import categorical_mask, table, tree_columns
    from leads.scoring.predictive.training import closed_rows

    started = time.perf_counter()
    outcomes: list[int] = []
    rows = []
    for row in closed_rows(outcomes):
        rows.append(row)
        if len(rows) >= SAMPLE:
            break
    columns = tree_columns([feature for _, feature in candidate_features(rows)])
    X = table(rows, columns)
    y = np.asarray(outcomes[: len(rows)], dtype=np.int8)
    fitted = hgb_fit(X, y, categorical=categorical_mask(columns), seed=7, max_iter=trees)
    exported = hgb_export(fitted)
    exported["columns"] = columns
    model = ScoringModel.objects.create(
        status=ScoringModel.Status.READY,
        kind=ScoringModel.Kind.BOOSTED,
        trees=exported,
        n_closed=len(y),
        n_won=int(y.sum()),
        n_lost=int(len(y) - y.sum()),
        message="bench/tree_apply_bench.py",
    )
    print(
        f"tree model #{model.pk}: {len(exported['trees'])} trees over {len(columns)} columns, fitted on "
        f"{len(y):,} closed leads in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return model


def at_scale(args) -> int:
    from load_leads import load_leads
    from score_bench import rescore_runs

    from leads.models import Lead, ScoringModel
    from leads.scoring.service import OPEN

    load_leads(args.leads, reload=args.reload)
    ScoringModel.objects.filter(message="bench/tree_apply_bench.py").delete()
    model = tree_model_install(trees=args.trees)
    try:
        open_leads = Lead.objects.filter(status__in=OPEN).count()
        print(f"{open_leads:,} open leads of {Lead.objects.count():,}", flush=True)
        runs = rescore_runs(workers=args.workers)
    finally:
        model.delete()  # the bench's model must not stay in use for the other benches on this database
    print("load avg (1/5/15 min): " + " ".join(Path("/proc/loadavg").read_text().split()[:3]))
    return 0 if runs and runs[0] <= 60 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=0, help="load this many leads and rescore them on the workers")
    parser.add_argument("--reload", action="store_true", help="load the leads afresh")
    parser.add_argument("--trees", type=int, default=95, help="boosting rounds of the bench's model")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (0: in this process)")
    args = parser.parse_args()
    benchenv.setup()
    return at_scale(args) if args.leads else in_process()


if __name__ == "__main__":
    sys.exit(main())
