"""`seed_demo` gives a realistic demo that went through the real pipeline, and running it again changes nothing."""

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from customers.models import Customer
from leads.models import Agent, Interaction, Lead, ScoringConfig, Segment
from leads.scoring.service import leads_rescore

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        sorted(User.objects.values_list("username", "password", "is_staff")),
        sorted(
            Lead.objects.values_list(
                "external_id", "email", "status", "owner__username", "score", "grade", "created_at"
            )
        ),
        Interaction.objects.count(),
        sorted(Customer.objects.values_list("email", "lead__external_id")),
        sorted(Agent.objects.values_list("user__username", "time_zone", "max_open_leads")),
    )


def test_seed_demo_creates_users_roles_and_spread_out_leads():
    call_command("seed_demo", leads=60, password="pw-for-test")
    roles = dict(User.objects.values_list("username", "groups__name"))
    assert roles == {
        "manager": "Sales managers",
        "marketer": "Marketers",
        "rep1": "Sales reps",
        "rep2": "Sales reps",
        "rep3": "Sales reps",
    }
    assert User.objects.get(username="manager").is_staff
    assert User.objects.get(username="rep1").check_password("pw-for-test")
    assert Lead.objects.count() == 60
    assert Lead.objects.values("status").distinct().count() >= 5
    assert Lead.objects.values("source").distinct().count() >= 5
    assert Lead.objects.values("owner").distinct().count() >= 3
    assert not Lead.objects.filter(status="lost", lost_reason="").exists()
    assert Interaction.objects.count() >= 120
    assert Customer.objects.exists()
    # Converted through lead_convert: every converted lead has its customer.
    assert not Lead.objects.filter(status="converted", converted_customer__isnull=True).exists()


def test_running_seed_demo_twice_changes_nothing():
    call_command("seed_demo", leads=30)
    first = snapshot()
    call_command("seed_demo", leads=30)
    assert snapshot() == first


@pytest.mark.parametrize("count", [0, 1])
def test_seed_demo_with_no_lead_or_one_lead_seeds_the_rest(count):
    """`--leads 0` and `--leads 1` crashed on an empty static-list add and rolled the whole seed back."""
    call_command("seed_demo", leads=count)
    assert Lead.objects.count() == count
    assert User.objects.filter(username__in=["manager", "marketer", "rep1", "rep2", "rep3"]).count() == 5
    assert Segment.objects.filter(name="Webinar attendees", kind=Segment.Kind.STATIC).exists()
    assert Agent.objects.count() == 3


def test_every_seeded_score_is_the_one_the_engine_computes():
    """seed_demo wrote made-up scores: "Score 100 · A" above an explanation adding up to 18, and
    "new" leads at 100 although 70 qualifies. The seeded leads must carry the engine's numbers."""
    with time_machine.travel(timezone.now(), tick=False):
        call_command("seed_demo", leads=60)
        seeded = dict(Lead.objects.values_list("pk", "score"))
        grades = dict(Lead.objects.values_list("pk", "grade"))
        statuses = dict(Lead.objects.values_list("pk", "status"))
        leads_rescore(lead_ids=list(seeded))
        assert dict(Lead.objects.values_list("pk", "score")) == seeded
        assert dict(Lead.objects.values_list("pk", "grade")) == grades
        assert dict(Lead.objects.values_list("pk", "status")) == statuses
    assert Lead.objects.filter(scored_at__isnull=False).count() == 60
    threshold = ScoringConfig.current().mql_threshold
    assert not Lead.objects.filter(status__in=["new", "active", "nurturing"], score__gte=threshold).exists()
    assert len(set(seeded.values())) > 5  # a spread, not one made-up number


def test_seed_demo_gives_the_reps_agent_profiles_and_routes_leads_within_capacity():
    call_command("seed_demo", leads=60)
    agents = {a.user.username: a for a in Agent.objects.select_related("user")}
    assert set(agents) == {"rep1", "rep2", "rep3"}
    assert {a.time_zone for a in agents.values()} == {"Europe/London", "Europe/Berlin", "America/New_York"}
    for agent in agents.values():
        assert agent.working_hours and agent.max_open_leads
        assert Lead.objects.filter(owner=agent.user).count() <= agent.max_open_leads
    # Assigned by the distribution service, which leaves its own timeline entry.
    owned = Lead.objects.filter(owner__isnull=False)
    assert owned.exists()
    assert (
        Interaction.objects.filter(kind=Interaction.Kind.ASSIGNMENT, lead__in=owned).values("lead").distinct().count()
        == owned.count()
    )


def test_seed_demo_seeds_two_enabled_automations():
    from leads.models import Automation

    call_command("seed_demo", leads=10)
    call_command("seed_demo", leads=10)
    assert dict(Automation.objects.values_list("name", "trigger")) == {
        "Hot inbound": "lead_created",
        "Quiet for 14 days": "inactive",
    }
    assert all(Automation.objects.values_list("enabled", flat=True))
