"""Demo leads for `seed_demo`, taken down the road every real lead takes.

Each demo lead is captured through `capture()` (its channel, at the time it arrived), with its page
views recorded on the timeline; then, synchronously, the pipeline's own services run: offline
enrichment, scoring (which qualifies what reaches the MQL threshold) and assignment. What the reps
did next (working a lead, nurturing it, losing or converting it) goes through the same services a
rep's click calls, and the open leads are rescored afterwards. So every score, grade, owner and
status on screen is one the engine computed, never a number made up here.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.utils import timezone
from faker import Faker

from customers.services import lead_convert
from leads.capture.service import CaptureContext, CaptureEvent, capture
from leads.capture.tracking import INTERACTION_CHANNEL
from leads.distribution.service import lead_assign
from leads.distribution.territories import territories_active
from leads.engagement import engagement_add
from leads.enrichment.registry import providers_active
from leads.enrichment.service import leads_enrich
from leads.events import activity_recorded
from leads.models import Agent, Interaction, Lead, Team
from leads.scoring.service import leads_rescore
from leads.services import lead_bulk_set_status

DEMO_PREFIX = "demo-"
# What became of the leads (the engine decides "qualified": it is not drawn here).
OUTCOME_WEIGHTS = {"new": 35, "active": 25, "nurturing": 20, "converted": 8, "lost": 12}
SOURCE_WEIGHTS = {
    "web_form": 35,
    "email": 15,
    "chat": 8,
    "webhook": 12,
    "import": 10,
    "api": 5,
    "manual": 10,
    "call": 5,
}
LOST_REASONS = ["No budget", "Chose a competitor", "No response", "Not a fit"]
INDUSTRIES = ["Software", "Manufacturing", "Retail", "Healthcare", "Finance", "Education", "Logistics"]
COUNTRIES = [
    ("GB", "Europe/London"),
    ("DE", "Europe/Berlin"),
    ("FR", "Europe/Paris"),
    ("US", "America/New_York"),
    ("ES", "Europe/Madrid"),
    ("NL", "Europe/Amsterdam"),
]
PAGES = ["/pricing", "/features", "/blog/lead-scoring", "/demo", "/customers", "/features/routing"]
JOB_TITLES = [
    "CEO",
    "Founder",
    "VP Sales",
    "VP Marketing",
    "Head of Operations",
    "Sales Director",
    "Marketing Director",
    "IT Manager",
    "Office Manager",
    "Marketing Manager",
    "Account Executive",
    "Operations Analyst",
    "Software Engineer",
    "Procurement Specialist",
    "Consultant",
]
FREE_MAIL = ["gmail.com", "outlook.com", "yahoo.com"]
# The reps' routing profiles: working hours in their own zone, and how much they can take.
AGENTS = {
    "rep1": {
        "time_zone": "Europe/London",
        "max_open_leads": 100,
        "max_new_per_day": None,
        "working_hours": {str(d): ["09:00", "17:30"] for d in range(5)},
        "languages": ["en"],
    },
    "rep2": {
        "time_zone": "Europe/Berlin",
        "max_open_leads": 90,
        "max_new_per_day": None,
        "working_hours": {str(d): ["08:30", "17:00"] for d in range(5)},
        "languages": ["de", "en"],
    },
    "rep3": {
        "time_zone": "America/New_York",
        "max_open_leads": 50,
        "max_new_per_day": None,
        "working_hours": {str(d): ["09:00", "18:00"] for d in range(4)},
        "languages": ["en", "es"],
    },
}


@dataclass
class DemoLead:
    """One drawn demo lead: what arrives (capture data) and what the reps later did with it."""

    external_id: str
    data: dict
    channel: str
    arrived: datetime
    page_views: list[str]
    outcome: str
    lost_reason: str


def agents_ensure(*, users: dict[str, User]) -> int:
    """A routing profile per demo rep (kept as it is when one exists); returns how many were made."""
    made = 0
    for username, profile in AGENTS.items():
        _, created = Agent.objects.get_or_create(user=users[username], defaults=profile)
        made += created
    return made


def demo_draw(*, count: int, now: datetime) -> list[DemoLead]:
    """Lead i is the same on every run (seeded generators, every value drawn for every i)."""
    fake = Faker()
    Faker.seed(2026)
    rng = random.Random(2026)
    drawn = []
    for i in range(count):
        first, last = fake.first_name(), fake.last_name()
        company, domain, city = fake.company(), fake.domain_name(), fake.city()
        job = rng.choice(JOB_TITLES)
        outcome = rng.choices(list(OUTCOME_WEIGHTS), weights=list(OUTCOME_WEIGHTS.values()))[0]
        channel = rng.choices(list(SOURCE_WEIGHTS), weights=list(SOURCE_WEIGHTS.values()))[0]
        country, tz = rng.choice(COUNTRIES)
        industry, size = rng.choice(INDUSTRIES), rng.choice(Lead.CompanySize.values)
        # More recent leads than old ones, as in a growing pipeline.
        age = timedelta(days=min(180, int(rng.expovariate(1 / 45))), minutes=rng.randint(0, 1440))
        # A few keen visitors read a lot (pricing, demo): the engine should find them hot.
        views = rng.choices(PAGES, weights=[3, 2, 2, 2, 1, 1], k=rng.choice([0, 0, 1, 2, 3, 5, 8]))
        mail_domain = rng.choice(FREE_MAIL) if rng.random() < 0.25 else domain
        lost_reason = rng.choice(LOST_REASONS)
        arrived = (now - age).replace(microsecond=0)
        drawn.append(
            DemoLead(
                external_id=f"{DEMO_PREFIX}{i:06d}",
                channel=channel,
                arrived=arrived,
                page_views=views,
                outcome=outcome,
                lost_reason=lost_reason,
                data={
                    "external_id": f"{DEMO_PREFIX}{i:06d}",
                    "first_name": first,
                    "last_name": last,
                    "email": f"{first}.{last}.{i}@{mail_domain}".lower().replace(" ", ""),
                    "phone": f"+4420794600{i % 100:02d}" if i % 3 else "",
                    "company": company,
                    "job_title": job[:200],
                    "website": f"https://www.{domain}",
                    "country": country,
                    "city": city[:100],
                    "time_zone": tz,
                    "industry": industry,
                    "company_size": size,
                    "email_opt_in": rng.random() < 0.6,
                },
            )
        )
    return drawn


def demo_capture(*, drawn: list[DemoLead], team: Team) -> list[tuple[Lead, DemoLead]]:
    """Capture the drawn leads not captured yet, oldest first, with their page views."""
    existing = set(Lead.objects.filter(external_id__startswith=DEMO_PREFIX).values_list("external_id", flat=True))
    captured = []
    for item in sorted((d for d in drawn if d.external_id not in existing), key=lambda d: d.arrived):
        result = capture(
            data=item.data,
            context=CaptureContext(channel=item.channel, source_detail="demo data", received_at=item.arrived),
            event=CaptureEvent(subject="Asked about pricing"),
            team_id=team.pk,
        )
        for n, page in enumerate(item.page_views):
            # As site tracking records a view of a known visitor: the timeline entry and the
            # engagement summary (one visit).
            at = item.arrived + timedelta(minutes=10 * (n + 1))
            activity_recorded(
                lead=result.lead,
                kind=Interaction.Kind.PAGE_VIEW,
                channel=INTERACTION_CHANNEL,
                subject=f"Viewed {page}",
                body=page,
                data={"url": page},
                occurred_at=at,
            )
            engagement_add(lead_id=result.lead.pk, day=timezone.localdate(at), page_views=1, visits=1 if n == 0 else 0)
        captured.append((result.lead, item))
    return captured


def demo_process(*, captured: list[tuple[Lead, DemoLead]]) -> None:
    """The pipeline's stages, run here and now: enrichment (offline providers), scoring
    (qualification included), then assignment at the time each lead arrived."""
    ids = [lead.pk for lead, _ in captured]
    if not ids:
        return
    leads_enrich(lead_ids=ids, providers=providers_active(offline_only=True))
    leads_rescore(lead_ids=ids)
    territories = territories_active()
    for lead, item in captured:  # oldest first, each when it arrived (capacity and "new today" hold then)
        lead_assign(lead_id=lead.pk, now=item.arrived, territories=territories)
    Lead.objects.filter(pk__in=ids).update(processed_at=timezone.now())


def demo_outcomes(*, captured: list[tuple[Lead, DemoLead]], manager: User) -> int:
    """What the reps did with the leads, through the services their clicks call; returns how
    many were converted. The open leads are rescored afterwards, as the pipeline would."""
    owners = dict(Lead.objects.filter(pk__in=[lead.pk for lead, _ in captured]).values_list("pk", "owner_id"))
    users = {user.pk: user for user in User.objects.filter(pk__in=set(owners.values()) - {None})}
    converted = 0
    for lead, item in captured:
        owner = users.get(owners[lead.pk])
        if item.outcome != "new" and owner is not None:
            # The owner's first call: speed to lead is measured from it, and the engine scores it.
            lead.owner_id = owner.pk
            activity_recorded(
                lead=lead,
                kind=Interaction.Kind.CALL_OUT,
                actor=owner,
                channel="call",
                subject="Intro call",
                occurred_at=item.arrived + timedelta(hours=2),
            )
    # Each owner moves their own leads (the manager the unowned ones); "qualified" stays the engine's.
    changes: dict[tuple[str, str, int | None], list[int]] = {}
    for lead, item in captured:
        if item.outcome in ("active", "nurturing", "lost"):
            reason = item.lost_reason if item.outcome == "lost" else ""
            changes.setdefault((item.outcome, reason, owners[lead.pk]), []).append(lead.pk)
    for (status, reason, owner_id), ids in sorted(changes.items(), key=lambda change: str(change[0])):
        scope = Lead.objects.filter(pk__in=ids)
        if status != "lost":
            scope = scope.filter(status="new")
        lead_bulk_set_status(leads=scope, status=status, lost_reason=reason, by=users.get(owner_id) or manager)
    for lead, item in captured:
        if item.outcome == "converted":
            by = users.get(owners[lead.pk]) or manager
            lead_convert(lead=Lead.objects.get(pk=lead.pk), by=by, action="create")
            converted += 1
    leads_rescore(lead_ids=[lead.pk for lead, _ in captured])
    return converted
