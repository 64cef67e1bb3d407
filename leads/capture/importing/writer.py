"""Writing a batch of clean rows: through capture's batch path (capture.batch.capture_many), which
finds, merges, creates and checks duplicates by the same rules as every channel, at COPY speed.
What is the import's own is here: a row matched by the id column is authoritative, the status the
file gives (lost needs a reason) and the owner it names. The static list the job fills is joined by
nurturing's reaction to the batch's event (leads.reactions)."""

from dataclasses import dataclass, field

from ...models import ImportJob, Lead
from ..batch import BatchContext, CaptureOutcome, capture_many
from .owners import owner_key
from .rows import ImportRow

OWNER_ATTRIBUTE = "owner"  # an owner the file names who is not one of our users: kept as written

LOST_REASON_DEFAULT = "Imported as lost"


@dataclass
class RowOutcome(CaptureOutcome):
    """What one row did (capture_many's outcome), and an owner the file named who is not one of our users."""

    unknown_owner: str = ""


@dataclass
class ImportSettings:
    """What every row of one import shares."""

    job: ImportJob
    override: str  # --source / the form's source: every row's source detail
    default: str  # when neither the override nor a Lead Source column gives one: the file name
    actor_id: int | None
    dry_run: bool
    owners: dict[str, int] = field(default_factory=dict)  # owners.import_owners_index()


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


def _owner(lead: Lead, row: ImportRow, *, options: ImportSettings, outcome: RowOutcome) -> None:
    """The file's owner, when one of our users, for a lead that has none (an owned lead keeps its
    owner: routing is the distribution stage's business). Others are kept as an attribute."""
    if not row.owner:
        return
    owner_id = options.owners.get(owner_key(row.owner))
    if owner_id is None:
        outcome.unknown_owner = row.owner
        if lead.attributes.get(OWNER_ATTRIBUTE) != row.owner and (
            outcome.created or OWNER_ATTRIBUTE not in lead.attributes
        ):
            lead.attributes = {**lead.attributes, OWNER_ATTRIBUTE: row.owner}
            outcome.changed.append("attributes")
    elif lead.owner_id is None:
        lead.owner_id = owner_id
        outcome.changed.append("owner")


def import_batch(*, rows: list[ImportRow], options: ImportSettings) -> list[RowOutcome]:
    """Write one batch in its own transaction (capture_many); a unique clash with a concurrent capture retries it."""
    context = BatchContext(
        channel=Lead.Source.IMPORT,
        source_detail=options.override,
        default_source_detail=options.default,
        actor_id=options.actor_id,
        subject=f"Imported from {options.job.original_name or 'a file'}",
        data={"import_job": options.job.pk},
        dry_run=options.dry_run,
        authoritative_by="external_id",
        list_id=options.job.add_to_list_id,
    )

    def adjust(lead: Lead, row: ImportRow, outcome: RowOutcome) -> None:
        _apply_status(lead, row, authoritative=outcome.authoritative, outcome=outcome)
        _owner(lead, row, options=options, outcome=outcome)

    return capture_many(items=rows, context=context, adjust=adjust, outcome_type=RowOutcome)
