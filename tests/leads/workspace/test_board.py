"""The lead board (issue 19 §4): the list's filters and saved views as columns by status, capped
per column with "show more", a fixed number of queries, and moves through the status service."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.common.validation import LOST_REASON_REQUIRED
from leads.models import Interaction, Lead
from leads.selectors import visible_to
from leads.workspace.board import COLUMN_CAP, MORE_CAP, board_columns
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def _column(body: str, status: str) -> str:
    return body.split(f'data-testid="column-{status}"')[1].split("</section>")[0]


def test_the_board_shows_a_column_per_open_status_with_name_company_grade_owner_and_sla(client, rep, team):
    now = timezone.now()
    ada = LeadFactory(
        owner=rep,
        team=team,
        first_name="Ada",
        last_name="Lovelace",
        company="Engines",
        grade="A",
        status=Lead.Status.NEW,
        sla_due_at=now - timedelta(minutes=30),
    )
    LeadFactory(owner=rep, team=team, first_name="Alan", last_name="Turing", status=Lead.Status.QUALIFIED)
    LeadFactory(owner=rep, team=team, first_name="Lost", last_name="One", status=Lead.Status.LOST, lost_reason="budget")
    client.force_login(rep)
    body = client.get("/board/").content.decode()
    new = _column(body, "new")
    assert "Ada Lovelace" in new and "Engines" in new and ">A<" in new and "rep1" in new and "overdue by 30 min" in new
    assert "Alan Turing" in _column(body, "qualified")
    assert "Lost One" not in body and 'data-testid="column-lost"' not in body
    assert f'data-testid="card-{ada.pk}"' in new


def test_a_rep_sees_only_their_leads_and_filters_apply(client, rep, other_rep, team):
    LeadFactory(owner=rep, team=team, last_name="Mine", grade="A")
    LeadFactory(owner=rep, team=team, last_name="Cold", grade="D")
    LeadFactory(owner=other_rep, team=team, last_name="Theirs", grade="A")
    client.force_login(rep)
    body = client.get("/board/").content.decode()
    assert "Mine" in body and "Theirs" not in body
    body = client.get("/board/", {"grade": "A"}).content.decode()
    assert "Mine" in body and "Cold" not in body and 'data-testid="filter-chips"' in body
    assert client.get("/board/", {"score_min": "abc"}).status_code == 400


def test_columns_are_capped_and_show_more_raises_the_cap(client, manager):
    LeadFactory.create_batch(COLUMN_CAP + 3, status=Lead.Status.ACTIVE)
    client.force_login(manager)
    body = client.get("/board/").content.decode()
    active = _column(body, "active")
    assert active.count('class="board-card') == COLUMN_CAP and 'data-testid="show-more-active"' in active
    assert f">{COLUMN_CAP + 3}<" in active  # the count is exact below the cap
    body = client.get("/board/", {"more": "active"}).content.decode()
    assert _column(body, "active").count('class="board-card') == COLUMN_CAP + 3


def test_the_board_is_a_fixed_number_of_queries(client, django_assert_num_queries, rep, team):
    def board_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get("/board/").status_code == 200
        return len(captured)

    client.force_login(rep)
    LeadFactory(owner=rep, team=team, status=Lead.Status.NEW)
    few = board_queries()
    for status in ("new", "active", "nurturing", "qualified"):
        LeadFactory.create_batch(MORE_CAP // 4, owner=rep, team=team, status=status)
    with django_assert_num_queries(few):
        assert client.get("/board/").status_code == 200
    # The selector alone: a query per column and one for the counts (the roles, read once per user, first).
    visible_to(rep)
    with django_assert_num_queries(5):
        board_columns(queryset=visible_to(rep))


def test_a_card_moves_through_the_status_service(client, rep, team):
    lead = LeadFactory(owner=rep, team=team, status=Lead.Status.NEW)
    client.force_login(rep)
    response = client.post(f"/board/{lead.pk}/move", {"status": "active", "query": "grade=A"})
    assert response.status_code == 302 and response["Location"] == "/board/?grade=A"
    lead.refresh_from_db()
    assert lead.status == Lead.Status.ACTIVE and lead.status_locked
    assert lead.interactions.filter(kind=Interaction.Kind.STATUS_CHANGE, data__to="active").exists()


def test_lost_still_asks_for_a_reason(client, rep, team):
    lead = LeadFactory(owner=rep, team=team, status=Lead.Status.ACTIVE)
    client.force_login(rep)
    response = client.post(f"/board/{lead.pk}/move", {"status": "lost", "lost_reason": " "})
    assert response.status_code == 400 and LOST_REASON_REQUIRED in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == Lead.Status.ACTIVE
    response = client.post(
        f"/board/{lead.pk}/move", {"status": "lost", "lost_reason": "No budget"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and b'id="lead-board"' in response.content
    lead.refresh_from_db()
    assert lead.status == Lead.Status.LOST and lead.lost_reason == "No budget"


def test_moves_are_refused_to_whoever_may_not_change_the_lead(client, rep, other_rep, marketer, team):
    lead = LeadFactory(owner=other_rep, team=team, status=Lead.Status.NEW)
    client.force_login(rep)
    assert client.post(f"/board/{lead.pk}/move", {"status": "active"}).status_code == 404
    client.force_login(marketer)
    assert client.post(f"/board/{lead.pk}/move", {"status": "active"}).status_code == 403
    client.force_login(other_rep)
    for bad in ({"status": "converted"}, {"status": "nonsense"}, {}):
        assert client.post(f"/board/{lead.pk}/move", bad).status_code == 400
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW


def test_the_list_links_to_the_board_with_its_filters(client, manager):
    client.force_login(manager)
    body = client.get("/", {"grade": "A"}).content.decode()
    assert 'href="/board/?grade=A"' in body


def test_the_cards_share_one_move_form_and_a_cards_own_lost_reason_is_the_one_used(client, rep, team):
    """Each card's buttons submit the board's one form (form= and formaction=): one CSRF token per
    board, not two forms per card. Every card's reason travels with it; the moved card's is used."""
    lead = LeadFactory(owner=rep, team=team, status=Lead.Status.ACTIVE)
    other = LeadFactory(owner=rep, team=team, status=Lead.Status.ACTIVE)
    client.force_login(rep)
    body = client.get("/board/").content.decode().split('data-testid="lead-board"')[1]
    assert body.count('name="csrfmiddlewaretoken"') == 1 and body.count('<form id="board-move"') == 1
    card = body.split(f'data-testid="card-{lead.pk}"')[1].split("</li>")[0]
    assert f'form="board-move" formaction="/board/{lead.pk}/move" name="status" value="nurturing"' in card
    assert f'name="lost_reason_{lead.pk}" form="board-move"' in card and "<form" not in card
    response = client.post(
        f"/board/{lead.pk}/move",
        {
            "status": "lost",
            f"lost_reason_{other.pk}": "",
            f"lost_reason_{lead.pk}": "Went elsewhere",
            "query": "",
        },
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    other.refresh_from_db()
    assert (
        lead.status == Lead.Status.LOST and lead.lost_reason == "Went elsewhere" and other.status == Lead.Status.ACTIVE
    )
    response = client.post(
        f"/board/{other.pk}/move", {"status": "lost", f"lost_reason_{lead.pk}": "Not mine", "query": ""}
    )
    assert response.status_code == 400  # another card's reason is not this card's


@pytest.mark.parametrize("query", [{}, {"grade": "A,B", "ordering": "-score"}])
def test_a_reps_columns_and_counts_are_their_own_leads_and_team_queue_only(client, rep, other_rep, team, query):
    """A rep's board walks the rank table with the rep's visibility said on the rank row too, and
    counts each column as own leads + team queue (two index ranges, added): the same leads and
    numbers as visible_to says, for the plain board and for one filtered and ordered by score."""
    from tests.factories import TeamFactory

    elsewhere = TeamFactory(name="Elsewhere")
    mine = LeadFactory.create_batch(3, owner=rep, team=team, status=Lead.Status.NEW, grade="A", score=80)
    queued = LeadFactory.create_batch(2, owner=None, team=team, status=Lead.Status.NEW, grade="B", score=70)
    LeadFactory.create_batch(4, owner=other_rep, team=team, status=Lead.Status.NEW, grade="A", score=99)
    LeadFactory.create_batch(2, owner=None, team=elsewhere, status=Lead.Status.NEW, grade="A", score=95)
    active = LeadFactory(owner=rep, team=team, status=Lead.Status.ACTIVE, grade="A", score=60)
    client.force_login(rep)
    columns = {column.status: column for column in client.get("/board/", query).context["columns"]}
    assert sorted(lead.pk for lead in columns["new"].leads) == sorted(lead.pk for lead in mine + queued)
    assert columns["new"].count == (5, True)
    assert [lead.pk for lead in columns["active"].leads] == [active.pk] and columns["active"].count == (1, True)
    assert columns["qualified"].count == (0, True)
