"""The lead list as a board by status (docs/reps.md): the reads behind it.

The board is the list's own FilterSet over `visible_to(user)` (selectors.lead_filterset), split
into one column per open status. Each column is LIMITed (`COLUMN_CAP` cards, `MORE_CAP` after
"show more") and counted up to `COUNT_CAP` in one statement, so the board costs the same fixed
number of queries with ten leads or a million. Moving a card goes through the lead page's
status change (leads.views.lead_page), i.e. `services.lead_update`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from ..common.urls import PK_MARKER, pk_filled
from ..models import Lead, rank_joined, ranked
from .counts import capped_counts

BOARD_STATUSES = (Lead.Status.NEW, Lead.Status.ACTIVE, Lead.Status.NURTURING, Lead.Status.QUALIFIED)
COLUMN_CAP = 20
MORE_CAP = 100
COUNT_CAP = MORE_CAP  # "100+": what "show more" can show (each count is a LIMITed read per column)
DEFAULT_ORDERING = ("-rank__score", "-id")  # best score first, from the rank table's index
# What a card shows (and the orderings read): loading whole rows cost more CPU than the page
# itself (django-countries' descriptor alone ~0.5 ms a row).
CARD_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "grade",
    "status",
    "score",
    "owner__username",
    "sla_due_at",
    "first_contacted_at",
    "created_at",
    "updated_at",
    "last_activity_at",
    "probability",
    "time_zone",
)


@dataclass
class BoardColumn:
    status: str
    label: str
    leads: list[Lead] = field(default_factory=list)
    cards: list[dict] = field(default_factory=list)  # what the template shows of each lead (cards_prepare)
    count: tuple[int, bool] = (0, True)
    cap: int = COLUMN_CAP
    previous: str = ""  # the status to the left ('' for the first column)
    next: str = ""
    previous_label: str = ""
    next_label: str = ""

    @property
    def more(self) -> bool:
        """More leads than shown."""
        return self.count[0] > len(self.leads) or not self.count[1]

    @property
    def can_show_more(self) -> bool:
        """ "Show more" raises the cap once; past it, the list (filtered by the column) shows them all."""
        return self.cap < MORE_CAP


def board_columns(
    *,
    queryset: QuerySet[Lead],
    statuses: list[str] | None = None,
    more: str = "",
    ordered: bool = False,
    rank_visible: Q | None = None,
    count_parts: list[QuerySet[Lead]] | None = None,
) -> list[BoardColumn]:
    """One column per board status (or the chosen ones), each its first cards in the list's order
    (`ordered`: the FilterSet ordered it; else best score first) and its capped count: a query per
    column and one for the counts. `rank_visible`: the user's visibility said on the rank row
    (selectors.rank_visible_to), added beside the queryset's own where a column walks the rank table.
    `count_parts`: disjoint querysets whose union is `queryset` (a rep's own leads and team queue,
    selectors.visible_parts with the same filters), counted each from its own index range and added
    up, as the lead list's tabs are: one OR was a bitmap over every visible lead per column (a rep
    with 37,661 leads: 44 ms for the four counts at a million leads)."""
    shown = [status for status in BOARD_STATUSES if not statuses or status in statuses]
    labels = dict(Lead.Status.choices)
    base = queryset if ordered else ranked(queryset).order_by(*DEFAULT_ORDERING)
    # A column ordered or filtered by score says its status on the rank row too (rank_joined).
    by_rank = rank_joined(base)
    on_rank = rank_visible if by_rank and rank_visible is not None else Q()
    columns = []
    for index, status in enumerate(shown):
        cap = MORE_CAP if more == status else COLUMN_CAP
        previous = shown[index - 1] if index else ""
        following = shown[index + 1] if index + 1 < len(shown) else ""
        columns.append(
            BoardColumn(
                status=status,
                label=labels[status],
                cap=cap,
                leads=list(
                    base.filter(status=status, **({"rank__status": status} if by_rank else {}))
                    .filter(on_rank)
                    .select_related(None)
                    .select_related("owner")
                    .only(*CARD_FIELDS)[:cap]
                ),
                previous=previous,
                next=following,
                previous_label=labels.get(previous, ""),
                next_label=labels.get(following, ""),
            )
        )
    cards_prepare(columns)
    counted = rank_joined(queryset)
    # (A board filtered or ordered by score counts as before: its parts joined to the rank table
    # read the team queue's whole status range, 87 ms for a rep's grade A,B board.)
    parts = count_parts if count_parts and not counted else [queryset]
    counts = capped_counts(
        {
            (column.status, at): part.filter(
                status=column.status,
                **({"rank__status": column.status} if counted else {}),
            )
            for column in columns
            for at, part in enumerate(parts)
        },
        cap=COUNT_CAP,
    )
    for column in columns:
        each = [counts[column.status, at] for at in range(len(parts))]
        total = sum(n for n, _exact in each)
        column.count = (min(total, COUNT_CAP), total <= COUNT_CAP and all(exact for _n, exact in each))
    return columns


def cards_prepare(columns: list[BoardColumn]) -> None:
    """What each card shows, as one dict per card (`column.cards`): the two URLs, the name and the
    move buttons' labels would cost a reverse() or a translation per card in the template, and a
    template variable on a model instance is a failed item lookup (an exception) before getattr, a
    dozen times per card. Computed once per board and formatted per card here, so 80 cards render
    with plain dict lookups."""
    detail = reverse("leads:detail", args=[PK_MARKER])  # each URL reversed once per board, not per card
    move = reverse("leads:board_move", args=[PK_MARKER])
    move_label = _("Move %(lead)s to %(status)s")
    for column in columns:
        column.cards = []
        for lead in column.leads:
            name = str(lead)
            column.cards.append(
                {
                    "pk": lead.pk,
                    "name": name,
                    "company": lead.company,
                    "grade": lead.grade,
                    "owner": lead.owner.username if lead.owner_id else "",
                    "sla_due_at": None if lead.first_contacted_at else lead.sla_due_at,
                    "url": pk_filled(detail, lead.pk),
                    "move_url": pk_filled(move, lead.pk),
                    "previous_label": move_label % {"lead": name, "status": column.previous_label},
                    "next_label": move_label % {"lead": name, "status": column.next_label},
                }
            )
