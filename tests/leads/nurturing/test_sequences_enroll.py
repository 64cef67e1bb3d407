"""Enrolling leads in sequences and taking them out."""

import pytest

from leads.models import Interaction, Lead
from leads.models.nurturing import Enrollment
from leads.nurturing.sequences import (
    LEAD_NOT_ENROLLABLE,
    EnrollmentError,
    lead_enroll,
    lead_enroll_by_rules,
    leads_enroll,
)
from leads.nurturing.steps import lead_enrollments_exit
from tests.factories import LeadFactory, SequenceFactory, SequenceStepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sequence():
    sequence = SequenceFactory(name="Welcome")
    SequenceStepFactory(sequence=sequence, position=0, kind="email", subject="Hi", body="Hello")
    SequenceStepFactory(sequence=sequence, position=1, kind="wait", wait_days=2)
    return sequence


def test_bulk_enroll_skips_closed_do_not_contact_and_already_enrolled(sequence, marketer, django_assert_num_queries):
    fine = LeadFactory.create_batch(3)
    converted = LeadFactory(status=Lead.Status.CONVERTED)
    lost = LeadFactory(status=Lead.Status.LOST, lost_reason="budget")
    dnc = LeadFactory(do_not_contact=True)
    ids = [lead.pk for lead in (*fine, converted, lost, dnc)]
    with django_assert_num_queries(5):  # first step, savepoint, insert, timeline, release
        assert leads_enroll(sequence=sequence, lead_ids=ids, source="manual", by=marketer) == 3
    enrollments = Enrollment.objects.filter(sequence=sequence)
    assert {e.lead_id for e in enrollments} == {lead.pk for lead in fine}
    first = sequence.steps.get(position=0)
    assert all(e.step_id == first.pk and e.next_run_at and e.status == "active" for e in enrollments)
    assert Interaction.objects.filter(kind=Interaction.Kind.SEQUENCE, lead__in=fine).count() == 3
    # Again: nobody is enrolled twice.
    assert leads_enroll(sequence=sequence, lead_ids=ids, source="manual") == 0


def test_a_queryset_enrolls_as_a_subquery(sequence):
    LeadFactory.create_batch(4, city="Lyon")
    LeadFactory(city="Paris")
    assert leads_enroll(sequence=sequence, lead_ids=Lead.objects.filter(city="Lyon"), source="segment") == 4


def test_finished_leads_reenroll_only_when_allowed(sequence):
    lead = LeadFactory()
    lead_enroll(sequence=sequence, lead=lead)
    assert lead_enrollments_exit(lead_id=lead.pk, reason="manual") == 1
    with pytest.raises(EnrollmentError, match=LEAD_NOT_ENROLLABLE):
        lead_enroll(sequence=sequence, lead=lead)
    sequence.allow_reenroll = True
    sequence.save()
    assert lead_enroll(sequence=sequence, lead=lead).status == "active"
    assert Enrollment.objects.filter(sequence=sequence, lead=lead).count() == 2


def test_pipeline_rule_enrolls_matching_status_and_grade(sequence):
    sequence.entry_statuses = ["nurturing"]
    sequence.entry_grades = ["C", "D"]
    sequence.save()
    other = SequenceFactory(name="No rules")
    match = LeadFactory(status="nurturing", grade="C")
    wrong_grade = LeadFactory(status="nurturing", grade="A")
    assert lead_enroll_by_rules(lead_id=match.pk) == 1
    assert lead_enroll_by_rules(lead_id=wrong_grade.pk) == 0
    assert not Enrollment.objects.filter(sequence=other).exists()
    assert Enrollment.objects.get(lead=match).source == "rule"
