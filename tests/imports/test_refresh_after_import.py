"""After an import, the published days its facts change are recomputed at once, not the next night."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.base import ContentFile

from imports.models import ImportJob
from imports.runner import run_import_job
from metrics.models import AccountSnapshot, MetricsRun
from metrics.selectors import days_to_refresh
from metrics.services import compute_day
from tests.metrics.builders import D, account

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _job(kind: str, text: str) -> ImportJob:
    job = ImportJob(kind=kind, original_name=f"{kind}.csv", status=ImportJob.Status.PENDING)
    job.file.save(f"{kind}.csv", ContentFile(text.encode()), save=False)
    job.save()
    return job


def _published(*days: dt.date) -> None:
    for day in days:
        compute_day(as_of=day)


def test_the_days_from_the_earliest_fact_on_are_refreshed():
    account("Acme", external_id="A1")
    _published(D - dt.timedelta(days=2), D - dt.timedelta(days=1), D)
    assert days_to_refresh(since=D - dt.timedelta(days=1), max_days=7) == [D - dt.timedelta(days=1), D]
    # Facts without a date of their own (contacts, target flags): the latest published day.
    assert days_to_refresh(since=None, max_days=7) == [D]
    # Only the latest max_days published days: older history is left to compute_metrics --days.
    assert days_to_refresh(since=D - dt.timedelta(days=30), max_days=2) == [D - dt.timedelta(days=1), D]


def test_imported_touches_show_in_the_published_day_right_after_the_import(django_capture_on_commit_callbacks):
    acme = account("Acme", external_id="A1")
    _published(D)
    assert AccountSnapshot.objects.get(account=acme, as_of=D).minutes_90d == 0
    # A meeting (30 minutes by default) and a form fill (10) the day before D.
    job = _job("touchpoints", "external_id,source,kind,occurred_at,account_external_id\n"
                              "t1,crm,meeting,2024-06-29T10:00:00Z,A1\nt2,crm,form_fill,2024-06-29T11:00:00Z,A1\n")
    with django_capture_on_commit_callbacks(execute=True):
        run_import_job(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.result["earliest_day"]) == ("done", "2024-06-29")
    assert AccountSnapshot.objects.get(account=acme, as_of=D).minutes_90d == 40
    assert MetricsRun.objects.get(as_of=D).status == MetricsRun.Status.DONE


def test_a_rejected_or_dry_import_refreshes_nothing(django_capture_on_commit_callbacks):
    account("Acme", external_id="A1")
    _published(D)
    started = MetricsRun.objects.get(as_of=D).started_at
    rejected = _job("touchpoints", "external_id,source,kind,occurred_at,account_external_id\n"
                                   "t1,crm,meeting,2024-06-29T10:00:00Z,NOPE\n")
    dry = _job("touchpoints", "external_id,source,kind,occurred_at,account_external_id\n"
                              "t1,crm,meeting,2024-06-29T10:00:00Z,A1\n")
    ImportJob.objects.filter(pk=dry.pk).update(dry_run=True)
    with django_capture_on_commit_callbacks(execute=True):
        run_import_job(job_id=rejected.pk)
        run_import_job(job_id=dry.pk)
    assert ImportJob.objects.get(pk=dry.pk).result["created"] == 1  # it would have written one
    assert MetricsRun.objects.get(as_of=D).started_at == started
