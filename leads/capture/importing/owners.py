"""Owners as other CRMs export them (a user's email, user name or full name), matched to our users."""

from django.contrib.auth.models import User


def owner_key(text: str) -> str:
    """Case and spacing do not matter: "Dana  Whitfield" and "dana whitfield" are one owner."""
    return " ".join(text.casefold().split())


def import_owners_index() -> dict[str, int]:
    """Every active user by email, user name and full name (one query; a team has few users).
    A name two users share matches neither: the owner is then kept as an attribute, not guessed."""
    index: dict[str, int] = {}
    shared: set[str] = set()
    users = (
        User.objects.filter(is_active=True)
        .order_by("pk")
        .values_list("pk", "email", "username", "first_name", "last_name")
    )
    for pk, email, username, first, last in users:
        for key in {owner_key(email), owner_key(username), owner_key(f"{first} {last}")}:
            if not key:
                continue
            if key in index and index[key] != pk:
                shared.add(key)
            index.setdefault(key, pk)
    for key in shared:
        del index[key]
    return index
