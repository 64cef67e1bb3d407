"""Who may do what: every role check of the app in one place, used by views, the API and admin
alike. Who *sees* a lead is the one read rule `selectors.visible_to`; roles themselves (the groups
and what they grant in admin) are defined in `roles`."""

from django.contrib.auth.models import AnonymousUser, User
from django.http import Http404

from .models import Lead
from .roles import MARKETERS, is_manager, is_rep, sees_all_leads, user_roles
from .selectors import visible_to

AnyUser = User | AnonymousUser

__all__ = [
    "can_build_segments",
    "can_change_settings",
    "can_export",
    "can_import",
    "can_open_dashboard",
    "can_train",
    "can_write",
    "is_manager",
    "is_marketer",
    "is_rep",
    "lead_visible_or_404",
    "sees_all_leads",
]


def is_marketer(user: AnyUser) -> bool:
    """Marketers build segments, lists and sequences and read every lead."""
    return MARKETERS in user_roles(user)


def can_write(user: AnyUser) -> bool:
    """Managers and reps act on the leads they see; marketers only read."""
    return is_manager(user) or is_rep(user)


def can_export(user: AnyUser) -> bool:
    """Managers and marketers take lists out of the CRM; reps work in it."""
    return sees_all_leads(user)


def can_import(user: AnyUser) -> bool:
    """Managers and marketers import leads; reps do not."""
    return is_manager(user) or is_marketer(user)


def can_build_segments(user: AnyUser) -> bool:
    """Marketers and managers build segments and lists; reps do not."""
    return is_manager(user) or is_marketer(user)


def can_open_dashboard(user: AnyUser, *, for_marketers: bool | None = None) -> bool:
    """Managers and staff (not reps) open every dashboard; marketers only those marked for them
    (`for_marketers`; None asks whether the user may open any dashboard at all)."""
    if is_manager(user) or (user.is_authenticated and user.is_staff and not is_rep(user)):
        return True
    return bool(for_marketers) and is_marketer(user)


def can_train(user: AnyUser) -> bool:
    """Training the scoring model changes every score, so it takes the right to change the scoring settings."""
    return user.is_authenticated and user.has_perm("leads.change_scoringconfig")


def can_change_settings(user: AnyUser) -> bool:
    """Teams, agents, territories and scoring (the Settings pages) are the managers' to change."""
    return is_manager(user)


def lead_visible_or_404(user: AnyUser, pk: int, *, related: tuple[str, ...] = ("owner", "team")) -> Lead:
    """The lead if `user` may see it (visible_to), with the given relations; else a 404."""
    try:
        return visible_to(user).select_related(*related).get(pk=pk)
    except Lead.DoesNotExist as exc:
        raise Http404("No such lead.") from exc
