"""Look and feel: the user's time zone, the nav per role, locale formatting, the tidy admin."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from leads.models import UserPreference
from leads.templatetags.workspace import capped
from leads.workspace.user_time_zone import SESSION_KEY
from tests.factories import (
    LeadFactory,
    NotificationFactory,
    RepFactory,
    SavedViewFactory,
    TaskFactory,
    UserPreferenceFactory,
)

pytestmark = pytest.mark.django_db


def _notification_time(client) -> str:
    html = client.get("/home/").content.decode()
    marker = '<time datetime="'
    return html[html.index(marker) + len(marker) :].split('"', 1)[0]


def test_dates_show_in_the_users_time_zone(client, rep, settings):
    settings.TIME_ZONE = "UTC"
    NotificationFactory(user=rep, kind="assigned", message="Hello", created_at=timezone.now())
    UserPreferenceFactory(user=rep, time_zone="Asia/Tokyo")
    client.force_login(rep)  # the zone is read at login and kept in the session
    assert client.session[SESSION_KEY] == "Asia/Tokyo"
    assert _notification_time(client).endswith("+09:00")


def test_without_a_preference_the_site_zone_applies_and_the_preferences_page_changes_it(client, rep):
    NotificationFactory(user=rep, kind="assigned", message="Hello", created_at=timezone.now())
    client.force_login(rep)
    assert _notification_time(client).endswith("+00:00")
    response = client.post("/preferences/", {"time_zone": "America/New_York", "lead_columns": ["company", "score"]})
    assert response.status_code == 302
    preference = UserPreference.objects.get(user=rep)
    assert preference.time_zone == "America/New_York" and preference.lead_columns == ["company", "score"]
    assert _notification_time(client)[-6:] in ("-05:00", "-04:00")


def test_a_bad_time_zone_is_a_400_with_a_message(client, rep):
    client.force_login(rep)
    response = client.post("/preferences/", {"time_zone": "Mars/Olympus", "lead_columns": ["company"]})
    assert response.status_code == 400
    assert "Mars/Olympus" in response.content.decode()
    assert not UserPreference.objects.filter(user=rep).exists()


def test_a_session_from_before_reads_the_zone_once(client, rep):
    UserPreferenceFactory(user=rep, time_zone="Europe/Berlin")
    client.force_login(rep)
    session = client.session
    del session[SESSION_KEY]
    session.save()
    client.get("/home/")
    assert client.session[SESSION_KEY] == "Europe/Berlin"


NAV = (
    "nav-home",
    "nav-leads",
    "nav-customers",
    "nav-queue",
    "nav-distribution",
    "nav-duplicates",
    "nav-import",
    "nav-admin",
)


def _nav(client) -> set[str]:
    html = client.get("/customers/").content.decode()
    return {entry for entry in NAV if f'data-testid="{entry}"' in html}


def test_the_nav_shows_what_each_role_may_open(client, rep, manager, marketer):
    client.force_login(rep)
    assert _nav(client) == {"nav-home", "nav-leads", "nav-customers", "nav-queue"}
    client.force_login(manager)
    assert _nav(client) == {
        "nav-home",
        "nav-leads",
        "nav-customers",
        "nav-distribution",
        "nav-duplicates",
        "nav-import",
        "nav-admin",
    }
    client.force_login(marketer)
    assert _nav(client) == {"nav-leads", "nav-customers", "nav-import"}


def test_the_layout_is_accessible_and_collapses_on_a_phone(client, rep):
    client.force_login(rep)
    html = client.get("/").content.decode()
    assert 'class="skip-link' in html and 'href="#main"' in html and '<main class="container-fluid" id="main"' in html
    assert "navbar-expand-lg" in html and 'class="navbar-toggler"' in html and 'aria-controls="main-nav"' in html
    assert '<html lang="en">' in html


def test_the_language_follows_the_browser_and_numbers_follow_the_language(client, rep):
    client.force_login(rep)
    # LocaleMiddleware leaves the request's language active on this thread: override() puts the
    # previous one back, so the tests after this one still run in English.
    with translation.override("en"):
        html = client.get("/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="de">' in html
    with translation.override("de"):
        assert capped((1000, False)) == "1.000+"
    with translation.override("en"):
        assert capped((1000, False)) == "1,000+" and capped((12, True)) == "12"
    assert translation.get_language().startswith("en")  # not left in German


@pytest.mark.parametrize(
    "path",
    [
        "/admin/leads/lead/",
        "/admin/leads/task/",
        "/admin/leads/savedview/",
        "/admin/leads/userpreference/",
        "/admin/customers/customer/",
    ],
)
def test_admin_changelists_take_the_same_queries_for_one_or_many_rows(
    client, admin_user, rep, team, path, django_assert_num_queries, django_assert_max_num_queries
):
    def add(n):
        for i in range(n):
            lead = LeadFactory(owner=rep, team=team)
            TaskFactory(lead=lead, assigned_to=rep, title=f"t{i}", due_at=timezone.now() + timedelta(hours=i))
            user = RepFactory()
            SavedViewFactory(user=user, name=f"v{i}", query="grade=A")
            UserPreferenceFactory(user=user, time_zone="Europe/Paris")

    from tests.factories import CustomerFactory

    add(1)
    CustomerFactory(owner=rep, lead=None)
    client.force_login(admin_user)  # preferences are a superuser's business; managers see the rest
    with django_assert_max_num_queries(30) as one:
        assert client.get(path).status_code == 200
    add(6)
    CustomerFactory.create_batch(6, owner=rep, lead=None)
    with django_assert_num_queries(len(one.captured_queries)):
        assert client.get(path).status_code == 200


def test_lead_owner_and_team_are_picked_with_autocomplete(client, manager, rep, team):
    client.force_login(manager)
    form = client.get("/admin/leads/lead/add/").content.decode()
    assert "admin-autocomplete" in form and 'data-field-name="owner"' in form and 'data-field-name="team"' in form
    response = client.get(
        "/admin/autocomplete/", {"app_label": "leads", "model_name": "lead", "field_name": "owner", "term": "rep"}
    )
    assert response.status_code == 200
    assert [row["text"] for row in response.json()["results"]] == ["rep1"]
    teams = client.get(
        "/admin/autocomplete/", {"app_label": "leads", "model_name": "lead", "field_name": "team", "term": "Inside"}
    )
    assert [row["text"] for row in teams.json()["results"]] == ["Inside Sales"]


def test_the_task_admin_marks_tasks_done(client, manager, rep):
    task = TaskFactory(lead=LeadFactory(owner=rep), assigned_to=rep, title="Call back")
    client.force_login(manager)
    response = client.post("/admin/leads/task/", {"action": "mark_done", "_selected_action": [task.pk]})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.done_at is not None
