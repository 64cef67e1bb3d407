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
import random
import sys
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_LEADS = 1_000_000
DEFAULT_SEED = 2026
HISTORY_DAYS = 730
UNPROCESSED_MINUTES = 10  # the newest leads have not been through the pipeline yet

from lead_pools import (  # noqa: E402  (after the sys.path line)
    BENCH_REP,
    COMPANY_INDUSTRY_WORDS,
    COMPANY_SIZES,
    COMPANY_SUFFIXES,
    COMPANY_WORDS,
    COUNTRIES,
    EXTERNAL_ID_PREFIX,
    FREE_MAIL,
    INDUSTRIES,
    JOB_TITLES,
    LANDING_PAGES,
    LOST_REASONS,
    MANAGERS,
    MARKETERS,
    SCORE_RANGE,
    SOURCE_DETAILS,
    SOURCE_WEIGHTS,
    SOURCES,
    STATUS_WEIGHTS_OLDER,
    STATUS_WEIGHTS_RECENT,
    STATUSES,
    TEAMS,
    UTM_CAMPAIGNS,
    UTM_SOURCES,
    UTM_TERMS,
    _phone,
)

COLUMNS = [
    "first_name", "last_name", "email", "phone", "company", "job_title", "website", "country", "region",
    "city", "postal_code", "time_zone", "industry", "company_size", "source", "source_detail", "utm_source",
    "utm_medium", "utm_campaign", "utm_term", "utm_content", "status", "lost_reason", "score", "grade",
    "probability", "owner_id", "team_id", "external_id", "email_opt_in", "do_not_contact", "attributes",
    "first_contacted_at", "last_activity_at", "processed_at", "created_at", "updated_at",
]


def extra_columns(connection, filled=None) -> list[tuple[str, object]]:
    """(column, value) for the Lead columns the generator does not fill (`filled`, by default
    this loader's COLUMNS): the model's default.

    The model grows (enrichment, scoring…); every new NOT NULL column then gets its
    Python-side default in each COPY row, so the loader keeps working unchanged."""
    from django.db import models

    from leads.models import Lead

    filled = COLUMNS if filled is None else filled
    extra = []
    for field in Lead._meta.concrete_fields:
        if field.primary_key or isinstance(field, models.GeneratedField) or field.column in filled:
            continue
        value = field.get_default()
        if isinstance(field, models.JSONField):
            value = json.dumps(value)
        elif value is not None:
            value = field.get_db_prep_save(value, connection)
        extra.append((field.column, value))
    return extra


def _ascii_slug(text: str) -> str:
    """'Müller-Lüdenscheidt' -> 'mullerludenscheidt' (for email local parts and domains)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in folded if ch.isalnum())


def _clean(text: str) -> str:
    """Strip characters that COPY's text format would need escaped (none expected)."""
    return text.replace("\\", "").replace("\t", " ").replace("\n", " ").replace("\r", " ")


def _grade(score: int) -> str:
    return "A" if score >= 80 else "B" if score >= 60 else "C" if score >= 35 else "D"


@dataclass
class _Pool:
    first: list[tuple[str, str]]  # (name, ascii slug)
    last: list[tuple[str, str]]
    companies: list[tuple[str, str]]  # (name, domain)
    places: list[tuple[str, str, str]]  # (region, city, postal code)


def _pools(seed: int) -> dict[str, _Pool]:
    """Per-country pools of names, companies and places, drawn once with Faker."""
    from faker import Faker

    pools = {}
    for index, (country, (locale, _w, _team, _tzs, tld)) in enumerate(COUNTRIES.items()):
        fake = Faker(locale)
        fake.seed_instance(seed + index)
        rng = random.Random(seed * 31 + index)
        first = sorted({_clean(fake.first_name()) for _ in range(1500)})
        last = sorted({_clean(fake.last_name()) for _ in range(1500)})
        first = [(n, _ascii_slug(n)) for n in first if _ascii_slug(n)]
        last = [(n, _ascii_slug(n)) for n in last if _ascii_slug(n)]
        region_of = getattr(fake, "state", None) or fake.administrative_unit
        places = [(_clean(region_of())[:100], _clean(fake.city())[:100], _clean(fake.postcode())[:20]) for _ in range(400)]
        companies: dict[str, str] = {}
        suffixes = COMPANY_SUFFIXES[country]
        while len(companies) < 4000:
            pattern = rng.randrange(5)
            l1, l2 = rng.choice(last)[0], rng.choice(last)[0]
            word, industry = rng.choice(COMPANY_WORDS), rng.choice(COMPANY_INDUSTRY_WORDS)
            if pattern == 0:
                name = f"{l1} {rng.choice(suffixes)}"
            elif pattern == 1:
                name = f"{l1} & {l2}"
            elif pattern == 2:
                name = f"{word} {industry} {rng.choice(suffixes)}"
            elif pattern == 3:
                name = f"{l1}-{l2} {industry}"
            else:
                name = f"{word}{_ascii_slug(l1)[:4]} {industry}"
            if name not in companies:
                base = name.split(" ")[0] if pattern in (0, 3) else name.rsplit(" ", 1)[0]
                companies[name] = f"{_ascii_slug(base)[:40] or 'company'}.{tld}"
        pools[country] = _Pool(first, last, sorted(companies.items()), places)
    return pools


def generate_rows(n: int, *, owners: dict[str, list[int]], teams: dict[str, int], seed: int = DEFAULT_SEED,
                  now: datetime | None = None):
    """Yield n lead rows as tuples in COLUMNS order (Python values), oldest first."""
    rng = random.Random(seed)
    pools = _pools(seed)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    span = HISTORY_DAYS * 86400
    start = now.timestamp() - span
    # Growth: density rises linearly towards today (sqrt of a uniform draw); sorted so
    # that ids follow created_at like a live table.
    offsets = sorted(span * (rng.random() ** 0.5) for _ in range(n))
    country_names = list(COUNTRIES)
    country_weights = [COUNTRIES[c][1] for c in country_names]
    country_cum = list(_cumulative(country_weights))
    source_cum = list(_cumulative(SOURCE_WEIGHTS))
    recent_cum, older_cum = list(_cumulative(STATUS_WEIGHTS_RECENT)), list(_cumulative(STATUS_WEIGHTS_OLDER))
    size_choices, size_cum = COMPANY_SIZES[0], list(_cumulative(COMPANY_SIZES[1]))
    emails: set[str] = set()
    utc = UTC
    recent_cutoff = span - 14 * 86400
    unprocessed_cutoff = span - UNPROCESSED_MINUTES * 60
    choices, random_ = rng.choices, rng.random
    empty_json = "{}"

    for i in range(n):
        offset = offsets[i]
        created_ts = start + offset
        created = datetime.fromtimestamp(int(created_ts), utc)
        age_s = span - offset
        country = choices(country_names, cum_weights=country_cum)[0]
        pool = pools[country]
        first, first_slug = rng.choice(pool.first)
        last, last_slug = rng.choice(pool.last)
        company, domain = rng.choice(pool.companies)
        region, city, postal = rng.choice(pool.places)
        source = choices(SOURCES, cum_weights=source_cum)[0]
        status = choices(STATUSES, cum_weights=recent_cum if offset >= recent_cutoff else older_cum)[0]

        # Email: work address at the company (60%) or free mail; unique, lower-case.
        pattern = rng.randrange(6)
        local = (f"{first_slug}.{last_slug}", f"{first_slug}{last_slug}", f"{first_slug[:1]}{last_slug}",
                 f"{first_slug}_{last_slug}", f"{first_slug}.{last_slug[:1]}", f"{last_slug}.{first_slug}")[pattern]
        work = random_() < 0.6
        host = domain if work else rng.choice(FREE_MAIL[country])
        if not work and random_() < 0.5:
            local += str(rng.randrange(1, 100))
        email = f"{local}@{host}"
        while email in emails:
            email = f"{local}{rng.randrange(1, 10000)}@{host}"
        emails.add(email)
        phone = _phone(rng, country) if random_() < 0.72 else ""
        if source == "call":
            phone = phone or _phone(rng, country)
            if random_() < 0.4:  # many callers never give an email
                emails.discard(email)
                email = ""
        if not work and random_() < 0.35:
            company, domain = "", ""  # a personal address often comes without a company

        # Lifecycle.
        low, high, mode = SCORE_RANGE[status]
        score = int(rng.triangular(low, high, mode))
        processed = offset < unprocessed_cutoff
        processed_at = created + timedelta(seconds=rng.randrange(2, 180)) if processed else None
        grade = _grade(score) if processed else ""
        probability = round(min(1.0, max(0.0, score / 100 + rng.uniform(-0.1, 0.1))), 3) if processed else None
        if status == "new":
            first_contacted_at = None
            last_activity_at = created + timedelta(seconds=rng.randrange(0, 600))
        else:
            first_contacted_at = created + timedelta(minutes=rng.randrange(10, 72 * 60))
            last_activity_at = first_contacted_at + timedelta(seconds=int(random_() * min(age_s, 120 * 86400)))
        if last_activity_at > now:
            last_activity_at = now
        if first_contacted_at and first_contacted_at > now:
            first_contacted_at = now
        updated_at = max(last_activity_at, processed_at or created)
        lost_reason = rng.choice(LOST_REASONS) if status == "lost" else ""

        # Ownership: the territory's team; new leads often wait in the team queue.
        team_name = COUNTRIES[country][2]
        team_id = teams[team_name]
        roll = random_()
        if status == "new" and roll < 0.05:
            owner_id, team_id = None, None  # no territory matched yet
        elif (status == "new" and roll < 0.50) or roll < 0.02:
            owner_id = None  # in the team's queue
        else:
            owner_id = rng.choice(owners[team_name])

        # Where it came from.
        source_detail = rng.choice(SOURCE_DETAILS[source])
        utm_source = utm_medium = utm_campaign = utm_term = utm_content = ""
        if source in ("web_form", "webhook", "chat") and random_() < 0.6:
            utm_source, utm_medium = rng.choice(UTM_SOURCES)
            utm_campaign = rng.choice(UTM_CAMPAIGNS)
            if utm_medium == "cpc":
                utm_term = rng.choice(UTM_TERMS)
                utm_content = rng.choice(("ad-a", "ad-b", "ad-c"))
        prefix = EXTERNAL_ID_PREFIX.get(source)
        external_id = f"{prefix}-{seed}-{i}" if prefix and random_() < 0.7 else ""
        attributes = empty_json
        if random_() < 0.3:
            attributes = json.dumps({"landing_page": rng.choice(LANDING_PAGES), "visits": rng.randrange(1, 40)})

        yield (
            first, last, email, phone, company, rng.choice(JOB_TITLES), f"https://www.{domain}" if domain and random_() < 0.8 else "",
            country, region, city, postal, rng.choice(COUNTRIES[country][3]),
            rng.choice(INDUSTRIES) if company else "", choices(size_choices, cum_weights=size_cum)[0] if company else "",
            source, source_detail, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
            status, lost_reason, score, grade, probability, owner_id, team_id, external_id,
            random_() < 0.45, random_() < 0.02, attributes,
            first_contacted_at, last_activity_at, processed_at, created, updated_at,
        )


def _cumulative(weights):
    total = 0
    for w in weights:
        total += w
        yield total


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


def load_leads(n: int = DEFAULT_LEADS, *, reload: bool = False, seed: int = DEFAULT_SEED, verbose: bool = True) -> LoadResult:
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
    say(f"  {BENCH_REP} now owns {FEW_AMONG_MANY_OWNED} of the {len(ids) + owned:,} leads matching {FEW_AMONG_MANY_TERM!r} (issue 22 §1)")


def _load_postgres(n, *, owners, teams, seed, say) -> dict[str, float]:
    from django.db import connection, transaction

    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
        raw.execute("SET LOCAL maintenance_work_mem = '1GB'")
        raw.execute("SET LOCAL max_parallel_maintenance_workers = 1")
        raw.execute("SET LOCAL synchronous_commit = off")
        raw.execute("TRUNCATE leads_lead RESTART IDENTITY CASCADE")
        # Secondary indexes (not those backing a constraint, i.e. the primary key) and
        # foreign keys: dropped now, rebuilt from their own definitions after the COPY.
        raw.execute(
            """SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
               JOIN pg_class c ON c.oid = i.indexrelid
               WHERE i.indrelid = 'leads_lead'::regclass
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
