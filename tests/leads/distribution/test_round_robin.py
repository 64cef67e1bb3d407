"""The smooth weighted round robin: exact sequences, and exactly fair over any run."""

from collections import Counter

import pytest

from leads.distribution.round_robin import swrr_pick
from leads.distribution.service import lead_assign
from leads.models import Lead, RotationState
from tests.factories import LeadFactory

from .conftest import agent, make_team, territory


def run(weights: dict[str, int], turns: int) -> str:
    """Names picked by `turns` smooth-WRR turns, starting from zero current weights."""
    ids = {name: index for index, name in enumerate(weights)}
    current = dict.fromkeys(ids.values(), 0)
    picked = []
    for _ in range(turns):
        chosen, current = swrr_pick([(ids[name], weight, current[ids[name]]) for name, weight in weights.items()])
        picked.append(next(name for name, i in ids.items() if i == chosen))
    return " ".join(picked)


@pytest.mark.parametrize(
    "weights, sequence",
    [
        ({"a": 5, "b": 1, "c": 1}, "a a b a c a a"),  # nginx's example: spread out, not a a a a a b c
        ({"a": 2, "b": 1}, "a b a a b a"),
        ({"a": 1, "b": 1, "c": 1}, "a b c a b c"),
        ({"a": 3, "b": 2}, "a b a b a a b a b a"),
    ],
)
def test_exact_sequences(weights, sequence):
    assert run(weights, len(sequence.split())) == sequence


@pytest.mark.parametrize("weights", [{"a": 2, "b": 1}, {"a": 5, "b": 1, "c": 1}, {"a": 3, "b": 2, "c": 2, "d": 1}])
def test_shares_follow_the_weights_exactly_over_every_full_cycle(weights):
    cycle = sum(weights.values())
    for cycles in (1, 7):
        counts = Counter(run(weights, cycle * cycles).split())
        assert counts == {name: weight * cycles for name, weight in weights.items()}


def test_nobody_eligible_is_no_pick():
    assert swrr_pick([]) is None


@pytest.mark.django_db
def test_leads_follow_the_weights_through_the_database(now):
    team, (ann, bob) = make_team("Inside Sales", "ann", "bob", weights={"ann": 2})
    territory("Everywhere", team, catch_all=True)
    leads = LeadFactory.create_batch(6)
    owners = [lead_assign(lead_id=lead.pk, now=now).agent.username for lead in leads]
    assert owners == ["ann", "bob", "ann", "ann", "bob", "ann"]
    assert dict(RotationState.objects.values_list("membership__user__username", "assigned_total")) == {
        "ann": 4,
        "bob": 2,
    }


@pytest.mark.django_db
def test_an_unavailable_rep_sits_turns_out_without_banking_weight(now):
    """Back from holiday, a rep takes their share again: no burst of leads to catch up."""
    team, (ann, bob, cat) = make_team("Inside Sales", "ann", "bob", "cat")
    territory("Everywhere", team, catch_all=True)
    away = agent(cat, is_active=False)
    first = [lead_assign(lead_id=LeadFactory().pk, now=now).agent.username for _ in range(4)]
    assert first == ["ann", "bob", "ann", "bob"]
    away.is_active = True
    away.save()
    later = [lead_assign(lead_id=LeadFactory().pk, now=now).agent.username for _ in range(6)]
    assert Counter(later) == {"ann": 2, "bob": 2, "cat": 2}
    assert Lead.objects.filter(owner=cat).count() == 2


@pytest.mark.django_db
def test_a_batch_follows_the_weights_exactly(now):
    from leads.distribution.service import leads_assign

    team, reps = make_team("Inside Sales", "a", "b", "c", weights={"a": 5})
    territory("Everywhere", team, catch_all=True)
    leads = LeadFactory.create_batch(14)
    leads_assign(lead_ids=[lead.pk for lead in leads], now=now)
    owners = " ".join(Lead.objects.get(pk=lead.pk).owner.username for lead in leads)
    assert owners == "a a b a c a a a a b a c a a"
