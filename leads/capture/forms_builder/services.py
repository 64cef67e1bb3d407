"""The Forms page's writes: create, duplicate, save a layout, publish and unpublish."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from ... import jobs
from ...models import WebForm
from ...selectors import visible_to
from ..service import CaptureResult
from .schema import schema_clean, schema_default

FOLLOW_UPS_TASK = "leads.automations.tasks.form_follow_ups_task"
NOT_BUILT = "This form is defined in Admin, not on the Forms page."
NAME_REQUIRED = "Give the form a name."


def _key() -> str:
    return secrets.token_urlsafe(9).replace("_", "x").replace("-", "y").lower()


def form_create(*, name: str) -> WebForm:
    """A new draft form (unpublished) with a name and an email field."""
    name = (name or "").strip()[:100]
    if not name:
        raise ValidationError({"name": [NAME_REQUIRED]})
    return WebForm.objects.create(
        name=name,
        key=_key(),
        is_active=False,
        schema=schema_default(),
        fields=[],
        required_fields=[],
    )


def form_duplicate(*, web_form: WebForm) -> WebForm:
    """A draft copy of a form (its layout and settings) under a new key."""
    copy = WebForm.objects.get(pk=web_form.pk)
    copy.pk = None
    copy.key = _key()
    copy.name = f"Copy of {web_form.name}"[:100]
    copy.is_active = False
    copy.save(force_insert=True)
    return copy


def form_schema_save(*, web_form: WebForm, schema: dict) -> dict:
    """Check and store a form's layout; raises ValidationError with errors by path."""
    cleaned, errors = schema_clean(schema)
    if errors:
        raise ValidationError(errors)
    cleaned["follow_ups"] = (web_form.schema or {}).get("follow_ups", {})  # set by the settings form only
    web_form.schema = cleaned
    web_form.save(update_fields=["schema"])
    return cleaned


def form_publish(*, web_form: WebForm, published: bool) -> WebForm:
    """Publish (the public page and embeds answer) or unpublish (they answer 404) a form."""
    if published and not web_form.schema:
        raise ValidationError(NOT_BUILT)
    web_form.is_active = published
    web_form.save(update_fields=["is_active"])
    return web_form


def built_forms():
    """The forms built on the Forms page (a layout), and the admin-defined ones, by name."""
    return WebForm.objects.order_by("name", "pk")


def form_embed_snippet(*, web_form: WebForm) -> str:
    """The script snippet that renders the form in a host page (no iframe), with absolute URLs."""
    # The unhashed name: a pasted snippet must keep working when a release changes the file.
    script = settings.STATIC_URL + "leadcrm/forms/embed.js"
    if not script.startswith(("http://", "https://", "//")):
        script = settings.PUBLIC_BASE_URL + "/" + script.lstrip("/")
    return (
        f'<div data-lcrm-form="{web_form.key}"></div>\n'
        f'<script src="{script}" data-lcrm-base="{settings.PUBLIC_BASE_URL}" async></script>'
    )


def form_follow_ups_enqueue(*, web_form: WebForm, result: CaptureResult) -> None:
    """After a final submission that made or updated a lead: run the form's follow-ups off the request."""
    follow_ups = (web_form.schema or {}).get("follow_ups") or {}
    if follow_ups and result.lead is not None and result.record is not None:
        with transaction.atomic():
            jobs.enqueue(FOLLOW_UPS_TASK, result.record.pk)


def form_leads(*, web_form: WebForm, user, limit: int = 50):
    """The leads a form made or updated, that the user may see, newest first."""
    made = Q(captures__web_form=web_form) & Q(captures__result__in=("created", "merged", "attached"))
    return visible_to(user).filter(made).distinct().select_related("owner").order_by("-created_at", "-id")[:limit]
