"""Distribution pages: the managers' board (load, queues, SLA breaches, reassignments, response
times), a rep's own queue, and everyone's notifications. Thin: selectors read, services write."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from ..common.validation import ids_parse
from ..distribution.selectors import (
    agent_board,
    agent_own_load,
    over_capacity,
    queue_summary,
    reassignment_log,
    rep_queue,
    rep_team_waiting,
    response_times,
    sla_breaches,
)
from ..models import Notification
from ..roles import is_manager, is_rep
from ..workspace.notifications import notifications_mark_read, notifications_unread_count

QUEUE_PAGE_SIZE = 50
NOTIFICATION_PAGE_SIZE = 25


@login_required
def distribution_board_view(request: HttpRequest) -> HttpResponse:
    """Managers: each agent's load and capacity, the queues, SLA breaches, reassignments, response times."""
    if not is_manager(request.user):
        raise PermissionDenied
    now = timezone.now()
    breach_count, breaches = sla_breaches(user=request.user, now=now)
    agents = agent_board(now=now)
    return render(
        request,
        "leads/distribution_board.html",
        {
            "now": now,
            "agents": agents,
            "over_capacity": [row for row in agents if row.over_by],
            "queues": queue_summary(user=request.user),
            "breach_count": breach_count,
            "breaches": breaches,
            "log": reassignment_log(),
            "response": response_times(now=now),
        },
    )


@login_required
def my_queue_view(request: HttpRequest) -> HttpResponse:
    """Reps (and managers, for what was escalated to them): their leads awaiting first contact,
    by grade then SLA deadline, with the time left."""
    if not (is_rep(request.user) or is_manager(request.user)):
        raise PermissionDenied
    now = timezone.now()
    page = Paginator(rep_queue(user=request.user), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    report = response_times(now=now, agent_id=request.user.pk)
    open_leads, capacity = agent_own_load(user=request.user)
    return render(
        request,
        "leads/distribution_my_queue.html",
        {
            "now": now,
            "page": page,
            "team_waiting": rep_team_waiting(user=request.user),
            "mine": report.reps[0] if report.reps else None,
            "open_leads": open_leads,
            "capacity": capacity,
            "over_by": over_capacity(open_leads=open_leads, capacity=capacity),
        },
    )


@login_required
def notification_list_view(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first, with the unread count."""
    notifications = (
        Notification.objects.filter(user_id=request.user.pk).select_related("lead").order_by("-created_at", "-id")
    )
    page = Paginator(notifications, NOTIFICATION_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "leads/distribution_notifications.html",
        {"page": page, "unread": notifications_unread_count(user=request.user)},
    )


@login_required
@require_POST
def notifications_read_view(request: HttpRequest) -> HttpResponse:
    """Mark the ticked notifications read, or all of them."""
    if request.POST.get("all"):
        ids = None
    else:
        ids = ids_parse(request.POST.getlist("ids"))
    changed = notifications_mark_read(user=request.user, ids=ids)
    messages.success(request, f"{changed} notification(s) marked as read.")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("leads:notifications")


@login_required
def notification_open_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Open a notification: mark it read and go to its lead."""
    notification = get_object_or_404(Notification, pk=pk, user_id=request.user.pk)
    notifications_mark_read(user=request.user, ids=[notification.pk])
    if notification.lead_id:
        return redirect("leads:detail", notification.lead_id)
    return redirect("leads:notifications")
