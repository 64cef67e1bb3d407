from django.apps import AppConfig


class LeadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "leads"

    def ready(self):
        # Modules that connect signal receivers when imported; imported here, once the app registry is
        # ready (their models cannot load before it), as Django's AppConfig.ready documents.
        from .outbound import subscriptions  # noqa: F401  (the receivers that drop the cached subscriptions)
        from .workspace import user_time_zone  # noqa: F401  (the login receiver that remembers the user's time zone)
