"""The permission matrix: each role x list, retrieve and update, on its own lead and another's.

A rep sees the leads they own plus their teams' unassigned leads; anything else is a 404."""

import pytest
from rest_framework.test import APIClient

from tests.factories import LeadFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads"


@pytest.fixture
def leads(rep, other_rep, team):
    return {
        "own": LeadFactory(owner=rep, team=team),
        "other": LeadFactory(owner=other_rep, team=team),
        "team_queue": LeadFactory(owner=None, team=team),
        "other_team_queue": LeadFactory(owner=None, team=TeamFactory(name="Field Sales")),
    }


def listed(client) -> set[int]:
    response = client.get(URL)
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}


# role -> (which leads it lists, which it may retrieve, which it may update)
MATRIX = {
    "manager": ({"own", "other", "team_queue", "other_team_queue"}, 200, 200, 200, 200),
    "marketer": ({"own", "other", "team_queue", "other_team_queue"}, 200, 200, 403, 403),
    "rep": ({"own", "team_queue"}, 200, 404, 200, 404),
}


@pytest.mark.parametrize("role", MATRIX)
def test_role_matrix(role, request, leads, api_as):
    user = request.getfixturevalue(role)
    client = api_as(user)
    visible, get_own, get_other, patch_own, patch_other = MATRIX[role]
    assert listed(client) == {leads[name].id for name in visible}
    assert client.get(f"{URL}/{leads['own'].id}").status_code == get_own
    assert client.get(f"{URL}/{leads['other'].id}").status_code == get_other
    assert client.patch(f"{URL}/{leads['own'].id}", {"city": "Leeds"}, format="json").status_code == patch_own
    assert client.patch(f"{URL}/{leads['other'].id}", {"city": "York"}, format="json").status_code == patch_other
    leads["other"].refresh_from_db()
    assert (leads["other"].city == "York") == (patch_other == 200)


def test_a_rep_sees_other_teams_queue_as_404(api_as, rep, leads):
    assert api_as(rep).get(f"{URL}/{leads['other_team_queue'].id}").status_code == 404
    assert api_as(rep).get(f"{URL}/{leads['team_queue'].id}").status_code == 200


def test_anonymous_gets_401_and_no_data(leads):
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert "results" not in response.json()
    assert APIClient().get(f"{URL}/{leads['own'].id}").status_code == 401
    assert APIClient().get(f"{URL}/{leads['own'].id}/interactions").status_code == 401
    assert APIClient().get("/api/v1/customers").status_code == 401


def test_a_user_without_a_role_gets_403(api_as, leads):
    nobody = UserFactory(username="intruder")
    assert api_as(nobody).get(URL).status_code == 403
    assert api_as(nobody).get(f"{URL}/{leads['own'].id}").status_code == 403


def test_a_bad_token_is_401(leads):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get(URL).status_code == 401


def test_a_rep_cannot_give_a_lead_to_someone_else(api_as, rep, other_rep, leads):
    response = api_as(rep).patch(f"{URL}/{leads['own'].id}", {"owner": "rep2"}, format="json")
    assert response.status_code == 400
    assert response.json()["owner"] == ["Only managers can give a lead to someone else."]
    leads["own"].refresh_from_db()
    assert leads["own"].owner == rep


def test_a_rep_can_claim_a_lead_from_the_team_queue(api_as, rep, leads):
    response = api_as(rep).patch(f"{URL}/{leads['team_queue'].id}", {"owner": "rep1"}, format="json")
    assert response.status_code == 200
    assert response.json()["owner"] == "rep1"


def test_a_manager_reassigns_and_the_timeline_says_so(api_as, manager, rep, other_rep, leads):
    response = api_as(manager).patch(f"{URL}/{leads['own'].id}", {"owner": "rep2"}, format="json")
    assert response.status_code == 200
    timeline = api_as(manager).get(f"{URL}/{leads['own'].id}/interactions").json()["results"]
    assignment = next(row for row in timeline if row["kind"] == "assignment")
    assert assignment["data"]["from"] == "rep1" and assignment["data"]["to"] == "rep2"
    assert assignment["actor"] == "manager"


def test_computed_fields_are_read_only_for_everyone(api_as, manager, leads):
    lead = leads["own"]
    response = api_as(manager).patch(
        f"{URL}/{lead.id}",
        {"score": 99, "grade": "A", "probability": 0.9, "created_at": "2001-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.score, lead.grade, lead.probability) == (0, "", None)
    assert lead.created_at.year != 2001


def test_only_managers_delete(api_as, manager, rep, leads):
    assert api_as(rep).delete(f"{URL}/{leads['own'].id}").status_code == 403
    assert api_as(manager).delete(f"{URL}/{leads['own'].id}").status_code == 204
    assert api_as(manager).get(f"{URL}/{leads['own'].id}").status_code == 404


def test_marketers_cannot_create_leads(api_as, marketer):
    assert api_as(marketer).post(URL, {"email": "x@example.com"}, format="json").status_code == 403
