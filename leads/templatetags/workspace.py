"""Template helpers for "My work", the lead list and the board: capped counts, sortable headers, lead
cells, board cards."""

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from ..common.urls import PK_MARKER, pk_filled
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
    '<tr data-url="{}" tabindex="-1"><td class="select-col"><input class="form-check-input row-check" '
    'type="checkbox" name="ids" value="{}" aria-label="{}"></td><td class="name-col"><a class="lead-link" '
    'href="{}">{}</a></td>{}</tr>'
)


@register.simple_tag
def lead_rows(leads, columns) -> str:
    """The lead table's rows: a tick box, the name and a cell per chosen column (`columns`: (key,
    label, ordering) triples), or one row saying none match. Written here rather than as template
    markup: 25 rows of 9 cells were ~1,600 variable lookups and 50 URL reversals, about a tenth of
    the list page's CPU (bench/README.md)."""
    if not leads:
        return format_html(
            '<tr><td colspan="{}" class="text-body-secondary">{}</td></tr>', len(columns) + 2, _("No leads match.")
        )
    pattern = reverse("leads:detail", args=[PK_MARKER])
    select = _("Select %(lead)s")

    def row(lead) -> tuple:
        url, name = pk_filled(pattern, lead.pk), str(lead)
        cells = mark_safe("".join(lead_cell(lead, key, label) for key, label, _order in columns))  # each escaped
        return url, lead.pk, select % {"lead": name}, url, name, cells

    return format_html_join("\n", _ROW, (row(lead) for lead in leads))


@register.simple_tag
def lead_cell(lead, column: str, label: str = "") -> str:
    """One cell of the lead table for a column key (see leads.workspace.preferences.LEAD_COLUMNS); `label`
    becomes its data-label, which the phone's card layout shows before the value (leadcrm.css)."""
    cell = _lead_cell(lead, column)
    if not label:
        return cell
    return format_html('<td data-label="{}"', label) + mark_safe(cell[len("<td") :])  # cell is already escaped


def _lead_cell(lead, column: str) -> str:
    if column == "company":
        return format_html("<td>{}</td>", lead.company)
    if column == "email":
        return format_html("<td>{}</td>", lead.email)
    if column == "phone":
        return format_html('<td class="text-nowrap">{}</td>', lead.phone)
    if column == "status":
        return format_html(
            '<td><span class="badge text-bg-secondary status-{}">{}</span></td>', lead.status, lead.get_status_display()
        )
    if column == "score":
        grade = format_html(" · {}", lead.grade) if lead.grade else ""
        return format_html('<td class="text-end">{}{}</td>', formats.localize(lead.score), grade)
    if column == "probability":
        value = "—" if lead.probability is None else formats.number_format(lead.probability * 100, 0) + " %"
        return format_html('<td class="text-end">{}</td>', value)
    if column == "owner":
        if lead.owner_id:
            return format_html("<td>{}</td>", lead.owner.username)
        queue = (
            format_html(
                ' <span class="text-body-secondary small">({})</span>', _("%(team)s queue") % {"team": lead.team.name}
            )
            if lead.team_id
            else ""
        )
        return format_html("<td>—{}</td>", queue)
    if column == "source":
        return format_html("<td>{}</td>", lead.get_source_display())
    if column == "country":
        return format_html("<td>{}</td>", lead.country.name if lead.country else "")
    if column == "time_zone":
        return format_html("<td>{}</td>", lead.time_zone)
    if column == "last_activity":
        return format_html("<td>{}</td>", _date(lead.last_activity_at, "SHORT_DATETIME_FORMAT"))
    if column == "updated":
        return format_html("<td>{}</td>", _date(lead.updated_at, "SHORT_DATETIME_FORMAT"))
    if column == "created":
        return format_html("<td>{}</td>", _date(lead.created_at, "SHORT_DATE_FORMAT"))
    return format_html("<td></td>")


def _date(value, fmt: str) -> str:
    """A datetime in the active time zone and locale ('—' for none)."""
    if value is None:
        return "—"
    return formats.date_format(timezone.localtime(value), fmt)


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
