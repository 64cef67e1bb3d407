#!/usr/bin/env python
"""Load N realistic leads into the bench database, fast.

    .venv/bin/python bench/load_leads.py --leads 1000000 [--reload] [--seed 2026]

On PostgreSQL the rows are streamed with COPY (psycopg 3 `cursor.copy()`) inside
one transaction that drops the table's secondary indexes and foreign keys first
and rebuilds them afterwards (one sorted build each is far cheaper than a
million incremental inserts into 15 indexes, a trigram GIN among them). The
definitions are read back from the catalogue, so the rebuilt schema is exactly
what the migrations made. Then VACUUM (ANALYZE), as autovacuum would do after a
bulk insert. On other databases it falls back to batched bulk_create.

The data: a few sales teams by territory with their reps (in the "Sales reps"
group), managers and a marketer; leads from ten countries with names, companies,
cities and phone numbers of that country (phones in E.164, or ''), unique
lower-case emails (work or free-mail), every status with a lost_reason for lost
leads, every source with campaign fields, scores 0-100 with grades, and
created_at over two years, growing towards today and inserted in time order like
a live table. `search_text` is a generated column: the database fills it.

Idempotent-ish: if the table already holds >= N leads nothing is loaded;
--reload truncates (leads, their interactions and customers) and loads again.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_LEADS = 1_000_000

from lead_pools import (  # noqa: E402
    BENCH_REP,
    MANAGERS,
    MARKETERS,
    TEAMS,
)
from lead_rows import COLUMNS, DEFAULT_SEED, extra_columns, generate_rows  # noqa: E402  (after the sys.path line)


# --- Users and teams ------------------------------------------------------------------
def ensure_people() -> tuple[dict[str, list[int]], dict[str, int]]:
    """Create (idempotently) the bench users, groups and teams; return rep ids by team and team ids."""
    from django.contrib.auth.models import Group, User
    from django.db import transaction

    from leads.models import Team, TeamMembership
    from leads.roles import MARKETERS as MARKETERS_GROUP
    from leads.roles import SALES_MANAGERS, SALES_REPS

    def user(username: str, group: str) -> User:
        obj, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@bench.example.com", "first_name": username.title()}
        )
        if created:
            obj.set_unusable_password()
            obj.save(update_fields=["password"])
        obj.groups.add(Group.objects.get(name=group))
        return obj

    with transaction.atomic():
        users = {name: user(name, SALES_MANAGERS) for name in MANAGERS}
        users.update({name: user(name, MARKETERS_GROUP) for name in MARKETERS})
        owners: dict[str, list[int]] = {}
        teams: dict[str, int] = {}
        for team_name, (manager, reps) in TEAMS.items():
            team, _ = Team.objects.get_or_create(name=team_name, defaults={"manager": users[manager]})
            teams[team_name] = team.pk
            owners[team_name] = []
            for rep in reps:
                users.setdefault(rep, user(rep, SALES_REPS))
                TeamMembership.objects.get_or_create(team=team, user=users[rep])
                owners[team_name].append(users[rep].pk)
    return owners, teams


# --- Loading ------------------------------------------------------------------------------
@dataclass
class LoadResult:
    leads: int
    loaded: bool
    seconds: float
    phases: dict[str, float]


def lead_count() -> int:
    from leads.models import Lead

    return Lead.objects.count()


def load_leads(
    n: int = DEFAULT_LEADS, *, reload: bool = False, seed: int = DEFAULT_SEED, verbose: bool = True
) -> LoadResult:
    """Make the bench database hold n generated leads; skip if it already holds >= n (unless reload)."""
    from django.db import connection

    say = (lambda *a: print(*a, flush=True)) if verbose else (lambda *a: None)
    existing = lead_count()
    if existing >= n and not reload:
        say(f"leads: {existing:,} already loaded (>= {n:,}); skipping the load (use --reload to reload)")
        ensure_few_among_many(say=say)
        return LoadResult(existing, False, 0.0, {})
    owners, teams = ensure_people()
    if existing and not reload:
        say(f"leads: {existing:,} < {n:,} in the table; truncating and loading {n:,}")
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        phases = _load_postgres(n, owners=owners, teams=teams, seed=seed, say=say)
    else:
        phases = _load_bulk_create(n, owners=owners, teams=teams, seed=seed, say=say)
    seconds = time.perf_counter() - started
    ensure_few_among_many(say=say)
    say(f"leads: loaded {n:,} in {seconds:.1f} s ({', '.join(f'{k} {v:.1f} s' for k, v in phases.items())})")
    return LoadResult(n, True, seconds, phases)


# Issue 22 §1's pathological case: the bench rep (North America) owns a few of the ~15,000 leads of
# a term that is frequent elsewhere (German companies' "GmbH"). The list's ordered page query once
# walked the whole creation-date index looking for 26 of them (1-2 s). Made on every run, loaded or not.
FEW_AMONG_MANY_TERM = "gmbh"
FEW_AMONG_MANY_OWNED = 3


def ensure_few_among_many(*, say=print) -> None:
    """Give the bench rep FEW_AMONG_MANY_OWNED leads matching FEW_AMONG_MANY_TERM (the oldest, the
    middle and the newest of them), once; idempotent."""
    from django.contrib.auth.models import User

    from leads.models import Lead, TeamMembership

    rep = User.objects.filter(username=BENCH_REP).first()
    if rep is None:
        return
    matching = Lead.objects.filter(search_text__contains=FEW_AMONG_MANY_TERM)
    owned = matching.filter(owner=rep).count()
    if owned >= FEW_AMONG_MANY_OWNED:
        return
    ids = list(matching.exclude(owner=rep).order_by("id").values_list("id", flat=True))
    if len(ids) < FEW_AMONG_MANY_OWNED:
        return
    picks = [ids[0], ids[len(ids) // 2], ids[-1]][: FEW_AMONG_MANY_OWNED - owned]
    team_id = TeamMembership.objects.filter(user=rep).values_list("team_id", flat=True).first()
    Lead.objects.filter(pk__in=picks).update(owner=rep, team_id=team_id)
    say(
        f"  {BENCH_REP} now owns {FEW_AMONG_MANY_OWNED} of the {len(ids) + owned:,} leads matching {FEW_AMONG_MANY_TERM!r} (issue 22 §1)"
    )


def _load_postgres(n, *, owners, teams, seed, say) -> dict[str, float]:
    from django.db import connection, transaction

    from leads.models.rank import rank_rebuild

    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
        raw.execute("SET LOCAL maintenance_work_mem = '1GB'")
        raw.execute("SET LOCAL max_parallel_maintenance_workers = 1")
        raw.execute("SET LOCAL synchronous_commit = off")
        raw.execute("TRUNCATE leads_lead, leads_leadrank RESTART IDENTITY CASCADE")
        # The rank table (leads/models/rank.py) is filled in one statement after the COPY, not by
        # its insert trigger (a million-row transition table).
        raw.execute("ALTER TABLE leads_lead DISABLE TRIGGER leads_rank_insert")
        # Secondary indexes (not those backing a constraint, i.e. the primary key) and
        # foreign keys: dropped now, rebuilt from their own definitions after the COPY.
        raw.execute(
            """SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
               JOIN pg_class c ON c.oid = i.indexrelid
               WHERE i.indrelid IN ('leads_lead'::regclass, 'leads_leadrank'::regclass)
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
               ORDER BY c.relname"""
        )
        indexes = raw.fetchall()
        raw.execute(
            """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
               WHERE conrelid = 'leads_lead'::regclass AND contype = 'f' ORDER BY conname"""
        )
        foreign_keys = raw.fetchall()
        for name, _ in foreign_keys:
            raw.execute(f'ALTER TABLE leads_lead DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            raw.execute(f'DROP INDEX "{name}"')
        phases["prepare"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        extra = extra_columns(connection)
        columns = COLUMNS + [column for column, _ in extra]
        defaults = tuple(value for _, value in extra)
        with raw.copy(f"COPY leads_lead ({', '.join(columns)}) FROM STDIN") as copy:
            for i, row in enumerate(generate_rows(n, owners=owners, teams=teams, seed=seed), 1):
                copy.write_row(row + defaults)
                if i % 200_000 == 0:
                    say(f"  copied {i:,} rows ({time.perf_counter() - t0:.0f} s)")
        raw.execute("ALTER TABLE leads_lead ENABLE TRIGGER leads_rank_insert")
        say(f"  rank table: {rank_rebuild(connection):,} rows")
        phases["copy"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        for name, definition in indexes:
            t1 = time.perf_counter()
            raw.execute(definition)
            say(f"  index {name} {time.perf_counter() - t1:.1f} s")
        for name, definition in foreign_keys:
            raw.execute(f'ALTER TABLE leads_lead ADD CONSTRAINT "{name}" {definition}')
        phases["indexes"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with connection.cursor() as cursor:  # autocommit again: VACUUM cannot run in a transaction
        cursor.execute("VACUUM (ANALYZE) leads_lead")
        cursor.execute("VACUUM (ANALYZE) leads_leadrank")
        cursor.execute("ANALYZE")
    phases["vacuum_analyze"] = time.perf_counter() - t0
    return phases


def _load_bulk_create(n, *, owners, teams, seed, say) -> dict[str, float]:
    from django.db import transaction

    from customers.models import Customer
    from leads.models import Interaction, Lead

    fields = [c[:-3] + "_id" if c.endswith("_id") else c for c in COLUMNS]
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    with transaction.atomic():
        Customer.objects.all().delete()
        Interaction.objects.all().delete()
        Lead.objects.all().delete()
        batch = []
        for i, row in enumerate(generate_rows(n, owners=owners, teams=teams, seed=seed), 1):
            values = dict(zip(fields, row))
            values["attributes"] = json.loads(values["attributes"])
            batch.append(Lead(**values))
            if len(batch) == 5000:
                Lead.objects.bulk_create(batch)
                batch.clear()
            if i % 100_000 == 0:
                say(f"  inserted {i:,} rows ({time.perf_counter() - t0:.0f} s)")
        Lead.objects.bulk_create(batch)
    phases["insert"] = time.perf_counter() - t0
    return phases


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=DEFAULT_LEADS, help="how many leads (default 1,000,000)")
    parser.add_argument("--reload", action="store_true", help="truncate and load even if enough leads are there")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed, same data)")
    args = parser.parse_args(argv)

    import benchenv

    benchenv.setup()
    load_leads(args.leads, reload=args.reload, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
