"""The nightly task through a real Celery worker on Redis (the services tier of .ci/run)."""

from __future__ import annotations

import time

import pytest

from metrics.models import AccountSnapshot, InfluenceSummary, MetricsRun, ProgramSnapshot, SegmentSnapshot
from metrics.tasks import compute_snapshots
from tests.metrics.builders import D, account, at, contact, opportunity, program, touch


@pytest.mark.celery_worker
def test_compute_snapshots_through_a_real_worker(celery_worker_process) -> None:
    mail = program("Mail", "email")
    accounts = [account(), account(), account(is_target=False)]
    for acc in accounts:
        who = contact(acc, role="champion")
        touch(acc, "email_click", at(1), who=who, program=mail)  # 2 minutes
        touch(acc, "form_fill", at(2), who=who)  # 10 minutes
    opportunity(accounts[0], "100", at(5), closed=at(1), won=True)

    compute_snapshots.delay(D.isoformat(), chunk_size=2)  # three accounts: a chord of two chunk tasks
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
