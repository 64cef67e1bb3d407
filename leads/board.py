"""The lead list as a board by status (docs/search-and-board.md): the reads behind it.

The board is the list's own FilterSet over `visible_to(user)` (selectors.lead_filterset), split
into one column per open status. Each column is LIMITed (`COLUMN_CAP` cards, `MORE_CAP` after
"show more") and counted up to `COUNT_CAP` in one statement, so the board costs the same fixed
number of queries with ten leads or a million. Moving a card goes through the lead page's
status change (leads.views.lead_page), i.e. `services.lead_update`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from .models import Lead
from .workspace import capped_counts

BOARD_STATUSES = (Lead.Status.NEW, Lead.Status.ACTIVE, Lead.Status.NURTURING, Lead.Status.QUALIFIED)
COLUMN_CAP = 25
MORE_CAP = 100
COUNT_CAP = MORE_CAP  # "100+": what "show more" can show (each count is a LIMITed read per column)
DEFAULT_ORDERING = ("-score", "-id")


@dataclass
class BoardColumn:
    status: str
    label: str
    leads: list[Lead] = field(default_factory=list)
    count: tuple[int, bool] = (0, True)
    cap: int = COLUMN_CAP
    previous: str = ""  # the status to the left ('' for the first column)
    next: str = ""

    @property
    def more(self) -> bool:
        """More leads than shown."""
        return self.count[0] > len(self.leads) or not self.count[1]

    @property
    def can_show_more(self) -> bool:
        """"Show more" raises the cap once; past it, the list (filtered by the column) shows them all."""
        return self.cap < MORE_CAP

    @property
    def previous_label(self) -> str:
        return dict(Lead.Status.choices).get(self.previous, "")

    @property
    def next_label(self) -> str:
        return dict(Lead.Status.choices).get(self.next, "")


def board_columns(*, queryset: QuerySet[Lead], statuses: list[str] | None = None, more: str = "",
                  ordered: bool = False) -> list[BoardColumn]:
    """One column per board status (or the chosen ones), each its first cards in the list's order
    (`ordered`: the FilterSet ordered it; else best score first) and its capped count: a query per
    column and one for the counts."""
    shown = [status for status in BOARD_STATUSES if not statuses or status in statuses]
    labels = dict(Lead.Status.choices)
    base = queryset if ordered else queryset.order_by(*DEFAULT_ORDERING)
    columns = []
    for index, status in enumerate(shown):
        cap = MORE_CAP if more == status else COLUMN_CAP
        columns.append(BoardColumn(
            status=status, label=labels[status], cap=cap,
            leads=list(base.filter(status=status).select_related("owner")[:cap]),
            previous=shown[index - 1] if index else "", next=shown[index + 1] if index + 1 < len(shown) else "",
        ))
    counts = capped_counts({column.status: queryset.filter(status=column.status) for column in columns}, cap=COUNT_CAP)
    for column in columns:
        column.count = counts[column.status]
    return columns
