"""Who a privacy request is about: the person's leads (by the lead, its address, or a capture held
apart under that address) and what identifies them in free text (addresses, phone numbers, names)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from ..common.normalize import normalize_email
from ..models import CaptureRecord, Lead
from .tombstones import email_digest

# Replaces the person's address, phone number and name where they appear in other rows' text.
REDACTED = "[erased]"
# Where a capture kept apart (seen by someone who may not see the lead) keeps the clashing address.
HELD_EMAIL_KEY = "captured_email"


@dataclass
class Person:
    """The subject of a request: their leads and identifiers (the identifiers live only in memory)."""

    email: str
    lead_ids: list[int] = field(default_factory=list)
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    @property
    def digest(self) -> str:
        return email_digest(email=self.email)

    @property
    def needles(self) -> list[str]:
        """What identifies the person unambiguously in free text: addresses and phone numbers."""
        return sorted(self.emails | self.phones)

    def mentioned(self, prefix: str = "") -> Q:
        """Rows whose `prefix` column contains one of the needles (case-insensitive)."""
        condition = Q(pk__in=[])
        for needle in self.needles:
            condition |= Q(**{f"{prefix}__icontains": needle})
        return condition

    def redact(self, value: Any) -> Any:
        """The value (text, or JSON data) with the person's address, phone and full name replaced."""
        if isinstance(value, str):
            text = value
            for needle in sorted(self.emails | self.phones | self.names, key=len, reverse=True):
                text = re.sub(re.escape(needle), REDACTED, text, flags=re.IGNORECASE)
            return text
        if value in (None, {}, []):
            return value
        return json.loads(self.redact(json.dumps(value, ensure_ascii=False)))


def person_leads(*, email: str = "", lead: Lead | None = None) -> QuerySet[Lead]:
    """The leads of a person: the given lead, and every lead with (or holding apart) the address."""
    condition = Q(pk__in=[])
    if lead is not None:
        condition |= Q(pk=lead.pk)
    if email:
        condition |= Q(email=email) | Q(attributes__has_key=HELD_EMAIL_KEY, attributes__captured_email=email)
    return Lead.objects.filter(condition).order_by("pk")


def person_find(*, email: str = "", lead: Lead | None = None) -> Person:
    """The person behind an address or a lead, with all their leads and identifiers."""
    email = normalize_email(email) or (lead.email if lead is not None else "")
    if not email and lead is not None:
        email = normalize_email(str((lead.attributes or {}).get(HELD_EMAIL_KEY, "")))
    person = Person(email=email)
    rows = person_leads(email=email, lead=lead).values_list(
        "pk", "email", "phone", "first_name", "last_name", "attributes"
    )
    for pk, lead_email, phone, first_name, last_name, attributes in rows:
        person.lead_ids.append(pk)
        person.emails |= {
            e for e in (lead_email, normalize_email(str((attributes or {}).get(HELD_EMAIL_KEY, "")))) if e
        }
        if phone:
            person.phones.add(phone)
        full_name = " ".join(part for part in (first_name.strip(), last_name.strip()) if part)
        if first_name.strip() and last_name.strip():
            person.names.add(full_name)  # a lone first name is too common to redact elsewhere
    if email:
        person.emails.add(email)
    return person


def person_captures(person: Person) -> QuerySet[CaptureRecord]:
    """Capture records of the person's leads, and any other whose payload or raw body names their
    address (rejected, held or ignored inputs). The text search reads the whole table: an erasure
    or export is rare, and an index over every payload would cost every capture."""
    condition = Q(lead_id__in=person.lead_ids)
    for email in sorted(person.emails):
        condition |= Q(payload_text__icontains=email) | Q(raw__icontains=email)
    return CaptureRecord.objects.annotate(payload_text=Cast("payload", TextField())).filter(condition)
