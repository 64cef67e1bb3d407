"""The leads' half of the global search (the box in the navigation; customers/search.py adds the
customers and the page). Every query starts from visible_to(user).

Fast at a million leads, for common and rare terms alike (bench/search_bench.py), because no
query ever sorts or counts all the matches:
- exact matches on the normalised email, the E.164 phone (typed in any format, parsed with
  phonenumbers) and the external id, each answered by its own unique or partial index;
- a substring of the lower-cased haystack `search_text` (name, email, company, phone, job
  title: the trigram GIN index `lead_search_trgm`), read without ORDER BY and LIMITed to a
  sample of `CANDIDATES` rows, so a common term stops after a few heap pages and a rare one is
  answered by the index;
- both in ONE statement (`id IN (exact UNION ALL sample)`), ranked in Python: exact matches,
  then names starting with the term, then the newest.
Terms shorter than `MIN_SUBSTRING` characters match exactly only (a trigram index cannot help
with one or two letters, and a scan of a million rows for them is what we avoid).

A rep's sample is read differently (issue 22 §1). "Visible to the rep" and "matches the term" are
correlated (a North American rep owns few "GmbH" companies), the planner assumes they are not, and
for `LIMIT 50` it chose a sequential scan expecting 50 visible matches early: for a rep with 3 of
14,946 "gmbh" leads it read the whole table (3.3 s at a million leads). So a rep's candidates are
(rep_text_sample) the visible ones among the term's matches in the table's last TAIL_PAGES pages (a
sample with no visibility in it: nothing correlated to misjudge, a bounded read), and only when those are
fewer than the page needs, the rep's matches read through a MATERIALIZED CTE (planned as if every row were
wanted: the trigram bitmap AND the rep's owner and team-queue bitmaps, bounded by the rep's book).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connections
from django.db.models import F, Q, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat

from .common.normalize import normalize_email, normalize_phone
from .filters import SEARCH_MAX_LENGTH
from .models import Lead
from .roles import sees_all_leads
from .selectors import InList, visible_to

MIN_SUBSTRING = 3
CANDIDATES = 50  # substring matches read per kind, at most, before ranking
GROUP_LIMIT = 10  # results shown per kind on the results page (then a link to the filtered list)
DROPDOWN_LIMIT = 5  # and in the navigation's dropdown

# What ranking and a result line read of the (up to 50) candidates: whole rows were half of the
# page's CPU (a lead has a dozen timestamps to parse, for ten rows shown).
RESULT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "external_id",
    "company",
    "job_title",
    "status",
    "created_at",
    "owner__username",
)

# Something a person types as a phone number: digits with spaces, dashes, dots, brackets, a plus.
PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]{6,}$")
MIN_PHONE_DIGITS = 6


@dataclass(frozen=True)
class SearchTerms:
    """What a typed term is matched with: `raw` (stripped, for the external id), `email` and
    `phone` (normalised, '' when the term is not one) and `text`, the lower-cased substring of the
    haystack ('' when too short). A phone typed "020 7946 0958" matches the stored
    "+442079460958" by its digits without the trunk zero ("2079460958")."""

    raw: str
    email: str = ""
    phone: str = ""
    text: str = ""

    @property
    def empty(self) -> bool:
        return not (self.raw or self.email or self.phone or self.text)

    @property
    def too_short(self) -> bool:
        """True when the term is matched exactly only (shorter than MIN_SUBSTRING)."""
        return bool(self.raw) and not self.text


def _is_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def search_terms_parse(*, term: str) -> SearchTerms:
    """Split what a person typed into the values it is matched with (see SearchTerms)."""
    raw = (term or "").replace("\x00", "").strip()[:SEARCH_MAX_LENGTH]
    if not raw:
        return SearchTerms(raw="")
    email = normalize_email(raw) if "@" in raw and " " not in raw else ""
    phone, text = "", raw.lower()
    if email and _is_email(email):
        # A whole address is answered by the unique email index alone: its trigrams ("com",
        # "mai", …) are among the commonest, and a substring of it finds the same lead.
        return SearchTerms(raw=raw, email=email)
    digits = re.sub(r"\D", "", raw)
    if PHONE_LIKE.match(raw) and len(digits) >= MIN_PHONE_DIGITS:
        try:
            phone = normalize_phone(raw)
        except ValueError:
            phone = ""
        text = digits.lstrip("0")
    return SearchTerms(raw=raw, email=email, phone=phone, text=text if len(text) >= MIN_SUBSTRING else "")


def exact_condition(terms: SearchTerms, *, external_id: bool = True) -> Q | None:
    """Q for the exact matches (email, phone, external id), or None when there is nothing exact to match."""
    condition = Q()
    if terms.email:
        condition |= Q(email=terms.email)
    if terms.phone:
        condition |= Q(phone=terms.phone)
    if external_id and terms.raw and len(terms.raw) <= 200:
        condition |= Q(external_id=terms.raw)
    return condition or None


def ranked(rows: list, terms: SearchTerms, *, exact, name, limit: int) -> list:
    """Exact matches first, then names starting with the term, then the newest; at most limit + 1
    (the extra one tells the caller there is more)."""
    start = terms.raw.lower()

    def key(row):
        return (
            0 if exact(row) else 1,
            0 if name(row).lower().startswith(start) else 1,
            -row.created_at.timestamp(),
            -row.pk,
        )

    return sorted(rows, key=key)[: limit + 1]


def ids_union(parts: list):
    """`id IN (part UNION ALL part)`: one statement; SQLite (`make run`) cannot LIMIT inside a
    UNION, so there each part is read first (a query per part at demo size)."""
    if len(parts) == 1:
        return parts[0]
    if not connections[parts[0].db].features.supports_slicing_ordering_in_compound:
        return [pk for part in parts for pk in part]
    return parts[0].union(*parts[1:], all=True)


def lead_search(*, user: User | AnonymousUser, terms: SearchTerms, limit: int = GROUP_LIMIT) -> list[Lead]:
    """The visible leads matching the terms, best first: at most limit + 1, in one query."""
    if terms.empty:
        return []
    visible = visible_to(user).order_by()  # no default ordering: a sample, not a sort of every match
    if visible.query.is_empty():
        return []  # no role: nothing to see (and no SQL to write)
    parts = []
    exact = exact_condition(terms)
    if exact is not None:
        parts.append(visible.filter(exact).values_list("pk", flat=True)[: limit + 1])
    if terms.text:
        text = visible.filter(search_text__contains=terms.text).values_list("pk", flat=True)
        parts.append(
            rep_text_sample(visible, terms.text, wanted=limit + 1)
            if needs_materialized_sample(user, visible.db)
            else text[:CANDIDATES]
        )
    if not parts:
        return []
    if connections[visible.db].vendor == "postgresql":
        rows = list(
            Lead.objects.filter(InList(F("pk"), ids_any(parts, CANDIDATES)))
            .order_by()
            .select_related("owner")
            .only(*RESULT_FIELDS)
        )
    else:
        rows = list(Lead.objects.filter(pk__in=ids_union(parts)).select_related("owner").only(*RESULT_FIELDS))

    def is_exact(lead: Lead) -> bool:
        return bool(
            (terms.email and lead.email == terms.email)
            or (terms.phone and lead.phone == terms.phone)
            or (lead.external_id and lead.external_id == terms.raw)
        )

    return ranked(rows, terms, exact=is_exact, name=lambda lead: str(lead), limit=limit)


def needs_materialized_sample(user, db: str) -> bool:
    """A rep's text matches are read through a MATERIALIZED CTE (see the module docstring)."""
    return not sees_all_leads(user) and connections[db].vendor == "postgresql"


# A rep's text sample is the term's matches in the last TAIL_PAGES pages of the lead table (the
# rows written last: new leads, and leads changed since), at most REP_SAMPLE_ROWS of them: a read of
# bounded cost whatever the term and whatever the statistics say. For a common term it stops as soon
# as the visible ones wanted are found (rep14's "engineer": 2 ms, where the trigram bitmap of all
# 33,158 matches took 15 ms before the first row); a rare term is answered by the trigram index as
# before. Ways tried and left (bench/README.md, 2026-12-06 evening): the first 1,000 matches
# anywhere (the whole bitmap first), and the first 300 from the table's start (16 ms for "gmbh",
# whose leads sit together in its last part).
TAIL_PAGES = 300
REP_SAMPLE_ROWS = 1_000
# The first page of the tail: pg_relation_size is read once per statement (an InitPlan), so
# PostgreSQL reads the tail by a TID range scan, never the pages before it.
_TAIL_CONDITION = (
    """{table}.ctid >= (SELECT ('(' || greatest(pg_relation_size('{table}')"""
    """ / current_setting('block_size')::bigint - {pages}, 0) || ',0)')::tid)"""
)


def rep_text_sample(visible, text: str, *, wanted: int) -> tuple[str, list]:
    """A rep's text candidates, in two bounded steps in one statement (see the module docstring):
    the visible ones among the term's matches in the table's last pages (a sample with no
    visibility in it, so no correlation to misjudge; see TAIL_PAGES), and only when that gave
    fewer than `wanted` (the page's rows and one more), the MATERIALIZED bitmap read of all the
    rep's matches. `Append` runs the second branch only if the LIMIT is not yet met, and a CTE is
    read only when pulled. The second branch repeats what the first found (at most wanted - 1
    rows), so the LIMIT is 2 × wanted - 1: at least `wanted` distinct ones whenever there are.

    The sample carries the columns visible_to tests and is aliased as the lead table, so
    `visible`'s own WHERE applies to it unchanged, row by row as the sample is read: the scan stops
    at the last visible match wanted (a semi-join by id read the whole sample first, then each row
    again by primary key: rep14 `son` 45 → 15 ms, `engineer` 226 → 54 ms at load 13, EXPLAIN ANALYZE)."""
    table = connections[visible.db].ops.quote_name(Lead._meta.db_table)
    sample = (
        # The term on a copy of the haystack that no index holds: the tail's pages are then the only
        # range to read (a TID range scan). On the column itself PostgreSQL took the trigram bitmap
        # of every match and tested each against the tail (`ctid >= $n` is a run-time value, which
        # it takes for a third of the table): 14,324 heap pages for "gmbh", 22 ms at a million leads.
        Lead.objects.alias(tail_text=Concat("search_text", Value(""), output_field=TextField()))
        .filter(tail_text__contains=text)
        .extra(where=[_TAIL_CONDITION.format(table=table, pages=int(TAIL_PAGES))])  # noqa: S610 (no input in it)
        .order_by()
        .values(Lead._meta.pk.attname, *VISIBILITY_COLUMNS)[:REP_SAMPLE_ROWS]
    )
    sample_sql, sample_params = sample.query.sql_with_params()
    first_sql, first_params = visible.values_list("pk", flat=True).query.sql_with_params()
    if first_sql.count(f"FROM {table}") != 1:  # a join: the sample would not stand in for the table
        raise ValueError(f"visible_to reads more than the lead table: {first_sql}")
    first_sql = first_sql.replace(f"FROM {table}", f"FROM ({sample_sql}) AS {table}", 1)
    then = visible.filter(search_text__contains=text).values_list("pk", flat=True)
    then_sql, then_params = then.query.sql_with_params()
    sql = (
        f"SELECT * FROM (({first_sql}) UNION ALL (WITH m AS MATERIALIZED ({then_sql}) SELECT * FROM m)) AS candidates"
        f" LIMIT {2 * int(wanted) - 1}"
    )
    return sql, [*sample_params, *first_params, *then_params]


# The lead columns a rep's visible_to reads (selectors.visible_to: the owner, the team's queue).
# A column missing here fails the statement ("column leads_lead.… does not exist"), never silently.
VISIBILITY_COLUMNS = ("owner_id", "team_id")


def ids_any(parts: list, limit: int) -> RawSQL:
    """The parts' ids as one `(part) UNION ALL (part)` for `id = ANY(ARRAY(…))` (selectors.InList:
    the outer read is then by primary key, its subquery run once). A part is a queryset or the
    `(sql, params)` of rep_text_sample. PostgreSQL only."""
    pieces, params = [], []
    for part in parts:
        sql, part_params = part if isinstance(part, tuple) else part.query.sql_with_params()
        pieces.append(f"({sql})")
        params.extend(part_params)
    return RawSQL(" UNION ALL ".join(pieces), params)
