"""Import jobs from the page: store the upload, configure and queue it (imports.runner runs it)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone as dj_tz
from kombu.exceptions import OperationalError

from abm_dashboard.broker import BrokerUnavailable, broker_available
from imports import mapping as user_mapping
from imports.mapping import UserMapping
from imports.models import ImportJob
from imports.parsing import FileRejected
from imports.profiles import file_header, profile_save
from imports.tasks import run_import

logger = logging.getLogger(__name__)


def import_job_upload(*, kind: str, preset: str, dry_run: bool, timezone: str, upload: Any, user: User,
                      encoding: str = "") -> ImportJob:
    """Store the upload under MEDIA_ROOT (streamed to disk, never held in memory) for preview."""
    job = ImportJob(kind=kind, preset=preset, dry_run=dry_run, timezone=timezone, original_name=upload.name[:255],
                    created_by=user, encoding=encoding)
    job.file.save(Path(upload.name).name or "upload.csv", upload, save=False)
    job.save()
    return job


def import_job_start(*, job: ImportJob) -> None:
    """Queue the import once the status change is committed (the task reads the row).

    Refused at once, with the job left ready to start again, when the broker is down: a job must
    never wait for a queue that is not there."""
    if not broker_available():
        raise BrokerUnavailable("The task queue (Redis) is not answering, so the import cannot start now. "
                                "Nothing was changed; try again in a few minutes.")
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.UPLOADED).update(
        status=ImportJob.Status.PENDING)
    if updated:
        transaction.on_commit(lambda: _enqueue(job.pk))


def _enqueue(job_id: int) -> None:
    try:
        run_import.delay(job_id)
    except OperationalError as exc:  # kombu's: the broker went away between the check and the send
        logger.exception("Could not queue import job %s", job_id)
        ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).update(
            status=ImportJob.Status.FAILED, finished_at=dj_tz.now(),
            error=f"The task queue could not be reached ({type(exc).__name__}); nothing was written. Start it again.")


def import_job_configure(*, job: ImportJob, mapping: UserMapping | None, on_error: str, profile_name: str,
                         user: User) -> None:
    """The mapping step's choices: checked against the file, kept on the job, saved as a profile."""
    if on_error not in ("fail", "skip"):
        raise FileRejected(f"Unknown choice on errors {on_error!r}: fail or skip.")
    path = Path(job.file.path)
    header = file_header(path, job.encoding or None)
    profile = None
    if mapping is not None:
        chosen = user_mapping.choose(header, job.kind, job.preset, mapping)
        if chosen.missing:
            wanted = "; ".join(" or ".join(group) for group in chosen.missing)
            raise FileRejected(f"Choose a column or a constant for: {wanted}.")
        if profile_name:
            profile = profile_save(name=profile_name, kind=job.kind, preset=job.preset, header=header,
                                   mapping=mapping, user=user)
    job.mapping = mapping.to_json() if mapping is not None else {}
    job.on_error = on_error
    job.profile = profile
    job.save(update_fields=["mapping", "on_error", "profile"])
