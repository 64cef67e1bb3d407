"""Ids posted to the HTML form endpoints are parsed once (leads.common.validation.id_parse): anything
that is not a plain, in-range number is no id, never a 500."""

import json

import pytest

from leads.common.validation import id_parse, ids_parse
from leads.models import Segment
from tests.factories import LeadFactory, SegmentFactory, SequenceFactory

pytestmark = pytest.mark.django_db

# "²" and "٣" pass str.isdigit() but not int(); the others pass int() but not the database.
BAD_IDS = ["²", "٣", "9" * 30, "-1", "0", " ", "1e3", "\x00"]


@pytest.mark.parametrize("value", BAD_IDS)
def test_id_parse_takes_only_plain_in_range_numbers(value):
    assert id_parse(value) is None


def test_ids_parse_keeps_the_good_ones_in_order():
    assert ids_parse(["3", "²", "1", "3", " 2 ", "9" * 30]) == [3, 1, 2]


@pytest.fixture
def as_manager(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def things(manager):
    lead = LeadFactory()
    static = SegmentFactory(name="VIPs", kind=Segment.Kind.STATIC, created_by=manager)
    sequence = SequenceFactory(name="Welcome")
    return lead, static, sequence


@pytest.mark.parametrize("bad", ["²", "9" * 30])
def test_the_form_endpoints_answer_a_bad_id_without_a_500(as_manager, things, bad):
    """Broke: "²" passed isdigit() and then int() raised ValueError (a 500) on the bulk actions, notifications
    read, enroll, add to list, list member removal and segment preview; 30 digits overflowed bigint."""
    lead, static, sequence = things
    posts = [
        ("/leads/bulk", {"action": "status", "status": "contacted", "ids": [bad]}),
        ("/leads/bulk", {"action": "add_to_list", "list": bad, "ids": [str(lead.pk)]}),
        ("/notifications/read", {"ids": [bad]}),
        ("/nurture/sequences/enroll", {"lead": bad, "sequence": str(sequence.pk)}),
        ("/nurture/sequences/enroll", {"lead": str(lead.pk), "sequence": bad}),
        ("/nurture/segments/add-to-list", {"list": bad, "lead": [str(lead.pk)]}),
        ("/nurture/segments/add-to-list", {"list": str(static.pk), "lead": [bad]}),
        (f"/nurture/segments/{static.pk}/members/remove", {"lead": [bad]}),
        ("/leads/convert", {"ids": [bad]}),
    ]
    for url, data in posts:
        response = as_manager.post(url, data)
        assert response.status_code < 500, url
    preview = as_manager.post(
        "/nurture/segments/preview",
        json.dumps({"definition": {"op": "and", "conditions": []}, "segment": bad}),
        content_type="application/json",
    )
    assert preview.status_code < 500
