"""Erasing a person (GDPR art. 17, CCPA deletion): every row about them deleted, every mention of
them in other rows redacted, in one transaction; then a tombstone of the address (so it is never
captured, imported or mailed again by accident) and a record of the erasure without personal data.
Import files on disk that name the person are deleted after the commit."""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Iterable
from datetime import timedelta

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Model, Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from .. import jobs
from ..locks import leads_lock
from ..models import (
    AutomationRun,
    Call,
    CaptureRecord,
    EmailSuppression,
    ErasureTombstone,
    ImportJob,
    InboundEmail,
    Interaction,
    Lead,
    LeadEventSequence,
    Notification,
    PageView,
    PrivacyRequest,
    RunStep,
    Task,
    Visitor,
    WebhookDelivery,
)
from . import tombstones
from .person import REDACTED, Person, person_captures, person_find

logger = logging.getLogger(__name__)

ERASE_NO_SUBJECT = "Give an email address or a lead."
RECHECK_TASK = "leads.privacy.tasks.erasure_recheck_task"
# Free text of other rows that may mention the person: redacted where it names their address or phone.
MENTIONS: list[tuple[type[Model], tuple[str, ...]]] = [
    (Interaction, ("subject", "body", "data")),
    (Task, ("title", "notes")),
    (Notification, ("message",)),
    (AutomationRun, ("error",)),
    (RunStep, ("detail", "error")),
]
JSON_FIELDS = {"data", "payload", "attributes"}


def _customer_model():
    # customers sit above leads (leads never imports them): the model is looked up by name.
    return apps.get_model("customers", "Customer")


def _customers_erase(person: Person, counts: dict[str, int]) -> None:
    """Customers converted from the person: deleted, or (when other leads converted into the same
    customer) stripped of the person's address, phone and name."""
    Customer = _customer_model()
    ids = person.lead_ids
    matched = set(
        Customer.objects.filter(
            Q(lead_id__in=ids)
            | Q(pk__in=Lead.objects.filter(pk__in=ids).values("converted_customer_id"))
            | Q(email__in=person.emails)
            | (Q(phone__in=person.phones) & ~Q(phone=""))
        ).values_list("pk", flat=True)
    )
    shared = set(
        Lead.objects.filter(converted_customer_id__in=matched)
        .exclude(pk__in=ids)
        .values_list("converted_customer_id", flat=True)
    )
    for customer in Customer.objects.filter(pk__in=shared):
        customer.email = "" if customer.email in person.emails else customer.email
        customer.phone = "" if customer.phone in person.phones else customer.phone
        customer.name = person.redact(customer.name)
        customer.attributes = person.redact(customer.attributes)
        customer.lead_id = None if customer.lead_id in ids else customer.lead_id
        customer.save(update_fields=["email", "phone", "name", "attributes", "lead", "updated_at"])
    counts["customers_redacted"] = len(shared)
    gone = matched - shared
    _admin_log_redact(Customer, gone)
    counts["customers"] = Customer.objects.filter(pk__in=gone).delete()[1].get(Customer._meta.label, 0)


def _admin_log_redact(model: type[Model], ids: Iterable[int]) -> None:
    """Admin's history names the object (its str) and what changed: the entries stay, anonymous."""
    keys = [str(pk) for pk in ids]
    if keys:
        content_type = ContentType.objects.get_for_model(model)
        LogEntry.objects.filter(content_type=content_type, object_id__in=keys).update(
            object_repr=REDACTED, change_message=""
        )


def _mentions_redact(person: Person, counts: dict[str, int]) -> None:
    """Other leads' rows (a thread that copied the person, a note about them) keep their own data,
    with the person's address, phone number and name replaced."""
    redacted = 0
    for model, fields in MENTIONS:
        annotations = {f"{name}_text": Cast(name, TextField()) for name in fields if name in JSON_FIELDS}
        condition = Q(pk__in=[])
        for name in fields:
            condition |= person.mentioned(f"{name}_text" if name in JSON_FIELDS else name)
        rows = model.objects.annotate(**annotations).filter(condition)
        if model in (Interaction, Task, Notification):
            rows = rows.exclude(lead_id__in=person.lead_ids)  # the person's own rows go with their leads
        for row in rows.only("pk", *fields):
            for name in fields:
                setattr(row, name, person.redact(getattr(row, name)))
            row.save(update_fields=list(fields))
            redacted += 1
    counts["mentions_redacted"] = redacted


def _import_files_naming(person: Person) -> list[tuple[int, str]]:
    """Import files on disk whose text names the person's address or phone: (job id, file name)."""
    needles = [needle.lower().encode() for needle in person.needles]
    if not needles:
        return []
    found = []
    for pk, name in ImportJob.objects.exclude(file="").values_list("pk", "file").iterator():
        try:
            with default_storage.open(name, "rb") as handle:
                content = handle.read()
        except OSError:
            continue  # already gone
        texts = [content]
        if content[:4] == b"PK\x03\x04":  # an XLSX keeps its cells in the XML parts of a zip
            try:
                with zipfile.ZipFile(io.BytesIO(content)) as archive:
                    texts = [archive.read(member) for member in archive.namelist() if member.endswith(".xml")]
            except zipfile.BadZipFile:
                pass
        if any(needle in text.lower() for text in texts for needle in needles):
            found.append((pk, name))
    return found


def _files_delete(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError as exc:  # the erasure is committed: say so, and let an operator remove it
            logger.error("import file %s names an erased person and could not be deleted: %s", name, exc)


def _traces_erase(person: Person) -> dict[str, int]:
    """Delete and redact every trace of the person (inside the caller's transaction)."""
    counts: dict[str, int] = {}
    ids = person.lead_ids
    person.emails |= set(EmailSuppression.objects.filter(lead_id__in=ids).values_list("email", flat=True))
    _mentions_redact(person, counts)
    _customers_erase(person, counts)
    captures = list(person_captures(person).values_list("pk", flat=True))
    inbound = InboundEmail.objects.filter(
        Q(lead_id__in=ids) | Q(capture_id__in=captures) | person.mentioned("from_address")
    )
    counts["inbound_emails"] = inbound.delete()[0]
    counts["captures"] = CaptureRecord.objects.filter(pk__in=captures).delete()[1].get(CaptureRecord._meta.label, 0)
    counts["page_views"] = PageView.objects.filter(visitor__lead_id__in=ids).delete()[0]
    counts["visitors"] = Visitor.objects.filter(lead_id__in=ids).delete()[0]
    counts["calls"] = Call.objects.filter(Q(lead_id__in=ids) | Q(from_number__in=person.phones)).delete()[0]
    deliveries = WebhookDelivery.objects.annotate(payload_text=Cast("payload", TextField())).filter(
        Q(lead_id__in=ids) | person.mentioned("payload_text")
    )
    counts["webhook_deliveries"] = WebhookDelivery.objects.filter(
        pk__in=list(deliveries.values_list("pk", flat=True))
    ).delete()[0]
    LeadEventSequence.objects.filter(lead_id__in=ids).delete()
    counts["suppressions"] = EmailSuppression.objects.filter(Q(email__in=person.emails) | Q(lead_id__in=ids)).delete()[
        0
    ]
    _admin_log_redact(Lead, ids)
    deleted = Lead.objects.filter(pk__in=ids).delete()[1]
    counts["leads"] = deleted.get(Lead._meta.label, 0)
    for label, key in (
        ("Interaction", "timeline"),
        ("Consent", "consents"),
        ("Task", "tasks"),
        ("Notification", "notifications"),
        ("Enrollment", "enrollments"),
        ("AutomationRun", "automation_runs"),
        ("OutboundMessage", "emails_out"),
    ):
        counts[key] = deleted.get(f"leads.{label}", 0)
    return counts


def person_erase(*, email: str = "", lead: Lead | None = None, by: User | None, via: str) -> PrivacyRequest:
    """Erase every trace of a person (by address or lead) in one transaction; leave a tombstone of
    their addresses and a record of who erased whom (by tombstone) and when."""
    if not email and lead is None:
        raise ValueError(ERASE_NO_SUBJECT)
    with transaction.atomic():
        person = person_find(email=email, lead=lead)
        leads_lock(Lead.objects.filter(pk__in=person.lead_ids))
        counts = _traces_erase(person)
        files = _import_files_naming(person)
        ImportJob.objects.filter(pk__in=[pk for pk, _ in files]).update(file="")
        counts["import_files"] = len(files)
        digests = sorted({tombstones.email_digest(email=address) for address in person.emails} - {""})
        ErasureTombstone.objects.bulk_create([ErasureTombstone(digest=d) for d in digests], ignore_conflicts=True)
        main = ErasureTombstone.objects.filter(digest=person.digest).first() if person.email else None
        record = PrivacyRequest.objects.create(
            action=PrivacyRequest.Action.ERASE,
            subject_digest=person.digest,
            tombstone=main,
            actor=by,
            via=via,
            done_at=timezone.now(),
            counts=counts,
        )
        if digests:
            # Other processes learn of the tombstone within its cache time: what they captured meanwhile goes then.
            jobs.enqueue(RECHECK_TASK, record.pk, countdown=tombstones.CACHE_SECONDS + 5)
        names = [name for _, name in files]
        transaction.on_commit(lambda: _files_delete(names))
    tombstones.tombstones_remember(digests=digests)
    return record


def erasure_recheck(*, record_id: int, since_seconds: float = 120.0) -> int:
    """Erase the leads captured or changed around an erasure whose address is tombstoned (another
    process had not yet heard of the tombstone); how many people."""
    record = PrivacyRequest.objects.filter(pk=record_id).first()
    if record is None:
        return 0
    tombstones.tombstones_forget()
    since = record.done_at - timedelta(seconds=since_seconds)
    erased = 0
    for lead in Lead.objects.filter(updated_at__gte=since).exclude(email="").only("pk", "email").iterator():
        if tombstones.email_erased(email=lead.email):
            person_erase(lead=lead, by=None, via="system")
            erased += 1
    return erased
