#!/usr/bin/env python
"""Segment counts over the 1,000,000 leads of leadcrm_bench (read-only shared data).

    .venv/bin/python bench/segment_bench.py [--repeat 5] [--explain]

Times segment_count() (one COUNT in SQL, as the builder's live count runs it) for realistic
definitions: field filters, score and grade, tags, custom attributes, engagement (page views of a
URL pattern, emails opened and clicked, replies) and nested OR groups. Target: under 1 s each.

The bench data has no engagement, so the script adds some inside ONE transaction that it rolls
back at the end: a tracking site, 100,000 visitors with 300,000 page views and 220,000 email
interactions over the last 60 days. Other sessions never see those rows; nothing is left behind.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import benchenv  # noqa: E402

DEFINITIONS: dict[str, dict] = {
    "field filters (status, country, company size)": {
        "match": "all",
        "conditions": [
            {"field": "status", "op": "in", "value": ["new", "nurturing"]},
            {"field": "country", "op": "in", "value": ["FR", "DE"]},
            {"field": "company_size", "op": "in", "value": ["51-200", "201-500"]},
        ],
    },
    "text contains (company)": {
        "match": "all",
        "conditions": [
            {"field": "company", "op": "contains", "value": "tech"},
        ],
    },
    "score and grade": {
        "match": "all",
        "conditions": [
            {"field": "score", "op": "gte", "value": 70},
            {"field": "grade", "op": "in", "value": ["A", "B"]},
        ],
    },
    "created in the last 30 days, unassigned": {
        "match": "all",
        "conditions": [
            {"field": "created_at", "op": "within_last_days", "days": 30},
            {"field": "owner", "op": "in", "value": ["unassigned"]},
        ],
    },
    "tags contain vip": {
        "match": "all",
        "conditions": [
            {"field": "tags", "op": "contains", "value": "vip"},
        ],
    },
    "custom attribute equals": {
        "match": "all",
        "conditions": [
            {"field": "attribute", "key": "landing_page", "op": "equals", "value": "/pricing"},
        ],
    },
    "engagement: visited /pricing in 30 days": {
        "match": "all",
        "conditions": [
            {"field": "visited_url", "op": "in_last_days", "value": "*/pricing*", "days": 30},
        ],
    },
    "engagement: opened or clicked in 14 days, not replied": {
        "match": "all",
        "conditions": [
            {
                "match": "any",
                "conditions": [
                    {"field": "opened_email", "op": "in_last_days", "days": 14},
                    {"field": "clicked_email", "op": "in_last_days", "days": 14},
                ],
            },
            {"field": "replied", "op": "not_in_last_days", "days": 30},
        ],
    },
    "engagement under OR: opened in 60 days or score >= 90": {
        "match": "any",
        "conditions": [
            {"field": "opened_email", "op": "in_last_days", "days": 60},
            {"field": "score", "op": "gte", "value": 90},
        ],
    },
    "nested OR (nurturing and hot or engaged or recent web form)": {
        "match": "all",
        "conditions": [
            {"field": "status", "op": "in", "value": ["nurturing", "new"]},
            {
                "match": "any",
                "conditions": [
                    {"field": "score", "op": "gte", "value": 60},
                    {"field": "visited_url", "op": "in_last_days", "value": "*/pricing*", "days": 30},
                    {
                        "match": "all",
                        "conditions": [
                            {"field": "source", "op": "in", "value": ["web_form"]},
                            {"field": "created_at", "op": "within_last_days", "days": 90},
                        ],
                    },
                ],
            },
        ],
    },
}

ENGAGEMENT_SQL = [
    "INSERT INTO leads_trackingsite (name, key, allowed_hosts, honour_dnt, require_consent, is_active, created_at) "
    "VALUES ('segment bench', 'segment-bench-site', '[]', true, false, true, now())",
    # 100,000 visitors: every 10th lead.
    "INSERT INTO leads_visitor (site_id, visitor_key, lead_id, first_seen_at, last_seen_at) "
    "SELECT s.id, 'sb' || l.id, l.id, now(), now() FROM leads_lead l, leads_trackingsite s "
    "WHERE s.key = 'segment-bench-site' AND l.id % 10 = 0",
    # 3 page views each over 60 days; one URL in five is a pricing page.
    "INSERT INTO leads_pageview (site_id, visitor_id, url, title, referrer, occurred_at, visit_number) "
    "SELECT v.site_id, v.id, CASE WHEN (v.id + n) % 5 = 0 THEN 'https://www.example.com/pricing' "
    "ELSE 'https://www.example.com/blog/post-' || ((v.id + n) % 50) END, '', '', "
    "now() - ((v.id * 7 + n * 13) % 60) * interval '1 day', 1 "
    "FROM leads_visitor v CROSS JOIN generate_series(1, 3) n WHERE v.visitor_key LIKE 'sb%'",
    # Emails opened (150,000), clicked (50,000), replies (20,000).
    "INSERT INTO leads_interaction (lead_id, kind, occurred_at, channel, subject, body, data) "
    "SELECT l.id, 'email_opened', now() - (l.id % 60) * interval '1 day', '', '', '', '{}' "
    "FROM leads_lead l WHERE l.id % 20 IN (1, 2, 3)",
    "INSERT INTO leads_interaction (lead_id, kind, occurred_at, channel, subject, body, data) "
    "SELECT l.id, 'email_clicked', now() - (l.id % 45) * interval '1 day', '', '', '', '{}' "
    "FROM leads_lead l WHERE l.id % 20 = 1",
    "INSERT INTO leads_interaction (lead_id, kind, occurred_at, channel, subject, body, data) "
    "SELECT l.id, 'email_in', now() - (l.id % 30) * interval '1 day', '', '', '', '{}' "
    "FROM leads_lead l WHERE l.id % 50 = 7",
    "ANALYZE leads_visitor",
    "ANALYZE leads_pageview",
    "ANALYZE leads_interaction",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each count")
    parser.add_argument("--only", default="", help="run the definitions whose name contains this text")
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="also time segment_refresh (members written inside the rolled-back transaction)",
    )
    args = parser.parse_args()
    benchenv.setup(migrate=False)
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from leads.nurturing.segments import segment_count, segment_queryset

    reader = User(username="bench", is_superuser=True)  # sees every lead; never saved
    print(f"load average before: {os.getloadavg()}", flush=True)
    with transaction.atomic():
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for statement in ENGAGEMENT_SQL:
                cursor.execute(statement)
        print(f"engagement rows added (uncommitted) in {time.perf_counter() - started:.1f}s", flush=True)
        rows = []
        for name, definition in DEFINITIONS.items():
            if args.only and args.only not in name:
                continue
            timings, count = [], None
            for _ in range(args.repeat):
                started = time.perf_counter()
                count = segment_count(user=reader, definition=definition)
                timings.append(time.perf_counter() - started)
            rows.append((name, count, statistics.median(timings), max(timings)))
            print(
                f"{name:62s} {count:>9,d}  p50 {statistics.median(timings) * 1000:7.0f} ms  "
                f"max {max(timings) * 1000:7.0f} ms",
                flush=True,
            )
            if args.explain:
                queryset = segment_queryset(user=reader, definition=definition).order_by()
                print(queryset.values("pk").explain(analyze=True, buffers=True), flush=True)
        refresh = []
        if args.refresh:
            from leads.models import Segment
            from leads.nurturing.segments import segment_refresh

            definition = DEFINITIONS["score and grade"]
            segment = Segment.objects.create(name="segment bench (rolled back)", definition=definition)
            for label in ("first refresh (everyone enters)", "second refresh (nothing changed)"):
                started = time.perf_counter()
                entered, left = segment_refresh(segment=segment)
                refresh.append((label, len(entered), left, time.perf_counter() - started))
            # Some leave: the segment's own threshold moves (the shared leads are never written).
            Segment.objects.filter(pk=segment.pk).update(
                definition={
                    "match": "all",
                    "conditions": [
                        {"field": "score", "op": "gte", "value": 71},
                        {"field": "grade", "op": "in", "value": ["A", "B"]},
                    ],
                }
            )
            started = time.perf_counter()
            entered, left = segment_refresh(segment=segment)
            refresh.append(
                ("third refresh (score >= 71: some leave)", len(entered), left, time.perf_counter() - started)
            )
            for label, entered_n, left_n, seconds in refresh:
                print(f"{label:40s} entered {entered_n:>8,d} left {left_n:>6,d}  {seconds * 1000:7.0f} ms", flush=True)
        transaction.set_rollback(True)  # the engagement rows (and any segment) were only ever ours
    print(f"load average after: {os.getloadavg()}")
    if refresh:
        print("\n| refresh | entered | left | time |\n|---|---:|---:|---:|")
        for label, entered_n, left_n, seconds in refresh:
            print(f"| {label} | {entered_n:,} | {left_n:,} | {seconds * 1000:.0f} ms |")
    print("\n| definition | leads | p50 | max |\n|---|---:|---:|---:|")
    for name, count, p50, worst in rows:
        print(f"| {name} | {count:,} | {p50 * 1000:.0f} ms | {worst * 1000:.0f} ms |")
    return 0 if all(worst < 1.0 for *_, worst in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
