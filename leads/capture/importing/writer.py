"""Writing a batch of clean rows: one lookup of the leads they match, new leads inserted and changed
ones updated with COPY (PostgreSQL), then a CaptureRecord per row and an "import" Interaction per
created or changed lead, all in one transaction."""
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, connections, models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from ... import jobs
from ...models import CaptureRecord, ImportJob, Interaction, Lead
from ..service import MERGEABLE
from .owners import owner_key
from .possible_duplicates import _possible_duplicates_record
from .rows import ImportRow

OWNER_ATTRIBUTE = "owner"  # an owner the file names who is not one of our users: kept as written

logger = logging.getLogger(__name__)

LOST_REASON_DEFAULT = "Imported as lost"

PROCESS_CHUNK = 100  # leads per processing task enqueued after each batch
BATCH_ATTEMPTS = 3  # a concurrent capture may take an email between our lookup and insert


@dataclass
class RowOutcome:
    """What one row did: created or updated a lead (with the fields it changed), or was rejected."""

    row: ImportRow
    lead: Lead | None = None
    created: bool = False
    changed: list[str] = field(default_factory=list)
    overwritten: dict[str, dict[str, str]] = field(default_factory=dict)
    status_from: str | None = None
    unknown_owner: str = ""

    @property
    def action(self) -> str:
        return "rejected" if self.lead is None else "created" if self.created else "updated"


class _Index:
    """The batch's leads (found or new) by external id, email and phone: in-batch dedup."""

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

    def find(self, fields: dict[str, Any]) -> tuple[Lead | None, str]:
        """The capture service's order: external id, then email, then phone."""
        external_id, email, phone = fields.get("external_id"), fields.get("email"), fields.get("phone")
        if external_id and external_id in self.by_external_id:
            return self.by_external_id[external_id], "external_id"
        if email and email in self.by_email:
            return self.by_email[email], "email"
        for candidate in self.by_phone.get(phone or "", [])[:5]:
            # Same phone: the same person, unless both have an email (then a possible duplicate).
            if not candidate.email or not email:
                return candidate, "phone"
        return None, ""

    def taken(self, name: str, value: str, lead: Lead) -> bool:
        holder = (self.by_email if name == "email" else self.by_external_id).get(value)
        return holder is not None and holder is not lead


def _display(value: Any) -> str:
    return str(value) if value is not None else ""


def _apply(lead: Lead, row: ImportRow, *, authoritative: bool, index: _Index, outcome: RowOutcome) -> None:
    """Put a row's values on a lead: blanks only, or every column the file has when authoritative."""
    fields = row.fields
    for name in MERGEABLE:
        value = fields.get(name)
        if not value:
            continue  # an empty cell never clears a value
        current = getattr(lead, name)
        if current == value or (current and not authoritative):
            continue
        if name in ("email", "external_id") and index.taken(name, value, lead):
            continue  # another lead holds it (a possible duplicate): keep the rest, as capture does
        if current:
            outcome.overwritten[name] = {"from": _display(current), "to": value}
        setattr(lead, name, value)
        outcome.changed.append(name)
    if not lead.source_detail and fields.get("source_detail"):
        lead.source_detail = fields["source_detail"]
        outcome.changed.append("source_detail")
    attributes = fields.get("attributes") or {}
    if attributes:
        merged = {**lead.attributes, **attributes} if authoritative else {**attributes, **lead.attributes}
        if merged != lead.attributes:
            lead.attributes = merged
            outcome.changed.append("attributes")
    new_tags = set(fields.get("tags") or []) - set(lead.tags)
    if new_tags:
        lead.tags = sorted(set(lead.tags) | new_tags)
        outcome.changed.append("tags")
    if "email_opt_in" in fields and fields["email_opt_in"] != lead.email_opt_in and (fields["email_opt_in"] or authoritative):
        lead.email_opt_in = fields["email_opt_in"]
        outcome.changed.append("email_opt_in")
    _apply_status(lead, row, authoritative=authoritative, outcome=outcome)


def _apply_status(lead: Lead, row: ImportRow, *, authoritative: bool, outcome: RowOutcome) -> None:
    """A status in the file is applied (an import is a manager's explicit act); lost needs a reason."""
    if row.status and row.status != lead.status:
        outcome.status_from = lead.status
        lead.status = row.status
        lead.lost_reason = (row.lost_reason or LOST_REASON_DEFAULT) if row.status == Lead.Status.LOST else ""
        outcome.changed.extend(["status", "lost_reason"])
    elif lead.status == Lead.Status.LOST and row.lost_reason and row.lost_reason != lead.lost_reason:
        if authoritative or not lead.lost_reason:
            lead.lost_reason = row.lost_reason
            outcome.changed.append("lost_reason")


@dataclass
class ImportSettings:
    """What every row of one import shares."""

    job: ImportJob
    override: str  # --source / the form's source: every row's source detail
    default: str  # when neither the override nor a Lead Source column gives one: the file name
    actor_id: int | None
    dry_run: bool
    owners: dict[str, int] = field(default_factory=dict)  # owners.import_owners_index()


# What matching and merging read of an existing lead (a lead row is wide; the rest stays in the database).
LOADED_FIELDS = (
    *MERGEABLE, "source_detail", "status", "lost_reason", "attributes", "tags", "email_opt_in", "processed_at",
    "updated_at", "owner",
)


def _existing_leads(rows: list[ImportRow], *, lock: bool) -> list[Lead]:
    """Every lead that any row of the batch may match (locked, in id order): two index-driven queries."""
    keys: dict[str, set[str]] = {"external_id": set(), "email": set(), "phone": set()}
    for row in rows:
        for name, values in keys.items():
            if row.fields.get(name):
                values.add(row.fields[name])
    # One index lookup per key, united: an OR of three long IN lists makes PostgreSQL scan the table.
    # "<> ''" lets it use the partial indexes (it cannot prove that from a long IN list).
    matches = [
        Lead.objects.filter(**{f"{name}__in": values}).exclude(**{name: ""}).order_by().values("pk")
        for name, values in keys.items() if values
    ]
    if not matches:
        return []
    # The ids first, then the rows by primary key: as one query, PostgreSQL may hash-join the ids
    # against a scan of the whole table. A lead that appears in between is caught by the unique
    # constraints (import_batch retries).
    ids = sorted(pk for (pk,) in matches[0].union(*matches[1:]).values_list("pk"))
    if not ids:
        return []
    leads: QuerySet[Lead] = Lead.objects.filter(pk__in=ids).only(*LOADED_FIELDS).order_by("pk")
    if lock:
        leads = leads.select_for_update(of=("self",))
    return list(leads)


def _plain(f: models.Field) -> bool:
    """Whether COPY takes the field's Python value as it is (others go through get_db_prep_save:
    JSON, countries, normalised emails, IP addresses)."""
    if f.is_relation or type(f) in (models.CharField, models.URLField):
        return True
    return isinstance(f, (models.BooleanField, models.DateTimeField, models.FloatField, models.IntegerField, models.TextField))


@cache
def _copy_columns(model: type[models.Model]) -> list[tuple[models.Field, bool]]:
    fields = [f for f in model._meta.concrete_fields if not f.generated and not f.primary_key]
    return [(f, _plain(f)) for f in fields]


def _insert(model: type[models.Model], rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows (attname -> value; missing ones take the field default) and return their ids.
    On PostgreSQL: ids from the table's sequence, then one COPY, several times faster than
    bulk_create's INSERT for thousands of rows. Elsewhere (the SQLite of `make run`): bulk_create."""
    if not rows:
        return []
    columns = _copy_columns(model)
    if connection.vendor != "postgresql":
        objects = model.objects.bulk_create(model(**row) for row in rows)
        return [obj.pk for obj in objects]
    from psycopg import sql  # the PostgreSQL driver, used only on this branch

    table = model._meta.db_table
    wrapper = connections[connection.alias]  # the connection itself, not the per-thread proxy, in the loop
    with wrapper.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [wrapper.ops.quote_name(table), model._meta.pk.column, len(rows)],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table),
            sql.SQL(", ").join(sql.Identifier(name) for name in [model._meta.pk.column, *(f.column for f, _ in columns)]),
        )
        # The raw psycopg cursor: wrap its errors as Django's (a unique clash is an IntegrityError).
        with wrapper.wrap_database_errors, cursor.cursor.copy(statement) as copy:
            for pk, row in zip(ids, rows):
                values = [pk]
                for f, plain in columns:
                    value = row[f.attname] if f.attname in row else f.get_default()
                    values.append(value if plain else f.get_db_prep_save(value, wrapper))
                copy.write_row(values)
    return ids


def _update(model: type[models.Model], objects: list[models.Model], names: list[str]) -> None:
    """Write some fields of many rows. On PostgreSQL: COPY the new values into a temporary table and
    UPDATE … FROM it, one statement instead of bulk_update's CASE per row and field (whose building
    costs more CPU than the whole insert). Elsewhere: bulk_update."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objects, fields=names)
        return
    from psycopg import sql  # the PostgreSQL driver, used only on this branch

    wrapper = connections[connection.alias]
    fields = [model._meta.get_field(name) for name in names]
    plain = [_plain(f) for f in fields]
    table, temp, pk = model._meta.db_table, "leadcrm_import_changes", model._meta.pk.column
    columns = [sql.Identifier(f.column) for f in fields]
    with wrapper.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE TEMPORARY TABLE {} AS SELECT {}, {} FROM {} WITH NO DATA").format(
            sql.Identifier(temp), sql.Identifier(pk), sql.SQL(", ").join(columns), sql.Identifier(table),
        ).as_string(cursor.cursor))
        copy_sql = sql.SQL("COPY {} ({}, {}) FROM STDIN").format(sql.Identifier(temp), sql.Identifier(pk), sql.SQL(", ").join(columns))
        with wrapper.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
            for obj in objects:
                values = [obj.pk]
                for f, as_is in zip(fields, plain):
                    value = getattr(obj, f.attname)
                    values.append(value if as_is else f.get_db_prep_save(value, wrapper))
                copy.write_row(values)
        cursor.execute(sql.SQL("UPDATE {} AS target SET {} FROM {} AS changes WHERE target.{} = changes.{}").format(
            sql.Identifier(table),
            sql.SQL(", ").join(sql.SQL("{} = changes.{}").format(column, column) for column in columns),
            sql.Identifier(temp), sql.Identifier(pk), sql.Identifier(pk),
        ).as_string(cursor.cursor))
        cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(temp)).as_string(cursor.cursor))


def _lead_values(lead: Lead) -> dict[str, Any]:
    return {f.attname: getattr(lead, f.attname) for f, _ in _copy_columns(Lead)}


def _owner(lead: Lead, row: ImportRow, *, options: ImportSettings, outcome: RowOutcome) -> None:
    """The file's owner, when one of our users, for a lead that has none (an owned lead keeps its
    owner: routing is the distribution stage's business). Others are kept as an attribute."""
    if not row.owner:
        return
    owner_id = options.owners.get(owner_key(row.owner))
    if owner_id is None:
        outcome.unknown_owner = row.owner
        if lead.attributes.get(OWNER_ATTRIBUTE) != row.owner and (outcome.created or OWNER_ATTRIBUTE not in lead.attributes):
            lead.attributes = {**lead.attributes, OWNER_ATTRIBUTE: row.owner}
            outcome.changed.append("attributes")
    elif lead.owner_id is None:
        lead.owner_id = owner_id
        outcome.changed.append("owner")


def _batch_apply(rows: list[ImportRow], *, options: ImportSettings) -> list[RowOutcome]:
    """Match and write one batch: one lookup, one insert of the new leads, one update of the
    changed ones, then the logs."""
    good = [row for row in rows if not row.error]
    index = _Index(_existing_leads(good, lock=not options.dry_run))
    now = timezone.now()
    outcomes: list[RowOutcome] = []
    new_leads: list[Lead] = []
    dirty: dict[int, Lead] = {}
    dirty_fields: set[str] = set()
    for row in rows:
        outcome = RowOutcome(row=row)
        outcomes.append(outcome)
        if row.error:
            continue
        lead, matched_by = index.find(row.fields)
        if lead is None:
            lead = Lead(
                source=Lead.Source.IMPORT, created_at=min(row.created_at or now, now), updated_at=now, processed_at=None,
                source_detail=(options.override or row.fields.get("source_detail") or options.default)[:200],
            )
            outcome.created = True
            new_leads.append(lead)
            _apply(lead, row, authoritative=True, index=index, outcome=outcome)
            _owner(lead, row, options=options, outcome=outcome)
            outcome.status_from = None  # a new lead starts with the file's status
        else:
            # The id column makes the file the source of truth for the columns it has.
            _apply(lead, row, authoritative=matched_by == "external_id", index=index, outcome=outcome)
            _owner(lead, row, options=options, outcome=outcome)
            if outcome.changed and lead.pk:
                dirty[lead.pk] = lead
                dirty_fields.update(outcome.changed)
        outcome.lead = lead
        index.add(lead)
    for lead, pk in zip(new_leads, _insert(Lead, [_lead_values(lead) for lead in new_leads])):
        lead.pk = pk
        lead._state.adding, lead._state.db = False, connection.alias
    if dirty:
        for lead in dirty.values():
            lead.processed_at = None  # new information: run the pipeline again
            lead.updated_at = now
        _update(Lead, list(dirty.values()), sorted(dirty_fields | {"processed_at", "updated_at"}))
    if not options.dry_run:
        _batch_log(outcomes, options=options, now=now)
        _possible_duplicates_record(new_leads)
        if options.job.add_to_list_id:
            _batch_join_list(outcomes, options=options)
        _batch_enqueue([lead.pk for lead in new_leads] + list(dirty))
    return outcomes


def _batch_join_list(outcomes: list[RowOutcome], *, options: ImportSettings) -> None:
    """Every lead the batch created or matched joins the job's static list (one INSERT … SELECT)."""
    from ...nurturing.segments import list_add_leads  # another stage: loaded only for a list

    ids = sorted({outcome.lead.pk for outcome in outcomes if outcome.lead is not None})
    if ids:
        by = User(pk=options.actor_id) if options.actor_id else None
        list_add_leads(segment=options.job.add_to_list, lead_ids=ids, by=by)


def _batch_log(outcomes: list[RowOutcome], *, options: ImportSettings, now: datetime) -> None:
    """One CaptureRecord per row, an "import" Interaction per created or changed lead, status changes."""
    results = {"created": CaptureRecord.Result.CREATED, "updated": CaptureRecord.Result.MERGED}
    source_detail = (options.override or options.default)[:200]
    record_ids = _insert(CaptureRecord, [
        {
            "channel": Lead.Source.IMPORT, "source_detail": source_detail, "received_at": now,
            "payload": {"import_job": options.job.pk, "line": outcome.row.line, "row": outcome.row.payload},
            "result": results.get(outcome.action, CaptureRecord.Result.REJECTED),
            "reason": (outcome.row.error or ("" if outcome.changed or outcome.created else "no changes"))[:500],
            "lead_id": outcome.lead.pk if outcome.lead else None,
        }
        for outcome in outcomes
    ])
    subject = f"Imported from {options.job.original_name or 'a file'}"[:300]
    common = {"actor_id": options.actor_id, "occurred_at": now, "subject": "", "body": "", "channel": ""}
    interactions = []
    for outcome, record_id in zip(outcomes, record_ids):
        if outcome.lead is None or not (outcome.created or outcome.changed):
            continue
        data = {"capture": record_id, "created": outcome.created, "import_job": options.job.pk, "line": outcome.row.line}
        if not outcome.created:
            data["fields"] = sorted(set(outcome.changed))
        if outcome.overwritten:
            data["overwritten"] = outcome.overwritten
        interactions.append({
            **common, "lead_id": outcome.lead.pk, "kind": Interaction.Kind.IMPORT, "channel": Lead.Source.IMPORT,
            "subject": subject, "data": data,
        })
        if outcome.status_from is not None:
            interactions.append({
                **common, "lead_id": outcome.lead.pk, "kind": Interaction.Kind.STATUS_CHANGE,
                "data": {"from": outcome.status_from, "to": outcome.lead.status,
                         "lost_reason": outcome.lead.lost_reason, "reason": "import"},
            })
    _insert(Interaction, interactions)


def _batch_enqueue(lead_ids: list[int]) -> None:
    """Processing for the batch's new and changed leads: one task per PROCESS_CHUNK leads, after commit."""
    for start in range(0, len(lead_ids), PROCESS_CHUNK):
        jobs.enqueue("leads.tasks.process_leads_task", lead_ids[start:start + PROCESS_CHUNK])


def import_batch(*, rows: list[ImportRow], options: ImportSettings) -> list[RowOutcome]:
    """Write one batch in its own transaction; a unique clash with a concurrent capture retries it."""
    for attempt in range(1, BATCH_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _batch_apply(rows, options=options)
        except IntegrityError:
            if attempt == BATCH_ATTEMPTS:
                raise
            logger.info("import batch at line %s clashed with a concurrent write; retrying", rows[0].line)
    raise AssertionError("unreachable")
