"""Assign leads now: python manage.py assign_leads [--queue] [--team ID] [ID ...]"""

from django.core.management.base import BaseCommand, CommandError

from leads.distribution.availability import OPEN_STATUSES
from leads.distribution.service import leads_assign, queue_drain
from leads.models import Lead, Team

BATCH = 500


class Command(BaseCommand):
    help = (
        "Assign the unassigned open leads (or the given ids) by territory, team and round robin; "
        "--queue drains the team queues instead, best score first."
    )

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int)
        parser.add_argument("--queue", action="store_true", help="drain the team queues (what beat does every minute)")
        parser.add_argument("--team", type=int, metavar="ID", help="with --queue: only this team's queue")

    def handle(self, *args, ids, queue, team, **options):
        if team is not None and not queue:
            raise CommandError("--team goes with --queue.")
        if queue:
            if team is not None and not Team.objects.filter(pk=team).exists():
                raise CommandError(f"No team with id {team}.")
            assigned = queue_drain(team_id=team)
            self.stdout.write(f"{assigned} lead(s) assigned from the queues.")
            return
        leads = Lead.objects.filter(owner__isnull=True, status__in=OPEN_STATUSES)
        if ids:
            leads = leads.filter(pk__in=ids)
        seen = assigned = 0
        batch: list[int] = []
        # Stream ids in primary-key order so memory stays flat however many leads wait.
        for lead_id in leads.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=5000):
            batch.append(lead_id)
            if len(batch) == BATCH:
                assigned += leads_assign(lead_ids=batch)
                seen, batch = seen + len(batch), []
        if batch:
            assigned += leads_assign(lead_ids=batch)
            seen += len(batch)
        self.stdout.write(
            f"{assigned} of {seen} unassigned lead(s) assigned; the others wait in a queue or match no territory."
        )
