#!/usr/bin/env python
"""Benchmark the lead lists at scale: p50/p95/max latency and queries per request.

    .venv/bin/python bench/run.py [--leads 1000000] [--requests 200] [--reload] [--update-readme]

1. Loads --leads leads into the bench database (bench/load_leads.py; skipped when
   the table already holds that many). DATABASE_URL defaults to
   postgres://postgres@127.0.0.1:5432/leadcrm_bench, created and migrated if missing.
2. Requests each endpoint in-process through Django's test Client (the whole
   middleware stack, DEBUG off), as a manager (sees every lead) and as a sales rep
   (the visibility rule applies): --warmup requests first, then --requests timed
   ones. Every response must be 200 and the number of queries per request
   (CaptureQueriesContext) must not vary; otherwise the run fails.
3. Prints the table, writes it with the machine details to bench/results/ and,
   with --update-readme, into bench/README.md between the result markers.

Target (PostgreSQL, 1,000,000 leads, this 2-core machine): p95 < 50 ms per request.
--explain prints EXPLAIN ANALYZE of every query of one request per endpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import benchenv  # noqa: E402  (sets the environment before Django is imported)
from run_report import README, machine, report, update_readme, wait_until_quiet  # noqa: E402

TARGET_P95_MS = 50.0
RESULTS_DIR = BENCH_DIR / "results"

# Search terms typed into ?search= (matches in the default 1M data set, all leads / rep01's):
# a person's full name (3 / 2), a surname (2,147 / 248), the start of a common name
# (15,063 / 782), a three-letter fragment found in one lead in eleven (90,694 / 8,688),
# and a company suffix found mostly outside rep01's territory (14,946 / 3: load_leads gives rep01
# three of them, issue 22 §1's "few of my own among many elsewhere", the case that walked the whole
# date index): what a rep types to check whether a German company is in the CRM at all.
DEFAULT_SEARCH = {
    "rare": "kristen graham",
    "medium": "smith",
    "frequent": "mart",
    "common": "son",
    "other territory": "gmbh",
}


@dataclass
class Endpoint:
    name: str
    role: str  # "manager" or "rep"
    path: str
    api: bool


@dataclass
class Result:
    endpoint: str
    role: str
    path: str
    requests: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    mean_ms: float
    db_p50_ms: float
    cpu_p50_ms: float
    queries: list[int]
    count: int | None = None
    count_exact: bool | None = None
    rows: int | None = None
    errors: list[str] = field(default_factory=list)
    query_breakdown: list[dict] = field(default_factory=list)  # per query position: p50/p95 ms and SQL

    @property
    def queries_constant(self) -> bool:
        return len(set(self.queries)) == 1

    @property
    def queries_label(self) -> str:
        values = sorted(set(self.queries))
        if not values:
            return "n/a"
        return str(values[0]) if len(values) == 1 else f"VARIES {values[0]}-{values[-1]}"

    @property
    def meets_target(self) -> bool:
        return self.p95_ms < TARGET_P95_MS and self.queries_constant and not self.errors


def endpoints(search: dict[str, str]) -> list[Endpoint]:
    result = []
    for role in ("manager", "rep"):
        result.append(Endpoint("API ?status=active", role, "/api/v1/leads?status=active", True))
        for kind, term in search.items():
            result.append(Endpoint(f"API ?search={term} ({kind})", role, f"/api/v1/leads?search={quote(term)}", True))
        # The few-among-many case under the other orderings and the largest page (issue 22 §1).
        few = quote(search["other territory"])
        result.append(
            Endpoint(f"API ?search={few}&ordering=-score", role, f"/api/v1/leads?search={few}&ordering=-score", True)
        )
        result.append(
            Endpoint(
                f"API ?search={few}&ordering=last_activity_at&page_size=500",
                role,
                f"/api/v1/leads?search={few}&ordering=last_activity_at&page_size=500",
                True,
            )
        )
        result.append(Endpoint("HTML lead list /", role, "/", False))
        result.append(Endpoint(f"HTML lead list /?search={few}", role, f"/?search={few}", False))
    return result


ORDERINGS = ("created_at", "score", "probability", "updated_at", "last_activity_at")
ORDERINGS_MARKS = ("<!-- bench:orderings:start -->", "<!-- bench:orderings:end -->")


def every_ordering(search: dict[str, str]) -> list[Endpoint]:
    """Every ordering the lists offer, both ways, for the few-among-many term: the API at pages of
    25 and 500, and the HTML list (issue 22 §1: "for every ordering the list offers")."""
    few = quote(search["other territory"])
    result = []
    for role in ("manager", "rep"):
        for name in ORDERINGS:
            for ordering in (name, f"-{name}"):
                for size in (25, 500):
                    path = f"/api/v1/leads?search={few}&ordering={ordering}&page_size={size}"
                    result.append(Endpoint(f"API ?search={few}&ordering={ordering}&page_size={size}", role, path, True))
                path = f"/?search={few}&ordering={ordering}"
                result.append(Endpoint(f"HTML lead list {path}", role, path, False))
    return result


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def clients(role_users: dict[str, object]):
    """A session-logged-in test Client and an API token header per role."""
    from django.test import Client
    from rest_framework.authtoken.models import Token

    made = {}
    for role, user in role_users.items():
        # A failing view is recorded as an error (and fails the run) instead of raising here.
        client = Client(raise_request_exception=False)
        client.force_login(user)
        token, _ = Token.objects.get_or_create(user=user)
        made[role] = (client, {"HTTP_AUTHORIZATION": f"Token {token.key}"})
    return made


def _token_client():
    """An API client as integrations are: the token header only, no session cookie (the browser's
    client would also send its session, which the API does not need: two queries and the session
    and user middleware's work more than a token client pays)."""
    from django.test import Client

    return Client(raise_request_exception=False)


class _QueryTimer:
    """An execute wrapper that times every query with perf_counter (Django's own log rounds to 1 ms)."""

    def __init__(self):
        self.seconds = 0.0
        self.each: list[tuple[str, float]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            self.seconds += elapsed
            self.each.append((sql, elapsed))


LEAD_LINK = re.compile(r'href="/leads/[0-9]+"')
RESULT_COUNT = re.compile(r'data-testid="result-count">(about )?([0-9,]+) result')


def measure(
    endpoint: Endpoint, client, api_headers: dict, *, requests: int, warmup: int, budget: float = float("inf")
) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = api_headers if endpoint.api else {}
    if endpoint.api:
        headers = {**headers, "HTTP_ACCEPT": "application/json"}
        client = _token_client()
    timings, cpu_times, db_times, queries, errors = [], [], [], [], []
    per_query: dict[int, list[float]] = {}
    query_sql: dict[int, str] = {}
    last = None
    deadline = None
    for i in range(warmup + requests):
        if i == warmup:
            deadline = time.monotonic() + budget
        elif deadline is not None and time.monotonic() > deadline and len(timings) >= 20:
            break  # over budget: keep what was timed (at least 20 requests)
        # CaptureQueriesContext slices the connection's bounded query log: empty it
        # first so that the slice stays right however many requests came before.
        connection.queries_log.clear()
        timer = _QueryTimer()
        with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timer):
            cpu_started = time.process_time()
            started = time.perf_counter()
            response = client.get(endpoint.path, **headers)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        if response.status_code != 200:
            errors.append(f"request {i}: HTTP {response.status_code}")
            if i == 0:
                break  # broken from the start: no point timing it
        if i < warmup:
            continue
        timings.append(elapsed * 1000)
        cpu_times.append(cpu * 1000)
        db_times.append(timer.seconds * 1000)
        queries.append(len(ctx.captured_queries))
        for n, (sql, seconds) in enumerate(timer.each):
            per_query.setdefault(n, []).append(seconds * 1000)
            query_sql.setdefault(n, " ".join(sql.split())[:160])
        last = response
    result = Result(
        endpoint=endpoint.name,
        role=endpoint.role,
        path=endpoint.path,
        requests=len(timings),
        p50_ms=percentile(timings, 50),
        p95_ms=percentile(timings, 95),
        max_ms=max(timings, default=float("nan")),
        mean_ms=statistics.fmean(timings) if timings else float("nan"),
        db_p50_ms=percentile(db_times, 50),
        cpu_p50_ms=percentile(cpu_times, 50),
        queries=queries,
        errors=errors[:5],
        query_breakdown=[
            {"p50_ms": round(percentile(times, 50), 2), "p95_ms": round(percentile(times, 95), 2), "sql": query_sql[n]}
            for n, times in sorted(per_query.items())
        ],
    )
    if last is not None and last.status_code == 200:
        if endpoint.api:
            body = last.json()
            result.count, result.count_exact, result.rows = body["count"], body["count_exact"], len(body["results"])
        else:
            html = last.content.decode()
            match = RESULT_COUNT.search(html)
            if match:
                result.count, result.count_exact = int(match.group(2).replace(",", "")), not match.group(1)
            result.rows = len(LEAD_LINK.findall(html))
    return result


def explain(endpoint: Endpoint, client, api_headers: dict) -> None:
    """Print EXPLAIN (ANALYZE, BUFFERS) for every query one request makes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = {**api_headers, "HTTP_ACCEPT": "application/json"} if endpoint.api else {}
    if endpoint.api:
        client = _token_client()
    with CaptureQueriesContext(connection) as ctx:
        client.get(endpoint.path, **headers)
    print(f"\n===== {endpoint.role}: {endpoint.path}")
    for q in ctx.captured_queries:
        sql = q["sql"]
        print(f"--- {float(q['time']) * 1000:.2f} ms: {sql[:300]}{'…' if len(sql) > 300 else ''}")
        if "$1" in sql:  # a server-side prepared statement's text (leads.common.prepared): no values
            print("    (prepared with parameters: not explained)")
        elif sql.lstrip().upper().startswith(("SELECT", "WITH")) and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                for (line,) in cursor.fetchall():
                    print("    " + line)


def prewarm() -> None:
    """Read the lead table and its indexes into shared_buffers first (pg_prewarm), as a server that
    has been serving the lists holds them: right after a load, or after a restart, the first
    endpoints would otherwise read the heap from the kernel's cache or the disk (a rep's team
    queue bitmap heap scan: 1,100 ms cold against 40 ms warm, 2026-12-07). Best effort: skipped
    where the extension cannot be created."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            cursor.execute(
                "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c WHERE c.oid = 'leads_lead'::regclass "
                "OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN ('leads_lead'::regclass, "
                "'leads_leadrank'::regclass)) OR c.oid = 'leads_leadrank'::regclass"
            )
            pages = cursor.fetchone()[0]
        print(f"prewarmed the lead and rank tables and their indexes: {pages:,} pages", flush=True)
    except Exception as error:  # noqa: BLE001 - a bench without the extension still runs
        print(f"prewarm skipped: {error}", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000, help="leads in the bench database (default 1,000,000)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per endpoint first (default 20)")
    parser.add_argument("--reload", action="store_true", help="truncate and reload the leads first")
    parser.add_argument("--seed", type=int, default=2026, help="data seed for a (re)load")
    parser.add_argument("--search-rare", default=DEFAULT_SEARCH["rare"])
    parser.add_argument("--search-medium", default=DEFAULT_SEARCH["medium"])
    parser.add_argument("--search-frequent", default=DEFAULT_SEARCH["frequent"])
    parser.add_argument("--search-common", default=DEFAULT_SEARCH["common"])
    parser.add_argument("--search-other-territory", default=DEFAULT_SEARCH["other territory"])
    parser.add_argument(
        "--budget",
        type=float,
        default=60,
        metavar="SECONDS",
        help="stop timing an endpoint after this long (default 60), so one slow endpoint "
        "cannot stall the run; the table shows how many requests were timed",
    )
    parser.add_argument("--only", default="", help="run only endpoints whose name or path contains this text")
    parser.add_argument("--role", choices=["manager", "rep", "both"], default="both")
    parser.add_argument("--breakdown", action="store_true", help="also print p50/p95 of each query position")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each query, then stop")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=120,
        metavar="SECONDS",
        help="before measuring, wait up to this long (default 120) for the 1-min load average to fall below 0.5",
    )
    parser.add_argument("--update-readme", action="store_true", help="write the results into bench/README.md")
    parser.add_argument(
        "--every-ordering",
        action="store_true",
        help="instead of the main endpoints: every ordering both ways (API pages of 25 and 500, HTML list)"
        " for the few-among-many term; --update-readme writes them to their own table",
    )
    args = parser.parse_args(argv)

    benchenv.setup()
    import lead_pools
    import load_leads
    from django.contrib.auth.models import User

    from leads.models import Lead

    load = load_leads.load_leads(args.leads, reload=args.reload, seed=args.seed)
    # Remember the last load's timing per database, to report it when a later run skips the load.
    last_loads_file = RESULTS_DIR / "last_load.json"
    last_loads = json.loads(last_loads_file.read_text()) if last_loads_file.exists() else {}
    database = os.environ["DATABASE_URL"]
    if load.loaded:
        RESULTS_DIR.mkdir(exist_ok=True)
        last_loads[database] = asdict(load) | {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
        last_loads_file.write_text(json.dumps(last_loads, indent=2))
    elif database in last_loads and last_loads[database]["leads"] == Lead.objects.count():
        saved = last_loads[database]
        load = load_leads.LoadResult(saved["leads"], False, saved["seconds"], saved["phases"])
    lead_total = Lead.objects.count()
    users = {
        "manager": User.objects.get(username=lead_pools.BENCH_MANAGER),
        "rep": User.objects.get(username=lead_pools.BENCH_REP),
    }
    role_clients = clients(users)
    search = {
        "rare": args.search_rare,
        "medium": args.search_medium,
        "frequent": args.search_frequent,
        "common": args.search_common,
        "other territory": args.search_other_territory,
    }
    todo = [
        e
        for e in (every_ordering(search) if args.every_ordering else endpoints(search))
        if (args.role in ("both", e.role)) and (not args.only or args.only in e.name or args.only in e.path)
    ]
    if args.explain:
        for e in todo:
            explain(e, *role_clients[e.role])
        return 0

    prewarm()
    benchenv.freeze_like_wsgi()  # as a gunicorn worker runs (leadcrm/wsgi.py)
    load_before = wait_until_quiet(args.wait_quiet, 0.5)
    speed_before = benchenv.speed_reference()
    print(
        f"\n{lead_total:,} leads; {args.requests} requests per endpoint after {args.warmup} warm-up; "
        f"load average {load_before:.2f}\n",
        flush=True,
    )
    results = []
    for e in todo:
        client, headers = role_clients[e.role]
        r = measure(e, client, headers, requests=args.requests, warmup=args.warmup, budget=args.budget)
        results.append(r)
        print(
            f"{e.role:8} {e.name:40} p50 {r.p50_ms:7.1f}  p95 {r.p95_ms:7.1f}  "
            f"max {r.max_ms:7.1f} ms  queries {r.queries_label}  count {r.count}{'' if r.count_exact else '~'}"
            + ("" if r.requests == args.requests else f"  (budget: {r.requests} requests timed)")
            + (f"  ERRORS {r.errors}" if r.errors else ""),
            flush=True,
        )
        if args.breakdown:
            for q in r.query_breakdown:
                print(f"         sql p50 {q['p50_ms']:6.2f}  p95 {q['p95_ms']:6.2f} ms  {q['sql'][:110]}")

    info = machine()
    info["loadavg_before"] = round(load_before, 2)
    info["loadavg_after"] = round(os.getloadavg()[0], 2)
    info["speed_before"], info["speed_after"] = speed_before, benchenv.speed_reference()
    text = report(results, info, args, lead_total, load)
    print("\n" + text)
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    payload = {
        "machine": info,
        "leads": lead_total,
        "requests": args.requests,
        "warmup": args.warmup,
        "load": asdict(load),
        "results": [asdict(r) | {"queries": sorted(set(r.queries))} for r in results],
    }
    (RESULTS_DIR / f"{stamp}.json").write_text(json.dumps(payload, indent=2))
    (RESULTS_DIR / "latest.md").write_text(text + "\n")
    if args.update_readme:
        update_readme(text, marks=ORDERINGS_MARKS if args.every_ordering else None)
        print(f"\nwrote the results into {README.relative_to(benchenv.ROOT)}")

    failed = [r for r in results if not r.meets_target]
    if failed:
        print(
            f"\nTARGET MISSED ({len(failed)} of {len(results)}): p95 >= {TARGET_P95_MS:.0f} ms, varying query counts or errors:"
        )
        for r in failed:
            print(f"  {r.role} {r.endpoint}: p95 {r.p95_ms:.1f} ms, queries {r.queries_label}, errors {r.errors}")
        return 1
    print(f"\nall endpoints: p95 < {TARGET_P95_MS:.0f} ms with a constant number of queries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
