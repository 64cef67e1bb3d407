"""Template helpers for "My work", the lead list and the board: capped counts, sortable headers, lead
cells, board cards."""

import html

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from ..common.urls import PK_MARKER, pk_filled
from ..models import Lead
from .distribution import sla_left

register = template.Library()


@register.filter
def capped(counted) -> str:
    """(count, is_exact) as "12" or "1,000+" (grouped for the active locale); '' for (0, False),
    a count not known at all."""
    count, exact = counted
    if exact:
        return intcomma(count)
    return f"{intcomma(count)}+" if count else ""


@register.simple_tag
def sort_header(query: dict, current: str, field: str, label: str) -> str:
    """A column header that sorts by `field` (descending first; a second click reverses), with
    aria-sort on the active one. `query` is the list's GET parameters without the page."""
    if not field:
        return format_html('<th scope="col">{}</th>', label)
    descending = current == f"-{field}"
    ascending = current == field
    target = field if descending else f"-{field}"
    params = {key: value for key, value in query.items() if key not in {"ordering", "page"}}
    params["ordering"] = target
    arrow = " ▼" if descending else " ▲" if ascending else ""
    aria = ' aria-sort="descending"' if descending else ' aria-sort="ascending"' if ascending else ""
    return format_html(
        '<th scope="col"{}><a class="sort-link" href="?{}" title="{}">{}{}</a></th>',
        mark_safe(aria),
        urlencode(params),
        _("Sort by %(column)s") % {"column": label},
        label,
        arrow,
    )


_ROW = (
    '<tr data-url="{url}" tabindex="-1"><td class="select-col"><input class="form-check-input row-check" '
    'type="checkbox" name="ids" value="{pk}" aria-label="{select}"></td><td class="name-col"><a class="lead-link" '
    'href="{url}">{name}</a></td>{cells}</tr>'
)


@register.simple_tag
def lead_rows(leads, columns) -> str:
    """The lead table's rows: a tick box, the name and a cell per chosen column (`columns`: (key,
    label, ordering) triples), or one row saying none match. Written here rather than as template
    markup: 25 rows of 9 cells were ~1,600 variable lookups and 50 URL reversals, about a tenth of
    the list page's CPU; and each value is escaped by the standard library's html.escape, which is
    what Django's escape() calls after its checks for lazy and safe strings (the values here are the
    database's plain strings and what this module formats): format_html's per-value machinery was
    another tenth (bench/README.md)."""
    if not leads:
        return format_html(
            '<tr><td colspan="{}" class="text-body-secondary">{}</td></tr>', len(columns) + 2, _("No leads match.")
        )
    pattern = reverse("leads:detail", args=[PK_MARKER])
    select = _("Select %(lead)s")
    page = _Page()
    cells = [
        (f'<td data-label="{html.escape(str(label))}"', _CELLS.get(key, _no_cell)) for key, label, _order in columns
    ]
    rows = []
    for lead in leads:
        url, name = html.escape(pk_filled(pattern, lead.pk)), str(lead)
        rows.append(
            _ROW.format(
                url=url,
                pk=lead.pk,
                select=html.escape(select % {"lead": name}),
                name=html.escape(name),
                cells="".join([start + cell(lead, page) for start, cell in cells]),
            )
        )
    return mark_safe("\n".join(rows))  # every value escaped above


class _Page:
    """What every row of one rendering shares: the active language's formats and labels, the
    current time zone (read once, not per cell)."""

    def __init__(self):
        self.zone = timezone.get_current_timezone()
        self.short_datetime = formats.get_format("SHORT_DATETIME_FORMAT")
        self.short_date = formats.get_format("SHORT_DATE_FORMAT")
        self.statuses = _labels("status")
        self.sources = _labels("source")
        self.queue = _("%(team)s queue")

    def date(self, value, fmt: str) -> str:
        """A datetime in the current time zone and the locale's format ('—' for none)."""
        return "—" if value is None else html.escape(dateformat.format(value.astimezone(self.zone), fmt))


def _labels(field: str) -> dict:
    """A choice field's labels by value, translated now (get_FOO_display, once per page)."""
    return {value: str(label) for value, label in Lead._meta.get_field(field).flatchoices}


def _text(value) -> str:
    return ">" + html.escape(str(value)) + "</td>"


def _owner(lead, page: _Page) -> str:
    if lead.owner_id:
        return _text(lead.owner.username)
    if not lead.team_id:
        return ">—</td>"
    queue = html.escape(page.queue % {"team": lead.team.name})
    return f'>— <span class="text-body-secondary small">({queue})</span></td>'


def _score(lead, page: _Page) -> str:
    grade = f" · {html.escape(lead.grade)}" if lead.grade else ""
    return f' class="text-end">{html.escape(formats.localize(lead.score))}{grade}</td>'


def _probability(lead, page: _Page) -> str:
    value = "—" if lead.probability is None else formats.number_format(lead.probability * 100, 0) + " %"
    return f' class="text-end">{html.escape(value)}</td>'


def _no_cell(lead, page: _Page) -> str:
    return "></td>"


# Per column key: the cell after its "<td" (attributes, value, end), every value escaped.
_CELLS = {
    "company": lambda lead, page: _text(lead.company),
    "email": lambda lead, page: _text(lead.email),
    "phone": lambda lead, page: ' class="text-nowrap"' + _text(lead.phone),
    "status": lambda lead, page: (
        f'><span class="badge text-bg-secondary status-{html.escape(lead.status)}">'
        f"{html.escape(page.statuses.get(lead.status, lead.status))}</span></td>"
    ),
    "score": _score,
    "probability": _probability,
    "owner": _owner,
    "source": lambda lead, page: _text(page.sources.get(lead.source, lead.source)),
    "country": lambda lead, page: _text(lead.country.name if lead.country else ""),
    "time_zone": lambda lead, page: _text(lead.time_zone),
    "last_activity": lambda lead, page: f">{page.date(lead.last_activity_at, page.short_datetime)}</td>",
    "updated": lambda lead, page: f">{page.date(lead.updated_at, page.short_datetime)}</td>",
    "created": lambda lead, page: f">{page.date(lead.created_at, page.short_date)}</td>",
}


# A card's move to the previous or next column: submits the board's one move form to the card's URL.
_MOVE_BUTTON = (
    '<button type="submit" form="board-move" formaction="{}" name="status" value="{}" '
    'class="btn btn-outline-secondary btn-sm py-0" aria-label="{}">{}</button>'
)


@register.simple_tag
def board_cards(column, can_write: bool, now) -> str:
    """A board column's cards (`column.cards`, dicts from leads.workspace.board.cards_prepare) as
    `<li>`s, escaped by format_html: as template markup, 80 cards were ~2,000 variable lookups
    (this saves ~2 ms of a rep's ~27 ms board, bench/README.md)."""
    if not column.cards:
        return format_html('<li class="text-muted small">{}</li>', _("No leads."))
    t_grade, t_unassigned, t_sla = _("Grade"), _("unassigned"), _("SLA")
    t_lost, t_lost_reason, t_mark_lost = _("Lost…"), _("Lost reason"), _("Mark lost")
    cards = []
    for card in column.cards:
        grade = (
            format_html('<span class="badge text-bg-primary" title="{}">{}</span>', t_grade, card["grade"])
            if card["grade"]
            else ""
        )
        owner = (
            format_html("{}", card["owner"])
            if card["owner"]
            else format_html('<span class="text-muted">{}</span>', t_unassigned)
        )
        sla = ""
        if card["sla_due_at"]:
            sla = format_html(
                '<span class="badge {}" data-testid="sla-clock">{} {}</span>',
                "text-bg-danger" if card["sla_due_at"] < now else "text-bg-warning",
                t_sla,
                sla_left(card["sla_due_at"], now),
            )
        moves = ""
        if can_write:
            previous = (
                format_html(
                    _MOVE_BUTTON,
                    card["move_url"],
                    column.previous,
                    card["previous_label"],
                    f"← {column.previous_label}",
                )
                if column.previous
                else ""
            )
            following = (
                format_html(_MOVE_BUTTON, card["move_url"], column.next, card["next_label"], f"{column.next_label} →")
                if column.next
                else ""
            )
            moves = format_html(
                '<div class="d-flex flex-wrap gap-1 mt-1 board-moves">{}{}</div>'
                '<details class="small"><summary>{}</summary>'
                '<label class="form-label small mb-0" for="lost-{}">{}</label>'
                '<input class="form-control form-control-sm" id="lost-{}" name="lost_reason_{}" form="board-move" maxlength="300">'
                '<button type="submit" form="board-move" formaction="{}" name="status" value="lost" '
                'class="btn btn-outline-danger btn-sm py-0 mt-1">{}</button></details>',
                previous,
                following,
                t_lost,
                card["pk"],
                t_lost_reason,
                card["pk"],
                card["pk"],
                card["move_url"],
                t_mark_lost,
            )
        cards.append(
            format_html(
                '<li class="board-card card card-body p-2 mb-2" data-lead="{}" data-testid="card-{}"{}>'
                '<a class="fw-semibold" href="{}">{}</a>'
                '<div class="small text-body-secondary">{}</div>'
                '<div class="small d-flex flex-wrap gap-1 align-items-center">{}<span>{}</span>{}</div>{}</li>',
                card["pk"],
                card["pk"],
                mark_safe(' draggable="true"') if can_write else "",
                card["url"],
                card["name"],
                card["company"] or "—",
                grade,
                owner,
                sla,
                moves,
            )
        )
    return mark_safe("\n".join(cards))  # every part went through format_html
