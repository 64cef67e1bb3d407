"""Distribution's tasks (assignment, team queues, SLA): thin, by id, safe to repeat. Enqueue them by
name with leads.jobs.enqueue."""

from celery import shared_task
from kombu.exceptions import OperationalError

from .service import lead_assign, leads_assign, queue_drain
from .sla import sla_reassign_overdue


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def assign_lead_task(lead_id: int) -> bool:
    """Assign one lead (a lead already owned is left alone, so a repeat changes nothing)."""
    return lead_assign(lead_id=lead_id) is not None


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def assign_leads_task(lead_ids: list[int]) -> int:
    """Assign a batch of leads ("Assign now" in admin); returns how many got an owner."""
    return leads_assign(lead_ids=lead_ids)


@shared_task
def drain_queues_task() -> int:
    """Every minute: give the leads waiting in team queues to whoever became available."""
    return queue_drain()


@shared_task
def sla_reassign_task() -> int:
    """Every minute: reassign (or escalate) leads whose first-contact SLA ran out."""
    return sla_reassign_overdue()
