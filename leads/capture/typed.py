"""A lead a person types (the lead form, the API's POST /leads): the front door's rules, with one
difference a person typing expects. The database settles "new or known" on the unique identities, as
capture() does for a new person (insert; look only on a conflict); the lead it clashed with is found
by merge.person_find, the rule every channel shares. Where capture() would merge into that lead,
lead_create refuses: DuplicateLeadError names it (the form's message, the API's 409), because a
person who types a new lead means a new one and must see the one that exists. A shared phone is not
an identity here: the pipeline records the pair as a possible duplicate, as for any capture. Like
every capture, the input is kept in a CaptureRecord (channel: the lead's source), linked to the lead."""

from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, models, transaction

from .. import events
from ..common.validation import EMAIL_TAKEN, EXTERNAL_ID_TAKEN
from ..models import CaptureRecord, Lead
from ..services import DuplicateLeadError, lead_enqueue_processing, unique_clash
from .merge import UNIQUE_IDENTITIES, person_find
from .service import CaptureContext, capture_log

TAKEN = {"email": EMAIL_TAKEN, "external_id": EXTERNAL_ID_TAKEN}


def _kept(value: Any) -> Any:
    """A typed value as the capture record keeps it (JSON): a row by its id, a date in ISO form."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return str(value)


def _holder(name: str, value: str) -> list[Lead]:
    return list(Lead.objects.filter(**{name: value}).only("pk")[:1])


@transaction.atomic
def lead_create(*, data: dict[str, Any], by: User | None) -> Lead:
    """Create a lead from a person's validated data, record it on the timeline and start processing;
    DuplicateLeadError if a lead already holds its email or external id."""
    lead = Lead(**data)
    try:
        with transaction.atomic():
            lead.save()
    except IntegrityError as exc:
        if not unique_clash(exc):
            raise
        identities = {name: getattr(lead, name) for name in UNIQUE_IDENTITIES}
        found, matched_by = person_find(identities, lookup=_holder)
        if found is None:  # the holder was deleted in between: the person may try again
            raise
        raise DuplicateLeadError(field=matched_by, message=TAKEN[matched_by], existing_id=found.pk) from exc
    capture_log(
        context=CaptureContext(
            channel=lead.source or Lead.Source.MANUAL,
            source_detail=lead.source_detail or "",
            actor=by,
            payload={name: _kept(value) for name, value in data.items()},
        ),
        result=CaptureRecord.Result.CREATED,
        lead=lead,
    )
    events.lead_created(lead=lead, by=by, channel=lead.source)
    if lead.owner_id:
        events.lead_assigned(
            assignment=events.Assignment(lead=lead, previous=None, to=lead.owner.username, reason="set on creation"),
            by=by,
        )
    lead_enqueue_processing(lead_id=lead.pk)
    return lead
