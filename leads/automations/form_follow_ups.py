"""A built form's follow-ups (add to a list, enroll in a sequence, notify a user, assign by a team's
round robin): the automation actions, run once per submission by a job, never on the request."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..models import CaptureRecord, FormFollowUpRun
from .actions import ActionSkipped, Context, action_apply


def form_follow_up_actions(*, follow_ups: dict, form_name: str) -> list[dict]:
    """The automation actions a form's follow-ups stand for, in a fixed order."""
    actions = []
    if follow_ups.get("team"):
        actions.append({"type": "assign_team", "team": follow_ups["team"]})
    if follow_ups.get("list"):
        actions.append({"type": "list_add", "list": follow_ups["list"]})
    if follow_ups.get("sequence"):
        actions.append({"type": "enroll", "sequence": follow_ups["sequence"]})
    if follow_ups.get("notify"):
        actions.append({"type": "notify", "user": follow_ups["notify"], "message": f"New submission of {form_name}"})
    return actions


def form_follow_ups_run(*, record_id: int) -> str:
    """Run the follow-ups of the submission logged as `record_id`, once (a claimed row); returns what was done."""
    record = CaptureRecord.objects.select_related("web_form", "lead").filter(pk=record_id).first()
    if record is None or record.lead is None or record.web_form is None:
        return "nothing to do"
    follow_ups = (record.web_form.schema or {}).get("follow_ups") or {}
    ctx = Context(automation_name=f"form {record.web_form.name}", now=timezone.now())
    with transaction.atomic():
        run, claimed = FormFollowUpRun.objects.get_or_create(capture=record)
        if not claimed:
            return "ran already"
        done = []
        for action in form_follow_up_actions(follow_ups=follow_ups, form_name=record.web_form.name):
            try:
                done.append(action_apply(action=action, lead=record.lead, ctx=ctx))
            except ActionSkipped as exc:
                done.append(f"skipped: {exc}")
        run.outcome = "; ".join(done)
        run.save(update_fields=["outcome"])
    return run.outcome
