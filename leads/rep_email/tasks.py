"""Celery tasks of a rep's email: thin, by id, safe to repeat (the row is claimed before SMTP)."""

from celery import shared_task

from .sending import rep_email_send, rep_emails_sweep


@shared_task(acks_late=True)
def rep_email_send_task(rep_email_id: int) -> str:
    """One attempt at one message (a failure schedules its own retry)."""
    return rep_email_send(rep_email_id=rep_email_id)


@shared_task
def rep_emails_sweep_task() -> int:
    """Scheduled sends and retries that are due, and sends a dead worker left behind."""
    return rep_emails_sweep()
