"""The rescore's timeline entries, written set-based from its calc table.

A bulk rescore computes every lead of a range into a session-local table (`leads_score_calc`,
leads/scoring/service.py) and writes its timeline entries from it in one INSERT … SELECT each,
with the payload shapes of the single-lead functions: a score change `{"from", "to"}`, a
qualification a status change `{"from", "to": "qualified", "reason"}`. The events themselves are
published by `leads_score_changed` and `leads_qualified_by_score` once the rows are written.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from .base import Kind

_COLUMNS = "INSERT INTO leads_interaction (lead_id, kind, occurred_at, actor_id, channel, subject, body, data) "


def _json_object() -> str:
    return "jsonb_build_object" if connection.vendor == "postgresql" else "json_object"


def score_changes_log(*, cursor, table: str, occurred_at: datetime) -> int:
    """A "Score a → b" entry for each significant change in `table` (columns id, old_logged,
    new_score, significant). Returns how many were written."""
    cursor.execute(
        _COLUMNS + f"SELECT id, %s, %s, NULL, '', 'Score ' || CAST(old_logged AS VARCHAR(10)) || ' → ' "
        f"|| CAST(new_score AS VARCHAR(10)), '', {_json_object()}('from', old_logged, 'to', new_score) "
        f"FROM {table} WHERE significant",
        [Kind.SCORE_CHANGE, occurred_at],
    )
    return cursor.rowcount


def qualified_by_score_log(*, cursor, table: str, occurred_at: datetime, threshold: int) -> None:
    """A status-change entry to qualified for each lead of `table` that reached the MQL threshold
    (columns id, old_status, new_score, qualifies)."""
    cursor.execute(
        _COLUMNS + f"SELECT id, %s, %s, NULL, '', 'Qualified by score', '', {_json_object()}('from', old_status, "
        f"'to', 'qualified', 'reason', 'score ' || CAST(new_score AS VARCHAR(10)) || ' ≥ MQL threshold {int(threshold)}') "
        f"FROM {table} WHERE qualifies",
        [Kind.STATUS_CHANGE, occurred_at],
    )
