"""Saved views of the lead list: the built-in ones everyone is offered, a user's own, and those a
manager shares with everyone."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..models import SavedView

SAVED_VIEW_LIMIT = 50

# Validation messages (tests assert on them).
VIEW_NAME_REQUIRED = _("Give the view a name.")
VIEW_NAME_TOO_LONG = _("A view name is at most 100 characters.")
VIEW_NAME_TAKEN = _("You already have a view with this name.")
VIEW_QUERY_TOO_LONG = _("This query is too long to save (at most 2,000 characters).")
VIEW_SHARE_FORBIDDEN = _("Only managers share views with everyone.")


@dataclass(frozen=True)
class BuiltInView:
    name: str
    query: str
    pk: None = None
    is_shared: bool = True
    built_in: bool = True


def builtin_views(*, user) -> list[BuiltInView]:
    """The views everyone is offered: "My hot leads" (own grade A/B, best score first) and "Callable now"."""
    return [
        BuiltInView(
            name=_("My hot leads"), query=urlencode({"owner": user.username, "grade": "A,B", "ordering": "-score"})
        ),
        BuiltInView(name=_("Callable now"), query=urlencode({"callable_now": "true", "ordering": "-score"})),
    ]


def saved_views_for(*, user) -> list[SavedView]:
    """The user's own views and everyone's shared ones (one query)."""
    return list(
        SavedView.objects.filter(Q(user_id=user.pk) | Q(is_shared=True)).order_by("position", "name", "id")[
            :SAVED_VIEW_LIMIT
        ]
    )


def clean_list_query(query: str) -> str:
    """A list query string without the page and page size (a view is a filter, not a position)."""
    pairs = [(key, value) for key, value in parse_qsl(query, keep_blank_values=False) if key not in {"page", "view"}]
    return urlencode(pairs)


@transaction.atomic
def saved_view_create(*, user, name: str, query: str, is_shared: bool = False, may_share: bool = False) -> SavedView:
    """Save the list's current query under a name (shared with everyone when allowed)."""
    name = (name or "").strip()
    query = clean_list_query(query or "")
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [str(VIEW_NAME_REQUIRED)]
    elif len(name) > 100:
        errors["name"] = [str(VIEW_NAME_TOO_LONG)]
    elif SavedView.objects.filter(user_id=user.pk, name=name).exists():
        errors["name"] = [str(VIEW_NAME_TAKEN)]
    if len(query) > 2000:
        errors["query"] = [str(VIEW_QUERY_TOO_LONG)]
    if is_shared and not may_share:
        errors["is_shared"] = [str(VIEW_SHARE_FORBIDDEN)]
    if errors:
        raise ValidationError(errors)
    return SavedView.objects.create(user_id=user.pk, name=name, query=query, is_shared=is_shared)


def saved_view_delete(*, user, pk: int, may_delete_shared: bool = False) -> bool:
    """Delete one of the user's views (a manager may delete a shared one); True when deleted."""
    views = SavedView.objects.filter(pk=pk)
    views = views.filter(Q(user_id=user.pk) | Q(is_shared=True)) if may_delete_shared else views.filter(user_id=user.pk)
    deleted, _rows = views.delete()
    return bool(deleted)
