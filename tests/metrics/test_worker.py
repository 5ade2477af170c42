"""The metrics runs through real Celery workers on Redis (the services tier of .ci/run): the
nightly task, and a worker killed with kill -9 in the middle of a run."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import psycopg
import pytest
from django.db import connection

from dashboard.selectors import resolve_as_of
from metrics import selectors, services
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
from metrics.tasks import compute_snapshots
from tests.metrics.builders import D, account, at, contact, opportunity, program, touch

YESTERDAY = D - timedelta(days=1)


@pytest.mark.celery_worker
def test_compute_snapshots_through_a_real_worker(celery_worker_process) -> None:
    mail = program("Mail", "email")
    accounts = [account(), account(), account(is_target=False)]
    for acc in accounts:
        who = contact(acc, role="champion")
        touch(acc, "email_click", at(1), who=who, program=mail)  # 2 minutes
        touch(acc, "form_fill", at(2), who=who)  # 10 minutes
    opportunity(accounts[0], "100", at(5), closed=at(1), won=True)

    compute_snapshots.delay(D.isoformat(), chunk_size=2)  # three accounts: two chunk tasks, then the rollups
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = MetricsRun.objects.filter(as_of=D).first()
        if run and run.status in (MetricsRun.Status.DONE, MetricsRun.Status.FAILED):
            break
        time.sleep(0.2)
    run = MetricsRun.objects.get(as_of=D)
    assert (run.status, run.error) == ("done", "")
    assert (run.chunks_total, run.chunks_done) == (2, 2)
    minutes = dict(AccountSnapshot.objects.filter(as_of=D).values_list("account_id", "minutes_90d"))
    assert minutes == {acc.pk: 12.0 for acc in accounts}  # 2 + 10 each
    assert SegmentSnapshot.objects.get(as_of=D, segment=None).accounts == 2
    assert ProgramSnapshot.objects.get(as_of=D, program=mail).touched_accounts == 3
    assert InfluenceSummary.objects.filter(as_of=D).exists()


# ---------------------------------------------------------------------------- a worker killed mid-run

SNAPSHOT_MODELS = (AccountSnapshot, SegmentSnapshot, ProgramSnapshot, ChannelSnapshot, OutcomeGroup,
                   AttributionCredit, InfluenceSummary)


def _tables() -> dict[str, list[tuple]]:
    """Every row of every snapshot table, every field but the id, in a stable order."""
    tables = {}
    for model in SNAPSHOT_MODELS:
        fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        tables[model.__name__] = sorted(model.objects.values_list(*fields), key=repr)
    return tables


class Progress:
    """Polls the run of D, remembering the highest progress it ever showed."""

    def __init__(self) -> None:
        self.highest = 0.0

    def run(self) -> MetricsRun | None:
        run = MetricsRun.objects.filter(as_of=D).first()
        if run and run.chunks_total:
            assert run.chunks_done <= run.chunks_total, (run.chunks_done, run.chunks_total)
            self.highest = max(self.highest, run.chunks_done / run.chunks_total)
        return run

    def wait(self, until, what: str, timeout: float = 60) -> MetricsRun:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run()
            if run and until(run):
                return run
            time.sleep(0.02)
        pytest.fail(f"timed out waiting for {what}: {self.run()}")


def _waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0]


@pytest.mark.celery_worker
def test_a_worker_killed_mid_run_is_recovered_and_the_day_ends_as_a_clean_run(celery_workers, client, alice):
    timings: dict[str, float] = {}
    clock = time.monotonic()
    mail = program("Mail", "email")
    accounts = []
    for i in range(30):
        acc = account(is_target=i % 3 != 0)
        who = contact(acc, role="champion", seniority="cxo" if i % 5 == 0 else "other")
        touch(acc, "email_click", at(i % 20 + 1), who=who, program=mail)
        touch(acc, "meeting", at(i % 7 + 2), who=who)
        opportunity(acc, "1000", at(i + 20), closed=at(i % 10 + 1), won=i % 2 == 0)
        accounts.append(acc)
    services.compute_day(as_of=YESTERDAY)  # the last complete day, in this process

    # The worker that takes chunk 8 (accounts 17 and 18) is held mid-chunk: this connection keeps
    # a row locked that the chunk's transaction must replace (a snapshot of D left by an earlier try).
    held = AccountSnapshot.objects.create(account=accounts[16], as_of=D)
    db = connection.settings_dict
    locker = psycopg.connect(dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None,
                             host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432)
    locker.execute("SELECT id FROM metrics_accountsnapshot WHERE id = %s FOR UPDATE", [held.pk])
    timings["setup"] = time.monotonic() - clock

    clock = time.monotonic()
    first = celery_workers()
    timings["first worker start"] = time.monotonic() - clock
    clock = time.monotonic()
    compute_snapshots.delay(D.isoformat(), chunk_size=2)  # 30 accounts: 15 chunk tasks
    progress = Progress()
    progress.wait(lambda run: run.chunks_done == 8, "8 of 15 chunks")
    deadline = time.monotonic() + 30
    while not _waiting_for_a_lock() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _waiting_for_a_lock(), "the worker never reached chunk 8"
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    locker.rollback()  # the killed worker's database session ends once it finds its client gone
    locker.close()
    timings["8 chunks, then kill -9"] = time.monotonic() - clock

    # Meanwhile no reader shows the partial day: YESTERDAY is the last published one.
    run = progress.run()
    assert (run.status, run.chunks_done, run.chunks_total) == ("running", 8, 15)
    assert AccountSnapshot.objects.filter(as_of=D).count() == 16 + 1  # 8 chunks of 2, and the held row
    assert selectors.latest_published_day() == YESTERDAY
    as_of = resolve_as_of(None)
    assert (as_of.day, as_of.computing.as_of, as_of.computing.chunks_done) == (YESTERDAY, D, 8)
    client.force_login(alice)
    assert {r["as_of"] for r in client.get("/api/v1/metrics/account-snapshots/").json()["results"]} == {
        YESTERDAY.isoformat()}
    assert "Computing 2024-06-30: 8 of 15 chunks done." in client.get("/accounts/").content.decode()

    clock = time.monotonic()
    celery_workers()  # a new worker takes the chunks still queued; chunk 8's message is held by Redis
    timings["second worker start"] = time.monotonic() - clock
    clock = time.monotonic()
    run = progress.wait(lambda run: run.chunks_done == 14, "the 6 chunks still queued")
    time.sleep(0.5)
    assert (progress.run().chunks_done, progress.run().status) == (14, "running")  # chunk 8 is missing
    assert selectors.latest_published_day() == YESTERDAY
    timings["queued chunks on the new worker"] = time.monotonic() - clock

    clock = time.monotonic()
    [recovery] = services.recover_stalled_runs(stall_after=timedelta(0))  # the beat task, without the wait
    assert (recovery.as_of, recovery.requeued_chunks, recovery.failed) == (D, 1, False)
    run = progress.wait(lambda run: run.status != "running", "the run to finish")
    timings["recovery to done"] = time.monotonic() - clock
    assert (run.status, run.error, run.chunks_done, run.chunks_total, run.requeues) == ("done", "", 15, 15, 1)
    assert run.chunks.filter(done_at__isnull=False).count() == 15
    assert progress.highest == 1.0
    assert selectors.latest_published_day() == D

    through_the_worker = _tables()
    clock = time.monotonic()
    services.compute_day(as_of=D)  # a clean run of the same day, in this process
    timings["clean in-process run"] = time.monotonic() - clock
    assert _tables() == through_the_worker  # every snapshot row, field by field
    print("fault test timings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
