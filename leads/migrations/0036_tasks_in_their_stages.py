"""The tasks that moved from leads/tasks.py into their stage's tasks.py: periodic jobs stored in
django-celery-beat's table (the defaults, and any a manager added in admin) and outbox rows waiting
to go out are renamed to the new names (leads.jobs.RENAMED_TASKS covers rows written during a deploy).

RENAMED is a frozen copy of that table on purpose: a migration must keep doing what it did when it
was written, so it does not import app code, which may drop the aliases once no old job can remain."""

from django.db import migrations

RENAMED = {
    "leads.tasks.assign_lead_task": "leads.distribution.tasks.assign_lead_task",
    "leads.tasks.assign_leads_task": "leads.distribution.tasks.assign_leads_task",
    "leads.tasks.drain_queues_task": "leads.distribution.tasks.drain_queues_task",
    "leads.tasks.enrich_leads_task": "leads.enrichment.tasks.enrich_leads_task",
    "leads.tasks.form_follow_ups_task": "leads.automations.tasks.form_follow_ups_task",
    "leads.tasks.import_leads_task": "leads.capture.tasks.import_leads_task",
    "leads.tasks.meta_backfill_task": "leads.capture.tasks.meta_backfill_task",
    "leads.tasks.notify_by_email_task": "leads.workspace.tasks.notify_by_email_task",
    "leads.tasks.poll_mailboxes_task": "leads.capture.tasks.poll_mailboxes_task",
    "leads.tasks.process_due_enrollments_task": "leads.nurturing.tasks.process_due_enrollments_task",
    "leads.tasks.refresh_segment_task": "leads.nurturing.tasks.refresh_segment_task",
    "leads.tasks.refresh_segments_task": "leads.nurturing.tasks.refresh_segments_task",
    "leads.tasks.rescore_all_task": "leads.scoring.tasks.rescore_all_task",
    "leads.tasks.rescore_leads_task": "leads.scoring.tasks.rescore_leads_task",
    "leads.tasks.rescore_range_task": "leads.scoring.tasks.rescore_range_task",
    "leads.tasks.run_enrollments_task": "leads.nurturing.tasks.run_enrollments_task",
    "leads.tasks.sla_reassign_task": "leads.distribution.tasks.sla_reassign_task",
    "leads.tasks.train_scoring_task": "leads.scoring.tasks.train_scoring_task",
}


def rename(apps, schema_editor, renamed=RENAMED):
    periodic_task = apps.get_model("django_celery_beat", "PeriodicTask")
    outbox_job = apps.get_model("leads", "OutboxJob")
    for old, new in renamed.items():
        periodic_task.objects.filter(task=old).update(task=new)
        outbox_job.objects.filter(task_name=old).update(task_name=new)


def rename_back(apps, schema_editor):
    rename(apps, schema_editor, renamed={new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0035_scoringmodel_kind"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(rename, rename_back)]
