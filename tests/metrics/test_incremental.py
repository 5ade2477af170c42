"""After new touches arrive (a CSV import, POST /touchpoints/bulk) only the accounts they touch are
recomputed, in the published days from the earliest touch on, with those days' rollups; the day
stays published and records the refresh (metrics.services.refresh_accounts)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.template import Context, Template
from rest_framework.test import APIClient

from accounts.models import Touchpoint
from imports.models import ImportJob
from imports.runner import run_import_job
from metrics import selectors, services
from metrics.models import (
    AccountSnapshot,
    ChannelSnapshot,
    InfluenceSummary,
    MetricsRun,
    ProgramSnapshot,
    SegmentSnapshot,
)
from tests.metrics.builders import D, account, at, program, touch

pytestmark = pytest.mark.django_db

D1, D2 = D - dt.timedelta(days=1), D - dt.timedelta(days=2)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _snapshots(day: dt.date) -> dict[int, dict[str, Any]]:
    return {row.pop("account_id"): row for row in AccountSnapshot.objects.filter(as_of=day).values()}


def _rollups(day: dt.date) -> dict[str, Any]:
    """Every rollup row of the day, without the row ids (the rollups replace their rows)."""
    def rows(model: Any) -> list[dict[str, Any]]:
        return sorted((({k: v for k, v in r.items() if k != "id"}) for r in model.objects.filter(as_of=day).values()),
                      key=repr)
    return {m.__name__: rows(m) for m in (SegmentSnapshot, ProgramSnapshot, ChannelSnapshot, InfluenceSummary)}


def _five_accounts():
    """Five target accounts with 10, 20, 30, 40 and 50 meeting minutes four days before D."""
    accounts = [account(external_id=f"A{n}") for n in range(1, 6)]
    for n, acc in enumerate(accounts, start=1):
        touch(acc, "meeting", at(4), minutes=str(10 * n))
    program("Webinar", "webinar", external_id="P1")
    for day in (D2, D1, D):
        services.compute_day(as_of=day)
    return accounts


def _job(text: str) -> ImportJob:
    job = ImportJob(kind="touchpoints", original_name="t.csv", status=ImportJob.Status.PENDING)
    job.file.save("t.csv", ContentFile(text.encode()), save=False)
    job.save()
    return job


def test_an_import_recomputes_only_the_accounts_it_touches_and_equals_a_full_recompute(
    django_capture_on_commit_callbacks, monkeypatch
):
    accounts = _five_accounts()
    a4, a5 = accounts[3], accounts[4]
    before = {day: _snapshots(day) for day in (D2, D1, D)}
    chunks: list[tuple[dt.date, int, int]] = []
    compute = services.compute_account_chunk

    def recorded(*, as_of, account_ids):
        chunks.append((as_of, min(account_ids), max(account_ids)))
        return compute(as_of=as_of, account_ids=account_ids)

    monkeypatch.setattr(services, "compute_account_chunk", recorded)
    # D−1: a 30-minute meeting for A4 through the webinar, a 25-minute one for A5.
    job = _job("external_id,source,kind,occurred_at,account_external_id,minutes,program_external_id\n"
               "n1,crm,meeting,2024-06-29T10:00:00Z,A4,30,P1\n"
               "n2,crm,meeting,2024-06-29T11:00:00Z,A5,25,\n")
    with django_capture_on_commit_callbacks(execute=True):
        run_import_job(job_id=job.pk)
    assert ImportJob.objects.get(pk=job.pk).status == "done"
    # D−1 and D, each one statement for the range A4 … A5 (consecutive ids: no other account in it).
    assert chunks == [(D1, a4.pk, a5.pk), (D, a4.pk, a5.pk)]
    for day in (D1, D):
        after = _snapshots(day)
        # A4: 40 + 30 = 70 minutes; A5: 50 + 25 = 75 (the order of the accounts is unchanged, so
        # are the other accounts' percentiles).
        assert (after[a4.pk]["minutes_90d"], after[a5.pk]["minutes_90d"]) == (70.0, 75.0)
        assert {pk: row for pk, row in after.items() if pk not in (a4.pk, a5.pk)} == {
            pk: row for pk, row in before[day].items() if pk not in (a4.pk, a5.pk)}
    assert _snapshots(D2) == before[D2]  # before the earliest new touch: untouched
    runs = {r.as_of: r for r in MetricsRun.objects.all()}
    assert [runs[d].status for d in (D2, D1, D)] == ["done"] * 3
    assert (runs[D2].refreshed_at, runs[D1].refreshed_accounts, runs[D].refreshed_accounts) == (None, 2, 2)
    assert runs[D].refreshed_at is not None
    # The refreshed days equal a full recompute, snapshots and rollups alike.
    refreshed = {day: (_snapshots(day), _rollups(day)) for day in (D1, D)}
    # The webinar's rollup counts A4's meeting (a touch, not a success: a webinar succeeds with an attendance).
    assert ProgramSnapshot.objects.get(as_of=D, program__external_id="P1").touches == 1
    monkeypatch.setattr(services, "compute_account_chunk", compute)
    for day in (D1, D):
        services.compute_day(as_of=day)
        assert (_snapshots(day), _rollups(day)) == refreshed[day]
    # A full run resets the record of the partial refresh.
    assert MetricsRun.objects.get(as_of=D).refreshed_at is None


def test_the_bulk_api_refreshes_the_account_and_a_moved_touch_refreshes_both(alice, django_capture_on_commit_callbacks):
    accounts = _five_accounts()
    a1, a2 = accounts[0], accounts[1]
    api = APIClient()
    api.force_authenticate(alice)
    item = {"external_id": "b1", "source": "web", "kind": "meeting", "minutes": "15",
            "occurred_at": "2024-06-30T09:00:00Z", "account_external_id": "A1"}
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/touchpoints/bulk", {"touchpoints": [item]}, format="json").json()["created"] == 1
    # Only D holds the touch (made on D): A1 10 + 15 = 25 minutes; D−1 keeps 10.
    assert _snapshots(D)[a1.pk]["minutes_90d"] == 25.0
    assert _snapshots(D1)[a1.pk]["minutes_90d"] == 10.0
    assert MetricsRun.objects.get(as_of=D).refreshed_accounts == 1
    assert MetricsRun.objects.get(as_of=D1).refreshed_at is None
    # The same touch moved to A2: A1 back to 10, A2 20 + 15 = 35; both accounts recomputed.
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/touchpoints/bulk", {"touchpoints": [item | {"account_external_id": "A2"}]},
                        format="json").json()["updated"] == 1
    snaps = _snapshots(D)
    assert (snaps[a1.pk]["minutes_90d"], snaps[a2.pk]["minutes_90d"]) == (10.0, 35.0)
    assert MetricsRun.objects.get(as_of=D).refreshed_accounts == 2
    # Sent again unchanged: nothing changed, nothing recomputed.
    refreshed_at = MetricsRun.objects.get(as_of=D).refreshed_at
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert api.post("/api/v1/touchpoints/bulk", {"touchpoints": [item | {"account_external_id": "A2"}]},
                        format="json").json()["unchanged"] == 1
    assert callbacks == []
    assert MetricsRun.objects.get(as_of=D).refreshed_at == refreshed_at


def test_a_day_being_computed_is_not_refreshed_but_reported_busy():
    acc = account()
    services.compute_day(as_of=D1)
    services.run_start(as_of=D)  # D's run in progress
    touch(acc, "meeting", at(0), minutes="5")
    result = services.refresh_accounts(account_ids=[acc.pk], since=D1)
    # From D−1 on: D−1, published, is refreshed; D, whose run is in progress, is reported busy
    # (metrics.tasks re-queues the refresh for after the run) and left to its run.
    assert (result.refreshed, result.busy) == ([D1], [D])
    assert MetricsRun.objects.get(as_of=D).status == MetricsRun.Status.RUNNING
    assert not AccountSnapshot.objects.filter(as_of=D).exists()


def test_a_refresh_recomputes_exactly_the_touched_accounts_not_those_between_them():
    """The refresh passes the touched accounts as a list (families.common.id_filter): the account
    between two touched ones is not recomputed, so a touch of its that no signal announced stays
    out of its figures until its own refresh or the next run."""
    first, middle, last = account(), account(), account()
    for n, acc in enumerate((first, middle, last), start=1):
        touch(acc, "meeting", at(3), minutes=str(10 * n))
    services.compute_day(as_of=D)
    before = _snapshots(D)[middle.pk]
    touch(first, "meeting", at(0), minutes="1")
    touch(middle, "meeting", at(0), minutes="5")  # written behind the refresh's back
    touch(last, "meeting", at(0), minutes="2")
    services.refresh_accounts(account_ids=[last.pk, first.pk], since=D)
    after = _snapshots(D)
    # 10 + 1 and 30 + 2; the middle account keeps its 20 minutes: it was not recomputed.
    assert (after[first.pk]["minutes_90d"], after[last.pk]["minutes_90d"]) == (11.0, 32.0)
    assert after[middle.pk] == before
    assert MetricsRun.objects.get(as_of=D).refreshed_accounts == 2
    services.refresh_accounts(account_ids=[middle.pk], since=D)
    assert _snapshots(D)[middle.pk]["minutes_90d"] == 25.0  # 20 + 5


def test_a_refresh_of_many_accounts_goes_in_batches_with_the_same_figures(monkeypatch):
    accounts = [account() for _ in range(5)]
    for n, acc in enumerate(accounts, start=1):
        touch(acc, "meeting", at(3), minutes=str(n))
    services.compute_day(as_of=D)
    for acc in accounts:
        touch(acc, "web_visit", at(0), minutes="0.5")
    monkeypatch.setattr(services, "REFRESH_BATCH", 2)
    services.refresh_accounts(account_ids=[a.pk for a in accounts], since=D)
    refreshed = _snapshots(D)
    services.compute_day(as_of=D)  # a full run of the day from scratch
    assert refreshed == _snapshots(D)
    assert [refreshed[a.pk]["minutes_90d"] for a in accounts] == [1.5, 2.5, 3.5, 4.5, 5.5]


def test_pages_say_how_fresh_the_day_is():
    acc = account()
    services.compute_day(as_of=D)
    fresh = selectors.day_freshness(D)
    assert fresh.refreshed_at is None and fresh.updated_at == fresh.computed_at
    template = Template("{% load metrics_freshness %}{% day_freshness day %}")
    assert "Computed" in template.render(Context({"day": D}))
    touch(acc, "meeting", at(0), minutes="5")
    services.refresh_accounts(account_ids=[acc.pk], since=D)
    fresh = selectors.day_freshness(D)
    assert fresh.refreshed_accounts == 1 and fresh.updated_at == fresh.refreshed_at > fresh.computed_at
    html = template.render(Context({"day": D}))
    assert "updated" in html and "1 account" in html
    assert selectors.day_freshness(D1) is None
    assert template.render(Context({"day": D1})).strip() == ""


def test_a_burst_of_new_touches_is_one_refresh_of_all_their_accounts(monkeypatch):
    """With a broker, requests arriving while one waits are folded into its refresh: one task for
    the burst, refreshing the union of the accounts from the earliest day."""
    from metrics import tasks
    from metrics.models import RefreshRequest

    a1, a2, a3, *_ = _five_accounts()
    queued: list[str] = []
    monkeypatch.setattr(tasks.refresh_pending, "delay", lambda: queued.append("refresh_pending"))
    monkeypatch.setitem(tasks.refresh_pending.app.conf, "task_always_eager", False)  # as with a broker
    tasks.queue_refresh(None, account_ids=frozenset({a1.pk}), earliest_day=D)
    tasks.queue_refresh(None, account_ids=frozenset({a2.pk, a1.pk}), earliest_day=D1)
    tasks.queue_refresh(None, account_ids=frozenset({a3.pk}), earliest_day=D)
    assert queued == ["refresh_pending"]  # the first request's task takes the other two
    assert RefreshRequest.objects.count() == 3

    calls: list[tuple[list[int], str]] = []
    monkeypatch.setattr(tasks, "refresh_accounts_task", lambda ids, since: calls.append((ids, since)) or [since])
    assert tasks.refresh_pending() == [D1.isoformat()]
    assert calls == [(sorted([a1.pk, a2.pk, a3.pk]), D1.isoformat())]  # one refresh: every account, from D−1
    assert not RefreshRequest.objects.exists()
    assert queued == ["refresh_pending"]  # nothing arrived meanwhile: no second task


def test_a_request_whose_task_was_lost_is_picked_up_by_beat(monkeypatch):
    from metrics import tasks
    from metrics.models import RefreshRequest

    queued: list[str] = []
    monkeypatch.setattr(tasks.refresh_pending, "delay", lambda: queued.append("refresh_pending"))
    request = RefreshRequest.objects.create(account_ids=[1], earliest_day=D)
    assert tasks.refresh_stranded() is False and queued == []  # young: its task is on its way
    RefreshRequest.objects.filter(pk=request.pk).update(
        created_at=request.created_at - dt.timedelta(seconds=tasks.REFRESH_STRANDED_SECONDS + 1))
    assert tasks.refresh_stranded() is True and queued == ["refresh_pending"]
