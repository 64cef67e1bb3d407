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
        hint.provider,
        f"{hint.confidence:.0%}",
        hint.updated_at.strftime("%Y-%m-%d"),
        hint.detail or f"from {hint.provider}",
    )


@register.simple_tag
def score_sparkline(points: list[tuple[str, int]], width: int = 240, height: int = 48) -> str:
    """A small inline SVG line of score over time (no chart library, no JavaScript)."""
    if len(points) < 2:
        return ""
    step = width / (len(points) - 1)
    coords = " ".join(f"{i * step:.1f},{height - value / 100 * height:.1f}" for i, (_, value) in enumerate(points))
    first, last = points[0], points[-1]
    return format_html(
        '<svg class="sparkline" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="Score from {} ({}) to {} ({})">'
        '<polyline fill="none" stroke="currentColor" stroke-width="2" points="{}"/></svg>',
        width,
        height,
        width,
        height,
        first[1],
        first[0],
        last[1],
        last[0],
        coords,
    )
