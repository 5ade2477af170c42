"""Import jobs from the page: store the upload for its preview, then queue it (imports.runner runs it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from imports.models import ImportJob
from imports.tasks import run_import


def import_job_upload(*, kind: str, preset: str, dry_run: bool, timezone: str, upload: Any, user: User) -> ImportJob:
    """Store the upload under MEDIA_ROOT (streamed to disk, never held in memory) for preview."""
    job = ImportJob(kind=kind, preset=preset, dry_run=dry_run, timezone=timezone, original_name=upload.name[:255],
                    created_by=user)
    job.file.save(Path(upload.name).name or "upload.csv", upload, save=False)
    job.save()
    return job


def import_job_start(*, job: ImportJob) -> None:
    """Queue the import once the status change is committed (the task reads the row)."""
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.UPLOADED).update(
        status=ImportJob.Status.PENDING)
    if updated:
        transaction.on_commit(lambda: run_import.delay(job.pk))
