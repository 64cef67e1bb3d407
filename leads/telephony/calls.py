"""Inbound phone calls: where a call rings (POST /api/v1/calls/inbound) and how it ended
(POST /api/v1/calls/{call_id}/end).

- A caller whose number is a lead's phone goes to the lead's owner when the owner is available
  (active, in the office, in working hours, with a phone); otherwise to the lead's team (or its
  territory's teams) by round robin.
- An unknown caller on a team number becomes a lead (source "call") and is routed by the team's
  rotation; the rep who takes the call gets the lead.
- Nobody available: voicemail, and an unowned lead waits in the team's queue.
- A number that is an agent's phone rings that agent.
For a live call, working hours always count, and an agent without a phone number cannot be rung.
Each call is one "call_in" Interaction; the end adds its duration and outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone

from .. import events
from ..capture.service import CaptureContext, CaptureEvent, capture
from ..common.normalize import INVALID_PHONE, normalize_phone
from ..distribution.availability import OPEN_STATUSES, unavailable_reason
from ..distribution.service import (
    Placement,
    lead_lock,
    lead_waiting_in_queue,
    placement_apply,
    queue_enter,
    teams_take_turn,
)
from ..distribution.sla import lead_first_contact
from ..distribution.territories import territory_match
from ..distribution.texts import nobody_text, turn_text
from ..models import Agent, Assignment, Call, Interaction, Lead, Team, TeamSettings
from ..roles import is_manager
from ..selectors import visible_to

NUMBER_REQUIRED = "Send the caller's number in E.164, e.g. +442079460958."
NUMBER_NOT_ROUTED = "No team or agent answers on {number}: add it to a team's phone numbers or to an agent."
CALL_ID_INVALID = "A call id is text of at most 100 characters."
CALL_NOT_FOUND = "No call with this id."
CALL_ALREADY_ENDED = "This call already ended with another duration or outcome."
DURATION_INVALID = "Send the duration in whole seconds, from 0 to 86400."
OUTCOME_INVALID = "Send the outcome as text of at most 100 characters, e.g. answered, no_answer, busy, voicemail."

# Caller ids that telephony providers send for a withheld number.
WITHHELD = frozenset({"anonymous", "private", "unknown", "restricted", "withheld", "unavailable", "blocked"})
# Outcomes in which the rep spoke with the caller (they count as first contact by the owner).
CONNECTED_OUTCOMES = frozenset({"answered", "completed", "connected"})
MISSED = "missed"  # the caller hung up while it rang (nobody answered, no voicemail)
MAX_DURATION = 86_400


class CallError(Exception):
    """Input the caller can fix: a message for one field, with the HTTP status to answer."""

    def __init__(self, field: str, message: str, status: int = 400):
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


@dataclass
class _Routing:
    route: str
    user: object | None = None
    agent: Agent | None = None
    team: Team | None = None
    note: str = ""
    placed: bool = False  # the call gave an unowned lead to this agent


def _number(field: str, value, *, withheld_ok: bool = False) -> str:
    """E.164, '' for a withheld caller (when allowed), else CallError."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise CallError(field, NUMBER_REQUIRED if field == "from" else INVALID_PHONE)
    if withheld_ok and text.casefold() in WITHHELD:
        return ""
    if "\x00" in text or len(text) > 40:
        raise CallError(field, INVALID_PHONE)
    try:
        return normalize_phone(text)
    except ValueError as exc:
        raise CallError(field, str(exc)) from exc


def _team_for_number(number: str) -> Team | None:
    """The team whose phone numbers include `number` (a handful of rows: scanned in Python,
    as JSON containment is not portable to SQLite)."""
    for settings in TeamSettings.objects.select_related("team").exclude(phone_numbers=[]).order_by("team_id"):
        numbers = settings.phone_numbers if isinstance(settings.phone_numbers, list) else []
        if number in {_e164_or_blank(n) for n in numbers}:
            return settings.team
    return None


def _e164_or_blank(value) -> str:
    try:
        return normalize_phone(value) if isinstance(value, str) else ""
    except ValueError:
        return ""


def _caller_lead(number: str) -> Lead | None:
    """The lead with this phone: an open one before a closed one, the most recently active first."""
    if not number:
        return None
    open_first = Case(When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField())
    return (
        Lead.objects.filter(phone=number)
        .order_by(open_first, F("last_activity_at").desc(nulls_last=True), "-id")
        .values_list("pk", flat=True)
        .first()
    )


def _answer(call: Call) -> dict:
    agent_phone = None
    if call.agent_id:
        agent_phone = Agent.objects.filter(user_id=call.agent_id).values_list("phone", flat=True).first() or None
    return {
        "route": call.route,
        "agent": call.agent.username if call.agent_id else None,
        "dial": agent_phone if call.route != Call.Route.VOICEMAIL else None,
        "lead": call.lead_id,
        "call_id": call.call_id,
    }


def call_route(*, from_number, to_number, call_id=None, now: datetime | None = None) -> dict:
    """Decide where an inbound call rings: {"route", "agent", "dial", "lead", "call_id"}. The same
    call_id always gets the same answer (providers retry their webhooks)."""
    now = now or timezone.now()
    caller = _number("from", from_number, withheld_ok=True)
    called = _number("to", to_number)
    if call_id is not None and (not isinstance(call_id, str) or len(call_id) > 100 or "\x00" in call_id):
        raise CallError("call_id", CALL_ID_INVALID)
    call_id = (call_id or "").strip() or uuid.uuid4().hex
    existing = Call.objects.select_related("agent").filter(call_id=call_id).first()
    if existing is not None:
        return _answer(existing)
    try:
        with transaction.atomic():
            call = _route(caller=caller, called=called, call_id=call_id, now=now)
    except IntegrityError:
        existing = Call.objects.select_related("agent").filter(call_id=call_id).first()
        if existing is None:
            raise
        return _answer(existing)  # the same call routed at the same moment: answer as it did
    return _answer(call)


def _route(*, caller: str, called: str, call_id: str, now: datetime) -> Call:

    team = _team_for_number(called)
    direct = None if team else Agent.objects.select_related("user").filter(phone=called).first()
    lead_id = _caller_lead(caller)
    capture_data = {"call_id": call_id, "from": caller or "withheld", "to": called}
    created = False
    if lead_id is None and caller and (team or direct):
        result = capture(
            data={"phone": caller},
            context=CaptureContext(
                channel=Lead.Source.CALL,
                source_detail=f"Call to {called}"[:200],
                payload=capture_data,
            ),
            event=CaptureEvent(kind=Interaction.Kind.CALL_IN, subject="Inbound call", data=capture_data),
            team_id=team.pk if team else None,
        )
        lead_id, created = result.lead.pk, True
    if lead_id is None and not (team or direct):
        raise CallError("to", NUMBER_NOT_ROUTED.format(number=called), status=404)
    lead = lead_lock(lead_id) if lead_id else None  # lead first, then any team: the house lock order

    routing = _decide(lead=lead, team=team, direct=direct, now=now)
    call = Call.objects.create(
        call_id=call_id,
        from_number=caller or "withheld",
        to_number=called,
        lead=lead,
        agent=routing.user,
        team=routing.team,
        route=routing.route,
        started_at=now,
        placed_lead=routing.placed,
        rung=[routing.user.pk] if routing.user else [],
    )
    if lead is not None:
        details = {
            **capture_data,
            "route": routing.route,
            "agent": routing.user.username if routing.user else None,
            "team": routing.team.name if routing.team else None,
            "note": routing.note,
        }
        subject = f"Inbound call → {routing.user.username if routing.user else 'voicemail'}"
        if created:
            interaction = Interaction.objects.filter(
                lead=lead, kind=Interaction.Kind.CALL_IN, data__call_id=call_id
            ).first()
            if interaction is not None:
                interaction.data = {**interaction.data, **details}
                interaction.subject = subject
                interaction.save(update_fields=["data", "subject"])
        else:
            events.activity_recorded(
                lead=lead,
                kind=Interaction.Kind.CALL_IN,
                channel=Lead.Source.CALL,
                subject=subject,
                data=details,
                occurred_at=now,
            )
    return call


def _decide(*, lead: Lead | None, team: Team | None, direct: Agent | None, now: datetime) -> _Routing:
    """Owner, direct line, or a team's rotation; voicemail (and the queue) when nobody can answer."""
    if direct is not None:
        why = unavailable_reason(user=direct.user, agent=direct, now=now, working_hours=True, need_phone=True)
        if why is None:
            return _Routing(Call.Route.AGENT, user=direct.user, agent=direct, note="direct line")
        return _Routing(Call.Route.VOICEMAIL, note=f"{direct.user.username}: {why}")

    note = ""
    if lead is not None and lead.owner_id:
        owner_agent = Agent.objects.filter(user_id=lead.owner_id).first()
        why = unavailable_reason(user=lead.owner, agent=owner_agent, now=now, working_hours=True, need_phone=True)
        if why is None:
            return _Routing(
                Call.Route.AGENT, user=lead.owner, agent=owner_agent, team=lead.team, note="the lead's owner"
            )
        note = f"owner {lead.owner.username}: {why}"

    # The lead's team, else its territory's teams, else the team whose number was called.
    team_ids: list[int] = []
    if lead is not None and lead.team_id:
        team_ids = [lead.team_id]
    elif lead is not None:
        route = territory_match(lead=lead)
        team_ids = list(route.team_ids) if route else []
    if not team_ids and team is not None:
        team_ids = [team.pk]
    if not team_ids:
        return _Routing(Call.Route.VOICEMAIL, note=note or "no team to ring")

    unowned = lead is not None and lead.owner_id is None
    turn, full = teams_take_turn(team_ids, now=now, working_hours=True, need_phone=True, check_capacity=unowned)
    if turn is None:
        nobody = nobody_text(full[0]) if full else "nobody available"
        if unowned and not (lead.team_id == team_ids[0] and lead_waiting_in_queue(lead)):
            queue_enter(
                lead=lead,
                team_id=team_ids[0],
                detail=f"inbound call → voicemail ({nobody})",
                territory_name=None,
                now=now,
            )
        return _Routing(Call.Route.VOICEMAIL, note="; ".join(filter(None, [note, nobody])))
    if unowned:
        placement = Placement(
            user=turn.user,
            agent=turn.agent,
            team=turn.team,
            reason=Assignment.Reason.ROUND_ROBIN,
            skipped=turn.skipped,
            detail=f"inbound call → team {turn.team.name} → {turn_text(turn)}",
        )
        placement_apply(lead=lead, placement=placement, now=now)
    return _Routing(
        Call.Route.TEAM,
        user=turn.user,
        agent=turn.agent,
        team=turn.team,
        note=note or turn_text(turn),
        placed=unowned,
    )


def _duration(value) -> int:
    if isinstance(value, bool):
        raise CallError("duration", DURATION_INVALID)
    try:
        seconds = int(value) if not isinstance(value, float) or value.is_integer() else None
    except (TypeError, ValueError):
        seconds = None
    if seconds is None or not 0 <= seconds <= MAX_DURATION:
        raise CallError("duration", DURATION_INVALID)
    return seconds


def _outcome(value) -> str:
    if not isinstance(value, str) or "\x00" in value or not value.strip() or len(value.strip()) > 100:
        raise CallError("outcome", OUTCOME_INVALID)
    return "_".join(value.strip().casefold().split())


def _spoken(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def call_end(*, call_id: str, duration, outcome, by=None, now: datetime | None = None) -> Call:
    """Complete a call with its duration (seconds) and outcome; the call's timeline entry shows
    them. A connected call answered by the lead's owner is their first contact. With `by`, a
    user who is not a manager may end only the calls routed to them or on leads they can see
    (any other is "no such call": its existence is not disclosed)."""
    now = now or timezone.now()
    seconds, result = _duration(duration), _outcome(outcome)
    calls = Call.objects.select_for_update(of=("self",)).select_related("agent")
    if by is not None and not is_manager(by):
        calls = calls.filter(Q(agent_id=by.pk) | Q(lead__in=visible_to(by).values("pk")))
    with transaction.atomic():
        call = calls.filter(call_id=call_id).first()
        if call is None:
            raise CallError("call_id", CALL_NOT_FOUND, status=404)
        if call.ended_at is not None:
            if (call.duration_seconds, call.outcome) == (seconds, result):
                return call  # the provider sent the same end twice
            # A provider's status can overtake its word that an agent answered (the caller hung up
            # mid-call): a "missed" call may still become a connected one, nothing else changes.
            if not (call.outcome == MISSED and result in CONNECTED_OUTCOMES):
                raise CallError("call_id", CALL_ALREADY_ENDED, status=409)
            now = call.ended_at
        call.ended_at, call.duration_seconds, call.outcome = now, seconds, result
        call.save(update_fields=["ended_at", "duration_seconds", "outcome"])
        if call.lead_id is None:
            return call
        lead = lead_lock(call.lead_id)
        interaction = Interaction.objects.filter(
            lead_id=call.lead_id, kind=Interaction.Kind.CALL_IN, data__call_id=call_id
        ).first()
        connected = result in CONNECTED_OUTCOMES and call.agent_id is not None
        if interaction is not None:
            events.call_ended(
                lead=lead,
                entry=interaction,
                outcome=result,
                duration=seconds,
                data={"duration_seconds": seconds, "outcome": result, "ended_at": now.isoformat()},
                body=f"{result.replace('_', ' ')}, {_spoken(seconds)}",
                by=call.agent if connected else None,
            )
        if lead is not None and connected and lead.owner_id == call.agent_id and lead.first_contacted_at is None:
            lead_first_contact(lead=lead, kind=Interaction.Kind.CALL_IN, at=call.started_at)
    return call
