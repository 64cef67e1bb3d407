"""The lead board (docs/reps.md): the lead list's filters and saved views, shown as
one column per open status. Moving a card is a plain form POST (buttons on each card, so the
keyboard does it; static/leadcrm/board.js adds dragging) through the lead page's status change,
the same service as the list and the lead page; a lost lead asks for its reason there too.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..models import Lead
from ..permissions import can_write
from ..selectors import lead_filterset, rank_visible_to, visible_parts
from ..workspace.board import BOARD_STATUSES, board_columns
from ..workspace.saved_views import builtin_views, clean_list_query, saved_views_for
from .lead_list import filter_chips, label_filters
from .lead_page import errors_onto_form, status_change_apply, writable_lead
from .page_forms import StatusForm

BOARD_NOT_A_COLUMN = "The board moves leads between new, active, nurturing and qualified (or to lost, with a reason)."


def _board_context(request: HttpRequest, *, query, move_errors: dict | None = None) -> tuple[dict, bool]:
    user = request.user
    filterset = lead_filterset(user=user, data=query)
    label_filters(filterset.form)
    valid = filterset.is_valid()
    statuses = [s for s in (query.get("status") or "").split(",") if s] if valid else []
    more = query.get("more", "")
    columns = (
        board_columns(
            queryset=filterset.qs if valid else filterset.queryset.none(),
            statuses=statuses,
            more=more,
            ordered=bool(query.get("ordering")),
            rank_visible=rank_visible_to(user),
            count_parts=[filterset.filter_queryset(part) for part in visible_parts(user)],
        )
        if valid
        else []
    )
    rest = query.copy()
    for key in ("page", "more"):
        rest.pop(key, None)
    current_query = clean_list_query(rest.urlencode())
    return {
        "filter": filterset,
        "columns": columns,
        "can_write": can_write(user),
        "now": timezone.now(),
        "chips": filter_chips(filterset, query),
        "current_query": current_query,
        "builtin_views": builtin_views(user=user),
        "saved_views": saved_views_for(user=user),
        "list_url": reverse("leads:list") + ("?" + current_query if current_query else ""),
        "move_errors": move_errors or {},
    }, valid


@login_required
def lead_board_view(request: HttpRequest) -> HttpResponse:
    """The board: the list's filters, one capped column per open status."""
    context, valid = _board_context(request, query=request.GET)
    return render(request, "leads/lead_board.html", context, status=200 if valid else 400)


def _move_data(post: QueryDict, pk: int) -> QueryDict:
    """The board's one move form carries every card's reason as `lost_reason_<pk>`: this card's is
    the lost reason (a plain `lost_reason` is taken as it is)."""
    data = post.copy()
    if f"lost_reason_{pk}" in post:
        data["lost_reason"] = post[f"lost_reason_{pk}"]
    return data


@login_required
@require_POST
def lead_board_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a card to another column (or to lost, with a reason): the lead page's status change.
    Back to the board with its filters; with htmx, the board itself is answered."""
    lead = writable_lead(request, pk)
    query = clean_list_query(request.POST.get("query", ""))
    form = StatusForm(_move_data(request.POST, pk))
    errors = None
    if form.is_valid() and form.cleaned_data["status"] not in (*BOARD_STATUSES, Lead.Status.LOST):
        form.add_error("status", BOARD_NOT_A_COLUMN)
    if form.is_valid():
        try:
            status_change_apply(lead, form.cleaned_data, request.user)
        except ValidationError as exc:
            errors_onto_form(exc, form)
    if form.errors:
        errors = {pk: [message for messages_ in form.errors.values() for message in messages_]}
    board_url = reverse("leads:board") + ("?" + query if query else "")
    moved = (
        ""
        if errors
        else _("%(lead)s moved to %(status)s.")
        % {
            "lead": lead,
            "status": dict(Lead.Status.choices)[form.cleaned_data["status"]],
        }
    )
    if errors is None and not request.htmx:
        messages.success(request, moved)
        return redirect(board_url)
    # htmx: the board itself (board.js lets a 400 be swapped in, so its message shows).
    context, _valid = _board_context(request, query=QueryDict(query), move_errors=errors)
    context["moved"] = moved
    template = "leads/board/_board.html" if request.htmx else "leads/lead_board.html"
    return render(request, template, context, status=400 if errors else 200)
