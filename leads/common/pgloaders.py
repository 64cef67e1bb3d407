"""Timestamps read by psycopg's C parser when the connection's time zone is UTC.

Django registers its own `timestamptz` loader on every PostgreSQL connection (a subclass of
psycopg's pure-Python loader, so that each value carries the connection's `tzinfo`). psycopg's C
loader cannot be subclassed, so Django's loader parses every timestamp in Python: on a 500-lead
API page (five timestamps a lead) that was half of the 13 ms spent reading the rows
(bench/README.md, issue 22 §1).

When Django's connection time zone is `datetime.timezone.utc` and the session's `TimeZone` is
`UTC`, psycopg's C loader returns exactly what Django's would (psycopg maps the session zone `UTC`
to `datetime.timezone.utc` itself), so `CTimestamptzLoader` hands each value to it. It keeps
Django's `timezone` attribute, which Django compares on every cursor to decide whether to register
its own loader again. Any other zone, or psycopg's pure-Python build, keeps Django's loader.
"""

from __future__ import annotations

import datetime

import psycopg
from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from psycopg.adapt import Loader
from psycopg.pq import Format


def _c_loader():
    """psycopg's C `timestamptz` text loader, or None when psycopg runs its Python build."""
    loader = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    return loader if loader is not None and not issubclass(loader, Loader) else None


C_LOADER = _c_loader()


class CTimestamptzLoader(Loader):
    """psycopg's C loader behind the interface Django checks (`timezone`)."""

    timezone = datetime.UTC

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        self._load = C_LOADER(oid, context).load

    def load(self, data):
        return self._load(data)


def uses_c_loader(connection) -> bool:
    """Whether timestamps on this Django connection are parsed in C (CTimestamptzLoader)."""
    if connection.vendor != "postgresql" or connection.connection is None:
        return False
    return connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT) is CTimestamptzLoader


@receiver(connection_created, dispatch_uid="leads_c_timestamptz_loader")
def c_timestamptz_loader(sender, connection, **kwargs) -> None:
    if C_LOADER is None or connection.vendor != "postgresql":
        return
    native = connection.connection
    if connection.timezone is not datetime.UTC or native.info.parameter_status("TimeZone") != "UTC":
        return
    native.adapters.register_loader("timestamptz", CTimestamptzLoader)
