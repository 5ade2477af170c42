"""After the nightly run: a run that marks its day done queues the day's alerts (metrics.services
calls alerts.hooks.day_published), only for a recent day, and never fails the run."""

from __future__ import annotations

import pytest
from django.core import mail
from freezegun import freeze_time

from alerts import tasks
from alerts.models import Delivery
from metrics.models import MetricsRun
from metrics.services import run_rollups

from .conftest import D

pytestmark = pytest.mark.django_db


def rerun_rollups(capture) -> None:
    """D's run again, up to the point where its rollups mark it done (its chunks are stored)."""
    run = MetricsRun.objects.get(as_of=D)
    MetricsRun.objects.filter(pk=run.pk).update(status="running", chunks_total=0, chunks_done=0)
    with capture(execute=True):
        assert run_rollups(run_id=run.pk)


@freeze_time("2025-04-01 02:30:00")
def test_a_run_that_publishes_yesterday_sends_its_alerts(world, django_capture_on_commit_callbacks):
    rerun_rollups(django_capture_on_commit_callbacks)
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com", "charlie@example.com"]
    # The nightly run repeated: the day is published again, and nothing new is sent.
    rerun_rollups(django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 3 and Delivery.objects.count() == 3


@freeze_time("2025-04-20 02:30:00")
def test_a_backfill_of_an_old_day_sends_nothing(world, django_capture_on_commit_callbacks):
    rerun_rollups(django_capture_on_commit_callbacks)
    assert mail.outbox == [] and not Delivery.objects.exists()


@freeze_time("2025-04-01 02:30:00")
def test_an_alerts_failure_does_not_fail_the_run(world, monkeypatch, django_capture_on_commit_callbacks):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in alerts")

    monkeypatch.setattr("alerts.services.alerts_send_for_day", broken)
    rerun_rollups(django_capture_on_commit_callbacks)
    assert MetricsRun.objects.get(as_of=D).status == "done"


def test_beats_morning_run_takes_the_latest_day_only_while_it_is_news(world, django_capture_on_commit_callbacks):
    with freeze_time("2025-04-10"):
        assert tasks.send_alerts.delay().result == "No recent published day."
    with freeze_time("2025-04-01 06:00"), django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_alerts.delay().result == "2025-03-31: 3 digest(s) to send."
    assert len(mail.outbox) == 3
