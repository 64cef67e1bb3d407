"""A new person in one statement: the lead, its capture record, timeline entry, consent proof and
processing job (its outbox row), inserted by one INSERT with data-modifying CTEs (capture/service.py)."""

import re
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.utils import timezone
from django_countries.fields import CountryField
from django_guid import get_guid

from ..common.prepared import PreparedRawCursor, prepared_cursor
from ..models import CaptureRecord, Consent, Interaction, Lead, OutboxJob
from ..services import PROCESS_LEAD_TASK

# Per model: (field, its attribute, whether its pre_save is Field's own (the attribute as it is),
# the Python types whose values Django's get_db_prep_save hands to the driver unchanged, its
# constant default or _NO_CONSTANT, that default's database value). Most of a new lead's 60
# columns hold their default, and preparing each one anew was a tenth of a capture's CPU; the
# rest are mostly strings that CharField's preparation returns as they are (bench/README.md).
_INSERT_FIELDS: dict[type[models.Model], list[tuple[models.Field, str, bool, tuple, Any, Any]]] = {}
_INSERT_COLUMNS: dict[tuple[type[models.Model], tuple[str, ...]], list[str]] = {}
_CONSTANT_TYPES = (str, int, bool, type(None))
_NO_CONSTANT = object()
# Field classes (exactly these: a subclass may prepare differently) whose get_db_prep_save hands
# a value of these types to the driver unchanged: CharField's to_python is the identity on a str
# (a str subclass, such as a choices enum, takes the full path), None stays None. (Integers do not:
# on psycopg 3 Django wraps them in their column's integer type.)
_TEXT = (str, type(None))
_UNCHANGED = {
    CountryField: _TEXT,
    models.CharField: _TEXT,
    models.TextField: _TEXT,
    models.EmailField: _TEXT,
    models.URLField: _TEXT,
    models.SlugField: _TEXT,
    models.BooleanField: (bool, type(None)),
}


def _insert_fields(model: type[models.Model]) -> list[tuple[models.Field, str, bool, tuple, Any, Any]]:
    """The columns Django's INSERT writes, each with what preparing its value needs (above)."""
    fields = _INSERT_FIELDS.get(model)
    if fields is None:
        db = connections[DEFAULT_DB_ALIAS]
        fields = []
        for model_field in model._meta.local_concrete_fields:
            if model_field.primary_key or model_field.generated:
                continue
            default, prepared = _NO_CONSTANT, None
            if (
                not callable(model_field.default)
                and not getattr(model_field, "auto_now", False)
                and not getattr(model_field, "auto_now_add", False)
            ):
                value = model_field.get_default()
                if type(value) in _CONSTANT_TYPES:
                    default, prepared = value, model_field.get_db_prep_save(value, connection=db)
            unchanged = _UNCHANGED.get(type(model_field), ())
            # A single CountryField keeps the code itself in the instance's __dict__ (its descriptor's
            # __set__ cleans it); its pre_save reads it through the descriptor, which builds a Country
            # object for it, to return the same code (a tenth of _insert_row's time, bench/README.md).
            plain = type(model_field).pre_save is models.Field.pre_save or (
                type(model_field) is CountryField and not model_field.multiple
            )
            fields.append((model_field, model_field.attname, plain, unchanged, default, prepared))
        _INSERT_FIELDS[model] = fields
    return fields


def _insert_columns(model: type[models.Model], linked: tuple[str, ...]) -> list[str]:
    columns = _INSERT_COLUMNS.get((model, linked))
    if columns is None:
        quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
        columns = [quote(field[0].column) for field in _insert_fields(model) if field[0].name not in linked]
        _INSERT_COLUMNS[(model, linked)] = columns
    return columns


def _insert_row(obj: models.Model, *, linked: tuple[str, ...] = ()) -> tuple[list[str], list[Any]]:
    """The quoted columns and database values Django's own INSERT would write for `obj` (the
    primary key and generated columns are the database's), without the `linked` foreign keys."""
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the proxy (a lookup per attribute)
    state = obj.__dict__
    values = []
    for model_field, attname, plain, unchanged, default, prepared in _insert_fields(type(obj)):
        if model_field.name in linked:
            continue
        value = state[attname] if plain else model_field.pre_save(obj, True)
        kind = type(value)
        if default is not _NO_CONSTANT and kind is type(default) and value == default:
            values.append(prepared)
        elif kind in unchanged:
            values.append(value)
        else:
            values.append(model_field.get_db_prep_save(value, connection=db))
    return _insert_columns(type(obj), linked), values


# The capture's statement with PostgreSQL's own $n placeholders, run through a psycopg RawCursor:
# with its ~100 parameters and ~5 KB it is over the limits of psycopg's cache of converted queries
# (50 parameters, 4,096 characters), so Django's client-side cursor tokenised it again for every
# lead (a sixth of the request's CPU, bench/README.md). The values go as bound parameters; those
# in a SELECT list are cast to their column's type, since there PostgreSQL cannot infer it. It still
# runs through Django's cursor wrapper: errors, execute wrappers and query counts as for any query.
_NUMBERED: dict[str, str] = {}
_LENGTH = re.compile(r"\(\d+(, *\d+)?\)")


def _casts(obj: models.Model, linked: tuple[str, ...]) -> list[str]:
    """Each inserted column's type, without a length (a cast would cut a value, not refuse it)."""
    db = connections[DEFAULT_DB_ALIAS]
    return [
        _LENGTH.sub("", field[0].db_type(connection=db))
        for field in _insert_fields(type(obj))
        if field[0].name not in linked
    ]


def _numbered(sql: str, casts: list[str | None]) -> str:
    """`sql` with its %s placeholders as $1, $2… (cast where a type is given)."""
    parts = sql.split("%s")
    if len(parts) != len(casts) + 1:
        raise ValueError(f"{len(parts) - 1} placeholders for {len(casts)} casts")
    numbered = [parts[0]]
    for number, (cast, part) in enumerate(zip(casts, parts[1:], strict=True), start=1):
        numbered.append(f"${number}" + (f"::{cast}" if cast else "") + part)
    return "".join(numbered)


def new_lead_insert(
    *, lead: Lead, record: CaptureRecord, interaction: Interaction, consent: Consent | None
) -> int | None:
    """Insert a new lead with its capture record, timeline entry, consent proof and processing job
    (its outbox row) in one statement (atomic by itself, one round trip), setting their ids; returns
    the job's id. When a lead with the same email or external id exists (or is being inserted by a
    concurrent capture, which the unique indexes make us wait for) nothing is written and it
    returns None: find and merge instead."""
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself: each attribute of the proxy is a lookup
    lead_columns, lead_values = _insert_row(lead)
    record_columns, record_values = _insert_row(record, linked=("lead",))
    entry_columns, entry_values = _insert_row(interaction, linked=("lead", "data"))
    quote = db.ops.quote_name

    def marks(values: list) -> str:
        return ", ".join(["%s"] * len(values))

    consent_sql, consent_values = "", []
    if consent is not None:
        consent_columns, consent_values = _insert_row(consent, linked=("lead", "capture"))
        consent_sql = (
            f", new_consent AS (INSERT INTO {quote(Consent._meta.db_table)} (lead_id, capture_id, {', '.join(consent_columns)})"
            f" SELECT lead_id, id, {marks(consent_values)} FROM new_record RETURNING id)"
        )
    sql = (
        f"WITH new_lead AS (INSERT INTO {quote(Lead._meta.db_table)} ({', '.join(lead_columns)}) VALUES ({marks(lead_values)})"
        " ON CONFLICT DO NOTHING RETURNING id),"
        f" new_job AS (INSERT INTO {quote(OutboxJob._meta.db_table)} (task_name, args, created_at, due_at, publishes, trace_id)"
        " SELECT %s, jsonb_build_array(id), %s, %s, 0, %s FROM new_lead RETURNING id),"
        f" new_record AS (INSERT INTO {quote(CaptureRecord._meta.db_table)} (lead_id, {', '.join(record_columns)})"
        f" SELECT id, {marks(record_values)} FROM new_lead RETURNING id, lead_id){consent_sql}"
        f" INSERT INTO {quote(Interaction._meta.db_table)} (lead_id, data, {', '.join(entry_columns)})"
        f" SELECT lead_id, %s || jsonb_build_object('capture', id), {marks(entry_values)} FROM new_record"
        " RETURNING lead_id, (data ->> 'capture')::bigint, id, (SELECT id FROM new_job)"
        + (", (SELECT id FROM new_consent)" if consent is not None else "")
    )
    data_field = Interaction._meta.get_field("data")
    now = timezone.now()
    params = [
        *lead_values,
        PROCESS_LEAD_TASK,
        now,
        now,
        get_guid() or "",
        *record_values,
        *consent_values,
        data_field.get_db_prep_save(interaction.data, connection=db),
        *entry_values,
    ]
    numbered = _NUMBERED.get(sql)
    if numbered is None:
        casts = [
            *[None] * len(lead_values),
            "varchar",
            "timestamptz",
            "timestamptz",
            "varchar",
            *_casts(record, ("lead",)),
            *(_casts(consent, ("lead", "capture")) if consent is not None else []),
            "jsonb",
            *_casts(interaction, ("lead", "data")),
        ]
        numbered = _NUMBERED[sql] = _numbered(sql, casts)
    with prepared_cursor(PreparedRawCursor) as cursor:  # planned once per connection
        cursor.execute(numbered, params)
        row = cursor.fetchone()
    if row is None:
        return None
    lead.pk, record.pk, interaction.pk, job_id = row[:4]
    interaction.data = {**interaction.data, "capture": record.pk}
    saved = [lead, record, interaction]
    if consent is not None:
        consent.pk = row[4]
        saved.append(consent)
    for obj in saved:
        obj._state.adding, obj._state.db = False, db.alias
    for obj in saved[1:]:
        obj.lead = lead
    if consent is not None:
        consent.capture = record
    return job_id
