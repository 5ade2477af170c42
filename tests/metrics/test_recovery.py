"""Stalled runs: a run whose chunks stop finishing (a worker died holding one, its message waits
for the broker's visibility timeout) gets its missing work re-queued, and is failed with the
reason after METRICS_RUN_MAX_ATTEMPTS re-queues."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from metrics import selectors, services, tasks
from metrics.models import (
    AccountSnapshot,
    AttributionCredit,
    ChannelSnapshot,
    InfluenceSummary,
    MetricsRun,
    OutcomeGroup,
    ProgramSnapshot,
    SegmentSnapshot,
)
from tests.metrics.builders import D, account, at, contact, opportunity, program, touch

pytestmark = pytest.mark.django_db

SNAPSHOT_MODELS = (AccountSnapshot, SegmentSnapshot, ProgramSnapshot, ChannelSnapshot, OutcomeGroup,
                   AttributionCredit, InfluenceSummary)
NOW = timedelta(0)


def _world(n: int = 7) -> None:
    mail = program("Mail", "email")
    for i in range(n):
        acc = account(is_target=i % 3 != 0)
        who = contact(acc, role="champion", seniority="cxo" if i == 0 else "other")
        touch(acc, "email_click", at(i + 1), who=who, program=mail)
        touch(acc, "meeting", at(i + 2), who=who)
        opportunity(acc, "1000", at(i + 20), closed=at(i + 1), won=i % 2 == 0)


def _table(model) -> list[tuple]:
    """Every row of the table, every field but the id, in a stable order."""
    fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
    return sorted(model.objects.values_list(*fields), key=repr)


def _tables() -> dict:
    return {model.__name__: _table(model) for model in SNAPSHOT_MODELS}


def _stalled(run: MetricsRun, minutes: int) -> None:
    MetricsRun.objects.filter(pk=run.pk).update(progressed_at=timezone.now() - timedelta(minutes=minutes))


@pytest.fixture
def queued(monkeypatch) -> list[tuple]:
    """The tasks the recovery queues, (name, args), as they are queued (they still run, in-process)."""
    sent: list[tuple] = []
    for task in (tasks.compute_chunk, tasks.compute_rollups_task):
        original = task.apply_async

        def record(args, *rest, _original=original, _name=task.name.rsplit(".", 1)[1], **options):
            sent.append((_name, tuple(args)))
            return _original(args, *rest, **options)

        monkeypatch.setattr(task, "apply_async", record)
    return sent


def _run_losing(lost: set[int], chunk_size: int = 2) -> MetricsRun:
    """A run of D whose chunks `lost` (indexes) never ran: their worker died holding them."""
    run = services.run_start(as_of=D, chunk_size=chunk_size)
    for chunk in run.chunks.order_by("index"):
        if chunk.index not in lost:
            tasks.compute_chunk.delay(run.pk, chunk.pk)
    run.refresh_from_db()
    return run


def test_a_stalled_run_gets_only_its_missing_chunks_and_ends_as_a_clean_run_would(queued) -> None:
    _world()
    services.compute_day(as_of=D)
    clean = _tables()
    run = _run_losing({1, 3})  # 4 chunks of 2, 2 and 2, and 1 account
    queued.clear()
    assert (run.status, run.chunks_done, run.chunks_total) == ("running", 2, 4)
    missing = list(run.chunks.filter(done_at=None).order_by("index").values_list("pk", flat=True))

    _stalled(run, 11)
    [recovery] = services.recover_stalled_runs()
    assert (recovery.requeued_chunks, recovery.failed) == (2, False)
    assert queued == [("compute_chunk", (run.pk, missing[0])), ("compute_chunk", (run.pk, missing[1])),
                      ("compute_rollups_task", (run.pk,))]
    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.chunks_total, run.requeues) == ("done", 4, 4, 1)
    assert _tables() == clean  # every snapshot row, field by field


def test_a_run_still_progressing_is_left_alone(queued, settings) -> None:
    settings.METRICS_RUN_STALL_MINUTES = 10
    _world()
    run = _run_losing({1})
    queued.clear()
    _stalled(run, 9)
    assert services.recover_stalled_runs() == []
    assert queued == []
    _stalled(run, 10)
    assert [r.requeued_chunks for r in services.recover_stalled_runs()] == [1]


def test_lost_rollups_are_queued_again(queued) -> None:
    _world()
    run = services.run_start(as_of=D, chunk_size=4)
    for chunk in run.chunks.all():
        services.compute_run_chunk(chunk_id=chunk.pk)  # stored, but nobody queued the rollups
    [recovery] = services.recover_stalled_runs(stall_after=NOW)
    assert (recovery.requeued_chunks, recovery.requeued_rollups) == (0, True)
    assert queued == [("compute_rollups_task", (run.pk,))]
    assert MetricsRun.objects.get(pk=run.pk).status == "done"


def test_after_max_attempts_the_run_fails_with_its_reason(monkeypatch, settings) -> None:
    settings.METRICS_RUN_MAX_ATTEMPTS = 3
    _world()
    run = _run_losing({2})
    # The re-queued chunk is lost every time (say, its accounts kill the worker).
    monkeypatch.setattr(services, "run_dispatch", lambda **kwargs: None)
    for attempt in (1, 2, 3):
        _stalled(run, 11)
        [recovery] = services.recover_stalled_runs()
        assert (recovery.failed, MetricsRun.objects.get(pk=run.pk).requeues) == (False, attempt)
    _stalled(run, 11)
    [recovery] = services.recover_stalled_runs()
    run.refresh_from_db()
    assert (recovery.failed, run.status) == (True, "failed")
    assert run.error == ("Stalled: no progress for 11 minutes after 3 re-queue(s); 1 of 4 chunks never finished. "
                         "The nightly run computes the day again; see the worker log.")
    assert run.finished_at is not None
    assert not selectors.is_published(D)
    assert services.recover_stalled_runs(stall_after=NOW) == []  # nothing left to recover


def test_a_day_waiting_behind_another_runs_chunks_is_not_stalled(queued) -> None:
    # The nightly backfill queues several days; the later ones wait while the earlier progress.
    _world()
    waiting = services.run_start(as_of=D, chunk_size=2)
    working = services.run_start(as_of=D - timedelta(days=1), chunk_size=2)
    _stalled(waiting, 30)
    services.compute_run_chunk(chunk_id=working.chunks.get(index=0).pk)  # progress, just now
    assert services.recover_stalled_runs() == []
    assert queued == []


def test_the_beat_task_reports_what_it_did() -> None:
    _world()
    run = _run_losing({0})
    _stalled(run, 11)
    assert tasks.recover_stalled_runs.delay().get() == ["2024-06-30: re-queued 1 chunk(s)"]
    assert MetricsRun.objects.get(pk=run.pk).status == "done"
