"""factory_boy factories for the rows of the libraries underneath: API tokens (DRF), TOTP devices
(django-otp), login attempts (django-axes), Django admin's change log and periodic jobs (django-celery-beat)."""

import factory
from axes.models import AccessAttempt
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from leads.models import Lead

from .core import LeadFactory, ManagerFactory, UserFactory


class TokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Token

    user = factory.SubFactory(UserFactory)


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "app"
    confirmed = True


class AccessAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccessAttempt

    username = factory.Sequence(lambda n: f"user{n}")
    ip_address = "198.51.100.7"
    user_agent = "Mozilla/5.0"
    http_accept = "text/html"
    path_info = "/accounts/login/"
    get_data = ""
    post_data = ""
    failures_since_start = 1


class LogEntryFactory(factory.django.DjangoModelFactory):
    """An admin change-log entry about a lead (an object's history page reads these)."""

    class Meta:
        model = LogEntry
        exclude = ("lead",)

    lead = factory.SubFactory(LeadFactory)
    user = factory.SubFactory(ManagerFactory)
    content_type = factory.LazyFunction(lambda: ContentType.objects.get_for_model(Lead))
    object_id = factory.LazyAttribute(lambda entry: str(entry.lead.pk))
    object_repr = factory.LazyAttribute(lambda entry: str(entry.lead))
    action_flag = CHANGE
    change_message = ""


class IntervalScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IntervalSchedule

    every = 1
    period = IntervalSchedule.MINUTES


class PeriodicTaskFactory(factory.django.DjangoModelFactory):
    """A periodic job as a manager adds it in admin."""

    class Meta:
        model = PeriodicTask

    name = factory.Sequence(lambda n: f"Periodic job {n}")
    task = "leads.tasks.sweep_outbox_task"
    interval = factory.SubFactory(IntervalScheduleFactory)
