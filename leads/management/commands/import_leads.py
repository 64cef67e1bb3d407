"""python manage.py import_leads FILE [--source NAME] [--id-column COL] [--dry-run] [--day-first] [--no-routing]"""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.capture.importing import ImportFileError, RowOutcome, import_file
from leads.models import ImportJob

FILE_NOT_FOUND = "No such file: {path}"


class Command(BaseCommand):
    help = "Import leads from a CSV or XLSX file and print what was created, updated and rejected (docs/import.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="A .csv or .xlsx file with a header row.")
        parser.add_argument(
            "--source", default="", help="Source detail for every row (overrides a Lead Source column)."
        )
        parser.add_argument(
            "--id-column", default="", help="The column holding a stable id, stored as the external id."
        )
        parser.add_argument("--dry-run", action="store_true", help="Show what would happen and change nothing.")
        parser.add_argument(
            "--day-first", action="store_true", help="Dates such as 3/11/2025 are day first (3 November)."
        )
        parser.add_argument("--no-routing", action="store_true", help="Do not route the new leads to reps' queues.")

    def handle(self, *args, **options) -> None:
        verbose = options["verbosity"] >= 2
        try:
            job = import_file(
                path=options["file"],
                source_detail=options["source"],
                id_column=options["id_column"],
                dry_run=options["dry_run"],
                on_row=self._print_row if verbose else None,
                date_order=ImportJob.DateOrder.DAY_FIRST if options["day_first"] else ImportJob.DateOrder.MONTH_FIRST,
                route_leads=not options["no_routing"],
            )
        except FileNotFoundError as exc:
            raise CommandError(FILE_NOT_FOUND.format(path=options["file"])) from exc
        except ImportFileError as exc:
            raise CommandError(exc.message) from exc
        if job.status == ImportJob.Status.FAILED:
            raise CommandError(job.message)
        self._print_summary(job)

    def _print_row(self, outcome: RowOutcome) -> None:
        """With -v 2: one line per row, as it is written (or would be, in a dry run)."""
        if outcome.lead is None:
            return  # rejected rows are listed in the summary
        fields = f" ({', '.join(sorted(set(outcome.changed)))})" if outcome.changed and not outcome.created else ""
        who = outcome.lead.email or outcome.lead.phone or outcome.lead.external_id
        self.stdout.write(f"line {outcome.row.line}: {outcome.action} {who}{fields}")

    def _print_summary(self, job: ImportJob) -> None:
        verb = ("would create", "would update", "would reject") if job.dry_run else ("created", "updated", "rejected")
        prefix = "Dry run, nothing was saved. " if job.dry_run else ""
        self.stdout.write(
            f"{prefix}{job.original_name}: {job.processed_rows} rows; {verb[0]} {job.created_count}, "
            f"{verb[1]} {job.updated_count}, {verb[2]} {job.rejected_count}."
        )
        for error in job.errors:
            self.stdout.write(f"  line {error['line']}: {error['reason']}")
        if job.rejected_count > len(job.errors):
            self.stdout.write(f"  … and {job.rejected_count - len(job.errors)} more rejected rows.")
        if job.skipped_rows:
            self.stdout.write(f"Skipped {job.skipped_rows} footer lines of a report export.")
        for kind, values in sorted((job.unknown_values or {}).items()):
            listed = ", ".join(f"{value} ({rows})" for value, rows in sorted(values.items()))
            self.stdout.write(f"Unknown {kind} values, kept as attributes: {listed}")
