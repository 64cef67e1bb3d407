"""The workspace's tasks: thin, by id, safe to repeat. Enqueue them by name with leads.jobs.enqueue."""

from celery import shared_task
from kombu.exceptions import OperationalError

from .notifications import notification_email


@shared_task(
    autoretry_for=(OperationalError, ConnectionError, OSError), retry_backoff=True, max_retries=5, acks_late=True
)
def notify_by_email_task(notification_ids: list[int]) -> int:
    """Email owners their new notifications, each once (a repeated run skips what was sent)."""
    return sum(notification_email(notification_id=pk) for pk in notification_ids)
