"""Import housekeeping (Celery beat): fail the jobs that can no longer finish, delete old uploads."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone as dj_tz

from imports.models import ImportJob

# How long a queued import waits for a worker before the broker drops it (imports.tasks).
IMPORT_TASK_EXPIRES = 3600


def import_jobs_sweep(*, now: dt.datetime | None = None) -> int:
    """Fail the jobs that can no longer finish, with their reason; returns how many.

    A running import reports progress (a heartbeat) at least every few thousand rows; one silent
    for IMPORT_STALL_MINUTES lost its worker, and its transaction was rolled back with it. A job
    still waiting after the task's expiry was never picked up."""
    now = now or dj_tz.now()
    stall = dt.timedelta(minutes=settings.IMPORT_STALL_MINUTES)
    failed = 0
    for job in ImportJob.objects.filter(status=ImportJob.Status.RUNNING, started_at__lt=now - stall):
        beat = job.last_heartbeat()
        if beat is None or now.timestamp() - beat > stall.total_seconds():
            failed += ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
                status=ImportJob.Status.FAILED, finished_at=now,
                error=f"The worker running this import stopped (no progress for {settings.IMPORT_STALL_MINUTES} "
                      "minutes). Nothing was written: an import commits all at once. Start it again.")
    failed += ImportJob.objects.filter(
        status=ImportJob.Status.PENDING, created_at__lt=now - dt.timedelta(seconds=IMPORT_TASK_EXPIRES)).update(
        status=ImportJob.Status.FAILED, finished_at=now,
        error="No worker picked this import up within an hour. Nothing was written. Start it again once the "
              "workers run (see docs/operations.md).")
    return failed


def import_files_purge(*, now: dt.datetime | None = None) -> int:
    """Delete uploads and rejected-row files older than IMPORT_RETENTION_DAYS; returns how many jobs."""
    now = now or dj_tz.now()
    cutoff = now - dt.timedelta(days=settings.IMPORT_RETENTION_DAYS)
    old = ImportJob.objects.filter(created_at__lt=cutoff, files_deleted_at__isnull=True).exclude(
        status__in=[ImportJob.Status.PENDING, ImportJob.Status.RUNNING])
    purged = 0
    for job in old.iterator():
        for stored in (job.file, job.rejected_file):
            if stored:
                stored.storage.delete(stored.name)
        ImportJob.objects.filter(pk=job.pk).update(files_deleted_at=now, rejected_file="")
        purged += 1
    return purged
