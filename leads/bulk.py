"""Set-based bulk updates: one `UPDATE … FROM (VALUES …)` statement per batch on PostgreSQL.

Django's `bulk_update` builds a `CASE WHEN pk = … THEN …` expression per field and row and resolves
every one of them in Python: at 500 leads × 15 fields that was two thirds of an enrichment batch's
time (profiled: 9.6 of 14.3 s for 2,000 leads). Here the values travel as one VALUES list, each
cast to its column's type, and PostgreSQL joins it on the primary key.
"""
from collections.abc import Sequence

from django.db import connection, models


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
