#!/usr/bin/env python
"""Conversion and the lead page on the 1,000,000-lead bench database.

    .venv/bin/python bench/conversion_bench.py [--customers 20000] [--leads 300] [--interactions 2000]

Everything runs inside one transaction that is rolled back at the end, so `leadcrm_bench` is left
as it was (read-only shared data). In that transaction it adds --customers customers whose
domains are those of existing corporate leads (so matching has real rows to look at), then:

- times `customer_matches` (the one indexed query behind the create / link / cancel choice),
- converts --leads open leads one by one with `lead_convert(action="auto", pick_clear_match=True)`
  (what bulk conversion does: lock, match, link or create, timeline entry, nurture exit),
- renders the lead page (`leads:detail`, view and template, through RequestFactory) for a lead
  with --interactions timeline entries and 50 open tasks, and counts its queries.

Reports the machine's load average, since the two cores are shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import benchenv  # noqa: E402


class Rollback(Exception):
    """Raised at the end to roll every write back."""


def _ms(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return f"median {statistics.median(samples) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms (n={len(samples)})"


def run(*, customers: int, leads: int, interactions: int) -> None:
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from customers.models import Customer
    from customers.services import customer_matches, lead_convert
    from leads.models import Interaction, Lead, Task
    from leads.roles import SALES_MANAGERS, roles_ensure
    from leads.views.lead_page import lead_detail_view

    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    try:
        with transaction.atomic():
            roles_ensure()
            manager = User.objects.create(username="conversion-bench-manager", is_staff=True)
            from django.contrib.auth.models import Group

            manager.groups.add(Group.objects.get(name=SALES_MANAGERS))
            from leads.enrichment.providers.email import email_kind

            open_leads = Lead.objects.filter(status__in=["new", "active", "qualified"]).exclude(email="")
            domains = [
                domain
                for domain in open_leads.order_by("-id").values_list("email_domain", flat=True)[: customers * 2]
                if email_kind(domain) == "corporate"
            ][:customers]
            start = time.perf_counter()
            Customer.objects.bulk_create(
                [
                    Customer(name=f"Bench customer {i}", domain=domain, company=domain)
                    for i, domain in enumerate(domains)
                ],
                batch_size=5000,
            )
            print(f"added {len(domains)} customers in {time.perf_counter() - start:.1f} s (rolled back at the end)")

            sample = list(open_leads.order_by("id")[:leads])
            timings = []
            for lead in sample:
                t = time.perf_counter()
                customer_matches(lead=lead)
                timings.append(time.perf_counter() - t)
            print(f"customer_matches: {_ms(timings)}")

            outcomes: dict[str, int] = {}
            timings = []
            start = time.perf_counter()
            for lead in sample:
                t = time.perf_counter()
                result = lead_convert(lead=lead, by=manager, action="auto", pick_clear_match=True)
                timings.append(time.perf_counter() - t)
                outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
            elapsed = time.perf_counter() - start
            print(f"lead_convert: {_ms(timings)}; {len(sample) / elapsed:.0f} leads/s; outcomes {outcomes}")

            page_lead = open_leads.order_by("id")[leads]
            now = timezone.now()
            Interaction.objects.bulk_create(
                [
                    Interaction(
                        lead=page_lead, kind=Interaction.Kind.NOTE, subject=f"note {i}", actor=manager, occurred_at=now
                    )
                    for i in range(interactions)
                ],
                batch_size=5000,
            )
            Task.objects.bulk_create([Task(lead=page_lead, title=f"task {i}", assigned_to=manager) for i in range(50)])
            factory = RequestFactory()
            timings, sql = [], []
            for _ in range(20):
                request = factory.get(f"/leads/{page_lead.pk}")
                request.user = manager
                t = time.perf_counter()
                with CaptureQueriesContext(connection) as queries:
                    response = lead_detail_view(request, page_lead.pk)
                timings.append(time.perf_counter() - t)
                sql.append(sum(float(q["time"]) for q in queries.captured_queries))
                assert response.status_code == 200
            print(
                f"lead page ({interactions} timeline entries, 50 open tasks): {_ms(timings)}; {len(queries)} queries,"
                f" SQL {_ms(sql)}"
            )
            raise Rollback
    except Rollback:
        pass
    print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--leads", type=int, default=300)
    parser.add_argument("--interactions", type=int, default=2_000)
    args = parser.parse_args()
    benchenv.setup(migrate=False)
    run(customers=args.customers, leads=args.leads, interactions=args.interactions)


if __name__ == "__main__":
    main()
