from __future__ import annotations

from celery import shared_task

from imports.runner import run_import_job


# Not acks_late: an import that dies half way rolls back, and re-running it is the user's call
# (they may have fixed the file); expires so a job queued while workers were down doesn't surprise anyone.
@shared_task(acks_late=False, expires=3600)
def run_import(job_id: int) -> None:
    run_import_job(job_id=job_id)
