"""The search the erasure is judged by: every table of every installed model, every text, char and
JSON column (JSON cast to text in SQL), for each needle."""

from django.apps import apps
from django.db import connection, models


def _searchable(field) -> bool:
    target = field.output_field if isinstance(field, models.GeneratedField) else field
    return isinstance(target, (models.CharField, models.TextField, models.JSONField, models.GenericIPAddressField))


def traces(needles: list[str]) -> dict[str, list[str]]:
    """{table: [columns holding a needle]} over the whole database."""
    found: dict[str, list[str]] = {}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            if model._meta.proxy or not model._meta.managed:
                continue
            table = model._meta.db_table
            for field in model._meta.concrete_fields:
                if not _searchable(field):
                    continue
                column = quote(field.column)
                cursor.execute(
                    f"SELECT 1 FROM {quote(table)} WHERE CAST({column} AS text) ILIKE ANY(%s) LIMIT 1",
                    [[f"%{needle}%" for needle in needles]],
                )
                if cursor.fetchone():
                    found.setdefault(table, []).append(field.column)
    return found
