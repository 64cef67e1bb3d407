"""Until the session passed its second factor, a user who needs one sees only the 2FA pages."""

from urllib.parse import quote

from django.shortcuts import redirect
from django.urls import reverse

from .service import SESSION_NEEDS_CODE, twofactor_enrolled, twofactor_required

# Reachable before the second factor: the 2FA pages themselves, logging out, static files, health.
OPEN_PREFIXES = ("/accounts/2fa/", "/accounts/logout/", "/static/", "/health/", "/favicon.ico")


class TwoFactorMiddleware:
    """After django_otp's OTPMiddleware: an unverified session of a user who must give a code is
    sent to the code page (or, with none set up yet under MANAGER_2FA_REQUIRED, to the set-up page)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(OPEN_PREFIXES)
            and _needs_code(request)
        ):
            target = "twofactor:verify" if twofactor_enrolled(user=user) else "twofactor:setup"
            return redirect(f"{reverse(target)}?next={quote(request.get_full_path())}")
        return self.get_response(request)


def _needs_code(request) -> bool:
    """Decided at login and kept in the session (no query per request); a session from before
    two-factor existed decides once."""
    needed = request.session.get(SESSION_NEEDS_CODE)
    if needed is None:
        needed = request.session[SESSION_NEEDS_CODE] = twofactor_required(user=request.user)
    return needed
