"""The default periodic jobs. Beat copies them into django-celery-beat's tables, where managers can
change or pause them in admin (settings.CELERY_BEAT_SCHEDULE)."""

from celery.schedules import crontab


def beat_schedule(*, outbox_sweep_seconds: float) -> dict:
    """Every periodic job by name: the task it runs and when."""
    return {
        # The outbox sweeper: a job whose publish failed, whose message the broker lost or whose worker
        # died is sent again within seconds of the broker answering (leads/jobs.py, docs/jobs.md).
        "sweep-outbox": {"task": "leads.tasks.sweep_outbox_task", "schedule": outbox_sweep_seconds},
        "sweep-unprocessed-leads": {"task": "leads.tasks.sweep_unprocessed_leads_task", "schedule": 120.0},
        "engagement-roll-windows": {"task": "leads.tasks.engagement_roll_windows_task", "schedule": 3600.0},
        "poll-mailboxes": {"task": "leads.capture.tasks.poll_mailboxes_task", "schedule": 60.0},
        # Distribution: queued leads go to whoever became available; overdue first contacts move on.
        "drain-assignment-queues": {"task": "leads.distribution.tasks.drain_queues_task", "schedule": 60.0},
        "sla-reassign-overdue": {"task": "leads.distribution.tasks.sla_reassign_task", "schedule": 60.0},
        # The predictive half of scoring learns from the day's won and lost leads (then rescores).
        "train-scoring-model": {
            "task": "leads.scoring.tasks.train_scoring_task",
            "schedule": crontab(hour=2, minute=30),
        },
        # Nurture sequences: due steps (emails, waits, branches, tasks) run every minute.
        "process-due-enrollments": {"task": "leads.nurturing.tasks.process_due_enrollments_task", "schedule": 60.0},
        # Segments: dynamic segments are re-evaluated; leads that entered enroll in their sequences.
        "refresh-segments": {"task": "leads.nurturing.tasks.refresh_segments_task", "schedule": 15 * 60.0},
        # Automations: waits and retries that are due resume; "inactive for N days" scans hourly (set-based).
        "automations-resume-due": {"task": "leads.automations.tasks.automations_resume_due_task", "schedule": 60.0},
        "automations-scan-inactive": {
            "task": "leads.automations.tasks.automations_scan_inactive_task",
            "schedule": 3600.0,
        },
        "automations-scan-dates": {"task": "leads.automations.tasks.automations_scan_dates_task", "schedule": 3600.0},
        # Outbound webhooks: due deliveries whose task was lost (broker outage, killed worker) go again.
        "sweep-webhook-deliveries": {"task": "leads.outbound.tasks.deliveries_sweep_task", "schedule": 60.0},
        # Reps' email: scheduled sends and retries that are due (a worker restart loses none).
        "send-due-rep-emails": {"task": "leads.rep_email.tasks.rep_emails_sweep_task", "schedule": 30.0},
        # Meta Lead Ads: leads whose webhook never came are listed from the Graph API and captured.
        "meta-leads-backfill": {"task": "leads.capture.tasks.meta_backfill_task", "schedule": 15 * 60.0},
        # Privacy: what is past its retention time goes, set-based (docs/privacy.md).
        "privacy-retention-purge": {
            "task": "leads.privacy.tasks.retention_purge_task",
            "schedule": crontab(hour=3, minute=15),
        },
        # Outbound webhooks: deliveries older than OUTBOUND_WEBHOOK_RETENTION_DAYS go (pending ones never).
        "purge-webhook-deliveries": {
            "task": "leads.outbound.tasks.deliveries_purge_task",
            "schedule": crontab(hour=3, minute=45),
        },
    }
