"""A routed call after its first ring, as a telephony provider reports it (provider-neutral: Twilio's
webhooks in leads/telephony call these).

- An agent's leg ends: answered, the call is theirs (and so is a lead the call placed, when the first
  rep did not answer); not answered, the next available agent of the team rings, or voicemail.
- The provider's status of the call: a final one ends it through call_end (outcome, duration, the
  timeline entry, and the owner's first contact when they answered).
- A voicemail recording: kept on the call, a timeline entry on the lead, a notification to its owner.

Providers retry their callbacks: each is claimed once by (call id, key) in the transaction of its
effect, so a replay changes nothing and gets the answer the call has now.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import events, jobs
from ..distribution.service import Placement, lead_lock, placement_apply, teams_take_turn
from ..distribution.territories import territory_match
from ..models import Agent, Assignment, Call, CallCallback, Interaction, Lead, Notification
from .calls import CALL_NOT_FOUND, MISSED, CallError, _answer, _spoken, _team_for_number, call_end

# An agent's leg that reached them (the provider's words for it).
LEG_ANSWERED = frozenset({"answered", "completed"})
LEG_STATUSES = LEG_ANSWERED | {"busy", "no-answer", "failed", "canceled"}
CALL_STATUSES = frozenset(
    {"queued", "initiated", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"}
)
FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
ANSWERED_DETAIL = "inbound call answered by {agent} ({owner} did not answer)"
NOTIFY_VOICEMAIL = "Voicemail ({length}) from {caller}"


def _claim(call_id: str, key: str) -> bool:
    """Claim a callback once (inside the caller's transaction): False if it was handled before."""
    try:
        with transaction.atomic():
            CallCallback.objects.create(call_id=call_id, key=key[:120])
    except IntegrityError:
        return False
    return True


def _locked_call(call_id: str) -> Call:
    call = Call.objects.select_for_update(of=("self",)).select_related("agent").filter(call_id=call_id).first()
    if call is None:
        raise CallError("call_id", CALL_NOT_FOUND, status=404)
    return call


def _flow_answer(call: Call) -> dict:
    return {**_answer(call), "answered": call.answered_at is not None}


def call_leg_ended(*, call_id: str, leg_id: str, leg_status: str, now: datetime | None = None) -> dict:
    """The leg to the agent being rung ended with `leg_status`: answered, the call is theirs; else
    the team's next available agent rings (each agent once), or voicemail. The call's answer."""
    now = now or timezone.now()
    with transaction.atomic():
        call = _locked_call(call_id)
        # Without the provider's id of the leg, the hop it ended (one per agent rung) names it.
        if not _claim(call_id, f"leg:{leg_id}" if leg_id else f"leg:hop{len(call.rung)}:{leg_status}"):
            return _flow_answer(call)
        if call.agent_id is None or call.route == Call.Route.VOICEMAIL:
            return _flow_answer(call)
        if leg_status in LEG_ANSWERED:
            _answered(call, now=now)
        else:
            _ring_next(call, now=now)
        return _flow_answer(call)


def _answered(call: Call, *, now: datetime) -> None:
    call.answered_at = call.answered_at or now
    call.save(update_fields=["answered_at"])
    if call.placed_lead and call.lead_id:
        _lead_follows_answer(call, now=now)
    if call.ended_at is not None and call.outcome == MISSED:  # the status callback came first
        call_end(call_id=call.call_id, duration=call.duration_seconds or 0, outcome="answered")
        call.refresh_from_db()


def _lead_follows_answer(call: Call, *, now: datetime) -> None:
    lead = lead_lock(call.lead_id)
    # The call gave the lead to the first rep rung; another rep took it: the lead follows the voice.
    if lead.owner_id in call.rung and lead.owner_id != call.agent_id and lead.first_contacted_at is None:
        placement = Placement(
            user=call.agent,
            agent=Agent.objects.filter(user_id=call.agent_id).first(),
            team=call.team,
            reason=Assignment.Reason.ROUND_ROBIN,
            detail=ANSWERED_DETAIL.format(agent=call.agent.username, owner=lead.owner.username),
        )
        placement_apply(lead=lead, placement=placement, now=now)


def _hunt_team_ids(call: Call, lead: Lead | None) -> list[int]:
    """The teams whose agents ring in turn: the call's, else the lead's (or its territory's), else the
    team of the number called. A direct line (an agent's own number) hunts nobody."""
    if call.team_id:
        return [call.team_id]
    line_team = _team_for_number(call.to_number)
    if line_team is None and Agent.objects.filter(phone=call.to_number).exists():
        return []  # the agent's own number: their voicemail, not their team
    if lead is not None and lead.team_id:
        return [lead.team_id]
    if lead is not None:
        route = territory_match(lead=lead)
        if route:
            return list(route.team_ids)
    return [line_team.pk] if line_team else []


def _ring_next(call: Call, *, now: datetime) -> None:
    lead = Lead.objects.filter(pk=call.lead_id).first() if call.lead_id else None
    team_ids = _hunt_team_ids(call, lead)
    turn = None
    if team_ids:
        turn, _ = teams_take_turn(
            team_ids,
            now=now,
            working_hours=True,
            need_phone=True,
            check_capacity=False,
            exclude_user_ids=set(call.rung) | {call.agent_id},
        )
    if turn is None:
        call.route, call.agent = Call.Route.VOICEMAIL, None
    else:
        call.route, call.agent, call.team = Call.Route.TEAM, turn.user, turn.team
        call.rung = [*call.rung, turn.user.pk]
    call.save(update_fields=["route", "agent", "team", "rung"])


def _outcome(call: Call, status: str) -> str:
    if status != "completed":
        return status.replace("-", "_")
    if call.answered_at is not None:
        return "answered"
    return "voicemail" if call.route == Call.Route.VOICEMAIL or call.recording_url else MISSED


def call_status_record(
    *, call_id: str, status: str, duration: int | None = None, now: datetime | None = None
) -> tuple[Call, bool]:
    """The provider's status of the call; a final one (completed, busy, failed, no-answer, canceled)
    ends it through call_end. (call, False) for a status already applied."""
    now = now or timezone.now()
    with transaction.atomic():
        call = _locked_call(call_id)
        if not _claim(call_id, f"status:{status}"):
            return call, False
        call.status = status
        call.save(update_fields=["status"])
        if status in FINAL_STATUSES:
            call = call_end(call_id=call_id, duration=duration or 0, outcome=_outcome(call, status), now=now)
        return call, True


def call_voicemail_record(
    *,
    call_id: str,
    recording_id: str,
    url: str,
    duration: int | None = None,
    now: datetime | None = None,
) -> tuple[Call, bool]:
    """A voicemail recording is ready: on the call, as a timeline entry of the caller's lead, and a
    notification (emailed after the commit) to the lead's owner or the team's manager."""
    now = now or timezone.now()
    with transaction.atomic():
        call = _locked_call(call_id)
        if not _claim(call_id, f"recording:{recording_id or url}"):
            return call, False
        call.recording_url = url
        call.save(update_fields=["recording_url"])
        if call.lead_id is None:
            return call, True
        lead = lead_lock(call.lead_id)
        length = _spoken(duration or 0)
        events.activity_recorded(
            lead=lead,
            kind=Interaction.Kind.EVENT,
            channel=Lead.Source.CALL,
            subject=f"Voicemail ({length})",
            body=url,
            data={"call_id": call_id, "recording_id": recording_id, "recording_url": url, "duration_seconds": duration},
            occurred_at=now,
        )
        recipient_id = lead.owner_id or (call.team.manager_id if call.team_id else None)
        if recipient_id:
            caller = str(lead) if str(lead).strip() else call.from_number
            notification = Notification.objects.create(
                user_id=recipient_id,
                kind=Notification.Kind.VOICEMAIL,
                lead=lead,
                message=NOTIFY_VOICEMAIL.format(length=length, caller=caller)[:300],
            )
            jobs.enqueue("leads.workspace.tasks.notify_by_email_task", [notification.pk])
        return call, True
