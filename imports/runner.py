"""Running one import job in the worker: progress for the page, the outcome on the job row."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils import timezone as dj_tz

from imports.mapping import UserMapping
from imports.models import ImportJob
from imports.services import import_csv

_PHASE_SPAN = {"validate": (0.0, 0.5), "write": (0.5, 1.0)}


def run_import_job(*, job_id: int) -> None:
    job = ImportJob.objects.select_related("profile").get(pk=job_id)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, started_at=dj_tz.now())

    def progress(phase: str, fraction: float) -> None:
        low, high = _PHASE_SPAN[phase]
        job.report_progress(phase, low + (high - low) * fraction)

    rejected = None
    if job.on_error == "skip" or job.kind == "targets":
        rejected = Path(job.file.path).with_name(f"{Path(job.file.path).stem}.rejected.csv")
    try:
        result = import_csv(kind=job.kind, path=Path(job.file.path), preset=job.preset, dry_run=job.dry_run,
                            timezone=job.timezone, progress=progress,
                            mapping=UserMapping.from_json(job.mapping) if job.mapping else None,
                            profile=job.profile.name if job.profile else "", on_error=job.on_error,
                            rejected_path=rejected, encoding=job.encoding or None)
    except Exception as exc:  # a bug, not bad input: recorded on the job for the page, then re-raised
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, error=repr(exc),
                                                   finished_at=dj_tz.now())
        raise
    finally:
        job.clear_progress()  # the row holds the outcome from here on
    rejected_name = ""
    if result.rejected_file:
        rejected_name = str(Path(result.rejected_file).resolve().relative_to(Path(settings.MEDIA_ROOT).resolve()))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE if result.ok else ImportJob.Status.REJECTED,
        progress=1.0, result=result.to_dict(), finished_at=dj_tz.now(), rejected_file=rejected_name,
    )

