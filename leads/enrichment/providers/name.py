"""Names: split a full name typed into one field, and fix ALL-CAPS or all-lower names."""

from nameparser import HumanName

from .base import LeadFacts, Provider, Suggestion


def _needs_case_fix(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return len(letters) > 1 and (text == text.upper() or text == text.lower())


def _capitalised(text: str) -> str:
    name = HumanName(text)
    name.capitalize(force=True)
    return str(name) or text


class NameProvider(Provider):
    name = "name"
    fills = ("first_name", "last_name")
    needs = ("first_name", "last_name")

    def suggest(self, facts: LeadFacts) -> list[Suggestion]:
        first, last = facts.get("first_name"), facts.get("last_name")
        suggestions = []
        if first and not last and " " in first.strip():
            # "Ludwig van Beethoven" typed into one field: first "Ludwig", last "van Beethoven".
            parsed = HumanName(first)
            if _needs_case_fix(first):
                parsed.capitalize(force=True)
            given = " ".join(part for part in (parsed.first, parsed.middle) if part)
            if given and parsed.last:
                return [
                    Suggestion("first_name", given, 0.8, "split from full name"),
                    Suggestion("last_name", parsed.last, 0.8, "split from full name"),
                ]
        for field, value in (("first_name", first), ("last_name", last)):
            if value and _needs_case_fix(value):
                suggestions.append(Suggestion(field, _capitalised(value), 0.9, "capitalised"))
        return suggestions
