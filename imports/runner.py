"""Running one import job in the worker: progress for the page, the outcome on the job row."""

from __future__ import annotations

from pathlib import Path

from django.utils import timezone as dj_tz

from imports.models import ImportJob
from imports.services import import_csv

_PHASE_SPAN = {"validate": (0.0, 0.5), "write": (0.5, 1.0)}


def run_import_job(*, job_id: int) -> None:
    job = ImportJob.objects.get(pk=job_id)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, started_at=dj_tz.now())

    def progress(phase: str, fraction: float) -> None:
        low, high = _PHASE_SPAN[phase]
        job.report_progress(phase, low + (high - low) * fraction)

    try:
        result = import_csv(kind=job.kind, path=Path(job.file.path), preset=job.preset, dry_run=job.dry_run,
                            timezone=job.timezone, progress=progress)
    except Exception as exc:  # a bug, not bad input: recorded on the job for the page, then re-raised
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, error=repr(exc),
                                                   finished_at=dj_tz.now())
        raise
    finally:
        job.clear_progress()  # the row holds the outcome from here on
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE if result.ok else ImportJob.Status.REJECTED,
        progress=1.0, result=result.to_dict(), finished_at=dj_tz.now(),
    )

