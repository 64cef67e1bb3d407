"""What each action does to one lead, and what it would do (the dry run).

Every `apply` runs inside the run step's transaction, after its RunStep row was claimed: a task
run twice finds the step done and never repeats the side effect. Emails leave on commit.
Actions call other stages through their public services only (automations is the orchestrator).
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

from .. import events, jobs, locks
from ..common.rendering import RenderError, email_render, header_safe
from ..common.timezones import zone_or_none
from ..distribution.round_robin import rotation_take
from ..distribution.service import Placement, placement_apply, queue_enter
from ..distribution.territories import territory_match
from ..models import (
    Assignment,
    Enrollment,
    Interaction,
    Lead,
    Notification,
    Segment,
    Sequence,
    Task,
    Team,
    TeamMembership,
    WebhookSubscription,
)
from ..nurturing.segments import list_add_leads, list_remove_leads
from ..nurturing.sequences import leads_enroll
from ..nurturing.steps import lead_enrollments_exit
from ..outbound.reactions import delivery_for_lead
from ..privacy.mailable import lead_not_mailable_reason, mailable_leads
from ..services import lead_update
from ..workspace.followups import task_create
from .definition import ACTION_LABELS, UNITS

NOBODY_AVAILABLE = "nobody in {team} is available: the lead waits in the team's queue"
NO_OWNER = "the lead has no owner to give the task to"
NO_TERRITORY = "no territory matches the lead"
NO_TEAM_FOR_TERRITORY = "territory {territory} has no team"
SEND_FAILED = "the email could not be sent: {error}"
WEBHOOK_OFF = "the webhook subscription is off or gone"
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Actions that live above leads, by dotted path (the way leads/reactions.py names customers'
# reactions): leads never imports customers, customers registers what converts a lead.
EXTERNAL_ACTIONS = {"convert": "customers.automations.lead_convert_action"}


class ActionFailed(ValueError):
    """The action could not be done this time (a mail server down…): the step retries with backoff."""


class ActionSkipped(Exception):
    """The action had nothing to do for this lead (already in the list, no owner…): not an error."""


@dataclass
class Context:
    """What an action knows about its run."""

    automation_name: str
    now: datetime
    by_id: int | None = None  # who built the automation (a conversion is done in their name)


def delay(action: dict) -> timedelta:
    """A wait's (or a task due date's) length."""
    return timedelta(seconds=int(action.get("amount") or 0) * UNITS.get(action.get("unit") or "minutes", 60))


def wait_end(*, action: dict, time_zone: str, now: datetime) -> datetime:
    """When a wait ends: after N units, or at the next weekday and time in the lead's zone (the
    site's zone when the lead has none); always later than now."""
    if action["type"] == "wait":
        return now + delay(action)
    zone = zone_or_none(time_zone) if time_zone else None
    local = now.astimezone(zone or zone_or_none(settings.TIME_ZONE))
    hours, minutes = (int(part) for part in action["time"].split(":"))
    for days in range(0, 8):
        day = local.date() + timedelta(days=days)
        if action["weekday"] != "any" and day.weekday() != int(action["weekday"]):
            continue
        candidate = datetime.combine(day, time(hours, minutes), tzinfo=local.tzinfo)
        if candidate > local:
            return candidate
    raise AssertionError("a weekday comes within 8 days")  # pragma: no cover


def _user(pk) -> User:
    return User.objects.get(pk=pk)


def _set_field(action, lead, ctx) -> str:
    if getattr(lead, action["field"]) == action["value"]:
        raise ActionSkipped(f"{action['field']} already {action['value'] or '(empty)'}")
    lead_update(lead=lead, data={action["field"]: action["value"]}, by=None)
    return f"set {action['field']} to {action['value'] or '(empty)'}"


def _set_status(action, lead, ctx) -> str:
    if lead.status == action["status"]:
        raise ActionSkipped(f"status already {action['status']}")
    data = {"status": action["status"]}
    if action["status"] == Lead.Status.LOST:
        data["lost_reason"] = action.get("lost_reason") or "automation"
    lead_update(lead=lead, data=data, by=None)
    return f"set status to {action['status']}"


def _tags(action, lead, ctx) -> str:
    current = list(lead.tags or [])
    if action["type"] == "add_tags":
        new = current + [tag for tag in action["tags"] if tag not in current]
    else:
        new = [tag for tag in current if tag not in action["tags"]]
    if new == current:
        raise ActionSkipped("tags unchanged")
    lead_update(lead=lead, data={"tags": new}, by=None)
    return ("added tags " if action["type"] == "add_tags" else "removed tags ") + ", ".join(action["tags"])


def _assign_user(action, lead, ctx) -> str:
    user = _user(action["user"])
    locked = locks.lead_lock(lead.pk, related=("owner",))
    if locked.owner_id == user.pk:
        raise ActionSkipped(f"already owned by {user.username}")
    placement_apply(
        lead=locked,
        now=ctx.now,
        placement=Placement(
            user=user,
            agent=None,
            team=None,
            reason=Assignment.Reason.MANUAL,
            detail=f"automation {ctx.automation_name}",
            with_sla=False,
        ),
    )
    lead.owner = user
    return f"assigned to {user.username}"


def _assign_team(action, lead, ctx) -> str:
    team = Team.objects.get(pk=action["team"])
    locked = locks.lead_lock(lead.pk, related=("owner",))
    if locked.owner_id and TeamMembership.objects.filter(team=team, user_id=locked.owner_id).exists():
        raise ActionSkipped(f"already with {locked.owner.username} of {team.name}")
    turn = rotation_take(team_id=team.pk, now=ctx.now)
    if turn is None or turn.user is None:
        queue_enter(
            lead=locked, team_id=team.pk, detail=f"automation {ctx.automation_name}", territory_name=None, now=ctx.now
        )
        return NOBODY_AVAILABLE.format(team=team.name)
    placement_apply(
        lead=locked,
        now=ctx.now,
        placement=Placement(
            user=turn.user,
            agent=turn.agent,
            team=team,
            reason=Assignment.Reason.ROUND_ROBIN,
            detail=f"automation {ctx.automation_name}: {team.name} round robin",
            skipped=turn.skipped,
        ),
    )
    lead.owner = turn.user
    return f"assigned to {turn.user.username} ({team.name} round robin)"


def _assign_territory(action, lead, ctx) -> str:
    locked = locks.lead_lock(lead.pk, related=("owner",))
    route = territory_match(lead=locked)
    if route is None:
        raise ActionSkipped(NO_TERRITORY)
    if not route.team_ids:
        raise ActionSkipped(NO_TEAM_FOR_TERRITORY.format(territory=route.territory.name))
    name = route.territory.name
    if locked.owner_id and TeamMembership.objects.filter(team_id__in=route.team_ids, user_id=locked.owner_id).exists():
        raise ActionSkipped(f"already with {locked.owner.username}, in a team of territory {name}")
    for team_id in route.team_ids:
        turn = rotation_take(team_id=team_id, now=ctx.now)
        if turn is not None and turn.user is not None:
            placement_apply(
                lead=locked,
                now=ctx.now,
                placement=Placement(
                    user=turn.user,
                    agent=turn.agent,
                    team=turn.team,
                    reason=Assignment.Reason.ROUND_ROBIN,
                    detail=f"automation {ctx.automation_name}: territory {name} → {turn.team.name}",
                    skipped=turn.skipped,
                    territory_id=route.territory.pk,
                    territory_name=name,
                ),
            )
            lead.owner = turn.user
            return f"assigned to {turn.user.username} (territory {name}, {turn.team.name})"
    queue_enter(
        lead=locked,
        team_id=route.team_ids[0],
        detail=f"automation {ctx.automation_name}: territory {name}",
        territory_name=name,
        now=ctx.now,
    )
    return f"territory {name}: nobody available, the lead waits in the team's queue"


def _send_email(action, lead, ctx) -> str:
    mailable = mailable_leads(Lead.objects.filter(pk=lead.pk).select_related("owner")).get()
    reason = lead_not_mailable_reason(lead=mailable)  # do-not-contact, suppressed, bouncing, no consent
    if reason:
        raise ActionSkipped(f"not sent: {reason}")
    default_name, default_email = parseaddr(settings.DEFAULT_FROM_EMAIL)
    sender = {
        "name": (mailable.owner.get_full_name() if mailable.owner_id else "") or default_name,
        "email": default_email,
    }
    try:
        rendered = email_render(
            subject=action["subject"], body=action["body"], lead=mailable, sender=sender, unsubscribe_url=""
        )
        to = header_safe(value=mailable.email, field="To")
        header_safe(value=sender["name"], field="From name")
    except RenderError as exc:
        raise ActionFailed(str(exc)) from exc
    message = EmailMessage(
        subject=rendered.subject, body=rendered.text, from_email=formataddr((sender["name"], sender["email"])), to=[to]
    )
    try:
        message.send()  # the step row is claimed and locked: a repeated task finds it done and sends nothing
    except (smtplib.SMTPException, OSError) as exc:
        raise ActionFailed(SEND_FAILED.format(error=exc)) from exc
    events.activity_recorded(
        lead=mailable,
        kind=Interaction.Kind.EMAIL_OUT,
        channel="automation",
        subject=rendered.subject,
        body=rendered.text,
        data={"automation": ctx.automation_name, "to": to},
        occurred_at=ctx.now,
    )
    return f"emailed ‘{rendered.subject}’ to {to}"


def _webhook(action, lead, ctx) -> str:
    subscription = WebhookSubscription.objects.filter(pk=action["subscription"], is_active=True).first()
    if subscription is None:
        raise ActionSkipped(WEBHOOK_OFF)
    delivery_for_lead(subscription=subscription, lead_id=lead.pk, data={"automation": ctx.automation_name}, now=ctx.now)
    return f"called webhook {subscription}"


def _external(action, lead, ctx) -> str:
    return import_string(EXTERNAL_ACTIONS[action["type"]])(action, lead, ctx)


def _create_task(action, lead, ctx) -> str:
    owner = lead.owner if lead.owner_id else None
    due = ctx.now + delay(action)
    task_create(lead=lead, title=action["title"], due_at=due, assigned_to=owner, by=None, source=Task.Source.AUTOMATION)
    return f"created task \u2018{action['title']}\u2019 for {owner.username if owner else 'nobody'} due {due:%Y-%m-%d %H:%M}"


def _notify(action, lead, ctx) -> str:
    user = _user(action["user"]) if action.get("user") else (lead.owner if lead.owner_id else None)
    if user is None:
        raise ActionSkipped("no owner to notify")
    note = Notification.objects.create(
        user=user,
        kind=Notification.Kind.AUTOMATION,
        lead=lead,
        message=f"{action['message']} ({lead})"[:300],
    )
    jobs.enqueue("leads.workspace.tasks.notify_by_email_task", [note.pk])
    return f"notified {user.username}"


def _enroll(action, lead, ctx) -> str:
    sequence = Sequence.objects.get(pk=action["sequence"])
    if not sequence.is_active or not leads_enroll(
        sequence=sequence,
        lead_ids=[lead.pk],
        source=Enrollment.Source.AUTOMATION,
        by=None,
    ):
        raise ActionSkipped(f"not enrolled in {sequence.name} (inactive, enrolled already or not mailable)")
    return f"enrolled in {sequence.name}"


def _unenroll(action, lead, ctx) -> str:
    sequence = Sequence.objects.get(pk=action["sequence"])
    if not lead_enrollments_exit(lead_id=lead.pk, reason=Enrollment.ExitReason.MANUAL, sequence=sequence):
        raise ActionSkipped(f"not in {sequence.name}")
    return f"removed from {sequence.name}"


def _list(action, lead, ctx) -> str:
    segment = Segment.objects.get(pk=action["list"])
    if action["type"] == "list_add":
        if not list_add_leads(segment=segment, lead_ids=[lead.pk], by=None):
            raise ActionSkipped(f"already in {segment.name}")
        return f"added to list {segment.name}"
    if not list_remove_leads(segment=segment, lead_ids=[lead.pk]):
        raise ActionSkipped(f"not in {segment.name}")
    return f"removed from list {segment.name}"


APPLY = {
    "set_field": _set_field,
    "set_status": _set_status,
    "add_tags": _tags,
    "remove_tags": _tags,
    "assign_user": _assign_user,
    "assign_team": _assign_team,
    "create_task": _create_task,
    "notify": _notify,
    "enroll": _enroll,
    "unenroll": _unenroll,
    "list_add": _list,
    "list_remove": _list,
    "assign_territory": _assign_territory,
    "send_email": _send_email,
    "webhook": _webhook,
    "convert": _external,
}


def action_apply(*, action: dict, lead: Lead, ctx: Context) -> str:
    """Do one (side-effect) action to a lead; returns what was done (ActionSkipped: nothing to do)."""
    return APPLY[action["type"]](action, lead, ctx)


def _name(model, pk) -> str:
    obj = model.objects.filter(pk=pk).first()
    return str(getattr(obj, "username", None) or getattr(obj, "name", None) or obj or f"#{pk}")


def action_describe(*, action: dict) -> str:
    """What an action would do, in words (the dry run, the run log)."""
    kind = action["type"]
    if kind == "set_field":
        return f"set {action['field']} to {action['value'] or '(empty)'}"
    if kind == "set_status":
        return f"set status to {action['status']}"
    if kind in ("add_tags", "remove_tags"):
        return f"{ACTION_LABELS[kind].lower()}: {', '.join(action['tags'])}"
    if kind == "assign_user":
        return f"assign to {_name(User, action['user'])}"
    if kind == "assign_team":
        return f"assign by {_name(Team, action['team'])}'s round robin"
    if kind == "create_task":
        return f"create task \u2018{action['title']}\u2019 for the owner, due in {action['amount']} {action['unit']}"
    if kind == "notify":
        return f"notify {_name(User, action['user']) if action.get('user') else 'the owner'}: {action['message']}"
    if kind in ("enroll", "unenroll"):
        return f"{'enroll in' if kind == 'enroll' else 'remove from'} sequence {_name(Sequence, action['sequence'])}"
    if kind in ("list_add", "list_remove"):
        return f"{'add to' if kind == 'list_add' else 'remove from'} list {_name(Segment, action['list'])}"
    if kind == "wait":
        return f"wait {action['amount']} {action['unit']}"
    if kind == "wait_until":
        day = "any day" if action["weekday"] == "any" else WEEKDAY_NAMES[int(action["weekday"])]
        return f"wait until {day} {action['time']} in the lead's time zone"
    if kind == "assign_territory":
        return "assign by the lead's territory (its teams' round robin)"
    if kind == "send_email":
        return f"send the email ‘{action['subject']}’ (unless do-not-contact or suppressed)"
    if kind == "webhook":
        return f"call webhook {_name(WebhookSubscription, action['subscription'])}"
    if kind == "convert":
        return "convert the lead into a customer (a clear match is linked)"
    return f"if the condition does not hold, skip the next {action['skip']} step(s)"
