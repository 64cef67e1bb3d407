"""In-app notifications: the unread count every page shows, the list, marking them read."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, User
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..common.prepared import prepared_cursor
from ..models import Notification
from ..roles import MARKETERS, ROLE_NAMES_SQL, SALES_MANAGERS, SALES_REPS, USER_COLUMNS_SQL, user_from_row


def _unread_count():
    return Coalesce(
        Subquery(
            Notification.objects.filter(user_id=OuterRef("pk"), read_at__isnull=True)
            .order_by()
            .values("user_id")
            .annotate(n=Count("pk"))
            .values("n")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )


# The session's user, their unread count and their groups' names: one statement written once and
# planned once per connection (the ORM's annotated get, compiled per page, was ~2 ms of a lead list's
# CPU, and the roles were a query of their own; bench/README.md).
_USER_WITH_COUNT = f"""
SELECT {USER_COLUMNS_SQL},
       (SELECT count(*) FROM {Notification._meta.db_table} n WHERE n.user_id = u.id AND n.read_at IS NULL),
       {ROLE_NAMES_SQL}
FROM {User._meta.db_table} u
WHERE u.id = %s
"""


class NotificationCountBackend(ModelBackend):
    """Django's ModelBackend, whose get_user (run once per request) also reads the user's unread
    notification count and their roles, in the same query: the nav shows the count and the entries
    of the user's roles on every page without an extra query."""

    def get_user(self, user_id):
        user_model = get_user_model()
        if connection.vendor == "postgresql" and user_model is User:
            with prepared_cursor() as cursor:
                cursor.execute(_USER_WITH_COUNT, [user_id])
                row = cursor.fetchone()
            if row is None:
                return None
            *columns, unread, role_names = row
            user = user_from_row(connection.alias, columns, role_names)
            user.unread_notifications = unread
            user.is_sales_rep = SALES_REPS in role_names
            user.is_sales_manager = SALES_MANAGERS in role_names
            user.is_marketer = MARKETERS in role_names
            return user if self.user_can_authenticate(user) else None

        def in_role(name):
            return Exists(Group.objects.filter(name=name, user=OuterRef("pk")))

        try:
            # The roles too, for the nav (which entries a user sees) without a query of its own.
            user = user_model._default_manager.annotate(
                unread_notifications=_unread_count(),
                is_sales_rep=in_role(SALES_REPS),
                is_sales_manager=in_role(SALES_MANAGERS),
                is_marketer=in_role(MARKETERS),
            ).get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


def notifications_unread_count(*, user) -> int:
    """How many of the user's notifications are unread (read from the request's user when the
    backend annotated it)."""
    annotated = getattr(user, "unread_notifications", None)
    if annotated is not None:
        return annotated
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def notifications_mark_read(*, user, ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Mark the user's notifications read (the given ones, or all); returns how many changed."""
    unread = Notification.objects.filter(user_id=user.pk, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=now or timezone.now())


def notification_email(*, notification_id: int) -> bool:
    """Email one notification to its user unless it was emailed already; True when sent now."""
    # The row stays locked while the mail goes out and is marked in the same transaction: a
    # second run at the same time skips it, a later one finds it sent. A failed send rolls back.
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("user")
            .filter(pk=notification_id, emailed_at__isnull=True)
            .first()
        )
        if notification is None or not notification.user.email:
            return False
        link = (
            f"{settings.PUBLIC_BASE_URL}/leads/{notification.lead_id}"
            if notification.lead_id
            else settings.PUBLIC_BASE_URL
        )
        send_mail(
            f"[LeadCRM] {notification.message}", f"{notification.message}\n\n{link}\n", None, [notification.user.email]
        )
        Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
    return True
