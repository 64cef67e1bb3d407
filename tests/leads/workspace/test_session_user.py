"""The session's user, as every page reads it (leads.workspace.notifications.NotificationCountBackend):
one statement that also brings the unread count and the roles the nav and the visibility rules use."""

import pytest
from django.contrib.auth import get_user
from django.test import RequestFactory
from django.utils import timezone

from leads.models import Notification
from leads.roles import MARKETERS, SALES_MANAGERS, SALES_REPS, user_roles
from leads.workspace.notifications import NotificationCountBackend

pytestmark = pytest.mark.django_db


def _notify(user, n: int, *, read: bool = False) -> None:
    Notification.objects.bulk_create(
        Notification(user=user, kind="task", message=f"Task {i}", read_at=timezone.now() if read else None)
        for i in range(n)
    )


def test_the_user_comes_with_their_unread_count_and_roles_in_one_query(rep, manager, django_assert_num_queries):
    _notify(rep, 3)
    _notify(rep, 2, read=True)
    _notify(manager, 1)
    with django_assert_num_queries(1):
        user = NotificationCountBackend().get_user(rep.pk)
        assert user == rep and user.username == rep.username and user.password == rep.password
        assert user.unread_notifications == 3
        assert (user.is_sales_rep, user.is_sales_manager, user.is_marketer) == (True, False, False)
        assert user_roles(user) == frozenset({SALES_REPS})  # no query of its own
    boss = NotificationCountBackend().get_user(manager.pk)
    assert boss.unread_notifications == 1 and boss.is_sales_manager and not boss.is_sales_rep
    assert user_roles(boss) == frozenset({SALES_MANAGERS})


def test_a_user_in_several_roles_has_them_all(marketer, manager):
    manager.groups.add(*marketer.groups.all())
    user = NotificationCountBackend().get_user(manager.pk)
    assert user.is_sales_manager and user.is_marketer and user.unread_notifications == 0
    assert user_roles(user) == frozenset({SALES_MANAGERS, MARKETERS})


def test_a_deactivated_or_deleted_user_is_logged_out(client, rep):
    client.force_login(rep)
    assert client.get("/").status_code == 200
    rep.is_active = False
    rep.save()
    assert NotificationCountBackend().get_user(rep.pk) is None
    assert client.get("/").status_code == 302  # to the login page
    assert NotificationCountBackend().get_user(rep.pk + 10_000) is None


def test_the_request_user_is_the_backends(client, rep):
    client.force_login(rep)
    request = RequestFactory().get("/")
    request.session = client.session
    user = get_user(request)
    assert user.pk == rep.pk and user.is_sales_rep and user.unread_notifications == 0
