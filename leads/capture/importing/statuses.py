"""Lead statuses of other systems, mapped to ours with a documented default table (docs/import.md).
An import can map further values (ImportJob.status_map); a value neither knows never rejects a row."""

import re

from ...models import Lead

NEW, ACTIVE, NURTURING, QUALIFIED, CONVERTED, LOST = (
    Lead.Status.NEW,
    Lead.Status.ACTIVE,
    Lead.Status.NURTURING,
    Lead.Status.QUALIFIED,
    Lead.Status.CONVERTED,
    Lead.Status.LOST,
)

# The defaults of each system, as their exports spell them.
CRM_STATUSES: dict[str, dict[str, str]] = {
    "HubSpot": {
        "New": NEW,
        "Open": NEW,
        "In Progress": ACTIVE,
        "Open Deal": QUALIFIED,
        "Unqualified": LOST,
        "Attempted to Contact": ACTIVE,
        "Connected": ACTIVE,
        "Bad Timing": NURTURING,
    },
    "Salesforce": {
        "Open - Not Contacted": NEW,
        "Working - Contacted": ACTIVE,
        "Closed - Converted": CONVERTED,
        "Closed - Not Converted": LOST,
        # Lightning's newer default picklist
        "Working": ACTIVE,
        "Nurturing": NURTURING,
        "Qualified": QUALIFIED,
    },
    "Pipedrive": {"Open": NEW, "Won": CONVERTED, "Lost": LOST, "Archived": LOST, "Deleted": LOST},
    "Zoho CRM": {
        "Not Contacted": NEW,
        "Attempted to Contact": ACTIVE,
        "Contact in Future": NURTURING,
        "Contacted": ACTIVE,
        "Pre-Qualified": QUALIFIED,
        "Not Qualified": LOST,
        "Junk Lead": LOST,
        "Lost Lead": LOST,
    },
}

# Our own values and common words for them.
GENERIC_STATUSES: dict[str, str] = {
    **{word: NEW for word in ("new", "open", "not contacted", "uncontacted", "open not contacted")},
    **{
        word: ACTIVE
        for word in (
            "active",
            "working",
            "contacted",
            "in progress",
            "working contacted",
            "attempting contact",
        )
    },
    **{word: NURTURING for word in ("nurturing", "nurture", "nurtured")},
    **{
        word: QUALIFIED
        for word in (
            "qualified",
            "sql",
            "mql",
            "sales qualified",
            "marketing qualified",
            "sales qualified lead",
            "marketing qualified lead",
        )
    },
    **{word: CONVERTED for word in ("converted", "won", "closed won", "closed converted", "customer")},
    **{
        word: LOST
        for word in (
            "lost",
            "closed lost",
            "disqualified",
            "unqualified",
            "closed not converted",
            "closed disqualified",
            "dead",
            "junk",
        )
    },
}


def status_key(value: str) -> str:
    """Case, dashes, slashes and spacing do not matter: "Open - Not Contacted" is "open not contacted"."""
    return " ".join(re.sub(r"[-_/]", " ", value).casefold().split())


STATUS_SYNONYMS: dict[str, str] = {
    **GENERIC_STATUSES,
    **{status_key(name): status for table in CRM_STATUSES.values() for name, status in table.items()},
}


def import_status(value: str, mapping: dict[str, str] | None = None) -> str | None:
    """The lead status a cell names: the import's own mapping first, then the default table; or None."""
    key = status_key(value)
    if mapping:
        mapped = mapping.get(key)
        if mapped in Lead.Status.values:
            return mapped
    return STATUS_SYNONYMS.get(key)
