#!/usr/bin/env python
"""Enrichment throughput: N leads through the offline providers on real Celery workers.

    .venv/bin/python bench/enrich_bench.py [--leads 100000] [--concurrency 2] [--batch 500]

Loads N fresh, unenriched leads into a dedicated database (leadcrm_enrichbench), starts a Celery
worker (prefork, --concurrency) on Redis db 7, enqueues enrich_leads_task in batches, and waits
until every lead has enriched_at. Reports leads/s and the workers' resident memory sampled
every second (it must stay flat as the run goes on). Target: >= 500 leads/s on this 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/leadcrm_enrichbench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/7")
os.environ.setdefault("ENRICHMENT_WEBSITE_ENABLED", "false")  # offline providers only

import benchenv  # noqa: E402
from procstat import rss_kb, with_children  # noqa: E402

FIRST = ["ada", "GRACE", "Linus", "Margaret", "alan", "Barbara", "Ken", "Frances", "Dennis", "Radia", "Ludwig van"]
LAST = [
    "Lovelace",
    "HOPPER",
    "Torvalds",
    "Hamilton",
    "turing",
    "Liskov",
    "Thompson",
    "Allen",
    "Ritchie",
    "Perlman",
    "Beethoven",
]
DOMAINS = [
    "initech.com",
    "acme-widgets.co.uk",
    "gmail.com",
    "globex.com.au",
    "umbrella.de",
    "yahoo.fr",
    "mailinator.com",
    "hooli.io",
]
PHONES = ["+44207946{:04d}", "+1415555{:04d}", "+6129123{:04d}", "+4930123{:04d}", "+3361234{:04d}", ""]
TITLES = [
    "VP Sales",
    "Head of Engineering",
    "CTO",
    "Marketing Manager",
    "Software Engineer",
    "Director of IT",
    "Founder & CEO",
    "",
]


worker_pids = with_children


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    benchenv.setup()
    from django.db import connection

    from leadcrm.celery import app
    from leads.enrichment.tasks import enrich_leads_task
    from leads.models import EnrichmentValue, Interaction, Lead

    rng = random.Random(7)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE leads_lead RESTART IDENTITY CASCADE")
    rows = []
    for i in range(args.leads):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append(
            Lead(
                first_name=first if not first.endswith(" van") else f"{first} {last}",
                last_name="" if first.endswith(" van") else last,
                email=f"{first.split()[0].lower()}.{i}@{rng.choice(DOMAINS)}",
                phone=rng.choice(PHONES).format(i % 10000),
                job_title=rng.choice(TITLES),
                source="import",
                processed_at=None,
            )
        )
        if len(rows) == 5000:
            Lead.objects.bulk_create(rows)
            rows = []
    Lead.objects.bulk_create(rows)
    print(f"loaded {args.leads} leads in {time.monotonic() - started:.1f}s", flush=True)

    app.control.purge()
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
            str(args.concurrency),
            "--prefetch-multiplier",
            "1",
            "-Q",
            "celery",
        ],
        cwd=benchenv.ROOT,
        env={**os.environ},
    )
    try:
        time.sleep(3)  # let the pool start before the clock runs
        ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
        started = time.monotonic()
        for start in range(0, len(ids), args.batch):
            enrich_leads_task.delay(ids[start : start + args.batch])
        samples = []
        while True:
            done = Lead.objects.filter(enriched_at__isnull=False).count()
            samples.append((time.monotonic() - started, done, rss_kb(worker_pids(worker.pid))))
            if done >= len(ids):
                break
            if time.monotonic() - started > 1800:
                print("timed out", file=sys.stderr)
                return 1
            time.sleep(1)
        elapsed = time.monotonic() - started
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    rate = len(ids) / elapsed
    memory = [kb for _, _, kb in samples]
    quarter = max(1, len(memory) // 4)
    print(f"enriched {len(ids)} leads in {elapsed:.1f}s = {rate:.0f} leads/s with {args.concurrency} worker processes")
    print(
        f"worker RSS (all processes): first quarter max {max(memory[:quarter]) / 1024:.0f} MiB, "
        f"last quarter max {max(memory[-quarter:]) / 1024:.0f} MiB, overall max {max(memory) / 1024:.0f} MiB"
    )
    print(
        f"provenance rows {EnrichmentValue.objects.count()}, timeline entries {Interaction.objects.filter(kind='enrichment').count()}, "
        f"leads changed {Lead.objects.filter(interactions__kind='enrichment').distinct().count()}"
    )
    return 0 if rate >= 500 else 1


if __name__ == "__main__":
    sys.exit(main())
