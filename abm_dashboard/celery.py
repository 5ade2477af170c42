"""The Celery app. Configuration comes from Django settings under the CELERY_ namespace."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "abm_dashboard.settings")

app = Celery("abm_dashboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _schedule_nightly(sender: Celery, **kwargs) -> None:
    """Exactly one beat process runs these (docker-compose: the `beat` service)."""
    from celery.schedules import crontab
    from django.conf import settings

    sender.conf.beat_schedule = {
        # The metrics snapshots of yesterday, the last whole UTC day, early in the morning: after
        # the day's windows closed at midnight and before people open the dashboard. Any earlier
        # day of the last METRICS_BACKFILL_MAX_DAYS left incomplete (a failed night) comes too.
        "nightly-metrics": {
            "task": "metrics.tasks.compute_snapshots",
            "schedule": crontab(hour=settings.METRICS_NIGHTLY_HOUR_UTC, minute=0),
        },
        # A run whose worker died loses the chunk it held until Redis's visibility timeout;
        # this finds runs that stopped progressing and re-queues their missing chunks.
        "recover-stalled-metrics-runs": {
            "task": "metrics.tasks.recover_stalled_runs",
            "schedule": 60.0,
        },
        # New touches' refresh requests whose task was lost (metrics.tasks.queue_refresh).
        "refresh-stranded-requests": {
            "task": "metrics.tasks.refresh_stranded",
            "schedule": 60.0,
        },
        # An import whose worker died stays "running" (its transaction rolled back); one queued
        # while no worker ran expires. Both are marked failed with the reason.
        "sweep-import-jobs": {
            "task": "imports.tasks.sweep_import_jobs",
            "schedule": 300.0,
        },
        # The ICP fit score learns from the deals closed up to yesterday and rescores every account
        # (fit/tasks.py); one run a night is enough, as deals close at the pace of sales cycles.
        "nightly-fit": {
            "task": "fit.tasks.train_fit",
            "schedule": crontab(hour=settings.FIT_NIGHTLY_HOUR_UTC, minute=0),
        },
        # On PostgreSQL, touchpoints are partitioned by month (accounts/partitions.py): the coming
        # months' partitions are made ahead, so an import never has to create one mid-run.
        "touchpoint-partitions": {
            "task": "accounts.tasks.create_touchpoint_partitions",
            "schedule": crontab(hour=2, minute=15),
        },
        # Uploaded files hold customer data: kept IMPORT_RETENTION_DAYS, then deleted.
        "purge-import-files": {
            "task": "imports.tasks.purge_import_files",
            "schedule": crontab(hour=3, minute=30),
        },
        # A finished nightly run queues its day's alert digests and webhooks itself; this catches a
        # day whose queueing was lost (broker down at that moment). Sends nothing twice.
        "alert-digests": {
            "task": "alerts.tasks.send_alerts",
            "schedule": crontab(hour=settings.ALERTS_DIGEST_HOUR_UTC, minute=0),
        },
        # The weekly executive summary, Monday morning, of the latest complete day (Sunday's).
        "weekly-executive-summary": {
            "task": "alerts.tasks.send_weekly_summaries",
            "schedule": crontab(day_of_week=1, hour=settings.ALERTS_WEEKLY_HOUR_UTC, minute=0),
        },
    }
