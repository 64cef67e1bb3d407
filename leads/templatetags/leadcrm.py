"""Template helpers for lead pages."""
from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def provenance(hints: dict, field: str) -> str:
    """A small "from email domain" hint next to an enriched value."""
    hint = hints.get(field)
    if not hint:
        return ""
    return format_html(
        ' <span class="provenance" title="{} · {} sure · {}">{}</span>',
        hint.provider, f"{hint.confidence:.0%}", hint.updated_at.strftime("%Y-%m-%d"), hint.detail or f"from {hint.provider}",
    )
