"""Dates and times in the user's own time zone (UserPreference.time_zone, else settings.TIME_ZONE).

The zone is read once, at login, and kept in the session: the middleware then activates it on
every request without a query (the preferences page updates the session when it changes).
"""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from ..common.timezones import zone_or_none
from ..models import UserPreference

SESSION_KEY = "leadcrm_time_zone"


def user_time_zone_name(*, user) -> str:
    """The user's chosen zone name ('' when none: the site's TIME_ZONE applies)."""
    return UserPreference.objects.filter(user_id=user.pk).values_list("time_zone", flat=True).first() or ""


def session_time_zone_set(*, request: HttpRequest, name: str) -> None:
    """Remember the zone for this session and use it for the rest of the request."""
    request.session[SESSION_KEY] = name
    zone = zone_or_none(name)
    if zone:
        timezone.activate(zone)
    else:
        timezone.deactivate()


@receiver(user_logged_in, dispatch_uid="leadcrm_time_zone_on_login")
def _time_zone_on_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = user_time_zone_name(user=user)


class UserTimeZoneMiddleware:
    """Activate the logged-in user's time zone for the request (no query once the session has it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        name = None
        if hasattr(request, "session"):
            name = request.session.get(SESSION_KEY)
            # Only a logged-in session (checked without loading the user) reads the preference.
            if name is None and "_auth_user_id" in request.session and request.user.is_authenticated:
                # A session from before this setting existed: read it once.
                name = user_time_zone_name(user=request.user)
                request.session[SESSION_KEY] = name
        zone = zone_or_none(name or "")
        if zone:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            # Never leave the zone on the thread (the next request, or a test after this one,
            # would inherit it). A streamed export renders after this: it uses the site's zone.
            timezone.deactivate()
