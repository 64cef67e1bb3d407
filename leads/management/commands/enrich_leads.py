"""Enrich leads on demand: python manage.py enrich_leads [--all | --stale DAYS] [--sync] [ID ...]"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from leads import jobs
from leads.enrichment.service import leads_enrich
from leads.models import Lead

BATCH = 500


class Command(BaseCommand):
    help = "Enrich leads: the given ids, --all, or those not enriched for --stale DAYS. Queued to Celery unless --sync."

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int)
        parser.add_argument("--all", action="store_true", help="every lead")
        parser.add_argument(
            "--stale", type=int, metavar="DAYS", help="leads never enriched or enriched more than DAYS ago"
        )
        parser.add_argument("--sync", action="store_true", help="run here instead of queueing Celery tasks")

    def handle(self, *args, ids, all, stale, sync, **options):
        if not (ids or all or stale is not None):
            raise CommandError("Give lead ids, --all or --stale DAYS.")
        leads = Lead.objects.all()
        if ids:
            leads = leads.filter(pk__in=ids)
        elif stale is not None:
            leads = leads.filter(
                Q(enriched_at__isnull=True) | Q(enriched_at__lt=timezone.now() - timedelta(days=stale))
            )
        batches = changed = 0
        batch: list[int] = []
        # Stream ids in primary-key order so memory stays flat however many leads there are.
        for lead_id in leads.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=5000):
            batch.append(lead_id)
            if len(batch) == BATCH:
                changed += self._run(batch, sync)
                batches += 1
                batch = []
        if batch:
            changed += self._run(batch, sync)
            batches += 1
        verb = "enriched" if sync else "queued"
        self.stdout.write(
            self.style.SUCCESS(
                f"enrich_leads: {batches} batch(es) {verb}" + (f", {changed} lead(s) changed" if sync else "")
            )
        )

    def _run(self, batch: list[int], sync: bool) -> int:
        if sync:
            return leads_enrich(lead_ids=list(batch)).changed
        jobs.enqueue("leads.enrichment.tasks.enrich_leads_task", list(batch))
        return 0
