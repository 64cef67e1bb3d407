"""Segment conditions: for every kind of condition the database's answer equals a plain-Python
evaluation of the same definition over the same varied leads; nesting; cycles; validation."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from leads.models import Segment, SegmentMember
from leads.nurturing.segments import (
    BAD_MATCH,
    CHOOSE_ONE,
    DAYS_MAX,
    DAYS_REQUIRED,
    KEY_REQUIRED,
    MAX_DEPTH,
    NOT_A_CHOICE,
    NOT_A_DATE,
    NOT_A_NUMBER,
    OUT_OF_RANGE,
    SEGMENT_CYCLE,
    TOO_DEEP,
    UNKNOWN_FIELD,
    UNKNOWN_OP,
    UNKNOWN_SEGMENT,
    UNKNOWN_TEAM,
    UNKNOWN_USER,
    VALUE_REQUIRED,
    segment_count,
    segment_definition_clean,
    segment_queryset,
)
from tests.factories import SegmentFactory, TeamFactory
from tests.leads.nurturing.segments.segment_data import PythonSegment, build_dataset

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
DAY = (TODAY - timedelta(days=120)).isoformat()

# One condition of every kind (and every operator of the kinds with several meanings).
CONDITIONS = [
    # Text fields (case-insensitive)
    {"field": "company", "op": "equals", "value": "acme"},
    {"field": "company", "op": "not_equals", "value": "ACME"},
    {"field": "company", "op": "contains", "value": "inc"},
    {"field": "company", "op": "not_contains", "value": "acme"},
    {"field": "company", "op": "starts_with", "value": "Acme"},
    {"field": "company", "op": "is_empty"},
    {"field": "city", "op": "is_not_empty"},
    {"field": "email_domain", "op": "equals", "value": "gmail.com"},
    {"field": "job_title", "op": "contains", "value": "MARKETING"},
    # Choices
    {"field": "status", "op": "in", "value": ["new", "nurturing"]},
    {"field": "status", "op": "not_in", "value": ["qualified"]},
    {"field": "source", "op": "in", "value": ["web_form", "import"]},
    {"field": "country", "op": "in", "value": ["FR", ""]},
    # Scoring: score, grade, probability
    {"field": "score", "op": "gte", "value": 60},
    {"field": "score", "op": "lt", "value": 30},
    {"field": "score", "op": "eq", "value": 50},
    {"field": "score", "op": "ne", "value": 50},
    {"field": "grade", "op": "in", "value": ["A", "B"]},
    {"field": "grade", "op": "in", "value": [""]},
    {"field": "probability", "op": "gt", "value": 0.4},
    {"field": "probability", "op": "ne", "value": 0.5},
    {"field": "probability", "op": "lte", "value": "0.5"},
    {"field": "probability", "op": "is_empty"},
    {"field": "page_views_30d", "op": "gt", "value": 10},
    # Dates
    {"field": "created_at", "op": "before", "value": DAY},
    {"field": "created_at", "op": "after", "value": DAY},
    {"field": "created_at", "op": "within_last_days", "days": 30},
    {"field": "created_at", "op": "more_than_days_ago", "days": 200},
    {"field": "last_activity_at", "op": "within_last_days", "days": 14},
    {"field": "last_activity_at", "op": "is_empty"},
    # Booleans
    {"field": "email_opt_in", "op": "is_true"},
    {"field": "email_opt_in", "op": "is_false"},
    # Custom attributes
    {"field": "attribute", "key": "plan", "op": "equals", "value": "pro"},
    {"field": "attribute", "key": "visits", "op": "equals", "value": "35"},
    {"field": "attribute", "key": "plan", "op": "contains", "value": "PRO"},
    {"field": "attribute", "key": "flag", "op": "equals", "value": "true"},
    {"field": "attribute", "key": "plan", "op": "exists"},
    {"field": "attribute", "key": "visits", "op": "not_exists"},
    # Tags (exact, case-sensitive members of the list)
    {"field": "tags", "op": "contains", "value": "vip"},
    {"field": "tags", "op": "not_contains", "value": "webinar"},
    # Owner (incl. unassigned) and team
    {"field": "owner", "op": "in", "value": ["$rep"]},
    {"field": "owner", "op": "in", "value": ["unassigned"]},
    {"field": "owner", "op": "not_in", "value": ["$rep", "unassigned"]},
    {"field": "team", "op": "in", "value": ["$team"]},
    {"field": "team", "op": "not_in", "value": ["none"]},
    # Engagement
    {"field": "visited_url", "op": "in_last_days", "value": "*/pricing*", "days": 30},
    {"field": "visited_url", "op": "in_last_days", "value": "*100%_off", "days": 60},
    {"field": "visited_url", "op": "not_in_last_days", "value": "https://shop.example.com/about", "days": 20},
    {"field": "opened_email", "op": "in_last_days", "days": 14},
    {"field": "clicked_email", "op": "in_last_days", "days": 30},
    {"field": "replied", "op": "in_last_days", "days": 45},
    {"field": "opened_email", "op": "not_in_last_days", "days": 7},
    # Membership
    {"field": "segment", "op": "in", "value": "$list"},
    {"field": "segment", "op": "not_in", "value": "$list"},
    {"field": "segment", "op": "in", "value": "$segment"},
    {"field": "segment", "op": "not_in", "value": "$segment"},
]


def _label(condition: dict) -> str:
    return "-".join(str(condition.get(part, "")) for part in ("field", "key", "op", "value"))


@pytest.fixture
def world(marketer, rep, other_rep, team):
    other_team = TeamFactory(name="Field Sales")
    leads = build_dataset(owners=[rep, other_rep], teams=[team, other_team])
    static = SegmentFactory(name="Trade show", kind="static")
    SegmentMember.objects.bulk_create([SegmentMember(segment=static, lead=lead) for lead in leads[::3]])
    dynamic = SegmentFactory(
        name="Hot",
        definition={
            "match": "any",
            "conditions": [
                {"field": "score", "op": "gte", "value": 70},
                {"field": "tags", "op": "contains", "value": "vip"},
            ],
        },
    )
    return {"leads": leads, "$rep": rep.pk, "$team": team.pk, "$list": static.pk, "$segment": dynamic.pk}


def _resolve(value, world):
    if isinstance(value, list):
        return [_resolve(v, world) for v in value]
    return world.get(value, value) if isinstance(value, str) else value


def _check(definition: dict, world, marketer) -> set[int]:
    now = timezone.now()
    cleaned = segment_definition_clean(definition=definition)
    sql_ids = set(segment_queryset(user=marketer, definition=definition, now=now).values_list("pk", flat=True))
    python_ids = PythonSegment(now).ids(world["leads"], cleaned)
    assert sql_ids == python_ids
    return sql_ids


@pytest.mark.parametrize("condition", CONDITIONS, ids=[_label(c) for c in CONDITIONS])
def test_each_condition_matches_the_same_leads_in_sql_as_in_python(condition, world, marketer):
    condition = {key: _resolve(value, world) for key, value in condition.items()}
    _check({"match": "all", "conditions": [condition]}, world, marketer)


def test_the_data_set_makes_the_conditions_meaningful(world, marketer):
    """Each condition keeps some leads and drops others (else equality with Python proves little)."""
    trivial = []
    for condition in CONDITIONS:
        condition = {key: _resolve(value, world) for key, value in condition.items()}
        count = segment_count(user=marketer, definition={"match": "all", "conditions": [condition]})
        if count in (0, len(world["leads"])):
            trivial.append(_label(condition))
    assert len(trivial) <= 3, trivial


def test_nested_and_or_groups(world, marketer):
    definition = {
        "match": "all",
        "conditions": [
            {"field": "status", "op": "in", "value": ["new", "active", "nurturing"]},
            {
                "match": "any",
                "conditions": [
                    {"field": "score", "op": "gte", "value": 70},
                    {
                        "match": "all",
                        "conditions": [
                            {"field": "tags", "op": "contains", "value": "vip"},
                            {"field": "opened_email", "op": "in_last_days", "days": 30},
                        ],
                    },
                    {"field": "owner", "op": "in", "value": ["unassigned"]},
                ],
            },
            {"match": "any", "conditions": []},  # "any" of nothing: nobody
        ],
    }
    assert _check(definition, world, marketer) == set()
    definition["conditions"].pop()
    assert _check(definition, world, marketer)
    assert _check({"match": "all", "conditions": []}, world, marketer) == {lead.pk for lead in world["leads"]}


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_trees_of_conditions_agree_with_python(world, marketer, data):
    def tree(depth):
        leaf = st.sampled_from(CONDITIONS).map(lambda c: {k: _resolve(v, world) for k, v in c.items()})
        if depth >= 3:
            return leaf
        group = st.fixed_dictionaries(
            {
                "match": st.sampled_from(["all", "any"]),
                "conditions": st.lists(tree(depth + 1), max_size=3),
            }
        )
        return st.one_of(leaf, group)

    definition = {
        "match": data.draw(st.sampled_from(["all", "any"])),
        "conditions": data.draw(st.lists(tree(1), max_size=4)),
    }
    _check(definition, world, marketer)


def test_a_segment_that_includes_itself_through_another_is_refused(world):
    first = SegmentFactory(name="First", definition={"match": "all", "conditions": []})
    second = SegmentFactory(
        name="Second",
        definition={
            "match": "all",
            "conditions": [
                {"field": "segment", "op": "in", "value": first.pk},
            ],
        },
    )
    with pytest.raises(ValidationError) as refused:
        segment_definition_clean(
            definition={"conditions": [{"field": "segment", "op": "in", "value": second.pk}]}, segment=first
        )
    message = refused.value.message_dict["conditions.0.value"][0]
    assert message == SEGMENT_CYCLE.format(path="Second → First")
    with pytest.raises(ValidationError):
        segment_definition_clean(
            definition={"conditions": [{"field": "segment", "op": "in", "value": first.pk}]}, segment=first
        )


def test_a_stored_cycle_is_caught_when_compiled_not_looped(world, marketer):
    """A cycle written around the validation (admin JSON, a race) raises a clear error, no recursion."""
    first = SegmentFactory(name="A", definition={})
    second = SegmentFactory(name="B", definition={"conditions": [{"field": "segment", "op": "in", "value": first.pk}]})
    Segment.objects.filter(pk=first.pk).update(
        definition={"conditions": [{"field": "segment", "op": "in", "value": second.pk}]}
    )
    first.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        segment_queryset(user=marketer, segment=first)
    assert "cannot include itself" in " ".join(refused.value.messages)


@pytest.mark.parametrize(
    ("condition", "path", "message"),
    [
        ({"field": "nope", "op": "in"}, "conditions.0.field", UNKNOWN_FIELD.format(field="nope")),
        ({"field": "score", "op": "contains", "value": 1}, "conditions.0.op", UNKNOWN_OP.format(op="contains")),
        ({"field": "score", "op": "gt", "value": "many"}, "conditions.0.value", NOT_A_NUMBER),
        ({"field": "score", "op": "gt", "value": 101}, "conditions.0.value", OUT_OF_RANGE.format(low=0, high=100)),
        ({"field": "score", "op": "gt"}, "conditions.0.value", VALUE_REQUIRED),
        ({"field": "company", "op": "equals", "value": "  "}, "conditions.0.value", VALUE_REQUIRED),
        ({"field": "status", "op": "in", "value": []}, "conditions.0.value", CHOOSE_ONE),
        ({"field": "status", "op": "in", "value": ["won"]}, "conditions.0.value", NOT_A_CHOICE.format(value="won")),
        ({"field": "created_at", "op": "before", "value": "31/12/2025"}, "conditions.0.value", NOT_A_DATE),
        (
            {"field": "created_at", "op": "within_last_days", "days": 0},
            "conditions.0.days",
            DAYS_REQUIRED.format(max=DAYS_MAX),
        ),
        ({"field": "opened_email", "op": "in_last_days"}, "conditions.0.days", DAYS_REQUIRED.format(max=DAYS_MAX)),
        ({"field": "attribute", "op": "exists", "key": " "}, "conditions.0.key", KEY_REQUIRED),
        ({"field": "owner", "op": "in", "value": ["999999"]}, "conditions.0.value", UNKNOWN_USER.format(value=999999)),
        ({"field": "team", "op": "in", "value": ["x"]}, "conditions.0.value", UNKNOWN_TEAM.format(value="x")),
        ({"field": "segment", "op": "in", "value": 999999}, "conditions.0.value", UNKNOWN_SEGMENT.format(value=999999)),
    ],
)
def test_each_invalid_condition_gets_a_message_on_its_own_field(condition, path, message):
    with pytest.raises(ValidationError) as refused:
        segment_definition_clean(definition={"match": "all", "conditions": [condition]})
    assert refused.value.message_dict == {path: [message]}


def test_a_bad_match_and_a_too_deep_tree_are_refused():
    with pytest.raises(ValidationError) as refused:
        segment_definition_clean(definition={"match": "most", "conditions": []})
    assert refused.value.message_dict == {"match": [BAD_MATCH]}
    deep: dict = {"match": "all", "conditions": []}
    node = deep
    for _ in range(MAX_DEPTH):
        child = {"match": "any", "conditions": []}
        node["conditions"].append(child)
        node = child
    with pytest.raises(ValidationError) as refused:
        segment_definition_clean(definition=deep)
    assert TOO_DEEP.format(max=MAX_DEPTH) in refused.value.messages
