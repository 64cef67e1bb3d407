"""Refreshing dynamic segments (entered/left, snapshots, enrollment, constant queries) and static
lists (add, remove, bulk from the lead list, import into a list)."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from leads.capture.tasks import import_leads_task
from leads.models import Enrollment, ImportJob, Lead, Segment, SegmentMember, SegmentSnapshot
from leads.nurturing.segments import (
    NOT_A_STATIC_LIST,
    list_add_leads,
    list_add_references,
    list_remove_leads,
    segment_refresh,
    segments_due,
    segments_refresh_due,
)
from leads.nurturing.tasks import refresh_segments_task
from leads.selectors import visible_to
from tests.factories import LeadFactory, SegmentFactory, SequenceFactory, SequenceStepFactory
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db

HOT = {"match": "all", "conditions": [{"field": "score", "op": "gte", "value": 70}]}


def members(segment: Segment) -> set[int]:
    return set(SegmentMember.objects.filter(segment=segment).values_list("lead_id", flat=True))


def test_a_refresh_stores_who_entered_and_who_left_and_a_snapshot():
    hot = LeadFactory.create_batch(3, score=80)
    cold = LeadFactory(score=10)
    segment = SegmentFactory(name="Hot", definition=HOT)
    entered, left = segment_refresh(segment=segment)
    assert (sorted(entered), left) == (sorted(lead.pk for lead in hot), 0)
    segment.refresh_from_db()
    assert (segment.size, members(segment)) == (3, {lead.pk for lead in hot})
    assert segment.evaluated_at is not None
    # One cools down, one warms up.
    Lead.objects.filter(pk=hot[0].pk).update(score=5)
    Lead.objects.filter(pk=cold.pk).update(score=95)
    entered, left = segment_refresh(segment=segment)
    assert (entered, left) == ([cold.pk], 1)
    segment.refresh_from_db()
    assert members(segment) == {hot[1].pk, hot[2].pk, cold.pk} and segment.size == 3
    assert list(
        SegmentSnapshot.objects.filter(segment=segment).order_by("taken_at").values_list("size", flat=True)
    ) == [3, 3]
    # Nothing changed: nobody enters, nobody leaves.
    assert segment_refresh(segment=segment) == ([], 0)


def test_a_refresh_takes_the_same_queries_for_few_or_many_members(django_assert_num_queries):
    segment = SegmentFactory(name="Hot", definition=HOT)
    LeadFactory.create_batch(2, score=90)
    segment_refresh(segment=segment)
    LeadFactory(score=91)
    # savepoint, lock the segment, one statement (insert entrants, delete leavers, count), size, snapshot,
    # the sequences starting from it, release.
    with django_assert_num_queries(7) as few:
        segment_refresh(segment=segment)
    LeadFactory.create_batch(40, score=99)
    Lead.objects.filter(score=90).update(score=1)
    with django_assert_num_queries(len(few.captured_queries)):
        entered, left = segment_refresh(segment=segment)
    assert (len(entered), left) == (40, 2)


def test_entrants_enroll_in_the_active_sequences_that_start_from_the_segment():
    segment = SegmentFactory(name="Hot", definition=HOT)
    welcome = SequenceFactory(name="Welcome", entry_segment=segment)
    SequenceStepFactory(sequence=welcome, position=0, kind="email", subject="Hi", body="Hello")
    paused = SequenceFactory(name="Paused", entry_segment=segment, is_active=False)
    lead = LeadFactory(score=85)
    LeadFactory(score=5)
    segment_refresh(segment=segment)
    enrollment = Enrollment.objects.get()
    assert (enrollment.sequence, enrollment.lead, enrollment.source) == (welcome, lead, "segment")
    assert not Enrollment.objects.filter(sequence=paused).exists()
    # Staying in the segment does not enroll again.
    segment_refresh(segment=segment)
    assert Enrollment.objects.count() == 1


def test_the_beat_task_refreshes_due_segments_only_and_skips_a_broken_one():
    due = SegmentFactory(name="Due", definition=HOT)
    SegmentFactory(name="Manual", definition=HOT, refresh_on_schedule=False)
    SegmentFactory(name="A list", kind="static")
    broken = SegmentFactory(
        name="Broken", definition={"conditions": [{"field": "segment", "op": "in", "value": 999999}]}
    )
    LeadFactory(score=75)
    assert set(segments_due()) == {due, broken}
    assert refresh_segments_task() == 1  # what beat runs; the broken one is logged and skipped
    due.refresh_from_db()
    assert due.size == 1 and list(segments_due()) == [broken]
    assert segments_refresh_due() == 0


# --- Static lists ---------------------------------------------------------------------------------


@pytest.fixture
def static_list():
    return SegmentFactory(name="Trade show", kind="static")


def test_adding_and_removing_leads_is_set_based_and_keeps_the_size(static_list, marketer, django_assert_num_queries):
    leads = LeadFactory.create_batch(5)
    with django_assert_num_queries(4):  # savepoint, INSERT … SELECT, size, release
        assert list_add_leads(segment=static_list, lead_ids=[lead.pk for lead in leads[:3]], by=marketer) == 3
    assert list_add_leads(segment=static_list, lead_ids=[lead.pk for lead in leads], by=marketer) == 2  # 3 already in
    static_list.refresh_from_db()
    assert static_list.size == 5
    assert SegmentMember.objects.filter(segment=static_list, added_by=marketer).count() == 5
    with django_assert_num_queries(4):
        assert list_remove_leads(segment=static_list, lead_ids=[leads[0].pk, leads[1].pk, 999999]) == 2
    static_list.refresh_from_db()
    assert static_list.size == 3 and members(static_list) == {lead.pk for lead in leads[2:]}


def test_adding_or_removing_no_leads_changes_nothing(static_list, marketer, django_assert_num_queries):
    """An empty list of ids compiled to no SQL (EmptyResultSet) and crashed `seed_demo --leads 0`."""
    with django_assert_num_queries(0):
        assert list_add_leads(segment=static_list, lead_ids=[], by=marketer) == 0
        assert list_remove_leads(segment=static_list, lead_ids=iter(())) == 0


def test_a_rep_adds_only_the_leads_they_may_see(static_list, rep, other_rep):
    mine = LeadFactory(owner=rep)
    theirs = LeadFactory(owner=other_rep)
    added = list_add_leads(segment=static_list, lead_ids=visible_to(rep).filter(pk__in=[mine.pk, theirs.pk]), by=rep)
    assert added == 1 and members(static_list) == {mine.pk}


def test_a_dynamic_segment_takes_no_hand_added_leads(marketer):
    segment = SegmentFactory(name="Hot", definition=HOT)
    with pytest.raises(ValidationError) as refused:
        list_add_leads(segment=segment, lead_ids=[LeadFactory().pk], by=marketer)
    assert refused.value.message_dict == {"list": [NOT_A_STATIC_LIST]}


def test_adding_by_email_and_id_reports_what_was_not_found(static_list, marketer):
    ann = LeadFactory(email="ann@example.org")
    bob = LeadFactory()
    added, missing = list_add_references(
        segment=static_list,
        text=f"ANN@example.org, {bob.pk}\nnobody@example.org 999999 junk",
        user=marketer,
    )
    assert added == 2 and members(static_list) == {ann.pk, bob.pk}
    assert missing == ["nobody@example.org", "999999", "junk"]


def test_an_import_puts_every_imported_lead_in_the_chosen_list(static_list, manager, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    existing = LeadFactory(email="known@example.org")
    path = tmp_path / "show.csv"
    path.write_text("Email,Company\nknown@example.org,\nnew@example.org,Acme\nnot-an-email,\n")
    job = ImportJob(
        file=SimpleUploadedFile("show.csv", path.read_bytes()),
        original_name="show.csv",
        add_to_list=static_list,
        created_by=manager,
    )
    job.save()
    assert import_leads_task(job.pk) == ImportJob.Status.DONE
    new = Lead.objects.get(email="new@example.org")
    assert members(static_list) == {existing.pk, new.pk}
    assert set(SegmentMember.objects.filter(segment=static_list).values_list("added_by", flat=True)) == {manager.pk}
    static_list.refresh_from_db()
    assert static_list.size == 2


def test_a_dry_run_import_adds_nobody_to_the_list(static_list, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    job = ImportJob(
        file=SimpleUploadedFile("dry.csv", b"Email\nsomeone@example.org\n"),
        original_name="dry.csv",
        add_to_list=static_list,
        dry_run=True,
    )
    job.save()
    assert import_leads_task(job.pk) == ImportJob.Status.DONE
    assert ImportJob.objects.get(pk=job.pk).created_count == 1
    assert not SegmentMember.objects.exists() and not Lead.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_refresh_now_runs_on_a_real_worker(celery_worker_live, client, marketer):
    segment = SegmentFactory(name="Hot", definition=HOT)
    LeadFactory.create_batch(2, score=77)
    client.force_login(marketer)
    response = client.post(f"/nurture/segments/{segment.pk}/refresh")
    assert response.status_code == 302
    assert wait_for(lambda: Segment.objects.get(pk=segment.pk).size == 2, timeout=30), "the worker never refreshed it"
    assert SegmentSnapshot.objects.filter(segment=segment).count() == 1
