"""The set-up page (QR code and secret), the code page after the password, and removal."""

from base64 import b32encode

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from leads.roles import is_manager

from .service import (
    SESSION_NEEDS_CODE,
    twofactor_check,
    twofactor_confirm,
    twofactor_enrolled,
    twofactor_pending_device,
    twofactor_remove,
)

CODE_WRONG = "That code is not right (or was already used). Enter the current 6-digit code from your app."
REMOVE_REFUSED = "Managers must keep two-factor authentication here (MANAGER_2FA_REQUIRED)."


class CodeForm(forms.Form):
    token = forms.CharField(
        label="6-digit code",
        max_length=8,
        min_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


def _qr_svg(url: str) -> str:
    """The provisioning URL as an inline SVG QR code (drawn here: no third-party service sees the secret)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


@login_required
@require_http_methods(["GET", "POST"])
def twofactor_setup_view(request):
    """Scan the QR code (or type the secret) into an authenticator app, then confirm with a code."""
    if twofactor_enrolled(user=request.user) and request.user.is_verified():
        return render(request, "twofactor/enrolled.html", {"required": _must_keep(request.user)})
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        device = twofactor_confirm(user=request.user, token=form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            request.session[SESSION_NEEDS_CODE] = True
            messages.success(request, "Two-factor authentication is on.")
            return redirect(_next_url(request))
        form.add_error("token", CODE_WRONG)
    if form.errors:
        status = 400
    device = twofactor_pending_device(user=request.user)
    context = {
        "form": form,
        "qr": mark_safe(_qr_svg(device.config_url)),  # noqa: S308 (qrcode's own SVG, no user text)
        "secret": b32encode(device.bin_key).decode(),
        "next": _next_url(request),
    }
    return render(request, "twofactor/setup.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def twofactor_verify_view(request):
    """After the password: the code from the app."""
    if not twofactor_enrolled(user=request.user):
        return redirect("twofactor:setup")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = twofactor_check(user=request.user, token=form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            return redirect(_next_url(request))
        form.add_error("token", CODE_WRONG)
    status = 400 if form.errors else 200
    return render(request, "twofactor/verify.html", {"form": form, "next": _next_url(request)}, status=status)


def _must_keep(user) -> bool:
    return settings.MANAGER_2FA_REQUIRED and is_manager(user)


@login_required
@require_http_methods(["POST"])
def twofactor_remove_view(request):
    """Turn two-factor off for oneself (not for managers when the setting requires it)."""
    if _must_keep(request.user):
        messages.error(request, REMOVE_REFUSED)
        return redirect("twofactor:setup")
    twofactor_remove(user=request.user)
    request.session[SESSION_NEEDS_CODE] = False
    messages.success(request, "Two-factor authentication is off.")
    return redirect("twofactor:setup")
