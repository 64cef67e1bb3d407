from django.apps import AppConfig


class LeadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "leads"

    def ready(self):
        from . import timezones  # noqa: F401  (connects the login receiver that remembers the user's time zone)
        from .outbound import subscriptions  # noqa: F401  (connects the receivers that drop the cached subscriptions)
