"""The segment pages: who may use them, the builder (plain form and htmx), the live-count JSON
endpoint, static list pages, the lead list's "add to list" action, export and stats."""

import csv
import io
import json

import openpyxl
import pytest
from django.urls import reverse

from leads.models import Lead, Segment, SegmentMember, SegmentSnapshot
from leads.nurturing.segments import NOT_A_NUMBER, UNKNOWN_FIELD, segment_refresh
from leads.views.segments import NO_LIST_CHOSEN
from tests.factories import LeadFactory, MarketerFactory, SegmentFactory, SegmentMemberFactory

pytestmark = pytest.mark.django_db

HOT = {"match": "all", "conditions": [{"field": "score", "op": "gte", "value": 70}]}


@pytest.fixture
def hot_segment():
    return SegmentFactory(name="Hot leads", definition=HOT)


@pytest.fixture
def static_list():
    return SegmentFactory(name="Trade show", kind="static")


def preview(client, definition, **extra):
    return client.post(
        reverse("leads:segment_preview"),
        data=json.dumps({"definition": definition, **extra}),
        content_type="application/json",
    )


# --- Who may use them --------------------------------------------------------------------------------


def test_reps_get_403_everywhere_and_marketers_and_managers_get_in(
    client, rep, marketer, manager, hot_segment, static_list
):
    pages = [
        reverse("leads:segment_list"),
        reverse("leads:segment_create"),
        reverse("leads:segment_detail", args=[hot_segment.pk]),
        reverse("leads:segment_edit", args=[hot_segment.pk]),
        reverse("leads:segment_export", args=[hot_segment.pk]),
        reverse("leads:segment_stats", args=[hot_segment.pk]),
        reverse("leads:segment_detail", args=[static_list.pk]),
    ]
    posts = [
        reverse("leads:segment_preview"),
        reverse("leads:list_add"),
        reverse("leads:segment_refresh", args=[hot_segment.pk]),
        reverse("leads:list_members_add", args=[static_list.pk]),
        reverse("leads:segment_delete", args=[hot_segment.pk]),
    ]
    client.force_login(rep)
    assert [client.get(url).status_code for url in pages] == [403] * len(pages)
    assert [client.post(url).status_code for url in posts] == [403] * len(posts)
    assert b'data-testid="nav-nurture"' not in client.get(reverse("leads:list")).content
    for user in (marketer, manager):
        client.force_login(user)
        assert [client.get(url).status_code for url in pages] == [200] * len(pages)
    assert b'data-testid="nav-nurture"' in client.get(reverse("leads:segment_list")).content


def test_the_pages_need_a_login(client, hot_segment):
    response = client.get(reverse("leads:segment_list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_segment_list_takes_the_same_queries_for_one_or_many_segments(client, marketer, django_assert_num_queries):
    client.force_login(marketer)
    SegmentFactory(name="One", definition=HOT, created_by=marketer)
    client.get(reverse("leads:segment_list"))  # warm the session and role caches
    with django_assert_num_queries(3) as one:  # session, user with its roles, the segments with their creators
        client.get(reverse("leads:segment_list"))
    for n in range(6):
        SegmentFactory(name=f"List {n}", kind="static", created_by=MarketerFactory())
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(reverse("leads:segment_list"))
    assert response.content.decode().count('href="/nurture/segments/') >= 7


# --- The live count ------------------------------------------------------------------------------------


def test_the_json_endpoint_counts_and_previews_a_draft(client, marketer):
    client.force_login(marketer)
    hot = LeadFactory.create_batch(3, score=90)
    LeadFactory(score=10)
    response = preview(client, HOT)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert {row["id"] for row in body["preview"]} == {lead.pk for lead in hot}
    assert set(body["preview"][0]) >= {"id", "name", "email", "status", "score", "url"}


def test_the_json_endpoint_answers_400_with_a_message_per_field(client, marketer):
    client.force_login(marketer)
    response = preview(
        client,
        {
            "match": "all",
            "conditions": [
                {"field": "score", "op": "gte", "value": "lots"},
                {"match": "any", "conditions": [{"field": "shoe_size", "op": "eq", "value": 9}]},
            ],
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "conditions.0.value": [NOT_A_NUMBER],
            "conditions.1.conditions.0.field": [UNKNOWN_FIELD.format(field="shoe_size")],
        }
    }
    bad_json = client.post(reverse("leads:segment_preview"), data="{nope", content_type="application/json")
    assert bad_json.status_code == 400 and "definition" in bad_json.json()["errors"]


def test_the_htmx_preview_is_an_html_fragment(client, marketer):
    client.force_login(marketer)
    LeadFactory(score=80, first_name="Hattie")
    data = {
        "node": ["r.0"],
        "r-match": "all",
        "r.0-type": "cond",
        "r.0-field": "score",
        "r.0-op": "gte",
        "r.0-value": "70",
    }
    response = client.post(reverse("leads:segment_preview"), data, HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert response.status_code == 200 and 'data-testid="preview-count">1<' in content and "Hattie" in content
    assert "<html" not in content


# --- The builder without JavaScript -----------------------------------------------------------------------


def builder_form(**fields):
    return {"name": "Engaged", "description": "", "refresh_on_schedule": "on", "r-match": "any", **fields}


def test_a_marketer_builds_a_nested_segment_with_plain_form_posts(client, marketer):
    client.force_login(marketer)
    url = reverse("leads:segment_create")
    assert client.get(url + "?kind=dynamic").status_code == 200
    # "+ Condition" on the root group: the page comes back with a new row, nothing saved.
    response = client.post(url, builder_form(action="add:r"))
    assert response.status_code == 200 and 'name="r.0-field"' in response.content.decode()
    assert not Segment.objects.exists()
    # "+ Group", then the field of the nested condition changes: its operators follow.
    response = client.post(
        url,
        builder_form(
            action="addgroup:r",
            node=["r.0"],
            **{"r.0-type": "cond", "r.0-field": "score", "r.0-op": "gte", "r.0-value": "70"},
        ),
    )
    content = response.content.decode()
    assert 'name="r.1-match"' in content and 'name="r.1.0-field"' in content
    data = builder_form(
        action="save",
        node=["r.0", "r.1", "r.1.0", "r.1.1"],
        **{
            "r.0-type": "cond",
            "r.0-field": "score",
            "r.0-op": "gte",
            "r.0-value": "70",
            "r.1-type": "group",
            "r.1-match": "all",
            "r.1.0-type": "cond",
            "r.1.0-field": "tags",
            "r.1.0-op": "contains",
            "r.1.0-value": "vip",
            "r.1.1-type": "cond",
            "r.1.1-field": "opened_email",
            "r.1.1-op": "in_last_days",
            "r.1.1-days": "30",
        },
    )
    response = client.post(url, data)
    segment = Segment.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("leads:segment_detail", args=[segment.pk])
    assert segment.definition == {
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
        ],
    }
    assert segment.created_by == marketer and segment.kind == "dynamic"
    # Editing shows the same tree; removing the group and saving keeps the rest.
    edit = reverse("leads:segment_edit", args=[segment.pk])
    assert 'value="vip"' in client.get(edit).content.decode()
    response = client.post(edit, {**data, "action": "remove:r.1"})
    assert 'name="r.1-match"' not in response.content.decode()


def test_saving_an_invalid_segment_shows_the_messages_beside_the_inputs(client, marketer):
    client.force_login(marketer)
    response = client.post(
        reverse("leads:segment_create"),
        builder_form(
            action="save",
            node=["r.0"],
            **{"r.0-type": "cond", "r.0-field": "score", "r.0-op": "gte", "r.0-value": "x"},
        ),
    )
    assert response.status_code == 400
    assert NOT_A_NUMBER in response.content.decode() and not Segment.objects.exists()


def test_the_htmx_builder_returns_only_the_tree(client, marketer):
    client.force_login(marketer)
    response = client.post(reverse("leads:segment_create"), builder_form(action="add:r"), HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert 'name="r.0-field"' in content and "<html" not in content


# --- One segment, its export and stats ------------------------------------------------------------------


def test_the_detail_page_shows_the_count_and_refresh_queues_a_task(client, marketer, hot_segment):
    client.force_login(marketer)
    LeadFactory.create_batch(2, score=75)
    response = client.get(reverse("leads:segment_detail", args=[hot_segment.pk]))
    assert 'data-testid="segment-count">2<' in response.content.decode()
    response = client.post(reverse("leads:segment_refresh", args=[hot_segment.pk]))
    assert response.status_code == 302


def test_export_has_the_chosen_columns_and_neutralises_formulas(client, marketer, static_list):
    client.force_login(marketer)
    evil = LeadFactory(first_name="=cmd()", company="+SUM(A1)", email="evil@example.org", score=42)
    SegmentMemberFactory(segment=static_list, lead=evil)
    url = reverse("leads:segment_export", args=[static_list.pk])
    assert client.get(url).status_code == 200
    response = client.get(url, {"columns": ["first_name", "email", "company", "score"], "format": "csv"})
    assert response.status_code == 200 and response["Content-Disposition"] == 'attachment; filename="trade-show.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows == [["First name", "Email", "Company", "Score"], ["'=cmd()", "evil@example.org", "'+SUM(A1)", "42"]]
    response = client.get(url, {"columns": ["email", "first_name"], "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["Email", "First name"],
        ["evil@example.org", "'=cmd()"],
    ]
    bad = client.get(url, {"columns": ["password"], "format": "csv"})
    assert bad.status_code == 400


def test_a_dynamic_segment_exports_the_leads_it_matches_now(client, marketer, hot_segment):
    client.force_login(marketer)
    LeadFactory(email="hot@example.org", score=99)
    LeadFactory(email="cold@example.org", score=1)
    response = client.get(
        reverse("leads:segment_export", args=[hot_segment.pk]), {"columns": ["email"], "format": "csv"}
    )
    assert b"".join(response.streaming_content).decode("utf-8-sig").split() == ["Email", "hot@example.org"]


def test_the_stats_page_draws_the_size_over_time(client, marketer, hot_segment):
    client.force_login(marketer)
    LeadFactory(score=80)
    segment_refresh(segment=hot_segment)
    LeadFactory(score=81)
    segment_refresh(segment=hot_segment)
    assert list(SegmentSnapshot.objects.order_by("taken_at").values_list("size", flat=True)) == [1, 2]
    content = client.get(reverse("leads:segment_stats", args=[hot_segment.pk])).content.decode()
    assert "<polyline" in content and content.count("<circle") == 2
    assert 'data-testid="snapshot-table"' in content and '<td class="text-end">2</td>' in content


# --- Static list pages and the lead list's bulk action ---------------------------------------------------


def test_a_marketer_adds_by_email_and_removes_members_on_the_list_page(client, marketer, static_list):
    client.force_login(marketer)
    ann, bob = LeadFactory(email="ann@example.org"), LeadFactory(email="bob@example.org")
    response = client.post(
        reverse("leads:list_members_add", args=[static_list.pk]),
        {"references": f"ann@example.org\n{bob.pk}\nghost@example.org"},
        follow=True,
    )
    content = response.content.decode()
    assert "2 leads added." in content and "Not found: ghost@example.org" in content
    assert "ann@example.org" in content and "bob@example.org" in content
    client.post(reverse("leads:list_members_remove", args=[static_list.pk]), {"lead": [ann.pk]})
    assert set(SegmentMember.objects.values_list("lead_id", flat=True)) == {bob.pk}
    assert client.post(reverse("leads:list_members_add", args=[static_list.pk]), {"references": ""}).status_code == 400


def test_the_lead_list_adds_selected_leads_or_a_whole_filter_to_a_list(client, marketer, static_list):
    client.force_login(marketer)
    chosen = LeadFactory.create_batch(2)
    qualified = LeadFactory.create_batch(3, status=Lead.Status.QUALIFIED)
    url = reverse("leads:list_add")
    response = client.post(url, {"list": static_list.pk, "lead": [lead.pk for lead in chosen], "next": "/?page=2"})
    assert response.status_code == 302 and response["Location"] == "/?page=2"
    response = client.post(url, {"list": static_list.pk, "query": "status=qualified"}, follow=True)
    assert "3 leads added to Trade show." in response.content.decode()
    assert set(SegmentMember.objects.values_list("lead_id", flat=True)) == {lead.pk for lead in chosen + qualified}
    # No list, or a list that is not static: back with a message; never an open redirect.
    response = client.post(url, {"list": "", "lead": [chosen[0].pk], "next": "https://evil.example/"}, follow=True)
    assert str(NO_LIST_CHOSEN) in response.content.decode()
    assert response.redirect_chain[0][0] == "/"
    dynamic = SegmentFactory(name="Dyn", definition=HOT)
    client.post(url, {"list": dynamic.pk, "lead": [chosen[0].pk]})
    assert not SegmentMember.objects.filter(segment=dynamic).exists()


# --- Admin ---------------------------------------------------------------------------------------------------


def test_admin_refuses_a_bad_definition_and_refreshes_on_request(client, manager):
    client.force_login(manager)
    url = reverse("admin:leads_segment_add")
    bad = {
        "name": "Typed by hand",
        "kind": "dynamic",
        "definition": json.dumps({"conditions": [{"field": "nope", "op": "in"}]}),
        "refresh_on_schedule": "on",
        "description": "",
    }
    response = client.post(url, bad)
    assert response.status_code == 200 and "conditions.0.field: Unknown field" in response.content.decode()
    good = {**bad, "definition": json.dumps(HOT)}
    assert client.post(url, good).status_code == 302
    segment = Segment.objects.get()
    LeadFactory(score=88)
    response = client.post(
        reverse("admin:leads_segment_changelist"),
        {"action": "refresh_now", "_selected_action": [segment.pk]},
        follow=True,
    )
    assert "1 segments refreshed." in response.content.decode()
    segment.refresh_from_db()
    assert segment.size == 1 and SegmentSnapshot.objects.filter(segment=segment).count() == 1
