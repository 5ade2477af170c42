"""Import jobs never hang: every way out marks the job, the broker down refuses at once, dead
workers and expired tasks are swept, old uploads are deleted, and uploads have a size limit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from imports import jobs
from imports.housekeeping import import_files_purge, import_jobs_sweep
from imports.models import ImportJob
from imports.runner import run_import_job

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _job(status: str = ImportJob.Status.PENDING, text: str = "external_id,name\nA1,Acme\n", **fields) -> ImportJob:
    job = ImportJob(kind="accounts", original_name="a.csv", status=status, **fields)
    job.file.save("a.csv", ContentFile(text.encode()), save=False)
    job.save()
    return job


@pytest.mark.django_db
def test_a_job_runs_once_even_if_its_task_comes_twice():
    job = _job()
    run_import_job(job_id=job.pk)
    run_import_job(job_id=job.pk)  # a redelivered task finds the job no longer waiting
    job.refresh_from_db()
    assert (job.status, job.result["created"]) == ("done", 1)
    assert Account.objects.count() == 1


@pytest.mark.django_db
def test_a_failure_while_saving_the_result_still_finishes_the_job(monkeypatch):
    job = _job()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full\x00")

    monkeypatch.setattr("imports.runner._finish", broken)
    with pytest.raises(RuntimeError):
        run_import_job(job_id=job.pk)
    job.refresh_from_db()
    # The NUL is escaped: PostgreSQL text refuses U+0000, which would have left the job running.
    assert (job.status, job.error) == ("failed", "RuntimeError: disk full\\x00")
    assert job.finished_at is not None


@pytest.mark.django_db
def test_a_running_job_without_a_heartbeat_is_failed_by_the_sweep(settings):
    settings.IMPORT_STALL_MINUTES = 30
    now = timezone.now()  # heartbeats are wall-clock times
    lost = _job(ImportJob.Status.RUNNING)
    ImportJob.objects.filter(pk=lost.pk).update(started_at=now - dt.timedelta(minutes=31))
    alive = _job(ImportJob.Status.RUNNING)
    ImportJob.objects.filter(pk=alive.pk).update(started_at=now - dt.timedelta(minutes=90))
    alive.report_progress("write", 0.7)  # a heartbeat just now: a long import, still going
    young = _job(ImportJob.Status.RUNNING)
    ImportJob.objects.filter(pk=young.pk).update(started_at=now - dt.timedelta(minutes=5))

    assert import_jobs_sweep(now=now) == 1
    states = dict(ImportJob.objects.values_list("pk", "status"))
    assert states == {lost.pk: "failed", alive.pk: "running", young.pk: "running"}
    assert "no progress for 30 minutes" in ImportJob.objects.get(pk=lost.pk).error


@pytest.mark.django_db
def test_a_job_no_worker_took_within_the_task_expiry_is_failed():
    waiting = _job(ImportJob.Status.PENDING)
    ImportJob.objects.filter(pk=waiting.pk).update(created_at=NOW - dt.timedelta(minutes=61))
    fresh = _job(ImportJob.Status.PENDING)
    ImportJob.objects.filter(pk=fresh.pk).update(created_at=NOW - dt.timedelta(minutes=10))
    assert import_jobs_sweep(now=NOW) == 1
    assert ImportJob.objects.get(pk=waiting.pk).error.startswith("No worker picked this import up within an hour")
    assert ImportJob.objects.get(pk=fresh.pk).status == "pending"


@pytest.mark.django_db
def test_uploads_older_than_the_retention_are_deleted(settings):
    settings.IMPORT_RETENTION_DAYS = 7
    old = _job(ImportJob.Status.DONE)
    ImportJob.objects.filter(pk=old.pk).update(created_at=NOW - dt.timedelta(days=8))
    recent = _job(ImportJob.Status.DONE)
    ImportJob.objects.filter(pk=recent.pk).update(created_at=NOW - dt.timedelta(days=6))
    running = _job(ImportJob.Status.RUNNING)
    ImportJob.objects.filter(pk=running.pk).update(created_at=NOW - dt.timedelta(days=8))

    assert import_files_purge(now=NOW) == 1
    old.refresh_from_db()
    assert old.files_deleted_at == NOW and not Path(old.file.path).exists()
    assert Path(recent.file.path).exists() and Path(running.file.path).exists()
    assert import_files_purge(now=NOW) == 0  # nothing twice


@pytest.mark.django_db
def test_starting_an_import_with_the_broker_down_is_refused_at_once(client, alice, monkeypatch):
    monkeypatch.setattr(jobs, "broker_available", lambda: False)
    client.force_login(alice)
    job = _job(ImportJob.Status.UPLOADED)
    response = client.post(reverse("imports:run", args=[job.pk]))
    assert response.status_code == 503
    assert "The task queue (Redis) is not answering" in response.content.decode()
    job.refresh_from_db()
    assert job.status == "uploaded"  # ready to start again, not waiting forever


@pytest.mark.django_db
def test_an_upload_over_the_limit_is_refused(client, alice, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024
    client.force_login(alice)
    data = {"kind": "accounts", "preset": "auto", "timezone": "UTC",
            "file": SimpleUploadedFile("big.csv", b"external_id,name\n" + b"A,B\n" * 400)}
    response = client.post(reverse("imports:import"), data)
    assert response.status_code == 200
    assert "The file is 1.6\xa0KB; the largest accepted is 1.0\xa0KB" in response.content.decode()
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_an_unknown_encoding_is_refused_on_upload(client, alice):
    client.force_login(alice)
    data = {"kind": "accounts", "preset": "auto", "timezone": "UTC", "encoding": "klingon",
            "file": SimpleUploadedFile("a.csv", b"external_id,name\nA1,Acme\n")}
    response = client.post(reverse("imports:import"), data)
    assert "Unknown encoding &#x27;klingon&#x27;" in response.content.decode()
    assert ImportJob.objects.count() == 0
