"""Every filter of GET /api/v1/leads, as a rep's or manager's saved query would use it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads"


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_status_filter_takes_one_value_or_a_list(api_as, manager):
    new = LeadFactory(status="new")
    active = LeadFactory(status="active")
    LeadFactory(status="lost", lost_reason="No budget")
    client = api_as(manager)
    assert ids(client.get(URL, {"status": "active"})) == {active.id}
    assert ids(client.get(URL, {"status": "new,active"})) == {new.id, active.id}


def test_the_seed_paths_answer_without_redirect(api_as, manager):
    active = LeadFactory(status="active")
    response = api_as(manager).get("/api/v1/leads?status=active")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"count", "next", "previous", "results"}
    assert body["count"] == 1 and body["results"][0]["id"] == active.id


def test_search_matches_a_substring_of_name_email_company_or_phone(api_as, manager):
    by_name = LeadFactory(first_name="Grzegorz", last_name="Brzęczyszczykiewicz", company="A")
    by_email = LeadFactory(email="finance-team@wonderwidgets.io", company="B")
    by_company = LeadFactory(company="Umbrella Logistics")
    by_phone = LeadFactory(phone="+442079460123", company="C")
    LeadFactory(first_name="Nobody", last_name="Else", company="Other")
    client = api_as(manager)
    assert ids(client.get(URL, {"search": "czyszczy"})) == {by_name.id}
    assert ids(client.get(URL, {"search": "WONDERWIDGETS"})) == {by_email.id}
    assert ids(client.get(URL, {"search": "brella log"})) == {by_company.id}
    assert ids(client.get(URL, {"search": "7946012"})) == {by_phone.id}


def test_search_treats_percent_and_underscore_literally(api_as, manager):
    LeadFactory(company="Acme")
    literal = LeadFactory(company="100% Organic_Foods")
    client = api_as(manager)
    assert ids(client.get(URL, {"search": "%"})) == {literal.id}
    assert ids(client.get(URL, {"search": "c_"})) == {literal.id}  # "_" would match "Acme"'s "cm" as a wildcard


def test_owner_filter_is_by_username(api_as, manager, rep, other_rep):
    mine = LeadFactory(owner=rep)
    LeadFactory(owner=other_rep)
    LeadFactory(owner=None)
    assert ids(api_as(manager).get(URL, {"owner": "rep1"})) == {mine.id}


def test_unassigned_filter(api_as, manager, rep):
    LeadFactory(owner=rep)
    queued = LeadFactory(owner=None)
    assert ids(api_as(manager).get(URL, {"unassigned": "true"})) == {queued.id}


def test_source_filter(api_as, manager):
    call = LeadFactory(source="call")
    chat = LeadFactory(source="chat")
    LeadFactory(source="web_form")
    client = api_as(manager)
    assert ids(client.get(URL, {"source": "call"})) == {call.id}
    assert ids(client.get(URL, {"source": "call,chat"})) == {call.id, chat.id}


def test_score_range(api_as, manager):
    low = LeadFactory(score=10)
    mid = LeadFactory(score=50)
    high = LeadFactory(score=90)
    client = api_as(manager)
    assert ids(client.get(URL, {"score_min": 50})) == {mid.id, high.id}
    assert ids(client.get(URL, {"score_max": 50})) == {low.id, mid.id}
    assert ids(client.get(URL, {"score_min": 20, "score_max": 60})) == {mid.id}


def test_created_range_accepts_dates_and_datetimes(api_as, manager):
    now = timezone.now()
    old = LeadFactory(created_at=now - timedelta(days=30))
    recent = LeadFactory(created_at=now - timedelta(days=1))
    client = api_as(manager)
    week_ago = (now - timedelta(days=7)).date().isoformat()
    assert ids(client.get(URL, {"created_after": week_ago})) == {recent.id}
    assert ids(client.get(URL, {"created_before": week_ago})) == {old.id}
    assert ids(client.get(URL, {"created_after": (now - timedelta(days=2)).isoformat()})) == {recent.id}


def test_ordering_by_score_and_created(api_as, manager):
    now = timezone.now()
    a = LeadFactory(score=30, created_at=now - timedelta(days=3))
    b = LeadFactory(score=90, created_at=now - timedelta(days=2))
    c = LeadFactory(score=60, created_at=now - timedelta(days=1))
    client = api_as(manager)
    order = lambda params: [row["id"] for row in client.get(URL, params).json()["results"]]  # noqa: E731
    assert order({"ordering": "-score"}) == [b.id, c.id, a.id]
    assert order({"ordering": "created_at"}) == [a.id, b.id, c.id]
    assert order({}) == [c.id, b.id, a.id]  # newest first by default


def test_page_size_is_honoured_up_to_500(api_as, manager):
    Lead.objects.bulk_create([Lead(email=f"bulk{i}@example.com") for i in range(510)])
    client = api_as(manager)
    small = client.get(URL, {"page_size": 5}).json()
    assert len(small["results"]) == 5 and small["count"] == 510 and small["count_exact"] is True
    assert "cursor=" in small["next"] and "page=" not in small["next"]
    assert len(client.get(URL, {"page_size": 1000}).json()["results"]) == 500


@pytest.mark.parametrize(
    "params, field",
    [
        ({"status": "bogus"}, "status"),
        ({"status": "new,bogus"}, "status"),
        ({"source": "fax"}, "source"),
        ({"score_min": "lots"}, "score_min"),
        ({"score_max": "101"}, "score_max"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"ordering": "password"}, "ordering"),
        ({"search": "abc\x00def"}, "search"),
        ({"owner": "rep\x00"}, "owner"),
    ],
)
def test_a_bad_filter_value_is_a_400_naming_the_field(api_as, manager, params, field):
    response = api_as(manager).get(URL, params)
    assert response.status_code == 400
    assert field in response.json()
