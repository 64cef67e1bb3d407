"""How distribution describes what it did, in words a rep reads on the timeline and in notifications:
who was skipped and why, who took the turn, the lead's name with its company."""

from __future__ import annotations

from collections import Counter

from ..models import Lead
from .round_robin import Turn


def skipped_text(skipped: dict[str, str]) -> str:
    """'2 skipped: out of office' or '3 skipped: 2 out of office, 1 at capacity'."""
    if not skipped:
        return ""
    counts = Counter(skipped.values())
    if len(counts) == 1:
        return f"{len(skipped)} skipped: {next(iter(counts))}"
    return f"{len(skipped)} skipped: " + ", ".join(f"{n} {why}" for why, n in counts.most_common())


def nobody_text(turn: Turn) -> str:
    """'nobody available: 2 out of office, 1 at capacity'."""
    if not turn.members:
        return "nobody available: no members"
    counts = Counter(turn.skipped.values())
    return "nobody available: " + ", ".join(f"{n} {why}" for why, n in counts.most_common())


def turn_text(turn: Turn, how: str = "round robin") -> str:
    """'rep2 (round robin, 2 skipped: out of office)'."""
    skipped = skipped_text(turn.skipped)
    return f"{turn.user.username} ({how}{', ' + skipped if skipped else ''})"


def lead_label(lead: Lead) -> str:
    """'Ada Lovelace (Initech)': the lead's name with its company, for notifications and details."""
    name = str(lead)
    return f"{name} ({lead.company})" if lead.company and lead.company not in name else name
