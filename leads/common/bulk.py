"""Set-based bulk updates: one `UPDATE … FROM (VALUES …)` statement per batch on PostgreSQL.

Django's `bulk_update` builds a `CASE WHEN pk = … THEN …` expression per field and row and resolves
every one of them in Python: at 500 leads × 15 fields that was two thirds of an enrichment batch's
time (profiled: 9.6 of 14.3 s for 2,000 leads). Here the values travel as one VALUES list, each
cast to its column's type, and PostgreSQL joins it on the primary key.
"""

import json
import logging
from collections.abc import Sequence
from contextlib import contextmanager

from django.db import DatabaseError, connection, models, transaction

logger = logging.getLogger(__name__)


def objects_update(*, objects: Sequence[models.Model], fields: Sequence[str], batch_size: int = 500) -> int:
    """Write `fields` of the (saved) `objects` in batches, like QuerySet.bulk_update; returns rows updated."""
    if not objects or not fields:
        return 0
    model = type(objects[0])
    if connection.vendor != "postgresql":
        return model.objects.bulk_update(objects, list(fields), batch_size=batch_size)
    meta = model._meta
    pk = meta.pk
    columns = [pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    placeholder = "(" + ", ".join(f"%s::{field.cast_db_type(connection)}" for field in columns) + ")"
    assignments = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in columns[1:])
    names = ", ".join(quote(field.column) for field in columns)
    updated = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objects), batch_size):
            batch = objects[start : start + batch_size]
            params = []
            for obj in batch:
                for field in columns:
                    params.append(field.get_db_prep_save(getattr(obj, field.attname), connection))
            values = ", ".join([placeholder] * len(batch))
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v ({names}) "
                f"WHERE {table}.{quote(pk.column)} = v.{quote(pk.column)}",
                params,
            )
            updated += cursor.rowcount
    return updated


def objects_insert(*, objects: Sequence[models.Model], ignore_conflicts: bool = False, batch_size: int = 5000) -> int:
    """INSERT new (unsaved) `objects` of one model, like bulk_create but cheap per row; returns rows
    inserted. Primary keys are not set on the objects (no caller reads them back).

    On PostgreSQL each column travels as one array and the rows come out of `unnest`: a few
    parameters per batch instead of one per field and row, so no per-value SQL compiling and
    client-side quoting (profiled on an automation batch of 2,750 runs: bulk_create of its runs,
    steps and timeline entries was most of the batch's Python time)."""
    if not objects:
        return 0
    model = type(objects[0])
    meta = model._meta
    columns = [field for field in meta.concrete_fields if not field.primary_key]
    if connection.vendor != "postgresql" or any(field.get_internal_type() == "ArrayField" for field in columns):
        # (unnest would flatten an array column's values)
        return len(model.objects.bulk_create(objects, batch_size=batch_size, ignore_conflicts=ignore_conflicts))
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in columns)
    arrays = ", ".join(f"%s::{field.cast_db_type(connection)}[]" for field in columns)
    sql = f"INSERT INTO {quote(meta.db_table)} ({names}) SELECT * FROM unnest({arrays})"
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    inserted = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objects), batch_size):
            batch = objects[start : start + batch_size]
            params = []
            for field in columns:
                attname = field.attname
                if isinstance(field, models.JSONField):  # as text: an array of jsonb is cast from text
                    params.append(
                        [
                            None if (value := getattr(obj, attname)) is None else json.dumps(value, cls=field.encoder)
                            for obj in batch
                        ]
                    )
                else:
                    params.append([field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in batch])
            cursor.execute(sql.replace("::jsonb[]", "::text[]::jsonb[]"), params)
            inserted += cursor.rowcount
    return inserted


@contextmanager
def gin_deferred(table: str, *, enabled: bool = True):
    """Around a bulk rewrite of `table`'s rows (inside a transaction): on PostgreSQL, new GIN
    entries (the leads' trigram search index) go to the index's pending list and are merged in
    one sorted pass at the end, instead of a merge every 4 MB. Measured on a rescore chunk of
    69,000 leads: 10.7 s → 7.7 s + 0.9 s for the merge. The merge runs before the block returns,
    so searches never scan a long pending list, and no later insert (a capture) pays for it."""
    if not enabled or connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL gin_pending_list_limit = '1GB'")
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = %s::regclass AND a.amname = 'gin'",
            [table],
        )
        indexes = [name for (name,) in cursor.fetchall()]
        cursor.execute("SET LOCAL gin_pending_list_limit = DEFAULT")
        for index in indexes:
            try:
                with transaction.atomic():  # merging needs the index's owner; otherwise the next insert merges
                    cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
            except DatabaseError:
                logger.warning("could not merge the pending list of %s (not its owner?)", index)


STATISTICS_MIN_PAGES = 64  # below this a table is read whole in a moment, whatever the plan
STATISTICS_GROWTH = 1.5  # ANALYZE again once the table is this many times the size its statistics know


def statistics_refresh(*models_: type[models.Model]) -> list[str]:
    """Before a set-based write, ANALYZE those of these tables whose planner statistics are missing
    or stale (never analyzed, or grown by half since); returns the tables analyzed.

    The deferred foreign-key checks at COMMIT (one per written row that points at a lead, a run…)
    are planned from the referenced table's statistics. A lead table never analyzed (a new install,
    a restore, a TRUNCATE, autovacuum off or not come by yet) makes PostgreSQL pick any of its
    indexes for `id = $1` (e.g. lead_status_grade_idx, which it had then) and read it whole per check: a 100,000-lead
    bulk status change spent over 11 minutes in its COMMIT, quadratic in the table's size. The test
    compares the table's size on disk now with the one its statistics were taken at (what the
    planner itself reads: no collector lag, true inside a transaction), one catalog query. ANALYZE
    samples (a few hundred ms at a million leads) and waits for no lock: under another ANALYZE or a
    VACUUM it is skipped (lock_timeout)."""
    if connection.vendor != "postgresql" or not models_:
        return []
    tables = [model._meta.db_table for model in models_]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples, relpages, pg_relation_size(oid) / current_setting('block_size')::int "
            "FROM pg_class WHERE oid = ANY(%s::regclass[])",
            [tables],
        )
        stale = [
            name
            for name, reltuples, relpages, pages in cursor.fetchall()
            if pages >= STATISTICS_MIN_PAGES and (reltuples < 0 or pages > relpages * STATISTICS_GROWTH)
        ]
        analyzed = []
        for name in stale:
            try:
                with transaction.atomic():  # a lock timeout rolls back to here, and its setting with it
                    cursor.execute("SELECT current_setting('lock_timeout')")
                    (before,) = cursor.fetchone()
                    cursor.execute("SELECT set_config('lock_timeout', '100ms', true)")
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(name)}")
                    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])
                analyzed.append(name)
            except DatabaseError as exc:
                logger.warning("could not ANALYZE %s before a set-based write: %s", name, exc)
    return analyzed
