from django.apps import AppConfig


class TwoFactorConfig(AppConfig):
    name = "leadcrm.twofactor"
    label = "leadcrm_twofactor"
    verbose_name = "Two-factor authentication"

    def ready(self) -> None:
        # Connected once the app registry is ready (the service's models cannot load before it).
        from django.contrib.auth.signals import user_logged_in

        from .service import twofactor_note_login

        user_logged_in.connect(twofactor_note_login, dispatch_uid="leadcrm.twofactor.note_login")
