from __future__ import annotations

from celery import shared_task

from imports.housekeeping import IMPORT_TASK_EXPIRES, import_files_purge, import_jobs_sweep
from imports.runner import run_import_job


# Not acks_late: an import that dies half way rolls back, and re-running it is the user's call
# (they may have fixed the file); expires so a job queued while workers were down doesn't surprise
# anyone (imports.housekeeping.import_jobs_sweep then marks it failed, saying so).
@shared_task(acks_late=False, expires=IMPORT_TASK_EXPIRES)
def run_import(job_id: int) -> None:
    run_import_job(job_id=job_id)


@shared_task(expires=600)
def sweep_import_jobs() -> int:
    return import_jobs_sweep()


@shared_task(expires=3600)
def purge_import_files() -> int:
    return import_files_purge()
