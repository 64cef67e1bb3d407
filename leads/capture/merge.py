"""The find/merge rules every way in shares: how a captured person is found among the leads, and what
a capture adds to the lead it found. One definition, used by capture() (one lead, looked up in the
database), capture_many() (a batch, looked up once and matched in memory) and lead_create (a lead a
person types, refused when its identity is already taken).

Finding: the same external id, else the same email (both unique columns), else the same phone when
one of the two has no email: two emails on one phone are two people (a possible duplicate, which
duplicates.py records). Merging fills the lead's blanks and never overwrites what a person typed,
unless the input is authoritative (an import matched by its id column: the file is the source of
truth for the columns it has)."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from ..common.copying import instance_new
from ..models import Lead

# Merging fills only these (blank) fields; everything else a person typed stays.
MERGEABLE = (
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
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "external_id",
)
# The identities a person is found by, in the order they are tried; the first two are unique columns.
IDENTITIES = ("external_id", "email", "phone")
UNIQUE_IDENTITIES = ("external_id", "email")
PHONE_CANDIDATES = 5  # leads sharing a phone that are looked at, oldest first

# lookup(identity, value) -> the leads holding that value, oldest first.
Lookup = Callable[[str, str], Iterable[Lead]]


def person_find(fields: dict[str, Any], *, lookup: Lookup) -> tuple[Lead | None, str]:
    """The lead a capture's cleaned fields belong to and the identity that matched it ("" for none)."""
    for name in UNIQUE_IDENTITIES:
        if fields.get(name):
            found = next(iter(lookup(name, fields[name])), None)
            if found is not None:
                return found, name
    if fields.get("phone"):
        email = fields.get("email", "")
        for candidate in islice(lookup("phone", fields["phone"]), PHONE_CANDIDATES):
            # Same phone: the same person, unless both have an email (then a possible duplicate).
            if not candidate.email or not email:
                return candidate, "phone"
    return None, ""


@dataclass
class Merged:
    """What a merge changed: the fields, and the values an authoritative input replaced."""

    changed: list[str] = field(default_factory=list)
    overwritten: dict[str, dict[str, str]] = field(default_factory=dict)


def _display(value: Any) -> str:
    return str(value) if value is not None else ""


def fields_merge(
    lead: Lead,
    fields: dict[str, Any],
    *,
    authoritative: bool = False,
    taken: Callable[[str, str], bool] | None = None,
) -> Merged:
    """Put a capture's fields on a lead: its blanks only, or every field the input has when
    `authoritative`. An empty value never clears one. `taken(name, value)` says whether another lead
    already holds a unique value (email, external id): then the lead keeps its own and the rest merges."""
    merged = Merged()
    for name in MERGEABLE:
        value = fields.get(name)
        if not value:
            continue
        current = getattr(lead, name)
        if current == value or (current and not authoritative):
            continue
        if taken is not None and name in UNIQUE_IDENTITIES and taken(name, value):
            continue
        if current:
            merged.overwritten[name] = {"from": _display(current), "to": value}
        setattr(lead, name, value)
        merged.changed.append(name)
    attributes = fields.get("attributes") or {}
    if attributes:
        combined = {**lead.attributes, **attributes} if authoritative else {**attributes, **lead.attributes}
        if combined != lead.attributes:
            lead.attributes = combined
            merged.changed.append("attributes")
    new_tags = set(fields.get("tags") or []) - set(lead.tags)
    if new_tags:
        lead.tags = sorted(set(lead.tags) | new_tags)
        merged.changed.append("tags")
    opt_in = fields.get("email_opt_in")
    if opt_in is not None and bool(opt_in) != lead.email_opt_in and (opt_in or authoritative):
        lead.email_opt_in = bool(opt_in)
        merged.changed.append("email_opt_in")
    return merged


def lead_new(fields: dict[str, Any], **values: Any) -> Lead:
    """A new lead from a capture's cleaned fields (and the channel's own `values`: source, times…)."""
    return instance_new(
        Lead,
        {
            **{name: value for name, value in fields.items() if name in MERGEABLE},
            "attributes": fields.get("attributes") or {},
            "tags": fields.get("tags") or [],
            "email_opt_in": bool(fields.get("email_opt_in")),
            **values,
        },
    )
