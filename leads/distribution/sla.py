"""Speed to lead: the owner's first contact stops the clock; a lead whose first-contact SLA ran out
goes to the next rep of its team (at most max_reassignments times), then to the team's manager."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.db.models.functions import Greatest
from django.utils import timezone

from .. import events
from ..models import Assignment, Interaction, Lead, TeamMembership
from .availability import OPEN_STATUSES
from .round_robin import rotation_take, team_settings
from .service import Placement, lead_lock, placement_apply
from .texts import lead_label, turn_text

logger = logging.getLogger(__name__)

# The owner's first logged call, email or note is the first contact (speed to lead).
FIRST_CONTACT_KINDS = frozenset(
    {Interaction.Kind.CALL_OUT, Interaction.Kind.CALL_IN, Interaction.Kind.EMAIL_OUT, Interaction.Kind.NOTE}
)
SLA_BATCH = 500
NOTIFY_SLA = "Lead reassigned to you (first contact was due from {previous}): {lead}"
NOTIFY_ESCALATION = "Lead escalated to you (first contact missed {times} times): {lead}"
NO_MANAGER = "SLA missed, but team {team} has no manager to escalate to"


def lead_first_contact(*, lead: Lead, kind: str, at: datetime) -> bool:
    """The owner's first call, email or note: set first_contacted_at (once) and the response
    time of their assignment. True if this was the first contact."""
    if kind not in FIRST_CONTACT_KINDS:
        return False
    if not Lead.objects.filter(pk=lead.pk, first_contacted_at__isnull=True).update(first_contacted_at=at):
        return False
    lead.first_contacted_at = at
    latest = (
        Assignment.objects.filter(lead_id=lead.pk, agent_id=lead.owner_id, first_contact_at__isnull=True)
        .order_by("-assigned_at", "-id")
        .values("pk")[:1]
    )
    Assignment.objects.filter(pk__in=Subquery(latest)).update(first_contact_at=Greatest(F("assigned_at"), at))
    return True


def _overdue(now: datetime):
    return Lead.objects.filter(
        sla_due_at__lt=now, first_contacted_at__isnull=True, owner__isnull=False, status__in=OPEN_STATUSES
    )


def sla_reassign_overdue(*, now: datetime | None = None) -> int:
    """Reassign leads whose first-contact SLA ran out: to the next rep of the team, at most
    max_reassignments times, then to the team's manager. Returns how many moved."""
    now = now or timezone.now()
    # An owner set by hand (admin, the lead form) carries no SLA: only our own placing does.
    ours = Assignment.objects.filter(
        lead_id=OuterRef("pk"), agent_id=OuterRef("owner_id"), sla_due_at=OuterRef("sla_due_at")
    )
    _overdue(now).exclude(Exists(ours)).update(sla_due_at=None)
    rows = list(
        _overdue(now).order_by("sla_due_at", "id").values_list("pk", "owner__username", "sla_due_at")[:SLA_BATCH]
    )
    events.leads_sla_breached(rows=rows, occurred_at=now)  # automations and webhooks hear it, once per breach
    return sum(1 for lead_id, _, _ in rows if _sla_reassign_one(lead_id, now=now))


def _sla_reassign_one(lead_id: int, *, now: datetime) -> bool:
    with transaction.atomic():
        lead = lead_lock(lead_id, skip_locked=True)  # being worked on right now: next run
        if lead is None or not _overdue(now).filter(pk=lead_id).exists():
            return False
        team = lead.team
        if team is None:
            membership = (
                TeamMembership.objects.filter(user_id=lead.owner_id).select_related("team").order_by("pk").first()
            )
            team = membership.team if membership else None
        if team is None:
            Lead.objects.filter(pk=lead.pk).update(sla_due_at=None)
            logger.warning("lead %s missed its SLA but its owner is in no team: left with %s", lead.pk, lead.owner)
            return False
        settings = team_settings(team)
        previous = lead.owner
        if lead.reassignments < settings.max_reassignments:
            turn = rotation_take(team_id=team.pk, now=now, exclude_user_ids=[lead.owner_id])
            if turn is not None and turn.user is not None:
                placement_apply(
                    lead=lead,
                    now=now,
                    placement=Placement(
                        user=turn.user,
                        agent=turn.agent,
                        team=turn.team,
                        reason=Assignment.Reason.SLA,
                        skipped=turn.skipped,
                        detail=f"SLA missed by {previous.username} → team {turn.team.name} → {turn_text(turn)}",
                        notify=NOTIFY_SLA.format(previous=previous.username, lead=lead_label(lead)),
                        extra={"reassignments": lead.reassignments + 1},
                    ),
                )
                return True
        manager = team.manager
        if manager is None or manager.pk == lead.owner_id or not manager.is_active:
            Lead.objects.filter(pk=lead.pk).update(sla_due_at=None)
            events.lead_assigned(
                assignment=events.Assignment(
                    lead=lead,
                    previous=previous.username,
                    to=previous.username,
                    reason=NO_MANAGER.format(team=team.name),
                    team=team.name,
                    subject=NO_MANAGER.format(team=team.name),
                ),
                occurred_at=now,
            )
            logger.warning("lead %s: %s", lead.pk, NO_MANAGER.format(team=team.name))
            return False
        misses = lead.reassignments + 1
        placement_apply(
            lead=lead,
            now=now,
            placement=Placement(
                user=manager,
                agent=None,
                team=team,
                reason=Assignment.Reason.ESCALATION,
                with_sla=False,
                detail=f"SLA missed by {previous.username} ({misses} missed) → manager of team {team.name} → {manager.username}",
                notify=NOTIFY_ESCALATION.format(times=misses, lead=lead_label(lead)),
                extra={"reassignments": misses},
            ),
        )
        return True
