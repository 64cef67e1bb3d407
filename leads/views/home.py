"""'My work': a rep's home page (queue, tasks due, recent activity, notifications), and the landing
redirect after login. Thin: leads.workspace.home reads, leads.workspace.followups writes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..models import Task
from ..roles import is_rep
from ..workspace.followups import task_complete
from ..workspace.home import (
    QUEUE_LIMIT,
    TASK_LIMIT,
    home_counts,
    home_notifications,
    home_queue,
    home_recent,
    home_task_get,
    home_tasks,
)


@login_required
def start_view(request: HttpRequest) -> HttpResponse:
    """Where login lands: reps on "My work", everyone else on the lead list."""
    return redirect("leads:home" if is_rep(request.user) else "leads:list")


@login_required
def home_view(request: HttpRequest) -> HttpResponse:
    """The rep's day at a glance. A fixed number of queries, whatever the data."""
    now = timezone.now()
    user = request.user
    return render(
        request,
        "leads/home.html",
        {
            "now": now,
            "counts": home_counts(user=user, now=now),
            "queue": list(home_queue(user=user, now=now)[:QUEUE_LIMIT]),
            "tasks": list(home_tasks(user=user, now=now)[:TASK_LIMIT]),
            "recent": home_recent(user=user),
            "notifications": home_notifications(user=user),
        },
    )


@login_required
@require_POST
def home_task_done_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of the user's tasks done (inline with htmx, or a plain form post)."""
    try:
        task = home_task_get(user=request.user, pk=pk)
    except Task.DoesNotExist as exc:
        raise Http404(_("No such task.")) from exc
    task = task_complete(task=task, by=request.user)
    if request.htmx:
        return render(request, "leads/_home_task_row.html", {"task": task, "now": timezone.now()})
    messages.success(request, _("Task done: %(title)s") % {"title": task.title})
    return redirect("leads:home")
