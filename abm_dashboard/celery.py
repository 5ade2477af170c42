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
        # the day's windows closed at midnight and before people open the dashboard.
        "nightly-metrics": {
            "task": "metrics.tasks.compute_snapshots",
            "schedule": crontab(hour=settings.METRICS_NIGHTLY_HOUR_UTC, minute=0),
        },
    }
