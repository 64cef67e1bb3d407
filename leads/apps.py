from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _rank_triggers(sender, using, **kwargs):
    """After every `migrate`: the triggers that keep the rank table a copy of the lead rows are
    there (SQLite drops a table's triggers when a migration rebuilds the table)."""
    from django.db import connections

    from .models.rank import rank_triggers_install

    connection = connections[using]
    tables = connection.introspection.table_names()
    if "leads_leadrank" in tables and "leads_lead" in tables:
        rank_triggers_install(connection)


class LeadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "leads"

    def ready(self):
        # Modules that connect signal receivers when imported; imported here, once the app registry is
        # ready (their models cannot load before it), as Django's AppConfig.ready documents.
        from .common import pgloaders  # noqa: F401  (timestamps parsed by psycopg's C loader on UTC connections)
        from .outbound import subscriptions  # noqa: F401  (the receivers that drop the cached subscriptions)
        from .workspace import user_time_zone  # noqa: F401  (the login receiver that remembers the user's time zone)

        post_migrate.connect(_rank_triggers, sender=self, dispatch_uid="leads_rank_triggers")
