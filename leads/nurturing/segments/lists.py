"""Static lists: a set of SegmentMember rows, added and removed set-based (one statement each)."""

import re
from collections.abc import Iterable

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from ...common.normalize import normalize_email
from ...common.validation import id_parse, ids_parse
from ...models import Lead, Segment, SegmentMember
from ...selectors import visible_to
from .compiler import queryset_sql

NOT_A_STATIC_LIST = "Leads are added to and removed from static lists only."


def _lead_id_source(lead_ids: Iterable[int] | QuerySet) -> QuerySet:
    if isinstance(lead_ids, QuerySet):
        return lead_ids.order_by().values("id") if lead_ids.model is Lead else lead_ids.order_by()
    return Lead.objects.filter(pk__in=[int(pk) for pk in lead_ids]).order_by().values("id")


def _require_static(segment: Segment) -> None:
    if segment.kind != Segment.Kind.STATIC:
        raise ValidationError({"list": [NOT_A_STATIC_LIST]})


def list_add_leads(*, segment: Segment, lead_ids: Iterable[int] | QuerySet, by: User | None) -> int:
    """Add leads to a static list in one INSERT … SELECT (already there: skipped); returns how many joined.
    Pass a visible_to(user) queryset to respect visibility."""
    _require_static(segment)
    if not isinstance(lead_ids, QuerySet):
        lead_ids = list(lead_ids)
        if not lead_ids:
            # `pk__in=[]` compiles to no SQL at all (EmptyResultSet): nothing to add.
            return 0
    source_sql, params = queryset_sql(_lead_id_source(lead_ids))
    by_id = by.pk if by is not None and by.is_authenticated else None
    member = SegmentMember._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {member} (segment_id, lead_id, added_at, added_by_id) "  # f-string SQL: our table
            # WHERE true: SQLite needs it to parse INSERT … SELECT … ON CONFLICT.
            f"SELECT %s, source.id, %s, %s FROM ({source_sql}) AS source WHERE true "
            "ON CONFLICT (segment_id, lead_id) DO NOTHING",
            [segment.pk, timezone.now(), by_id, *params],
        )
        added = max(cursor.rowcount, 0)
        if added:
            Segment.objects.filter(pk=segment.pk).update(size=F("size") + added, evaluated_at=timezone.now())
    return added


def list_remove_leads(*, segment: Segment, lead_ids: Iterable[int] | QuerySet) -> int:
    """Remove leads from a static list in one DELETE; returns how many left."""
    _require_static(segment)
    if not isinstance(lead_ids, QuerySet):
        lead_ids = list(lead_ids)
        if not lead_ids:
            return 0
    with transaction.atomic():
        removed = SegmentMember.objects.filter(
            segment_id=segment.pk, lead_id__in=_lead_id_source(lead_ids)
        )._raw_delete(using=connection.alias)
        if removed:
            Segment.objects.filter(pk=segment.pk).update(size=F("size") - removed, evaluated_at=timezone.now())
    return removed


_REFERENCE_SPLIT = re.compile(r"[\s,;]+")
MAX_REFERENCES = 5000  # emails and ids read from one paste


def list_add_references(*, segment: Segment, text: str, user: User) -> tuple[int, list[str]]:
    """Add the visible leads named in `text` (emails and ids, separated by spaces, commas or lines):
    (how many joined, the references no visible lead matched)."""
    tokens = [token for token in _REFERENCE_SPLIT.split(text or "") if token][:MAX_REFERENCES]
    ids = set(ids_parse(tokens))
    emails = {normalize_email(token) for token in tokens if "@" in token}
    leads = visible_to(user).filter(Q(pk__in=ids) | Q(email__in=emails)) if ids or emails else Lead.objects.none()
    found = {(pk, email) for pk, email in leads.values_list("pk", "email")}
    found_ids = {pk for pk, _ in found}
    found_emails = {email for _, email in found}
    missing = [
        t
        for t in tokens
        if (id_parse(t) and id_parse(t) not in found_ids)
        or ("@" in t and normalize_email(t) not in found_emails)
        or (not id_parse(t) and "@" not in t)
    ]
    added = list_add_leads(segment=segment, lead_ids=sorted(found_ids), by=user) if found_ids else 0
    return added, missing
