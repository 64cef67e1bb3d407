"""capture_many: the batch way in (the importer writes every batch through it).

The same rules as capture(): a person is found by merge.person_find (external id, email, phone),
merged by merge.fields_merge, created by merge.lead_new, and checked for possible duplicates by
duplicates.py's rules, once. Set-based, to keep an import at COPY speed: one lookup of every lead
the batch may match (locked, in id order), the rows matched in memory in their order (a row also
finds the leads the rows before it created), new leads COPYed in and changed ones updated in one
statement, then a CaptureRecord per row and a timeline entry per created or changed lead, the
possible duplicates of the batch's leads in three queries, and the pipeline enqueued in chunks
(told that duplicates were checked). All in one transaction, retried when a concurrent capture
takes an email between the lookup and the insert."""

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from .. import events, jobs
from ..common.copying import copy_insert, copy_update, copy_values
from ..models import CaptureRecord, Interaction, Lead
from .duplicates import duplicates_detect_many
from .merge import MERGEABLE, UNIQUE_IDENTITIES, fields_merge, lead_new, person_find
from .service import CHANNEL_KIND

logger = logging.getLogger(__name__)

PROCESS_LEADS_TASK = "leads.tasks.process_leads_task"
PROCESS_CHUNK = 100  # leads per processing task enqueued after each batch
BATCH_ATTEMPTS = 3  # a concurrent capture may take an email between our lookup and insert
# What matching and merging read of an existing lead (a lead row is wide; the rest stays in the database).
LOADED_FIELDS = (
    *MERGEABLE,
    "source_detail",
    "status",
    "lost_reason",
    "attributes",
    "tags",
    "email_opt_in",
    "processed_at",
    "updated_at",
    "owner",
)


class CaptureItem(Protocol):
    """One input of a batch, cleaned by capture_clean (or rejected with `error`)."""

    line: int  # its place in the input (a file's line)
    payload: dict[str, Any]  # as received: kept in its CaptureRecord
    fields: dict[str, Any]
    created_at: datetime | None  # when the sender says the person came in (a new lead's created_at)
    error: str


@dataclass
class CaptureOutcome:
    """What one input did: created or updated a lead (with the fields it changed), or was rejected."""

    row: Any  # the CaptureItem
    lead: Lead | None = None
    created: bool = False
    changed: list[str] = field(default_factory=list)
    overwritten: dict[str, dict[str, str]] = field(default_factory=dict)
    status_from: str | None = None  # set by an `adjust` that moved an existing lead's status
    # A new lead, or one found by the context's authoritative identity: the input's values win.
    authoritative: bool = False

    @property
    def action(self) -> str:
        return "rejected" if self.lead is None else "created" if self.created else "updated"


@dataclass
class BatchContext:
    """Where a batch came from and what every input of it shares."""

    channel: str
    source_detail: str = ""  # every new lead's source detail, when given (an import's --source)
    default_source_detail: str = ""  # when neither source_detail nor the input gives one (the file's name)
    actor_id: int | None = None
    subject: str = ""  # of each timeline entry
    data: dict[str, Any] = field(default_factory=dict)  # kept in every record's payload and entry's data
    dry_run: bool = False  # no locks, no logs, nothing enqueued (the caller rolls the writes back)
    # A match by this identity makes the input authoritative for the fields it has (an import passes
    # "external_id": its id column makes the file the source of truth). By default nothing overwrites.
    authoritative_by: str = ""
    list_id: int | None = None  # the static list the batch's leads join (a reaction to the batch's event)


# adjust(lead, item, outcome): the channel's own changes to a found or new lead (an import's status and owner).
Adjust = Callable[[Lead, Any, CaptureOutcome], None]


class _Index:
    """The batch's leads (found or new) by external id, email and phone: person_find's lookup, in memory."""

    def __init__(self, leads: list[Lead]):
        self.by_external_id: dict[str, Lead] = {}
        self.by_email: dict[str, Lead] = {}
        self.by_phone: dict[str, list[Lead]] = defaultdict(list)
        for lead in leads:
            self.add(lead)

    def add(self, lead: Lead) -> None:
        if lead.external_id:
            self.by_external_id.setdefault(lead.external_id, lead)
        if lead.email:
            self.by_email.setdefault(lead.email, lead)
        if lead.phone and not any(other is lead for other in self.by_phone[lead.phone]):
            self.by_phone[lead.phone].append(lead)

    def lookup(self, name: str, value: str) -> list[Lead]:
        if name == "phone":
            return self.by_phone.get(value, [])
        found = (self.by_email if name == "email" else self.by_external_id).get(value)
        return [found] if found is not None else []

    def holder(self, lead: Lead) -> Callable[[str, str], bool]:
        """Whether another lead of the batch holds a unique value (fields_merge's `taken`)."""

        def taken(name: str, value: str) -> bool:
            holder = (self.by_email if name == "email" else self.by_external_id).get(value)
            return holder is not None and holder is not lead

        return taken


def _existing_leads(items: list[CaptureItem], *, lock: bool) -> list[Lead]:
    """Every lead that any input of the batch may match (locked, in id order): two index-driven queries."""
    keys: dict[str, set[str]] = {name: set() for name in (*UNIQUE_IDENTITIES, "phone")}
    for item in items:
        for name, values in keys.items():
            if item.fields.get(name):
                values.add(item.fields[name])
    # One index lookup per key, united: an OR of three long IN lists makes PostgreSQL scan the table.
    # "<> ''" lets it use the partial indexes (it cannot prove that from a long IN list).
    matches = [
        Lead.objects.filter(**{f"{name}__in": values}).exclude(**{name: ""}).order_by().values("pk")
        for name, values in keys.items()
        if values
    ]
    if not matches:
        return []
    # The ids first, then the rows by primary key: as one query, PostgreSQL may hash-join the ids
    # against a scan of the whole table. A lead that appears in between is caught by the unique
    # constraints (capture_many retries).
    ids = sorted(pk for (pk,) in matches[0].union(*matches[1:]).values_list("pk"))
    if not ids:
        return []
    leads: QuerySet[Lead] = Lead.objects.filter(pk__in=ids).only(*LOADED_FIELDS).order_by("pk")
    if lock:
        leads = leads.select_for_update(of=("self",))
    return list(leads)


def _apply(
    items: Sequence[CaptureItem],
    *,
    context: BatchContext,
    adjust: Adjust | None,
    outcome_type: type[CaptureOutcome],
    now: datetime,
) -> tuple[list[CaptureOutcome], list[Lead], list[Lead]]:
    """Match and write one batch: one lookup, one insert of the new leads, one update of the
    changed ones. Returns the outcomes, the new leads and the changed ones."""
    good = [item for item in items if not item.error]
    index = _Index(_existing_leads(good, lock=not context.dry_run))
    outcomes: list[CaptureOutcome] = []
    new_leads: list[Lead] = []
    dirty: dict[int, Lead] = {}
    dirty_fields: set[str] = set()
    for item in items:
        outcome = outcome_type(row=item)
        outcomes.append(outcome)
        if item.error:
            continue
        fields = item.fields
        lead, matched_by = person_find(fields, lookup=index.lookup)
        if lead is None:
            lead = lead_new(
                fields,
                source=context.channel,
                created_at=min(item.created_at or now, now),
                updated_at=now,
                processed_at=None,
                source_detail=(context.source_detail or fields.get("source_detail") or context.default_source_detail)[
                    :200
                ],
            )
            outcome.created = outcome.authoritative = True
            new_leads.append(lead)
        else:
            outcome.authoritative = matched_by == context.authoritative_by
            merged = fields_merge(lead, fields, authoritative=outcome.authoritative, taken=index.holder(lead))
            outcome.changed, outcome.overwritten = merged.changed, merged.overwritten
            if not lead.source_detail and fields.get("source_detail"):
                lead.source_detail = fields["source_detail"]
                outcome.changed.append("source_detail")
        if adjust is not None:
            adjust(lead, item, outcome)
        if outcome.created:
            outcome.status_from = None  # a new lead starts with its input's status
        elif outcome.changed and lead.pk:
            dirty[lead.pk] = lead
            dirty_fields.update(outcome.changed)
        outcome.lead = lead
        index.add(lead)
    for lead, pk in zip(new_leads, copy_insert(Lead, [copy_values(lead) for lead in new_leads])):
        lead.pk = pk
        lead._state.adding, lead._state.db = False, connection.alias
    for lead in dirty.values():
        lead.processed_at = None  # new information: run the pipeline again
        lead.updated_at = now
    copy_update(Lead, list(dirty.values()), sorted(dirty_fields | {"processed_at", "updated_at"}))
    return outcomes, new_leads, list(dirty.values())


def _log(outcomes: list[CaptureOutcome], *, context: BatchContext, now: datetime) -> None:
    """One CaptureRecord per input; the timeline entries and the batch's event: events.leads_captured_many."""
    results = {"created": CaptureRecord.Result.CREATED, "updated": CaptureRecord.Result.MERGED}
    source_detail = (context.source_detail or context.default_source_detail)[:200]
    record_ids = copy_insert(
        CaptureRecord,
        [
            {
                "channel": context.channel,
                "source_detail": source_detail,
                "received_at": now,
                "payload": {**context.data, "line": outcome.row.line, "row": outcome.row.payload},
                "result": results.get(outcome.action, CaptureRecord.Result.REJECTED),
                "reason": (outcome.row.error or ("" if outcome.changed or outcome.created else "no changes"))[:500],
                "lead_id": outcome.lead.pk if outcome.lead else None,
            }
            for outcome in outcomes
        ],
    )
    events.leads_captured_many(
        inputs=[
            events.CapturedInput(
                lead_id=outcome.lead.pk,
                record_id=record_id,
                line=outcome.row.line,
                created=outcome.created,
                changed=outcome.changed,
                overwritten=outcome.overwritten,
                status_from=outcome.status_from,
                status_to=outcome.lead.status,
                lost_reason=outcome.lead.lost_reason,
            )
            for outcome, record_id in zip(outcomes, record_ids)
            if outcome.lead is not None and (outcome.created or outcome.changed)
        ],
        lead_ids=sorted({outcome.lead.pk for outcome in outcomes if outcome.lead is not None}),
        kind=CHANNEL_KIND.get(context.channel, Interaction.Kind.CAPTURE),
        channel=context.channel,
        subject=context.subject,
        data=context.data,
        actor_id=context.actor_id,
        occurred_at=now,
        event_data={"list": context.list_id} if context.list_id else None,
    )


def _enqueue(lead_ids: list[int]) -> None:
    """Processing for the batch's new and changed leads: one task per PROCESS_CHUNK leads, after
    commit, without the pipeline's duplicates stage (capture_many checked them)."""
    for start in range(0, len(lead_ids), PROCESS_CHUNK):
        jobs.enqueue(PROCESS_LEADS_TASK, lead_ids[start : start + PROCESS_CHUNK], True)


def capture_many(
    *,
    items: Sequence[CaptureItem],
    context: BatchContext,
    adjust: Adjust | None = None,
    then: Callable[[list[CaptureOutcome]], None] | None = None,
    outcome_type: type[CaptureOutcome] = CaptureOutcome,
) -> list[CaptureOutcome]:
    """Capture a batch of cleaned inputs with capture()'s find/merge and duplicate rules, set-based,
    in one transaction (a dry run writes leads for the caller to roll back, and logs nothing).
    `adjust` applies the channel's own changes to each lead; `then` runs in the same transaction
    once the batch is written. A unique clash with a concurrent capture retries the batch."""
    for attempt in range(1, BATCH_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                now = timezone.now()
                outcomes, new_leads, changed = _apply(
                    items,
                    context=context,
                    adjust=adjust,
                    outcome_type=outcome_type,
                    now=now,
                )
                if not context.dry_run:
                    _log(outcomes, context=context, now=now)
                    duplicates_detect_many(leads=new_leads + changed)
                    _enqueue([lead.pk for lead in new_leads] + [lead.pk for lead in changed])
                if then is not None:
                    then(outcomes)
                return outcomes
        except IntegrityError:
            if attempt == BATCH_ATTEMPTS:
                raise
            logger.info(
                "a %s batch at line %s clashed with a concurrent write; retrying", context.channel, items[0].line
            )
    raise AssertionError("unreachable")
