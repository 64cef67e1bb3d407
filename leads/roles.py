"""The three roles, as Django groups (created by migration leads/0003)."""
from django.contrib.auth.models import AnonymousUser, User

SALES_REPS = "Sales reps"
SALES_MANAGERS = "Sales managers"
MARKETERS = "Marketers"
ROLES = (SALES_REPS, SALES_MANAGERS, MARKETERS)

# Permissions each role gets: (app_label, model, actions).
ROLE_PERMISSIONS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    SALES_MANAGERS: [
        ("leads", "lead", ("add", "change", "delete", "view")),
        ("leads", "interaction", ("add", "change", "delete", "view")),
        ("leads", "team", ("add", "change", "delete", "view")),
        ("leads", "teammembership", ("add", "change", "delete", "view")),
        ("customers", "customer", ("add", "change", "delete", "view")),
        ("auth", "user", ("view",)),
        ("django_celery_beat", "periodictask", ("add", "change", "delete", "view")),
        ("django_celery_beat", "crontabschedule", ("add", "change", "delete", "view")),
        ("django_celery_beat", "intervalschedule", ("add", "change", "delete", "view")),
    ],
    SALES_REPS: [
        ("leads", "lead", ("add", "change", "view")),
        ("leads", "interaction", ("add", "view")),
        ("leads", "team", ("view",)),
        ("customers", "customer", ("view",)),
    ],
    MARKETERS: [
        ("leads", "lead", ("view",)),
        ("leads", "interaction", ("view",)),
        ("leads", "team", ("view",)),
        ("customers", "customer", ("view",)),
    ],
}


def user_roles(user: User | AnonymousUser) -> frozenset[str]:
    """The role names of a user, read once per request and cached on the user object."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_leadcrm_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._leadcrm_roles = cached
    return cached


def sees_all_leads(user: User | AnonymousUser) -> bool:
    """Managers, marketers and superusers read every lead."""
    return user.is_authenticated and (
        user.is_superuser or bool(user_roles(user) & {SALES_MANAGERS, MARKETERS})
    )


def is_manager(user: User | AnonymousUser) -> bool:
    """Managers (and superusers) edit every lead and reassign owners."""
    return user.is_authenticated and (user.is_superuser or SALES_MANAGERS in user_roles(user))


def is_rep(user: User | AnonymousUser) -> bool:
    return user.is_authenticated and SALES_REPS in user_roles(user)
