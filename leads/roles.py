"""The three roles, as Django groups (created by migration leads/0003)."""

from django.apps import apps as live_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import AnonymousUser, User

SALES_REPS = "Sales reps"
SALES_MANAGERS = "Sales managers"
MARKETERS = "Marketers"
ROLES = (SALES_REPS, SALES_MANAGERS, MARKETERS)

# Managers and marketers both run nurturing: segments, lists, sequences and what they send.
NURTURE_GRANTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("leads", "segment", ("add", "change", "delete", "view")),
    ("leads", "segmentmember", ("add", "delete", "view")),
    ("leads", "segmentsnapshot", ("view",)),
    ("leads", "sequence", ("add", "change", "delete", "view")),
    ("leads", "sequencestep", ("add", "change", "delete", "view")),
    ("leads", "enrollment", ("add", "change", "view")),
    ("leads", "steprun", ("view",)),
    ("leads", "emailsuppression", ("add", "view")),
]

# Permissions each role gets: (app_label, model, actions).
ROLE_PERMISSIONS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    SALES_MANAGERS: [
        ("leads", "lead", ("add", "change", "delete", "view")),
        ("leads", "interaction", ("add", "change", "delete", "view")),
        ("leads", "team", ("add", "change", "delete", "view")),
        ("leads", "teammembership", ("add", "change", "delete", "view")),
        ("customers", "customer", ("add", "change", "delete", "view")),
        ("auth", "user", ("view",)),
        ("leads", "capturerecord", ("view",)),
        ("leads", "consent", ("view",)),
        ("leads", "possibleduplicate", ("change", "view")),
        ("leads", "webform", ("add", "change", "delete", "view")),
        ("leads", "mailbox", ("add", "change", "delete", "view")),
        ("leads", "inboundemail", ("view",)),
        ("leads", "webhooksource", ("add", "change", "delete", "view")),
        ("leads", "webhookevent", ("view",)),
        ("leads", "trackingsite", ("add", "change", "delete", "view")),
        ("leads", "visitor", ("view",)),
        ("leads", "pageview", ("view",)),
        ("leads", "importjob", ("add", "change", "view")),
        ("leads", "scoringrule", ("add", "change", "delete", "view")),
        ("leads", "scoringconfig", ("change", "view")),
        ("leads", "scoringmodel", ("view",)),
        ("leads", "scorejob", ("add", "view")),
        ("leads", "enrichmentvalue", ("change", "view")),
        ("leads", "agent", ("add", "change", "view")),
        ("leads", "teamsettings", ("add", "change", "view")),
        ("leads", "territory", ("add", "change", "delete", "view")),
        ("leads", "assignment", ("view",)),
        ("leads", "call", ("view",)),
        ("leads", "twilioaccount", ("add", "change", "delete", "view")),
        ("leads", "notification", ("view",)),
        *NURTURE_GRANTS,
        ("leads", "task", ("add", "change", "delete", "view")),
        ("leads", "savedview", ("add", "change", "delete", "view")),
        # Unlocking a locked-out user is deleting their access attempts (django-axes).
        ("axes", "accessattempt", ("view", "delete")),
        ("axes", "accessfailurelog", ("view",)),
        ("django_celery_beat", "periodictask", ("add", "change", "delete", "view")),
        ("django_celery_beat", "crontabschedule", ("add", "change", "delete", "view")),
        ("django_celery_beat", "intervalschedule", ("add", "change", "delete", "view")),
    ],
    SALES_REPS: [
        ("leads", "lead", ("add", "change", "view")),
        ("leads", "interaction", ("add", "view")),
        ("leads", "team", ("view",)),
        ("customers", "customer", ("add", "view")),
        ("leads", "task", ("add", "change", "view")),
        ("leads", "enrollment", ("view",)),
    ],
    MARKETERS: [
        ("leads", "lead", ("view",)),
        ("leads", "webform", ("add", "change", "view")),
        ("leads", "importjob", ("add", "view")),
        ("leads", "trackingsite", ("view",)),
        ("leads", "interaction", ("view",)),
        ("leads", "team", ("view",)),
        ("customers", "customer", ("view",)),
        *NURTURE_GRANTS,
    ],
}


def roles_ensure(apps=None) -> None:
    """Create the role groups with their permissions (idempotent). Used by migration
    leads/0003 with its historical apps, and after a test flush with the live ones."""
    apps = apps or live_apps
    for app_config in apps.get_app_configs():
        # Permissions are normally created after all migrations; make sure they exist now.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, grants in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        for app_label, model, actions in grants:
            codenames = [f"{action}_{model}" for action in actions]
            group.permissions.add(
                *permission_model.objects.filter(content_type__app_label=app_label, codename__in=codenames)
            )


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
    return user.is_authenticated and (user.is_superuser or bool(user_roles(user) & {SALES_MANAGERS, MARKETERS}))


def is_manager(user: User | AnonymousUser) -> bool:
    """Managers (and superusers) edit every lead and reassign owners."""
    return user.is_authenticated and (user.is_superuser or SALES_MANAGERS in user_roles(user))


def is_rep(user: User | AnonymousUser) -> bool:
    return user.is_authenticated and SALES_REPS in user_roles(user)


# The user's row and the names of their groups in one statement, for the two places that load the
# request's user: the session's (leads.workspace.notifications) and an API token's (leads.api.tokens).
# Written once instead of compiled by the ORM per request; each statement reads the user as `u`.
_USER_ATTNAMES = [field.attname for field in User._meta.concrete_fields]
USER_COLUMNS_SQL = ", ".join(f'u."{field.column}"' for field in User._meta.concrete_fields)
ROLE_NAMES_SQL = (
    "ARRAY(SELECT g.name FROM auth_group g JOIN auth_user_groups ug ON ug.group_id = g.id WHERE ug.user_id = u.id)"
)


def user_from_row(alias: str, columns, role_names) -> User:
    """A User from USER_COLUMNS_SQL's values, its roles cached as user_roles caches them."""
    user = User.from_db(alias, _USER_ATTNAMES, columns)
    user._leadcrm_roles = frozenset(role_names)
    return user
