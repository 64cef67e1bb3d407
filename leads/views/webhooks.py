"""The outbound webhooks pages for managers: subscriptions, the secret shown once, each
subscription's delivery log with a resend button."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..models import WebhookDelivery, WebhookSubscription
from ..outbound import subscriptions as services
from ..outbound.delivery import delivery_resend
from ..outbound.payloads import EVENT_DESCRIPTIONS
from ..outbound.selectors import delivery_log, subscription_list
from ..roles import is_manager

LOG_PAGE_SIZE = 50


class SubscriptionForm(forms.Form):
    url = forms.URLField(label=_("Receiver URL"), max_length=500, assume_scheme="https")
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("Events"),
        widget=forms.CheckboxSelectMultiple,
        choices=[(name, f"{name}: {text}") for name, text in EVENT_DESCRIPTIONS.items()],
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


def _require_manager(request: HttpRequest) -> None:
    if not is_manager(request.user):
        raise PermissionDenied


def _save(form: SubscriptionForm, call) -> WebhookSubscription | None:
    """Run the service; its per-field errors land on the form."""
    try:
        return call(**form.cleaned_data)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
        return None


@login_required
def webhook_list_view(request: HttpRequest) -> HttpResponse:
    """Every subscription with its counts, and the form for a new one (its secret is shown once)."""
    _require_manager(request)
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        subscription = _save(form, lambda **data: services.subscription_create(by=request.user, **data))
        if subscription is not None:
            return render(
                request, "leads/webhooks/secret.html", {"subscription": subscription, "secret": subscription.secret}
            )
    return render(request, "leads/webhooks/list.html", {"subscriptions": subscription_list(), "form": form})


@login_required
def webhook_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a subscription; its delivery log (status, response code, time, excerpt) with resend."""
    _require_manager(request)
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    initial = {key: getattr(subscription, key) for key in ("url", "description", "events", "is_active")}
    form = SubscriptionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if _save(form, lambda **data: services.subscription_update(subscription=subscription, **data)) is not None:
            messages.success(request, _("Subscription saved."))
            return redirect("leads:webhook_detail", pk=subscription.pk)
    page = Paginator(delivery_log(subscription_id=subscription.pk), LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "leads/webhooks/detail.html", {"subscription": subscription, "form": form, "page": page})


@login_required
@require_POST
def webhook_rotate_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A new secret, shown once."""
    _require_manager(request)
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    secret = services.subscription_rotate_secret(subscription=subscription)
    return render(request, "leads/webhooks/secret.html", {"subscription": subscription, "secret": secret})


@login_required
@require_POST
def webhook_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    get_object_or_404(WebhookSubscription, pk=pk).delete()
    messages.success(request, _("Subscription deleted."))
    return redirect("leads:webhooks")


@login_required
@require_POST
def webhook_resend_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Send one delivery again (the worker sends it; the log shows the outcome)."""
    _require_manager(request)
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("subscription"), pk=pk)
    delivery_resend(delivery=delivery)
    if delivery.subscription.is_active:
        messages.success(request, _("Delivery queued to be sent again."))
    else:
        messages.warning(request, _("Queued, but the subscription is off: turn it on to send."))
    return redirect("leads:webhook_detail", pk=delivery.subscription_id)
