"""The rows of the bench's lead table: its columns, and realistic leads generated from the pools of
lead_pools.py (names, companies, phones and cities of ten countries, statuses, sources, scores), in
creation order. load_leads.py streams them into the table."""

from __future__ import annotations

import json
import random
import sys
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lead_pools import (  # noqa: E402  (after the sys.path line)
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
    SCORE_RANGE,
    SOURCE_DETAILS,
    SOURCE_WEIGHTS,
    SOURCES,
    STATUS_WEIGHTS_OLDER,
    STATUS_WEIGHTS_RECENT,
    STATUSES,
    UTM_CAMPAIGNS,
    UTM_SOURCES,
    UTM_TERMS,
    _phone,
)

DEFAULT_SEED = 2026
HISTORY_DAYS = 730
UNPROCESSED_MINUTES = 10  # the newest leads have not been through the pipeline yet


COLUMNS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "website",
    "country",
    "region",
    "city",
    "postal_code",
    "time_zone",
    "industry",
    "company_size",
    "source",
    "source_detail",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "status",
    "lost_reason",
    "score",
    "grade",
    "probability",
    "owner_id",
    "team_id",
    "external_id",
    "email_opt_in",
    "do_not_contact",
    "attributes",
    "first_contacted_at",
    "last_activity_at",
    "processed_at",
    "created_at",
    "updated_at",
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
        places = [
            (_clean(region_of())[:100], _clean(fake.city())[:100], _clean(fake.postcode())[:20]) for _ in range(400)
        ]
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


def generate_rows(
    n: int,
    *,
    owners: dict[str, list[int]],
    teams: dict[str, int],
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
):
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
        local = (
            f"{first_slug}.{last_slug}",
            f"{first_slug}{last_slug}",
            f"{first_slug[:1]}{last_slug}",
            f"{first_slug}_{last_slug}",
            f"{first_slug}.{last_slug[:1]}",
            f"{last_slug}.{first_slug}",
        )[pattern]
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
            first,
            last,
            email,
            phone,
            company,
            rng.choice(JOB_TITLES),
            f"https://www.{domain}" if domain and random_() < 0.8 else "",
            country,
            region,
            city,
            postal,
            rng.choice(COUNTRIES[country][3]),
            rng.choice(INDUSTRIES) if company else "",
            choices(size_choices, cum_weights=size_cum)[0] if company else "",
            source,
            source_detail,
            utm_source,
            utm_medium,
            utm_campaign,
            utm_term,
            utm_content,
            status,
            lost_reason,
            score,
            grade,
            probability,
            owner_id,
            team_id,
            external_id,
            random_() < 0.45,
            random_() < 0.02,
            attributes,
            first_contacted_at,
            last_activity_at,
            processed_at,
            created,
            updated_at,
        )


def _cumulative(weights):
    total = 0
    for w in weights:
        total += w
        yield total
