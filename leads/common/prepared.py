"""Statements PostgreSQL parses and plans once per connection (server-side prepared statements),
for the few that run on every capture: the capture's one statement, the API token's user and roles,
and the possible-duplicate look-ups of one lead. Planning them again for each request was 0.1–0.3 ms
of the database's CPU each (bench/README.md).

Only for statements whose generic plan is as good as any: after five runs PostgreSQL may plan a
prepared statement once for all values, and that plan cannot use a partial index whose condition a
parameter would have to prove (`email <> $2` against `WHERE email <> ''`: the whole lead table). So a
prepared statement states such conditions as literals (leads/capture/duplicates.py, and its test).

Django's own queries stay unprepared: psycopg's `prepare_threshold` is set so high that it prepares
nothing by itself (settings.py), since a generic plan would suit no search. Where
DATABASE_PREPARED_STATEMENTS=false leaves the threshold at None (a pooler that cannot keep prepared
statements), psycopg ignores the request and these run unprepared too."""

from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import Cursor, RawCursor


class _Prepare:
    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)

    def _send_query_prepared(self, name, pgq, *, binary=None):
        # psycopg keeps the statement for Django's query log (connection.queries, the tests' query
        # captures) only when it sends it unprepared.
        self._query = pgq
        return super()._send_query_prepared(name, pgq, binary=binary)


class PreparedCursor(_Prepare, Cursor):
    """Server-side binding of `%s` placeholders, prepared."""


class PreparedRawCursor(_Prepare, RawCursor):
    """PostgreSQL's own `$n` placeholders, prepared (psycopg does not convert the statement)."""


def prepared_cursor(cursor_class: type = PreparedCursor, *, using: str = DEFAULT_DB_ALIAS):
    """A Django cursor (its errors, execute wrappers and query counts) over a prepared psycopg
    cursor of the connection `using`; on another database (the embedded SQLite) its plain cursor,
    for `%s` statements."""
    db = connections[using]
    if db.vendor != "postgresql":
        return db.cursor()
    db.ensure_connection()
    with db.wrap_database_errors:
        return db._prepare_cursor(cursor_class(db.connection))
