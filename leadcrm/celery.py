"""The Celery app: tasks are discovered from the apps; the broker is REDIS_URL
(or the filesystem transport on one machine). Periodic jobs live in
django-celery-beat's tables, so managers can edit them in admin."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadcrm.settings")

# Every task claims its outbox row before it runs (leads.jobs): a repeated message does nothing twice.
app = Celery("leadcrm", task_cls="leads.jobs:OutboxTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Stage packages keep their tasks beside their services (not an app of their own).
app.autodiscover_tasks(
    [
        "leads.capture",
        "leads.enrichment",
        "leads.scoring",
        "leads.distribution",
        "leads.nurturing",
        "leads.workspace",
        "leads.automations",
        "leads.outbound",
        "leads.rep_email",
        "leads.privacy",
    ]
)
# Every worker relays the lead-processing jobs that captures commit (leads/outbox_relay.py).
app.steps["worker"].add("leadcrm.worker:OutboxRelay")
