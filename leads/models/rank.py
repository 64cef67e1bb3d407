"""The lead's rank: a narrow copy of its score, grade and probability, with the status, team and
owner the orderings combine them with, and the indexes that order and filter by score.

Why a copy (docs/scoring.md, "The rank table"): a rescore rewrites the score of nearly every open
lead. On the lead row, whose 20-odd indexes (the trigram search index among them) each got a new
entry for every rewritten row, that was 85 % of a bulk rescore. With no index on a score column,
and room left on each page (fill factor 50), the lead row's rewrite is a HOT update that touches
no index at all; the orderings by score read this table's indexes instead.

The lead row stays the truth: database triggers (migration 0038) copy every insert, delete and
change of the ranked columns here, whatever wrote them (the ORM, a bulk `update()`, raw SQL). A
bulk rescore writes both tables itself, set-based, and tells the trigger to stand aside
(`RANK_SYNC_SETTING`). `leads.ranking` turns a list's score orderings and filters into reads of
this table.
"""

from django.db import models
from django.db.models import Q

from .core import Lead

# A transaction-local setting: 'off' while a bulk rescore writes both tables itself.
RANK_SYNC_SETTING = "leadcrm.rank_sync"


class LeadRank(models.Model):
    lead = models.OneToOneField(
        Lead,
        primary_key=True,
        on_delete=models.DO_NOTHING,  # the delete trigger removes the row with its lead
        db_constraint=False,
        related_name="rank",
    )
    status = models.CharField(max_length=20)
    team_id = models.BigIntegerField(null=True)
    owner_id = models.IntegerField(null=True)
    score = models.PositiveSmallIntegerField(default=0)
    grade = models.CharField(max_length=1, blank=True)
    probability = models.FloatField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["-score", "-lead"], name="rank_score_idx"),
            models.Index(fields=["status", "-score", "-lead"], name="rank_status_score_idx"),
            models.Index(fields=["grade", "-score", "-lead"], name="rank_grade_idx"),
            models.Index(fields=["status", "grade", "-score", "-lead"], name="rank_status_grade_idx"),
            models.Index(
                fields=["team_id", "-score"],
                include=["status"],
                condition=Q(owner_id__isnull=True),
                name="rank_team_queue_idx",
            ),
            # And rank_probability_idx (probability DESC NULLS LAST, lead_id DESC), on PostgreSQL only
            # (SQLite has no NULLS LAST in an index): created with the triggers, `_POSTGRESQL` below.
        ]

    def __str__(self) -> str:
        return f"Rank of lead #{self.lead_id}: {self.score}"


# The lead fields whose orderings and filters read the rank table, and the path to their copy there.
RANKED_PATHS = Lead.RANKED_PATHS
RANKED_FIELDS = {path: field for field, path in RANKED_PATHS.items()}


def ranked(queryset):
    """`queryset` joined to the rank table by an inner join (every lead has its rank row), so the
    rank table's indexes can drive an ordering by score; a filter or ordering on `rank__…` reuses
    the join."""
    return queryset.filter(rank__isnull=False)


def unranked(queryset):
    """`queryset` without the join ranked() added, when nothing else in its filters reads the rank
    table; else `queryset` itself. Every lead has its rank row (the triggers), so the join changes
    no result; it is there so that an ordering by score can walk the rank table's index. A list's
    keys read first (leads.common.matches) are read from the lead row's own columns, and there the
    join cost one rank lookup per match: 15,000 of them for a 500-lead page of `gmbh` by score,
    ~15 ms at a million leads (bench/README.md, issue 22 §1). The ordering stays as it is."""
    query = queryset.query
    table = LeadRank._meta.db_table
    aliases = [alias for alias, join in query.alias_map.items() if getattr(join, "table_name", "") == table]
    if len(aliases) != 1:
        return queryset
    (alias,) = aliases
    marker = [child for child in query.where.children if _is_rank_marker(child, alias)]
    if len(marker) != 1 or any(alias in _aliases(child) for child in query.where.children if child is not marker[0]):
        return queryset
    if query.annotations or query.alias_refcount.get(alias) != 1:
        return queryset
    clone = queryset._chain()
    clone.query.where.children = [child for child in clone.query.where.children if not _is_rank_marker(child, alias)]
    clone.query.alias_refcount[alias] = 0  # (the compiler leaves out an alias nothing refers to)
    return clone


def _is_rank_marker(child, alias: str) -> bool:
    """`rank.lead_id IS NOT NULL`, the filter ranked() adds."""
    lhs = getattr(child, "lhs", None)
    return (
        getattr(child, "lookup_name", None) == "isnull"
        and child.rhs is False
        and getattr(lhs, "alias", None) == alias
        and getattr(getattr(lhs, "target", None), "column", None) == "lead_id"
    )


def _aliases(node) -> set[str]:
    """The table aliases a filter (a WhereNode, a lookup or an expression) reads."""
    found, stack = set(), [node]
    while stack:
        item = stack.pop()
        if getattr(item, "alias", None) is not None and hasattr(item, "target"):
            found.add(item.alias)
        stack.extend(getattr(item, "children", None) or ())
        if hasattr(item, "get_source_expressions"):
            stack.extend(expr for expr in item.get_source_expressions() if expr is not None)
    return found


def rank_joined(queryset) -> bool:
    """Whether `queryset` reads the rank table (ordered or filtered on it): then a status filter is
    better said on the rank row too, so its (status, score) and (status, grade, score) indexes
    serve it; said only on the lead, the planner walks the copy by score or grade and looks up each
    lead's status (a board column of new leads with grade A or B: 300 ms at a million leads)."""
    if any(getattr(join, "table_name", "") == LeadRank._meta.db_table for join in queryset.query.alias_map.values()):
        return True
    for term in queryset.query.order_by:
        name = term if isinstance(term, str) else getattr(getattr(term, "expression", None), "name", "")
        if name.lstrip("-").startswith("rank__"):
            return True
    return False


RANKED_COLUMNS = ("status", "team_id", "owner_id", "score", "grade", "probability")
_COLUMNS = ", ".join(RANKED_COLUMNS)
_NEW = ", ".join(f"NEW.{column}" for column in RANKED_COLUMNS)
_EXCLUDED = ", ".join(f"{column} = EXCLUDED.{column}" for column in RANKED_COLUMNS)

# PostgreSQL: inserts and deletes are copied per statement (a bulk_create or an import is one
# INSERT … SELECT), a change per row, and only when a ranked column really changed.
_POSTGRESQL = [
    f"""CREATE OR REPLACE FUNCTION leads_rank_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO leads_leadrank (lead_id, {_COLUMNS}) SELECT id, {_COLUMNS} FROM inserted_leads
  ON CONFLICT (lead_id) DO UPDATE SET {_EXCLUDED};
  RETURN NULL;
END $$""",
    """CREATE OR REPLACE FUNCTION leads_rank_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM leads_leadrank WHERE lead_id IN (SELECT id FROM deleted_leads);
  RETURN NULL;
END $$""",
    """CREATE OR REPLACE FUNCTION leads_rank_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Empty already when the same TRUNCATE named it too (Django's test flush names every table),
  -- and then it may not be truncated again from here ("in use by active queries").
  IF EXISTS (SELECT 1 FROM leads_leadrank) THEN
    TRUNCATE leads_leadrank;
  END IF;
  RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION leads_rank_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO leads_leadrank (lead_id, {_COLUMNS}) VALUES (NEW.id, {_NEW})
  ON CONFLICT (lead_id) DO UPDATE SET {_EXCLUDED};
  RETURN NULL;
END $$""",
    "CREATE OR REPLACE TRIGGER leads_rank_insert AFTER INSERT ON leads_lead REFERENCING NEW TABLE AS inserted_leads "
    "FOR EACH STATEMENT EXECUTE FUNCTION leads_rank_inserted()",
    "CREATE OR REPLACE TRIGGER leads_rank_delete AFTER DELETE ON leads_lead REFERENCING OLD TABLE AS deleted_leads "
    "FOR EACH STATEMENT EXECUTE FUNCTION leads_rank_deleted()",
    # A TRUNCATE of the leads (a restore, a bench's reload) empties the copy too.
    "CREATE OR REPLACE TRIGGER leads_rank_truncate AFTER TRUNCATE ON leads_lead "
    "FOR EACH STATEMENT EXECUTE FUNCTION leads_rank_truncated()",
    f"CREATE OR REPLACE TRIGGER leads_rank_update AFTER UPDATE OF {_COLUMNS} ON leads_lead FOR EACH ROW "
    f"WHEN (({', '.join(f'OLD.{c}' for c in RANKED_COLUMNS)}) IS DISTINCT FROM ({_NEW}) "
    f"AND current_setting('{RANK_SYNC_SETTING}', true) IS DISTINCT FROM 'off') "
    "EXECUTE FUNCTION leads_rank_changed()",
    "CREATE INDEX IF NOT EXISTS rank_probability_idx ON leads_leadrank (probability DESC NULLS LAST, lead_id DESC)",
    # What this table serves is a LIMITed walk of a score index; planned in parallel (a Gather
    # Merge over a join to the leads) it cost 20 ms of start-up for a 12 ms walk.
    "ALTER TABLE leads_leadrank SET (parallel_workers = 0)",
    "CREATE STATISTICS IF NOT EXISTS rank_status_grade_stats (mcv) ON status, grade FROM leads_leadrank",
]
_SQLITE = [
    f"CREATE TRIGGER IF NOT EXISTS leads_rank_insert AFTER INSERT ON leads_lead BEGIN "
    f"INSERT OR REPLACE INTO leads_leadrank (lead_id, {_COLUMNS}) VALUES (NEW.id, {_NEW}); END",
    f"CREATE TRIGGER IF NOT EXISTS leads_rank_update AFTER UPDATE OF {_COLUMNS} ON leads_lead BEGIN "
    f"INSERT OR REPLACE INTO leads_leadrank (lead_id, {_COLUMNS}) VALUES (NEW.id, {_NEW}); END",
    "CREATE TRIGGER IF NOT EXISTS leads_rank_delete AFTER DELETE ON leads_lead BEGIN "
    "DELETE FROM leads_leadrank WHERE lead_id = OLD.id; END",
]


def rank_triggers_install(connection) -> None:
    """Create (or replace) the triggers that keep the rank table a copy of the lead rows. Run by
    migration 0038 and after every `migrate` (leads.apps): SQLite drops a table's triggers when a
    migration rebuilds the table."""
    statements = {"postgresql": _POSTGRESQL, "sqlite": _SQLITE}.get(connection.vendor)
    if statements is None:  # pragma: no cover - LeadCRM runs on PostgreSQL or SQLite
        raise NotImplementedError(f"no rank triggers for {connection.vendor}")
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def rank_rebuild(connection) -> int:
    """Copy every lead's ranked columns afresh (after a load that bypassed the triggers, such as
    bench/load_leads.py's COPY). Returns the rows copied."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM leads_leadrank")
        cursor.execute(f"INSERT INTO leads_leadrank (lead_id, {_COLUMNS}) SELECT id, {_COLUMNS} FROM leads_lead")
        return cursor.rowcount
