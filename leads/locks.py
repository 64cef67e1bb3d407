"""Row locks and advisory locks, with the one lock order every path follows.

The order, written once (a path that takes several takes them in this order, and rows of one
table in id order, so two transactions can never wait on each other in a circle):

1. a team (its round-robin turn: `distribution.round_robin.rotations_lock`, teams in id order)
2. leads, in id order (`lead_lock`, `leads_lock`); a merge locks both of its leads this way
3. a customer (conversion links a lead to it)
4. an enrollment, then its step run (nurture sending)
5. advisory locks (`advisory_lock`) last: they serialise work no row can stand for (captures of
   one phone number, the hourly send-rate count)

A visitor row is locked before its lead (identifying a visitor links it, then writes the lead's
timeline). Every helper here needs the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import QuerySet

from .models import Lead


def lead_lock(lead_id: int, *, related: Iterable[str] = (), skip_locked: bool = False) -> Lead | None:
    """One lead, locked FOR UPDATE until the transaction ends (None if gone, or locked and skipped)."""
    return (
        Lead.objects.select_for_update(of=("self",), skip_locked=skip_locked)
        .select_related(*related)
        .filter(pk=lead_id)
        .first()
    )


def leads_lock(leads: QuerySet[Lead], *, related: Iterable[str] = (), skip_locked: bool = False) -> list[Lead]:
    """The leads of a queryset, locked in id order (the lock order above)."""
    return list(leads.select_for_update(of=("self",), skip_locked=skip_locked).select_related(*related).order_by("pk"))


def advisory_lock(key: str | int) -> None:
    """A transaction-scoped advisory lock on PostgreSQL (a string key is hashed); on SQLite the
    database's single writer already serialises, so nothing is needed."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if isinstance(key, int):
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
        else:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])
