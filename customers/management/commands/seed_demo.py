"""Demo users, a team, the reps' routing profiles and realistic leads that went through the real
pipeline (customers/management/demo_leads.py). Running it again changes nothing."""

from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from customers.management.demo_leads import (
    DEMO_PREFIX,
    agents_ensure,
    demo_capture,
    demo_draw,
    demo_outcomes,
    demo_process,
)
from leads.automations.services import automation_save
from leads.models import (
    Automation,
    Lead,
    Segment,
    Sequence,
    SequenceStep,
    Task,
    Team,
    TeamMembership,
    TeamSettings,
    Territory,
    WebForm,
)
from leads.nurturing.segments import list_add_leads, segment_refresh
from leads.roles import MARKETERS, SALES_MANAGERS, SALES_REPS

TEAM_NAME = "Inside Sales"
DEMO_TERRITORIES = [
    ("UK and Ireland", 10, {"country": ["GB", "IE"]}),
    ("DACH", 20, {"country": ["DE", "AT", "CH"]}),
]
USERS = [
    ("manager", SALES_MANAGERS, True),
    ("marketer", MARKETERS, False),
    ("rep1", SALES_REPS, False),
    ("rep2", SALES_REPS, False),
    ("rep3", SALES_REPS, False),
]


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

        TeamSettings.objects.get_or_create(team=team, defaults={"sla_minutes": 60, "phone_numbers": ["+442079460999"]})
        Territory.objects.get_or_create(name="Everywhere", defaults={"is_catch_all": True})[0].teams.add(team)
        # Two territories ahead of the catch-all, so Settings → Territories and its tester have something
        # to show (the demo leads arrive with the team set, so they do not change where those go).
        for name, priority, rules in DEMO_TERRITORIES:
            Territory.objects.get_or_create(name=name, defaults={"priority": priority, "rules": rules})[0].teams.add(
                team
            )
        WebForm.objects.get_or_create(
            key="demo",
            defaults={
                "name": "Demo contact form",
                "team": team,
                "allowed_hosts": ["localhost", "127.0.0.1"],
                "fields": ["first_name", "last_name", "email", "company", "phone", "message"],
                "required_fields": ["email"],
                "default_tags": ["demo-form"],
                "consent_text": "I agree that LeadCRM Demo may contact me about its products.",
            },
        )
        agents_ensure(users=users)
        captured = demo_capture(drawn=demo_draw(count=leads, now=timezone.now()), team=team)
        demo_process(captured=captured)
        customers = demo_outcomes(captured=captured, manager=users["manager"])
        created = len(captured)
        self._nurture(users)
        self._automations(users, team)
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

    def _nurture(self, users: dict[str, User]) -> None:
        """A segment, a static list and a three-email sequence, so the marketer's pages have content."""
        marketer = users["marketer"]
        hot, made = Segment.objects.get_or_create(
            name="Warm, not yet ready",
            defaults={
                "kind": Segment.Kind.DYNAMIC,
                "created_by": marketer,
                "description": "New or nurturing leads with a middling score.",
                "definition": {
                    "match": "all",
                    "conditions": [
                        {"field": "status", "op": "in", "value": ["new", "nurturing"]},
                        {"field": "score", "op": "gte", "value": 25},
                        {"field": "score", "op": "lt", "value": 75},
                    ],
                },
            },
        )
        sequence, made_sequence = Sequence.objects.get_or_create(
            name="Welcome to LeadCRM Demo",
            defaults={"entry_statuses": ["nurturing"], "created_by": marketer, "entry_segment": hot},
        )
        if made_sequence:
            steps = [
                {
                    "kind": "email",
                    "subject": 'Welcome, {{ lead.first_name|default:"there" }}',
                    "body": 'Hi {{ lead.first_name|default:"there" }},\n\nHere is how teams like {{ lead.company|default:"yours" }} get started.',
                },
                {"kind": "wait", "wait_days": 3},
                {
                    "kind": "email",
                    "subject": "Three lead-scoring mistakes",
                    "body": 'Hi {{ lead.first_name|default:"there" }},\n\nA short read.',
                },
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
                segment=webinar,
                lead_ids=list(
                    Lead.objects.filter(external_id__startswith=DEMO_PREFIX, source="webhook")
                    .order_by("external_id")
                    .values_list("pk", flat=True)[:20]
                ),
                by=marketer,
            )
        if made:
            segment_refresh(segment=hot)

    def _automations(self, users: dict[str, User], team: Team) -> None:
        """Two automations a sales team would start with (docs/automations.md), built by the service."""
        manager = users["manager"]
        if not Automation.objects.filter(name="Hot inbound").exists():
            # The pipeline scores the new lead in the meantime: wait, then act only when it came out hot.
            automation_save(
                automation=Automation(),
                by=manager,
                data={
                    "name": "Hot inbound",
                    "enabled": True,
                    "trigger": "lead_created",
                    "trigger_params": {"source": "web_form"},
                    "description": "A web-form lead that scores 60 or more goes to Inside Sales with a call due in 15 minutes.",
                    "conditions": {
                        "match": "all",
                        "conditions": [{"field": "status", "op": "in", "value": ["new", "active"]}],
                    },
                    "actions": [
                        {"type": "wait", "amount": 2, "unit": "minutes"},
                        {
                            "type": "branch",
                            "skip": 2,
                            "conditions": {
                                "match": "all",
                                "conditions": [{"field": "score", "op": "gte", "value": 60}],
                            },
                        },
                        {"type": "assign_team", "team": team.pk},
                        {"type": "create_task", "title": "Call the hot inbound lead", "amount": 15, "unit": "minutes"},
                    ],
                },
            )
        sequence = Sequence.objects.filter(name="Welcome to LeadCRM Demo").first()
        if sequence is not None and not Automation.objects.filter(name="Quiet for 14 days").exists():
            automation_save(
                automation=Automation(),
                by=manager,
                data={
                    "name": "Quiet for 14 days",
                    "enabled": True,
                    "trigger": "inactive",
                    "trigger_params": {"days": 14},
                    "description": "An open lead with no activity for 14 days moves to nurturing and joins the welcome sequence.",
                    "conditions": {
                        "match": "all",
                        "conditions": [{"field": "status", "op": "in", "value": ["new", "active"]}],
                    },
                    "actions": [
                        {"type": "set_status", "status": "nurturing"},
                        {"type": "enroll", "sequence": sequence.pk},
                    ],
                },
            )

    def _tasks(self, users: dict[str, User]) -> None:
        """A few open follow-ups per rep, some overdue, so "My work" shows the queue as it will look."""
        now = timezone.now().replace(second=0, microsecond=0)
        for name in ("rep1", "rep2", "rep3"):
            rep = users[name]
            if Task.objects.filter(assigned_to=rep, lead__external_id__startswith=DEMO_PREFIX).exists():
                continue
            leads = Lead.objects.filter(owner=rep, status__in=["new", "active"]).order_by("external_id")[:4]
            for n, lead in enumerate(leads):
                Task.objects.create(
                    lead=lead,
                    assigned_to=rep,
                    created_by=users["manager"],
                    title=["Call back", "Send the pricing", "Book a demo", "Follow up"][n],
                    due_at=now + timedelta(days=n - 1, hours=2),
                )
