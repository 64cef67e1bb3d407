#!/usr/bin/env python
"""The learned score against scikit-learn on a lead file like the public "Lead Scoring" one.

    .venv/bin/python bench/onehot_bench.py [--sizes 9240 100000] [--seed 1] [--readme]

For each size: writes a file from bench/lead_scoring_data.py (37 columns: categoricals with
"Select" placeholders, yes/no strings, numbers with blanks, free-form tags, a won/lost Status),
imports it with `import_leads --id-column "Prospect ID"` into a dedicated database
(leadcrm_mlbench), trains with `train_scoring --no-rescore` in a child process (its wall time and
peak memory), and compares the model's held-out AUC with scikit-learn trained directly on the
file's columns over the very same split (the model's own: closed leads newest first, 25 %
stratified with its seed): a plain one-hot LogisticRegression (blanks as their own level, numbers
median-imputed with a missing flag and standardised) and HistGradientBoostingClassifier (native
categoricals). Then it opens every imported lead and times probabilities_update() writing all of
them. With --readme the table goes to bench/README.md between the onehot-bench markers.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/leadcrm_mlbench")

import benchenv  # noqa: E402
import numpy as np  # noqa: E402
from lead_scoring_data import write_csv  # noqa: E402

NUMERIC = (
    "Lead Number",
    "TotalVisits",
    "Total Time Spent on Website",
    "Page Views Per Visit",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
)
NOT_FEATURES = ("Prospect ID", "Status")


def sklearn_matrices(header: list[str], rows: list[list[str]]):
    """(one-hot matrix for LogisticRegression, ordinal matrix + categorical mask for HGB)."""
    from scipy import sparse
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    index = {name: i for i, name in enumerate(header)}
    categorical = [name for name in header if name not in NUMERIC and name not in NOT_FEATURES]
    cats = np.array([[row[index[name]] or "(blank)" for name in categorical] for row in rows], dtype=object)
    nums = np.array(
        [[float(row[index[name]]) if row[index[name]] != "" else np.nan for name in NUMERIC] for row in rows]
    )
    missing = np.isnan(nums)
    filled = np.where(missing, np.nanmedian(nums, axis=0), nums)
    onehot = sparse.hstack(
        [
            OneHotEncoder(handle_unknown="ignore").fit_transform(cats),
            sparse.csr_matrix(StandardScaler().fit_transform(filled)),
            sparse.csr_matrix(missing[:, missing.any(axis=0)].astype(float)),
        ]
    ).tocsr()
    ordinal = np.hstack([OrdinalEncoder().fit_transform(cats), nums])
    mask = [True] * len(categorical) + [False] * len(NUMERIC)
    return onehot, ordinal, mask


def run(n: int, *, seed: int, say) -> dict:
    from django.core.management import call_command
    from django.db import connection
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from leads.models import Lead, ScoringModel
    from leads.scoring import predictive

    path = Path(tempfile.gettempdir()) / f"lead-scoring-{n}-{seed}.csv"
    header, rows, _ = write_csv(path, n=n, seed=seed)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE leads_lead RESTART IDENTITY CASCADE")
    ScoringModel.objects.all().delete()
    started = time.perf_counter()
    call_command("import_leads", str(path), "--id-column", "Prospect ID", stdout=open(os.devnull, "w"))
    import_seconds = time.perf_counter() - started
    imported = Lead.objects.filter(status__in=("converted", "lost")).count()
    say(f"  {n:,} rows: imported {imported:,} closed leads in {import_seconds:.0f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) leads_lead")

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "train_scoring", "--no-rescore", "--top", "10"],
        check=True,
        cwd=benchenv.ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
    )
    train_seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    model = predictive.model_current()
    assert model is not None, ScoringModel.objects.order_by("-id").first().message

    # The model's own split: closed leads newest first, the same stratified 25 % with the same seed.
    by_id = {row[0]: i for i, row in enumerate(rows)}
    order = list(
        Lead.objects.filter(status__in=("converted", "lost")).order_by("-id").values_list("external_id", "status")
    )
    picked = np.array([by_id[external_id] for external_id, _ in order])
    y = np.array([1 if status == "converted" else 0 for _, status in order])
    train, test = train_test_split(
        np.arange(len(y)), test_size=predictive.HOLDOUT_SHARE, stratify=y, random_state=predictive.SEED
    )
    onehot, ordinal, mask = sklearn_matrices(header, [rows[i] for i in picked])
    started = time.perf_counter()
    logistic = LogisticRegression(max_iter=5000).fit(onehot[train], y[train])
    lr_seconds = time.perf_counter() - started
    lr_auc = roc_auc_score(y[test], logistic.predict_proba(onehot[test])[:, 1])
    started = time.perf_counter()
    boosted = HistGradientBoostingClassifier(categorical_features=mask, random_state=seed).fit(ordinal[train], y[train])
    hgb_seconds = time.perf_counter() - started
    hgb_auc = roc_auc_score(y[test], boosted.predict_proba(ordinal[test])[:, 1])

    # Applying the model: every imported lead opened, then one set-based write of all of them.
    Lead.objects.update(status="new", probability=None)
    started = time.perf_counter()
    written = predictive.probabilities_update()
    update_seconds = time.perf_counter() - started
    return {
        "rows": f"{n:,}",
        "won share": f"{y.mean():.1%}",
        "import s": f"{import_seconds:.0f}",
        "features": f"{len(model.features)}",
        "train_scoring s": f"{train_seconds:.1f}",
        "train peak RSS MB": f"{after.ru_maxrss / 1024:.0f}",
        "ours AUC": f"{model.auc:.4f}",
        "one-hot LR AUC": f"{lr_auc:.4f}",
        "HGB AUC": f"{hgb_auc:.4f}",
        "ours − LR": f"{model.auc - lr_auc:+.4f}",
        "LR / HGB fit s": f"{lr_seconds:.1f} / {hgb_seconds:.1f}",
        "probabilities_update() all": f"{update_seconds:.1f} s ({written:,})",
        "_peak_before": before.ru_maxrss,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[9_240, 100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--readme", action="store_true", help="write the table to bench/README.md")
    args = parser.parse_args()
    benchenv.setup()

    def say(text: str) -> None:
        print(text, flush=True)

    results = []
    for n in args.sizes:
        result = run(n, seed=args.seed, say=say)
        result.pop("_peak_before")
        load = Path("/proc/loadavg").read_text().split()[:3]
        result["load avg (1/5/15 min)"] = " ".join(load)
        results.append(result)
        say("  " + ", ".join(f"{key}: {value}" for key, value in result.items()))
    keys = list(results[0])
    table = "\n".join(
        [
            "| " + " | ".join(keys) + " |",
            "|" + "---|" * len(keys),
            *("| " + " | ".join(result[key] for key in keys) + " |" for result in results),
        ]
    )
    say("\n" + table)
    if args.readme:
        benchenv.readme_block_replace(name="onehot-bench", text=table)
    worst = min(float(result["ours − LR"]) for result in results)
    say(
        f"\n{'OK' if worst >= -0.01 else 'MISSED'}: ours within 0.01 AUC of the one-hot logistic regression (worst {worst:+.4f})"
    )
    return 0 if worst >= -0.01 else 1


if __name__ == "__main__":
    sys.exit(main())
