"""Celery tasks of outbound webhooks: thin, by id, safe to repeat (each row is claimed first)."""

from celery import shared_task

from .delivery import deliveries_purge, deliveries_sweep, delivery_send


@shared_task(acks_late=True)
def deliveries_send_task(delivery_ids: list[int]) -> int:
    """Attempt each delivery once (a failed one schedules its own retry)."""
    return sum(delivery_send(delivery_id=pk) == "delivered" for pk in delivery_ids)


@shared_task
def deliveries_sweep_task() -> int:
    """Re-send due deliveries whose task was lost."""
    return deliveries_sweep()


@shared_task
def deliveries_purge_task() -> int:
    """Delete finished deliveries older than the retention (beat, nightly)."""
    return deliveries_purge()
