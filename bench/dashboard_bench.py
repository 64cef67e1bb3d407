#!/usr/bin/env python
"""Managers' dashboards against the 1,000,000-lead bench database, uncached.

    .venv/bin/python bench/dashboard_bench.py [--runs 7] [--only funnel,sources] [--explain] [--update-readme]

Each dashboard's page (its SVG chart), its table view and its CSV export are rendered in-process
through Django's RequestFactory with the `manager` user of the bench data (the same user query as
a real request: the notification-count backend), the whole view and template included, with
DASHBOARD_CACHE_SECONDS=0 so every request runs its aggregate ("cold": nothing from Django's cache;
PostgreSQL's buffer cache is whatever the previous runs left, and the first run is shown apart).
Variants: the default range (last 90 days), one team, and a full year. READ-ONLY: no migrate, no
session rows (no login), nothing written. --explain prints EXPLAIN (ANALYZE, BUFFERS) of each
aggregate. Target: p95 < 500 ms per chart. The exit status is 1 when one misses it.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
os.environ["DASHBOARD_CACHE_SECONDS"] = "0"  # cold: every request aggregates

import benchenv  # noqa: E402

TARGET_MS = 500.0
README = BENCH_DIR / "README.md"
MARK = "<!-- dashboards:{block}:{end} -->"  # each --block has its own table in bench/README.md


def _request(path: str, params: dict, user):
    from django.test import RequestFactory
    from django_htmx.middleware import HtmxDetails

    request = RequestFactory().get(path, params)
    request.user = user
    request.htmx = HtmxDetails(request)
    request.session = {}
    return request


def measure(*, view, args, params, user, runs: int) -> dict:
    """Render the view `runs` times (fresh user object each time, like a request): times in ms, queries."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from leads.workspace.notifications import NotificationCountBackend

    times, queries, status = [], 0, None
    for _ in range(runs):
        started = time.perf_counter()
        user_fresh = NotificationCountBackend().get_user(user.pk)
        with CaptureQueriesContext(connection) as captured:
            response = view(_request("/", params, user_fresh), *args)
            body = b"".join(response.streaming_content) if response.streaming else response.content
        times.append((time.perf_counter() - started) * 1000)
        queries, status = len(captured) + 1, response.status_code
        assert body
        reset_queries()
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "first": times[0],
        "p50": statistics.median(times),
        "p95": p95,
        "max": ordered[-1],
        "queries": queries,
        "status": status,
    }


def _patch_open_count() -> None:
    """The agents' board's open-lead count as COUNT(*): an index-only scan of lead_owner_status_idx
    (COUNT(id) reads every open lead's heap row)."""
    from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce

    from leads.distribution import selectors
    from leads.distribution.availability import OPEN_STATUSES
    from leads.models import Lead

    def open_count():
        return Coalesce(
            Subquery(
                Lead.objects.filter(owner_id=OuterRef("pk"), status__in=OPEN_STATUSES)
                .order_by()
                .values("owner_id")
                .annotate(n=Count("*"))
                .values("n")[:1],
                output_field=IntegerField(),
            ),
            Value(0),
        )

    selectors._open_count = open_count


def explain(*, slug: str, user, start, end, team) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leads.reporting.dashboards import DASHBOARDS

    with CaptureQueriesContext(connection) as captured:
        DASHBOARDS[slug].query(user=user, start=start, end=end, team=team)
    for query in captured.captured_queries:
        if re.match(r"\s*(SELECT|DECLARE)", query["sql"]) and "auth_group" not in query["sql"]:
            sql = re.sub(r'^DECLARE "[^"]+" NO SCROLL CURSOR (WITH HOLD )?FOR ', "", query["sql"])
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                print(f"--- {slug}: {sql[:160]}…")
                print("\n".join(row[0] for row in cursor.fetchall()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", default="")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument(
        "--count-star",
        action="store_true",
        help="measure the agents' board with COUNT(*) instead of COUNT(id) in its open-leads subquery "
        "(a proposed one-line change to leads/distribution/selectors.py; patched at run time here)",
    )
    parser.add_argument("--label", default="", help="a note for the README line (e.g. the scratch index)")
    parser.add_argument("--block", default="bench", help="which block of bench/README.md --update-readme replaces")
    args = parser.parse_args()
    benchenv.setup(migrate=False)
    if args.count_star:
        _patch_open_count()

    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from leads.models import Lead, Team
    from leads.reporting.dashboards import DASHBOARDS
    from leads.views.dashboards import dashboard_chart_view, dashboard_export_view, dashboard_index_view

    manager = User.objects.get(username="manager")
    team = Team.objects.order_by("name").first()
    today = timezone.localdate()
    variants = {
        "90 days": {"start": (today - timedelta(days=89)).isoformat(), "end": today.isoformat()},
        "90 days, one team": {
            "start": (today - timedelta(days=89)).isoformat(),
            "end": today.isoformat(),
            "team": team.pk,
        },
        "365 days": {"start": (today - timedelta(days=364)).isoformat(), "end": today.isoformat()},
    }
    slugs = [s for s in DASHBOARDS if not args.only or s in args.only.split(",")]
    leads = Lead.objects.count()
    load_before = os.getloadavg()
    if args.explain:
        for slug in slugs:
            explain(slug=slug, user=manager, start=today - timedelta(days=89), end=today, team=None)
        return 0

    # Untimed: import the views' modules and compile the templates once, as a running server has.
    measure(view=dashboard_chart_view, args=("speed",), params=variants["90 days"], user=manager, runs=1)
    rows = []
    index = measure(view=dashboard_index_view, args=(), params=variants["90 days"], user=manager, runs=args.runs)
    rows.append(("overview page (charts load separately)", "90 days", "page", index))
    for slug in slugs:
        for variant, params in variants.items():
            result = measure(view=dashboard_chart_view, args=(slug,), params=params, user=manager, runs=args.runs)
            rows.append((slug, variant, "chart", result))
            print(
                f"{slug:11} {variant:18} chart  first {result['first']:7.1f}  p50 {result['p50']:7.1f}  p95 {result['p95']:7.1f} ms  {result['queries']} queries",
                flush=True,
            )
        for kind, view, extra in (
            ("table", dashboard_chart_view, {"view": "table"}),
            ("csv", dashboard_export_view, {}),
        ):
            result = measure(
                view=view, args=(slug,), params={**variants["90 days"], **extra}, user=manager, runs=args.runs
            )
            rows.append((slug, "90 days", kind, result))
            print(
                f"{slug:11} {'90 days':18} {kind:6} first {result['first']:7.1f}  p50 {result['p50']:7.1f}  p95 {result['p95']:7.1f} ms  {result['queries']} queries",
                flush=True,
            )
    load_after = os.getloadavg()
    missed = [r for r in rows if r[3]["p95"] >= TARGET_MS or r[3]["status"] != 200]
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0].split()[0]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Run {stamp} on {platform.node()} ({os.cpu_count()} CPUs), PostgreSQL {version}, {leads:,} leads, "
        f"{args.runs} runs each, DASHBOARD_CACHE_SECONDS=0{'; ' + args.label if args.label else ''}"
        f"{'; agents board with COUNT(*)' if args.count_star else ''}; 1-minute load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after.",
        "",
        "| dashboard | range | view | first ms | p50 ms | p95 ms | queries | < 500 ms |",
        "|---|---|---|---:|---:|---:|---:|:---:|",
    ]
    for slug, variant, kind, r in rows:
        ok = "yes" if r["p95"] < TARGET_MS and r["status"] == 200 else "**no**"
        lines.append(
            f"| {slug} | {variant} | {kind} | {r['first']:.0f} | {r['p50']:.0f} | {r['p95']:.0f} | {r['queries']} | {ok} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.update_readme:
        text = README.read_text()
        start, end = MARK.format(block=args.block, end="start"), MARK.format(block=args.block, end="end")
        block = f"{start}\n{table}\n{end}"
        if start in text:
            text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        README.write_text(text)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
