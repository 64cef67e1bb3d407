"""Email templates and snippets: a rep keeps their own, a manager may share one with everyone.
Everyone sees their own and the shared ones; a rep edits only their own, a manager also the shared."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from ..common.rendering import RenderError, template_compile
from ..models import EmailTemplate
from ..roles import is_manager

TEMPLATE_NAME_TAKEN = "You already have a template or snippet of this kind with this name."
TEMPLATE_SHARE_FORBIDDEN = "Only managers share templates with everyone."
TEMPLATE_NOT_YOURS = "You may edit only your own templates (managers also the shared ones)."
TEMPLATE_SUBJECT_REQUIRED = "A template needs a subject."

TEMPLATES_LIMIT = 200


def templates_visible(*, user: User, kind: str | None = None) -> QuerySet[EmailTemplate]:
    """The user's own templates and snippets and everyone's shared ones (one query, by kind and name)."""
    queryset = EmailTemplate.objects.filter(Q(owner_id=user.pk) | Q(is_shared=True)).select_related("owner")
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset.order_by("kind", "name", "id")


def template_may_edit(*, user: User, template: EmailTemplate) -> bool:
    """A rep edits their own; a manager their own and the shared ones."""
    return template.owner_id == user.pk or (template.is_shared and is_manager(user))


def _check(*, user: User, kind: str, subject: str, body: str, is_shared: bool) -> None:
    errors: dict[str, list[str]] = {}
    if is_shared and not is_manager(user):
        errors["is_shared"] = [TEMPLATE_SHARE_FORBIDDEN]
    if kind == EmailTemplate.Kind.TEMPLATE and not subject.strip():
        errors["subject"] = [TEMPLATE_SUBJECT_REQUIRED]
    for field, source in (("subject", subject), ("body", body)):
        try:
            template_compile(source=source, field=field)
        except RenderError as exc:
            errors.setdefault(field, []).append(str(exc))
    if errors:
        raise ValidationError(errors)


def _save(template: EmailTemplate) -> EmailTemplate:
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError as exc:  # the unique (owner, kind, name): never check-then-insert
        raise ValidationError({"name": [TEMPLATE_NAME_TAKEN]}) from exc
    return template


def template_create(
    *,
    user: User,
    kind: str,
    name: str,
    subject: str = "",
    body: str,
    is_shared: bool = False,
) -> EmailTemplate:
    """Save a new template or snippet of the user's (ValidationError with per-field messages)."""
    _check(user=user, kind=kind, subject=subject, body=body, is_shared=is_shared)
    return _save(
        EmailTemplate(owner=user, kind=kind, name=name.strip(), subject=subject.strip(), body=body, is_shared=is_shared)
    )


def template_update(
    *,
    user: User,
    template: EmailTemplate,
    name: str,
    subject: str = "",
    body: str,
    is_shared: bool = False,
) -> EmailTemplate:
    """Change a template the user may edit (PermissionDenied otherwise)."""
    if not template_may_edit(user=user, template=template):
        raise PermissionDenied(TEMPLATE_NOT_YOURS)
    # A manager editing a shared one may keep it shared; only they may make one shared.
    _check(user=user, kind=template.kind, subject=subject, body=body, is_shared=is_shared and not template.is_shared)
    template.name, template.subject, template.body, template.is_shared = name.strip(), subject.strip(), body, is_shared
    return _save(template)


def template_delete(*, user: User, template: EmailTemplate) -> None:
    """Delete a template the user may edit (PermissionDenied otherwise)."""
    if not template_may_edit(user=user, template=template):
        raise PermissionDenied(TEMPLATE_NOT_YOURS)
    template.delete()
