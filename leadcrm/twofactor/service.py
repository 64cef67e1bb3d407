"""Who must give a second factor, and checking a code."""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from leads.roles import is_manager

DEVICE_NAME = "Authenticator app"
SESSION_NEEDS_CODE = "leadcrm_2fa_needed"


def twofactor_enrolled(*, user: User) -> bool:
    """The user has a confirmed authenticator app."""
    return user_has_device(user, confirmed=True)


def twofactor_required(*, user: User | AnonymousUser) -> bool:
    """The user must pass a second factor: they set one up, or the setting demands it of managers."""
    if not user.is_authenticated:
        return False
    return twofactor_enrolled(user=user) or (settings.MANAGER_2FA_REQUIRED and is_manager(user))


def twofactor_pending_device(*, user: User) -> TOTPDevice:
    """The unconfirmed device being set up (the same secret until confirmed, so a reload keeps the QR code)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def twofactor_confirm(*, user: User, token: str) -> TOTPDevice | None:
    """Confirm the pending device with a code from the app; None when the code is wrong."""
    device = twofactor_pending_device(user=user)
    if not device.verify_token(token):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return device


def twofactor_check(*, user: User, token: str):
    """The confirmed device that accepts `token` (throttled and never the same code twice), or None."""
    token = (token or "").strip().replace(" ", "")
    if not token.isdigit():
        return None
    return match_token(user, token)


def twofactor_remove(*, user: User) -> int:
    """Remove the user's authenticator apps (a manager resets a lost phone from admin the same way)."""
    count, _ = TOTPDevice.objects.filter(user=user).delete()
    return count


def twofactor_note_login(sender, request, user, **kwargs) -> None:
    """On login (user_logged_in): whether this session must give a code, decided once."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_NEEDS_CODE] = twofactor_required(user=user)
