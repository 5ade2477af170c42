"""Running one import job in the worker: progress for the page, the outcome on the job row.

Every way out of here leaves the job finished: done, rejected (bad input), or failed with its
reason (a bug, or a result that could not be saved). imports.housekeeping.import_jobs_sweep catches the
one way this code cannot: a worker killed in the middle.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone as dj_tz

from imports.mapping import UserMapping
from imports.models import ImportJob
from imports.services import ImportResult, import_csv
from metrics.tasks import refresh_after_import

logger = logging.getLogger(__name__)

_PHASE_SPAN = {"validate": (0.0, 0.5), "write": (0.5, 1.0)}


def run_import_job(*, job_id: int) -> None:
    # Claimed once: a task delivered twice, or for a job the sweep already failed, does nothing.
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).update(
        status=ImportJob.Status.RUNNING, started_at=dj_tz.now())
    if not claimed:
        logger.warning("Import job %s is not waiting to run; not running it again", job_id)
        return
    job = ImportJob.objects.select_related("profile").get(pk=job_id)

    def progress(phase: str, fraction: float) -> None:
        low, high = _PHASE_SPAN[phase]
        job.report_progress(phase, low + (high - low) * fraction)

    job.report_progress("validate", 0.0)
    try:
        result = import_csv(kind=job.kind, path=Path(job.file.path), preset=job.preset, dry_run=job.dry_run,
                            timezone=job.timezone, progress=progress,
                            mapping=UserMapping.from_json(job.mapping) if job.mapping else None,
                            profile=job.profile.name if job.profile else "", on_error=job.on_error,
                            rejected_path=_rejected_path(job), encoding=job.encoding or None)
        _finish(job, result)
    except Exception as exc:  # a bug, not bad input: recorded on the job for the page, then re-raised
        logger.exception("Import job %s failed", job_id)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED, error=_no_nul(f"{type(exc).__name__}: {exc}")[:2000],
            finished_at=dj_tz.now())
        raise
    finally:
        job.clear_progress()  # the row holds the outcome from here on


def _rejected_path(job: ImportJob) -> Path | None:
    """Where the rejected rows go, beside the upload (so the retention purge takes them too)."""
    if job.on_error != "skip" and job.kind != "targets":
        return None
    upload = Path(job.file.path)
    return upload.with_name(f"{upload.stem}.rejected.csv")


def _finish(job: ImportJob, result: ImportResult) -> None:
    rejected_name = ""
    if result.rejected_file:
        rejected_name = str(Path(result.rejected_file).resolve().relative_to(Path(settings.MEDIA_ROOT).resolve()))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE if result.ok else ImportJob.Status.REJECTED,
        progress=1.0, result=_no_nul(result.to_dict()), finished_at=dj_tz.now(), rejected_file=rejected_name,
    )
    # Touchpoints refresh themselves, only the accounts they touch: accounts.staging sends
    # accounts.signals.touchpoints_changed on commit, which the metrics app acts on.
    if result.ok and not result.dry_run and result.created + result.updated and job.kind != "touchpoints":
        # Fresh within minutes: the published days the new facts change are recomputed now.
        since = result.earliest_day or None
        transaction.on_commit(lambda: refresh_after_import.delay(since))


def _no_nul(value: Any) -> Any:
    """PostgreSQL text and jsonb refuse U+0000; a file's bytes can put one in a message or a cell."""
    if isinstance(value, str):
        return value.replace("\x00", "\\x00")
    if isinstance(value, dict):
        return {_no_nul(k): _no_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nul(v) for v in value]
    return value
