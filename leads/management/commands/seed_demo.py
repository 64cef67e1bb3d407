"""Demo users, a team and realistic leads. Running it again changes nothing."""
import random
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from faker import Faker

from customers.models import Customer
from leads.models import Interaction, Lead, Team, TeamMembership, WebForm
from leads.roles import MARKETERS, SALES_MANAGERS, SALES_REPS

DEMO_PREFIX = "demo-"
TEAM_NAME = "Inside Sales"
USERS = [
    ("manager", SALES_MANAGERS, True),
    ("marketer", MARKETERS, False),
    ("rep1", SALES_REPS, False),
    ("rep2", SALES_REPS, False),
    ("rep3", SALES_REPS, False),
]
STATUS_WEIGHTS = {"new": 30, "active": 25, "nurturing": 20, "qualified": 10, "converted": 7, "lost": 8}
SOURCE_WEIGHTS = {"web_form": 35, "email": 15, "chat": 8, "webhook": 12, "import": 10, "api": 5, "manual": 10, "call": 5}
LOST_REASONS = ["No budget", "Chose a competitor", "No response", "Not a fit"]
INDUSTRIES = ["Software", "Manufacturing", "Retail", "Healthcare", "Finance", "Education", "Logistics"]
COUNTRIES = [("GB", "Europe/London"), ("DE", "Europe/Berlin"), ("FR", "Europe/Paris"), ("US", "America/New_York"),
             ("ES", "Europe/Madrid"), ("NL", "Europe/Amsterdam")]
CUSTOMERS = 5


def _grade(score: int) -> str:
    return "A" if score >= 75 else "B" if score >= 50 else "C" if score >= 25 else "D"


class Command(BaseCommand):
    help = "Create demo users (manager, marketer, rep1-3), a team and N demo leads. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--leads", type=int, default=200, help="How many demo leads (default 200).")
        parser.add_argument("--password", default="demo", help="Password for new demo users (default: demo).")

    @transaction.atomic
    def handle(self, *args, leads: int, password: str, **options):
        users = self._users(password)
        team, _ = Team.objects.get_or_create(name=TEAM_NAME, defaults={"manager": users["manager"]})
        for name in ("rep1", "rep2", "rep3"):
            TeamMembership.objects.get_or_create(team=team, user=users[name])
        # Distribution: a catch-all territory served by the team, so every captured lead finds a rep.
        from leads.models import TeamSettings, Territory

        TeamSettings.objects.get_or_create(team=team)
        Territory.objects.get_or_create(name="Everywhere", defaults={"is_catch_all": True})[0].teams.add(team)
        WebForm.objects.get_or_create(
            key="demo",
            defaults={
                "name": "Demo contact form", "team": team, "allowed_hosts": ["localhost", "127.0.0.1"],
                "fields": ["first_name", "last_name", "email", "company", "phone", "message"],
                "required_fields": ["email"], "default_tags": ["demo-form"],
                "consent_text": "I agree that LeadCRM Demo may contact me about its products.",
            },
        )
        created = self._leads(leads, users, team)
        customers = self._customers()
        self._nurture(users)
        self._tasks(users)
        self.stdout.write(self.style.SUCCESS(f"seed_demo: {created} lead(s) and {customers} customer(s) created."))

    def _users(self, password: str) -> dict[str, User]:
        users = {}
        for username, role, staff in USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"is_staff": staff, "email": f"{username}@example.com"}
            )
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
                user.groups.add(Group.objects.get(name=role))
            users[username] = user
        return users

    def _leads(self, count: int, users: dict[str, User], team: Team) -> int:
        existing = set(Lead.objects.filter(external_id__startswith=DEMO_PREFIX).values_list("external_id", flat=True))
        fake = Faker()
        Faker.seed(2026)
        rng = random.Random(2026)
        now = timezone.now().replace(microsecond=0)
        owners = [users["rep1"], users["rep2"], users["rep3"], None]
        new_leads = []
        for i in range(count):
            # Draw every value even for leads that exist, so lead i is the same on every run.
            first, last = fake.first_name(), fake.last_name()
            company = fake.company()
            domain = fake.domain_name()
            job = fake.job()
            city = fake.city()
            status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
            source = rng.choices(list(SOURCE_WEIGHTS), weights=list(SOURCE_WEIGHTS.values()))[0]
            country, tz = rng.choice(COUNTRIES)
            score = rng.randint(0, 100)
            owner = rng.choice(owners)
            industry = rng.choice(INDUSTRIES)
            size = rng.choice(Lead.CompanySize.values)
            age = timedelta(days=rng.randint(0, 180), minutes=rng.randint(0, 1440))
            external_id = f"{DEMO_PREFIX}{i:06d}"
            if external_id in existing:
                continue
            created_at = now - age
            new_leads.append(
                Lead(
                    external_id=external_id, first_name=first, last_name=last,
                    email=f"{first}.{last}.{i}@{domain}".lower().replace(" ", ""),
                    phone=f"+4420794600{i % 100:02d}" if i % 3 else "", company=company, job_title=job[:200],
                    website=f"https://www.{domain}", country=country, city=city[:100], time_zone=tz,
                    industry=industry, company_size=size, source=source, source_detail="demo data",
                    status=status, lost_reason=rng.choice(LOST_REASONS) if status == "lost" else "",
                    score=score, grade=_grade(score), owner=owner, team=team,
                    email_opt_in=rng.random() < 0.6, created_at=created_at, processed_at=created_at,
                    last_activity_at=created_at + timedelta(hours=rng.randint(0, 48)),
                )
            )
        Lead.objects.bulk_create(new_leads, batch_size=1000)
        self._interactions(new_leads, rng)
        return len(new_leads)

    def _interactions(self, leads: list[Lead], rng: random.Random) -> None:
        rows = []
        for lead in leads:
            rows.append(Interaction(lead=lead, kind=Interaction.Kind.CREATED, channel=lead.source, occurred_at=lead.created_at))
            rows.append(Interaction(
                lead=lead, kind=Interaction.Kind.FORM_SUBMIT if lead.source == "web_form" else Interaction.Kind.EMAIL_IN,
                channel=lead.source, subject="Asked about pricing", occurred_at=lead.created_at,
            ))
            for n in range(rng.randint(0, 3)):
                rows.append(Interaction(
                    lead=lead, kind=Interaction.Kind.PAGE_VIEW, channel="tracking",
                    subject=rng.choice(["/pricing", "/features", "/blog/lead-scoring", "/demo"]),
                    occurred_at=lead.created_at + timedelta(hours=n + 1),
                ))
            if lead.owner_id:
                rows.append(Interaction(
                    lead=lead, kind=Interaction.Kind.ASSIGNMENT, occurred_at=lead.created_at,
                    data={"from": None, "to": lead.owner.username, "reason": "demo data"},
                ))
        Interaction.objects.bulk_create(rows, batch_size=2000)

    def _customers(self) -> int:
        created = 0
        converted = Lead.objects.filter(external_id__startswith=DEMO_PREFIX, status="converted", customer__isnull=True)
        for lead in converted.order_by("external_id")[: max(0, CUSTOMERS - Customer.objects.filter(lead__external_id__startswith=DEMO_PREFIX).count())]:
            customer = Customer.objects.create(
                name=lead.full_name, company=lead.company, email=lead.email, phone=lead.phone,
                owner=lead.owner, lead=lead, created_at=lead.created_at + timedelta(days=7),
            )
            Lead.objects.filter(pk=lead.pk).update(
                converted_customer=customer, converted_at=customer.created_at, converted_by=lead.owner
            )
            created += 1
        return created

    def _nurture(self, users: dict[str, User]) -> None:
        """A segment, a static list and a three-email sequence, so the marketer's pages have content."""
        from leads.models import Segment, Sequence, SequenceStep
        from leads.nurturing.segments import list_add_leads, segment_refresh

        marketer = users["marketer"]
        hot, made = Segment.objects.get_or_create(
            name="Warm, not yet ready",
            defaults={
                "kind": Segment.Kind.DYNAMIC, "created_by": marketer,
                "description": "New or nurturing leads with a middling score.",
                "definition": {"match": "all", "conditions": [
                    {"field": "status", "op": "in", "value": ["new", "nurturing"]},
                    {"field": "score", "op": "gte", "value": 25},
                    {"field": "score", "op": "lt", "value": 75},
                ]},
            },
        )
        sequence, made_sequence = Sequence.objects.get_or_create(
            name="Welcome to LeadCRM Demo",
            defaults={"entry_statuses": ["nurturing"], "created_by": marketer, "entry_segment": hot},
        )
        if made_sequence:
            steps = [
                {"kind": "email", "subject": "Welcome, {{ lead.first_name|default:\"there\" }}",
                 "body": "Hi {{ lead.first_name|default:\"there\" }},\n\nHere is how teams like {{ lead.company|default:\"yours\" }} get started."},
                {"kind": "wait", "wait_days": 3},
                {"kind": "email", "subject": "Three lead-scoring mistakes", "body": "Hi {{ lead.first_name|default:\"there\" }},\n\nA short read."},
                {"kind": "wait", "wait_days": 4},
                {"kind": "task", "task_title": "Call: finished the welcome sequence", "task_due_days": 1},
            ]
            for position, step in enumerate(steps):
                SequenceStep.objects.create(sequence=sequence, position=position, **step)
        webinar, made_list = Segment.objects.get_or_create(
            name="Webinar attendees", defaults={"kind": Segment.Kind.STATIC, "created_by": marketer}
        )
        if made_list:
            list_add_leads(
                segment=webinar, lead_ids=list(Lead.objects.filter(external_id__startswith=DEMO_PREFIX, source="webhook")
                .order_by("external_id").values_list("pk", flat=True)[:20]), by=marketer,
            )
        if made:
            segment_refresh(segment=hot)

    def _tasks(self, users: dict[str, User]) -> None:
        """A few open follow-ups per rep, some overdue, so "My work" shows the queue as it will look."""
        from leads.models import Task

        now = timezone.now().replace(second=0, microsecond=0)
        for name in ("rep1", "rep2", "rep3"):
            rep = users[name]
            if Task.objects.filter(assigned_to=rep, lead__external_id__startswith=DEMO_PREFIX).exists():
                continue
            leads = Lead.objects.filter(owner=rep, status__in=["new", "active"]).order_by("external_id")[:4]
            for n, lead in enumerate(leads):
                Task.objects.create(
                    lead=lead, assigned_to=rep, created_by=users["manager"], title=["Call back", "Send the pricing", "Book a demo", "Follow up"][n],
                    due_at=now + timedelta(days=n - 1, hours=2),
                )
