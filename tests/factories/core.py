"""factory_boy factories for the core models: users and their roles, teams, leads, their timeline, customers."""

import factory
from django.contrib.auth.models import Group, User

from customers.models import Customer
from leads.models import Automation, AutomationRun, Interaction, Lead, RunStep, Team, TeamMembership
from leads.roles import MARKETERS, SALES_MANAGERS, SALES_REPS, roles_ensure


def role_group(name: str) -> Group:
    """The role's group; transactional tests flush the migration-made groups, so remake them."""
    if not Group.objects.filter(name=name).exists():
        roles_ensure()
    return Group.objects.get(name=name)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("secret-pass-123")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        """UserFactory(role="Sales reps") puts the user in that role's group."""
        if create and extracted:
            self.groups.add(role_group(extracted))


class RepFactory(UserFactory):
    role = factory.PostGeneration(
        lambda user, create, extracted, **kw: create and user.groups.add(role_group(SALES_REPS))
    )


class ManagerFactory(UserFactory):
    is_staff = True
    role = factory.PostGeneration(
        lambda user, create, extracted, **kw: create and user.groups.add(role_group(SALES_MANAGERS))
    )


class MarketerFactory(UserFactory):
    role = factory.PostGeneration(
        lambda user, create, extracted, **kw: create and user.groups.add(role_group(MARKETERS))
    )


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class TeamMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMembership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(RepFactory)


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"lead{n}@example-corp.com")
    company = factory.Faker("company")
    job_title = factory.Faker("job")
    source = Lead.Source.WEB_FORM
    status = Lead.Status.NEW

    class Params:
        # LeadFactory(bare=True, ...): only the fields the test names, the rest at the model's defaults
        # (a lead as an admin or a migration leaves it; the predictive tests read every field).
        bare = factory.Trait(first_name="", last_name="", email="", company="", job_title="", source=Lead.Source.MANUAL)


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    lead = factory.SubFactory(LeadFactory)
    kind = Interaction.Kind.NOTE
    subject = factory.Faker("sentence")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name")
    company = factory.Faker("company")
    email = factory.Sequence(lambda n: f"customer{n}@example-corp.com")


class AutomationFactory(factory.django.DjangoModelFactory):
    """An enabled automation; tests that need the reactions to see it call automations_forget()."""

    class Meta:
        model = Automation

    name = factory.Sequence(lambda n: f"Automation {n}")
    enabled = True
    trigger = Automation.Trigger.MANUAL
    trigger_params = factory.LazyFunction(dict)
    conditions = factory.LazyFunction(dict)
    actions = factory.LazyFunction(lambda: [{"type": "add_tags", "tags": ["automated"]}])


class AutomationRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AutomationRun

    automation = factory.SubFactory(AutomationFactory)
    lead = factory.SubFactory(LeadFactory)
    trigger_event = "lead.created"
    trigger_key = factory.Sequence(lambda n: f"key-{n}")


class RunStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RunStep

    run = factory.SubFactory(AutomationRunFactory)
    position = factory.Sequence(lambda n: n)
    action = "add_tags"
