"""`seed_demo` gives a realistic demo, and running it again changes nothing."""
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from customers.models import Customer
from leads.models import Interaction, Lead

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        sorted(User.objects.values_list("username", "password", "is_staff")),
        sorted(Lead.objects.values_list("external_id", "email", "status", "owner__username", "score", "created_at")),
        Interaction.objects.count(),
        sorted(Customer.objects.values_list("email", "lead__external_id")),
    )


def test_seed_demo_creates_users_roles_and_spread_out_leads():
    call_command("seed_demo", leads=60, password="pw-for-test")
    roles = dict(User.objects.values_list("username", "groups__name"))
    assert roles == {
        "manager": "Sales managers", "marketer": "Marketers",
        "rep1": "Sales reps", "rep2": "Sales reps", "rep3": "Sales reps",
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


def test_running_seed_demo_twice_changes_nothing():
    call_command("seed_demo", leads=40)
    first = snapshot()
    call_command("seed_demo", leads=40)
    assert snapshot() == first
