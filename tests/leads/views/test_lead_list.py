"""The lead list: chips, sortable columns chosen per user, saved views, status tabs with capped
counts, bulk actions within each role's rights, a fixed number of queries."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from leads.common.validation import LOST_REASON_REQUIRED
from leads.models import Interaction, Lead, SavedView, UserPreference
from leads.views.lead_list import NO_LIST_CHOSEN, NOTHING_SELECTED, UNKNOWN_OWNER
from leads.workspace.counts import status_counts
from leads.workspace.saved_views import VIEW_NAME_TAKEN, VIEW_SHARE_FORBIDDEN
from tests.factories import LeadFactory, SavedViewFactory, SegmentFactory

pytestmark = pytest.mark.django_db


def test_the_list_lives_in_its_own_module():
    from leads.views import lead_list

    assert reverse("leads:list") == "/"
    from django.urls import resolve

    assert resolve("/").func is lead_list.lead_list_view


def test_active_filters_show_as_removable_chips(client, manager):
    LeadFactory(status="active", grade="A", company="Initrode")
    client.force_login(manager)
    response = client.get("/", {"status": "active,new", "grade": "A", "search": "initr", "ordering": "-score"})
    chips = {chip["name"]: chip for chip in response.context["chips"]}
    assert set(chips) == {"status", "grade", "search"}  # ordering is not a filter
    assert chips["status"]["value"] == "Active, New"
    assert "status=" not in chips["status"]["remove"] and "grade=A" in chips["status"]["remove"]
    assert "ordering=-score" in chips["status"]["remove"]
    html = response.content.decode()
    assert 'data-testid="filter-chips"' in html and 'data-chip="search"' in html


def test_an_untouched_yes_no_filter_is_no_chip(client, rep):
    client.force_login(rep)
    response = client.get("/", {"search": "", "unassigned": "unknown", "callable_now": "unknown", "status": ""})
    assert response.context["chips"] == []
    chips = client.get("/", {"unassigned": "true"}).context["chips"]
    assert [(chip["label"], chip["value"]) for chip in chips] == [("Unassigned", "yes")]
    assert ">Any</option>" in response.content.decode()


def test_column_headers_sort_and_say_so(client, manager):
    low = LeadFactory(score=10, first_name="Low")
    high = LeadFactory(score=90, first_name="High")
    client.force_login(manager)
    response = client.get("/", {"ordering": "-score"})
    assert list(response.context["page"].object_list) == [high, low]
    html = response.content.decode()
    assert 'aria-sort="descending"' in html
    assert 'href="?ordering=score"' in html  # a second click sorts ascending
    assert list(client.get("/", {"ordering": "score"}).context["page"].object_list) == [low, high]


def test_each_row_links_ticks_and_labels_its_lead_with_every_value_escaped(client, rep, team):
    hostile = LeadFactory(
        owner=rep, first_name="<script>x</script>", last_name="O'Hara & Co", company='"Acme" <b>', score=42
    )
    queued = LeadFactory(owner=None, team=team, first_name="Queue", company="Initech")
    client.force_login(rep)
    html = client.get("/", {"ordering": "-score"}).content.decode()
    url = reverse("leads:detail", args=[hostile.pk])
    name = "&lt;script&gt;x&lt;/script&gt; O&#x27;Hara &amp; Co"
    assert (
        f'<tr data-url="{url}" tabindex="-1"><td class="select-col"><input class="form-check-input row-check" '
        f'type="checkbox" name="ids" value="{hostile.pk}" aria-label="Select {name}"></td>'
        f'<td class="name-col"><a class="lead-link" href="{url}">{name}</a></td>'
        '<td data-label="Company">&quot;Acme&quot; &lt;b&gt;</td>'
    ) in html
    assert "<script>x" not in html
    assert '<td data-label="Score" class="text-end">42</td>' in html
    assert f'value="{queued.pk}"' in html and f"{team.name} queue" in html  # an unowned lead shows its queue
    empty = client.get("/", {"search": "nothing-matches-this"}).content.decode()
    assert '<td colspan="' in empty and "No leads match." in empty


def test_every_column_shows_its_value_escaped_in_the_users_time_zone(client, rep, team):
    """Each of the chosen columns' cells, as a rep reads them: labels for choices, the queue of an
    unowned lead, dates in the rep's own time zone, every text escaped."""
    from leads.workspace.preferences import COLUMN_KEYS

    UserPreference.objects.create(user=rep, lead_columns=list(COLUMN_KEYS), time_zone="Asia/Tokyo")
    when = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)  # 2 March 05:30 in Tokyo
    lead = LeadFactory(
        owner=None,
        team=team,
        first_name="Ada",
        company="A & B",
        email="ada@example.com",
        phone="+442079460958",
        status="qualified",
        score=87,
        grade="A",
        probability=0.42,
        source="web_form",
        country="DE",
        time_zone="Europe/Berlin",
        last_activity_at=when,
    )
    Lead.objects.filter(pk=lead.pk).update(created_at=when, updated_at=when)
    team.name = "Nord <EU>"
    team.save()
    with time_machine.travel(when + timedelta(days=3), tick=False):  # the list read a few days later
        client.force_login(rep)
        html = client.get("/").content.decode()
    for cell in (
        '<td data-label="Company">A &amp; B</td>',
        '<td data-label="Email">ada@example.com</td>',
        '<td data-label="Phone" class="text-nowrap">+442079460958</td>',
        '<td data-label="Status"><span class="badge text-bg-secondary status-qualified">Qualified</span></td>',
        '<td data-label="Score" class="text-end">87 · A</td>',
        '<td data-label="Probability" class="text-end">42 %</td>',
        '<td data-label="Owner">— <span class="text-body-secondary small">(Nord &lt;EU&gt; queue)</span></td>',
        '<td data-label="Source">Web form</td>',
        '<td data-label="Country">Germany</td>',
        '<td data-label="Local time zone">Europe/Berlin</td>',
        '<td data-label="Last activity">03/02/2026 5:30 a.m.</td>',
        '<td data-label="Updated">03/02/2026 5:30 a.m.</td>',
        '<td data-label="Created">03/02/2026</td>',
    ):
        assert cell in html
    Lead.objects.filter(pk=lead.pk).update(owner=rep, last_activity_at=None, probability=None, grade="")
    with time_machine.travel(when + timedelta(days=3), tick=False):
        html = client.get("/").content.decode()
    assert f'<td data-label="Owner">{rep.username}</td>' in html
    assert (
        '<td data-label="Last activity">—</td>' in html
        and '<td data-label="Probability" class="text-end">—</td>' in html
    )
    assert '<td data-label="Score" class="text-end">87</td>' in html


def test_columns_are_saved_per_user(client, rep, other_rep):
    LeadFactory(owner=rep, phone="+442079460958", company="Globex")
    client.force_login(rep)
    response = client.post("/leads/columns", {"columns": ["phone", "score"], "query": "status=new"})
    assert response.status_code == 302 and response["Location"] == "/?status=new"
    assert UserPreference.objects.get(user=rep).lead_columns == ["phone", "score"]
    html = client.get("/").content.decode()
    assert "+442079460958" in html and "Globex" not in html
    client.force_login(other_rep)
    assert "phone" not in [key for key, _label, _order in client.get("/").context["columns"]]


def test_unknown_columns_are_refused_with_a_message(client, rep):
    client.force_login(rep)
    response = client.post("/leads/columns", {"columns": ["password"]})
    assert response.status_code == 400
    assert "Unknown column: password." in response.content.decode()


def test_built_in_and_saved_views(client, rep, other_rep, manager):
    client.force_login(rep)
    names = [str(view.name) for view in client.get("/").context["builtin_views"]]
    assert names == ["My hot leads", "Callable now"]
    response = client.post("/views/new", {"name": "Hot in Berlin", "query": "grade=A&search=berlin&page=3"})
    assert response.status_code == 302
    view = SavedView.objects.get(user=rep)
    assert view.query == "grade=A&search=berlin" and not view.is_shared  # the page is not part of a view
    again = client.post("/views/new", {"name": "Hot in Berlin", "query": "grade=B"})
    assert again.status_code == 400 and str(VIEW_NAME_TAKEN) in again.content.decode()
    shared = client.post("/views/new", {"name": "For all", "query": "grade=B", "is_shared": "1"})
    assert shared.status_code == 400 and str(VIEW_SHARE_FORBIDDEN) in shared.content.decode()

    client.force_login(manager)
    assert (
        client.post("/views/new", {"name": "Team pipeline", "query": "status=qualified", "is_shared": "1"}).status_code
        == 302
    )
    client.force_login(other_rep)
    offered = [view.name for view in client.get("/").context["saved_views"]]
    assert offered == ["Team pipeline"]  # shared views for everyone, not rep1's own
    assert client.post(f"/views/{view.pk}/delete").status_code == 302
    assert SavedView.objects.filter(pk=view.pk).exists()  # not theirs to delete


def test_my_hot_leads_are_the_reps_own_grade_a_and_b_by_score(client, rep, team):
    a = LeadFactory(owner=rep, grade="A", score=80)
    b = LeadFactory(owner=rep, grade="B", score=90)
    LeadFactory(owner=rep, grade="C", score=99)
    LeadFactory(owner=None, team=team, grade="A", score=95)  # the team queue: visible, not "mine"
    client.force_login(rep)
    hot = client.get("/").context["builtin_views"][0]
    response = client.get("/?" + hot.query)
    assert list(response.context["page"].object_list) == [b, a]


def test_status_tabs_count_each_status_with_the_other_filters(client, manager):
    LeadFactory.create_batch(3, status="new", company="Acme")
    LeadFactory.create_batch(2, status="active", company="Acme")
    LeadFactory(status="active", company="Other")
    client.force_login(manager)
    response = client.get("/", {"search": "acme", "status": "active"})
    tabs = {tab["key"]: tab for tab in response.context["tabs"]}
    assert tabs[""]["count"] == (5, True)
    assert tabs["new"]["count"] == (3, True)
    assert tabs["active"]["count"] == (2, True) and tabs["active"]["active"]
    assert tabs["lost"]["count"] == (0, True)
    assert "search=acme" in tabs["new"]["query"] and "status=new" in tabs["new"]["query"]


def test_the_all_tab_of_a_small_result_counts_its_tabs_from_the_pages_matches(client, rep, other_rep, team):
    """No status chosen and few matches: the page's read of the matches (ids first, with their status)
    gives the tabs, exactly as the tabs' own statement would, without repeating the search."""
    from leads.selectors import lead_filterset, visible_parts

    LeadFactory.create_batch(3, owner=rep, team=team, status="new", company="Acme")
    LeadFactory.create_batch(2, owner=rep, team=team, status="lost", lost_reason="budget", company="Acme")
    LeadFactory(owner=None, team=team, status="active", company="Acme")  # the team queue
    LeadFactory.create_batch(2, owner=other_rep, team=team, status="active", company="Acme")  # not visible
    LeadFactory(owner=rep, team=team, status="active", company="Other")  # not a match
    client.force_login(rep)
    response = client.get("/", {"search": "acme", "page_size": 2})
    tabs = {tab["key"]: tab["count"] for tab in response.context["tabs"]}
    assert response.context["paginator"].matches.small
    assert tabs == {
        "": (6, True),
        "new": (3, True),
        "active": (1, True),
        "qualified": (0, True),
        "lost": (2, True),
        "converted": (0, True),
    } | {key: (0, True) for key in tabs if key not in ("", "new", "active", "lost")}
    filterset = lead_filterset(user=rep, data={"search": "acme"})
    assert filterset.is_valid()
    statement = status_counts(
        queryset=filterset.qs, parts=[filterset.filter_queryset(p) for p in visible_parts(rep)], each_status=False
    )
    assert {("" if key == "all" else key): value for key, value in statement.items()} == tabs


def test_a_reps_tabs_count_own_and_team_queue_leads_only(client, rep, other_rep, team):
    LeadFactory.create_batch(2, owner=rep, team=team, status="new")
    LeadFactory(owner=None, team=team, status="new")  # the team queue: visible to rep1
    LeadFactory(owner=rep, team=team, status="active")
    LeadFactory.create_batch(3, owner=other_rep, team=team, status="new")  # not visible
    LeadFactory(owner=None, team=None, status="new")  # no team: not visible
    client.force_login(rep)
    tabs = {tab["key"]: tab["count"] for tab in client.get("/").context["tabs"]}
    assert tabs[""] == (4, True) and tabs["new"] == (3, True) and tabs["active"] == (1, True)


def test_past_the_cap_a_reps_status_counts_add_own_and_queue_parts(rep, other_rep, team):
    from leads.selectors import visible_parts, visible_to

    LeadFactory.create_batch(2, owner=rep, team=team, status="new")
    LeadFactory(owner=None, team=team, status="new")
    LeadFactory(owner=rep, team=team, status="active")
    LeadFactory.create_batch(3, owner=other_rep, team=team, status="new")
    counts = status_counts(queryset=visible_to(rep), parts=visible_parts(rep), cap=2, status_cap=10)
    assert counts["all"] == (2, False)
    assert counts["new"] == (3, True) and counts["active"] == (1, True) and counts["lost"] == (0, True)


def test_status_counts_are_capped_past_the_limit():
    Lead.objects.bulk_create([Lead(email=f"n{i}@example.com", status="new") for i in range(12)])
    Lead.objects.bulk_create([Lead(email=f"a{i}@example.com", status="active") for i in range(3)])
    counts = status_counts(queryset=Lead.objects.all(), cap=10, status_cap=5)
    assert counts["all"] == (10, False)  # shown as "10+"
    assert counts["new"] == (5, False)  # past the cap, each status counts up to status_cap: "5+"
    assert counts["active"] == (3, True)
    assert counts["lost"] == (0, True)
    parted = status_counts(
        queryset=Lead.objects.all(),
        cap=10,
        status_cap=20,
        parts=[Lead.objects.filter(status="new"), Lead.objects.exclude(status="new")],
    )
    assert parted["new"] == (12, True) and parted["active"] == (3, True)
    sampled = status_counts(queryset=Lead.objects.filter(status__in=["new", "active"]), cap=10, each_status=False)
    assert sampled["all"] == (10, False)
    assert sum(n for n, _exact in (sampled["new"], sampled["active"])) == 11  # what the sample of 11 held
    assert not sampled["new"][1] and sampled["lost"] == (0, False)  # lower bounds: "n+", or nothing
    exact = status_counts(queryset=Lead.objects.all(), cap=100)
    assert exact["all"] == (15, True) and exact["new"] == (12, True)


def test_a_manager_assigns_the_ticked_leads(client, manager, rep, other_rep):
    leads = LeadFactory.create_batch(2, owner=rep)
    untouched = LeadFactory(owner=rep)
    client.force_login(manager)
    response = client.post(
        "/leads/bulk", {"action": "assign", "owner": "rep2", "ids": [lead.pk for lead in leads], "query": "status=new"}
    )
    assert response.status_code == 302 and response["Location"] == "/?status=new"
    assert set(Lead.objects.filter(owner=other_rep)) == set(leads)
    assert Lead.objects.get(pk=untouched.pk).owner == rep
    assert Interaction.objects.filter(kind="assignment", lead__in=leads).count() == 2
    bad = client.post("/leads/bulk", {"action": "assign", "owner": "nobody", "ids": [leads[0].pk]})
    assert bad.status_code == 400 and str(UNKNOWN_OWNER) in bad.content.decode()


def test_a_rep_may_not_assign_or_export(client, rep, other_rep):
    lead = LeadFactory(owner=rep)
    client.force_login(rep)
    assert client.post("/leads/bulk", {"action": "assign", "owner": "rep2", "ids": [lead.pk]}).status_code == 403
    assert client.post("/leads/bulk", {"action": "export_csv", "ids": [lead.pk]}).status_code == 403
    assert Lead.objects.get(pk=lead.pk).owner == rep


def test_a_rep_changes_status_only_on_visible_leads_and_lost_needs_a_reason(client, rep, other_rep):
    mine = LeadFactory(owner=rep, status="new")
    theirs = LeadFactory(owner=other_rep, status="new")
    client.force_login(rep)
    response = client.post("/leads/bulk", {"action": "status", "status": "active", "ids": [mine.pk, theirs.pk]})
    assert response.status_code == 302
    assert Lead.objects.get(pk=mine.pk).status == "active"
    assert Lead.objects.get(pk=theirs.pk).status == "new"  # not visible to rep1: untouched
    lost = client.post("/leads/bulk", {"action": "status", "status": "lost", "ids": [mine.pk]})
    assert lost.status_code == 400 and LOST_REASON_REQUIRED in lost.content.decode()
    assert Lead.objects.get(pk=mine.pk).status == "active"
    converted = client.post("/leads/bulk", {"action": "status", "status": "converted", "ids": [mine.pk]})
    assert converted.status_code == 400 and "Use Convert" in converted.content.decode()
    done = client.post(
        "/leads/bulk", {"action": "status", "status": "lost", "lost_reason": "No budget", "ids": [mine.pk]}
    )
    assert done.status_code == 302 and Lead.objects.get(pk=mine.pk).lost_reason == "No budget"


def test_a_marketer_reads_and_exports_but_changes_nothing(client, marketer, rep):
    lead = LeadFactory(owner=rep, first_name="=HYPERLINK(1)", company="Acme")
    client.force_login(marketer)
    html = client.get("/").content.decode()
    assert (
        '<option value="status">' not in html
        and '<option value="assign">' not in html
        and '<option value="export_csv">' in html
    )
    assert client.post("/leads/bulk", {"action": "status", "status": "active", "ids": [lead.pk]}).status_code == 403
    response = client.post("/leads/bulk", {"action": "export_csv", "ids": [lead.pk]})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[1][1] == "'=HYPERLINK(1)"  # formula-safe
    xlsx = client.post("/leads/bulk", {"action": "export_xlsx", "ids": [lead.pk]})
    assert xlsx.status_code == 200 and xlsx["Content-Disposition"].endswith('leads.xlsx"')


def test_a_marketer_adds_the_ticked_leads_to_a_static_list(client, marketer, rep):
    from leads.models import Segment, SegmentMember

    webinar = SegmentFactory(name="Webinar follow-up", kind=Segment.Kind.STATIC)
    ticked = LeadFactory.create_batch(2, owner=rep)
    LeadFactory(owner=rep)  # not ticked: stays out
    client.force_login(marketer)
    html = client.get("/").content.decode()
    assert '<option value="add_to_list">' in html and "Webinar follow-up" in html
    response = client.post(
        "/leads/bulk",
        {"action": "add_to_list", "list": webinar.pk, "ids": [lead.pk for lead in ticked], "query": "status=new"},
    )
    assert response.status_code == 302
    assert set(SegmentMember.objects.filter(segment=webinar).values_list("lead_id", flat=True)) == {
        lead.pk for lead in ticked
    }
    bad = client.post("/leads/bulk", {"action": "add_to_list", "list": "", "ids": [ticked[0].pk]})
    assert bad.status_code == 400 and str(NO_LIST_CHOSEN) in bad.content.decode()


def test_a_rep_cannot_add_to_lists_but_can_convert(client, rep):
    lead = LeadFactory(owner=rep)
    client.force_login(rep)
    html = client.get("/").content.decode()
    assert '<option value="add_to_list">' not in html
    assert 'formaction="/leads/convert"' in html  # the conversion's own bulk endpoint, with the ticked ids
    assert client.post("/leads/bulk", {"action": "add_to_list", "list": "1", "ids": [lead.pk]}).status_code == 403


def test_the_convert_button_posts_the_ticked_ids_to_the_conversion(client, rep):
    """The bulk form's Convert button (formaction) sends what the conversion's endpoint reads."""
    lead = LeadFactory(owner=rep, company="Initech", status="qualified")
    client.force_login(rep)
    html = client.get("/", {"status": "qualified"}).content.decode()
    assert 'name="next" value="/?status=qualified"' in html
    response = client.post(
        "/leads/convert", {"ids": [lead.pk], "next": "/?status=qualified", "query": "status=qualified"}
    )
    assert response.status_code == 302 and response["Location"] == "/?status=qualified"
    assert Lead.objects.get(pk=lead.pk).converted_customer_id is not None


def test_bulk_without_a_selection_is_a_400(client, manager):
    client.force_login(manager)
    response = client.post("/leads/bulk", {"action": "status", "status": "active"})
    assert response.status_code == 400 and str(NOTHING_SELECTED) in response.content.decode()
    assert client.get("/leads/bulk").status_code == 405


def test_the_back_link_never_leaves_the_site(client, manager):
    lead = LeadFactory()
    client.force_login(manager)
    response = client.post(
        "/leads/bulk", {"action": "status", "status": "active", "ids": [lead.pk], "query": "//evil.example/x"}
    )
    assert response.status_code == 302 and response["Location"].startswith("/?")


def test_the_keyboard_script_and_help_are_on_the_page(client, rep):
    client.force_login(rep)
    html = client.get("/").content.decode()
    assert "leadcrm/lead_list.js" in html and 'data-testid="shortcut-list"' in html


@pytest.mark.parametrize("n", [3, 60])
def test_a_reps_list_takes_the_same_queries_whatever_the_size(client, rep, team, n, django_assert_num_queries):
    LeadFactory.create_batch(n, owner=rep, team=team, status="active")
    SavedViewFactory(user=rep, name="Mine", query="status=active")
    client.force_login(rep)
    # session, user with its role groups, preferences, count, saved views, counts by status, page
    with django_assert_num_queries(7):
        response = client.get("/", {"status": "active", "search": "example", "ordering": "-score", "page_size": 100})
    assert response.status_code == 200 and len(response.context["page"].object_list) == n


def test_the_lists_first_page_found_among_the_newest_leads_and_the_next_page(client, rep, team, monkeypatch):
    """walk_probe on the HTML list (on in a table of 200,000 leads or more; forced on here): page 1
    found among the newest leads shows them newest first with an estimated count and a next page;
    page 2 is read by id, exactly, with no probe."""
    from leads.common import matches

    monkeypatch.setattr(matches, "PROBE_MIN_TABLE", -1)
    leads = LeadFactory.create_batch(12, owner=rep, team=team)
    newest_first = sorted(leads, key=lambda lead: (lead.created_at, lead.pk), reverse=True)
    client.force_login(rep)
    first = client.get("/", {"page_size": 5}).context
    assert [lead.pk for lead in first["page"].object_list] == [lead.pk for lead in newest_first[:5]]
    assert first["paginator"].count_is_exact is False and first["page"].has_next()
    second = client.get("/", {"page_size": 5, "page": 2}).context
    assert [lead.pk for lead in second["page"].object_list] == [lead.pk for lead in newest_first[5:10]]
    assert second["paginator"].count_is_exact is True and second["paginator"].count == 12
