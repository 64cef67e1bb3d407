"""Writing many rows fast: COPY into the table (PostgreSQL), or bulk_create/bulk_update elsewhere
(the SQLite of `make run`). capture_many writes a batch's leads, capture records and timeline entries
with these: several times faster than INSERT … VALUES for thousands of rows."""

from functools import cache
from typing import Any

from django.db import connection, connections, models

try:  # the PostgreSQL driver: absent on a SQLite-only install, where COPY is never used
    from psycopg import sql
except ImportError:  # pragma: no cover
    sql = None


def _plain(f: models.Field) -> bool:
    """Whether COPY takes the field's Python value as it is (others go through get_db_prep_save:
    JSON, countries, normalised emails, IP addresses)."""
    if f.is_relation or type(f) in (models.CharField, models.URLField):
        return True
    return isinstance(
        f, (models.BooleanField, models.DateTimeField, models.FloatField, models.IntegerField, models.TextField)
    )


@cache
def _copy_columns(model: type[models.Model]) -> list[tuple[models.Field, bool]]:
    fields = [f for f in model._meta.concrete_fields if not f.generated and not f.primary_key]
    return [(f, _plain(f)) for f in fields]


def copy_insert(model: type[models.Model], rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows (attname -> value; missing ones take the field default) and return their ids.
    On PostgreSQL: ids from the table's sequence, then one COPY, several times faster than
    bulk_create's INSERT for thousands of rows. Elsewhere (the SQLite of `make run`): bulk_create."""
    if not rows:
        return []
    columns = _copy_columns(model)
    if connection.vendor != "postgresql":
        objects = model.objects.bulk_create(model(**row) for row in rows)
        return [obj.pk for obj in objects]
    table = model._meta.db_table
    wrapper = connections[connection.alias]  # the connection itself, not the per-thread proxy, in the loop
    with wrapper.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [wrapper.ops.quote_name(table), model._meta.pk.column, len(rows)],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table),
            sql.SQL(", ").join(
                sql.Identifier(name) for name in [model._meta.pk.column, *(f.column for f, _ in columns)]
            ),
        )
        # The raw psycopg cursor: wrap its errors as Django's (a unique clash is an IntegrityError).
        with wrapper.wrap_database_errors, cursor.cursor.copy(statement) as copy:
            for pk, row in zip(ids, rows):
                values = [pk]
                for f, plain in columns:
                    value = row[f.attname] if f.attname in row else f.get_default()
                    values.append(value if plain else f.get_db_prep_save(value, wrapper))
                copy.write_row(values)
    return ids


def copy_update(model: type[models.Model], objects: list[models.Model], names: list[str]) -> None:
    """Write some fields of many rows. On PostgreSQL: COPY the new values into a temporary table and
    UPDATE … FROM it, one statement instead of bulk_update's CASE per row and field (whose building
    costs more CPU than the whole insert). Elsewhere: bulk_update."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objects, fields=names)
        return
    wrapper = connections[connection.alias]
    fields = [model._meta.get_field(name) for name in names]
    plain = [_plain(f) for f in fields]
    table, temp, pk = model._meta.db_table, "leadcrm_import_changes", model._meta.pk.column
    columns = [sql.Identifier(f.column) for f in fields]
    with wrapper.cursor() as cursor:
        cursor.execute(
            sql.SQL("CREATE TEMPORARY TABLE {} AS SELECT {}, {} FROM {} WITH NO DATA")
            .format(
                sql.Identifier(temp),
                sql.Identifier(pk),
                sql.SQL(", ").join(columns),
                sql.Identifier(table),
            )
            .as_string(cursor.cursor)
        )
        copy_sql = sql.SQL("COPY {} ({}, {}) FROM STDIN").format(
            sql.Identifier(temp), sql.Identifier(pk), sql.SQL(", ").join(columns)
        )
        with wrapper.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
            for obj in objects:
                values = [obj.pk]
                for f, as_is in zip(fields, plain):
                    value = getattr(obj, f.attname)
                    values.append(value if as_is else f.get_db_prep_save(value, wrapper))
                copy.write_row(values)
        cursor.execute(
            sql.SQL("UPDATE {} AS target SET {} FROM {} AS changes WHERE target.{} = changes.{}")
            .format(
                sql.Identifier(table),
                sql.SQL(", ").join(sql.SQL("{} = changes.{}").format(column, column) for column in columns),
                sql.Identifier(temp),
                sql.Identifier(pk),
                sql.Identifier(pk),
            )
            .as_string(cursor.cursor)
        )
        cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(temp)).as_string(cursor.cursor))


def copy_values(obj: models.Model) -> dict[str, Any]:
    """An unsaved object's row for copy_insert: every column COPY writes, by attname. The stored
    value, not the attribute: a country field's attribute builds a Country object per read (with
    a lookup in the country list), which was ~4 % of a 100,000-row import."""
    stored = obj.__dict__
    return {
        f.attname: stored[f.attname] if f.attname in stored else getattr(obj, f.attname)
        for f, _ in _copy_columns(type(obj))
    }


@cache
def _defaults(model: type[models.Model]) -> tuple[frozenset[str], tuple[tuple[str, Any, bool], ...]]:
    """Per concrete field, in order: its attname, its default and whether the default is called per
    instance (a callable: dict, list, now); generated fields are left to the database (DEFERRED)."""
    slots = []
    for f in model._meta.concrete_fields:
        if f.generated:
            slots.append((f.attname, models.DEFERRED, False))
        elif f.has_default() and callable(f.default):
            slots.append((f.attname, f.default, True))
        else:
            slots.append((f.attname, f.get_default(), False))
    return frozenset(f.attname for f in model._meta.concrete_fields if not f.generated), tuple(slots)


def instance_new(model: type[models.Model], values: dict[str, Any]) -> models.Model:
    """`model(**values)` through Django's positional constructor (the one rows read from the
    database take): values by attname, every other field its default. The keyword constructor
    pops and defaults each of a lead's ~70 fields by name, ~10 % of an import's CPU. Values under
    another name (a related object, a property) take the keyword constructor."""
    names, slots = _defaults(model)
    if not names.issuperset(values):
        return model(**values)
    return model(
        *[values[name] if name in values else (default() if call else default) for name, default, call in slots]
    )
