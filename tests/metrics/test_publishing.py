"""A day is published only when its run is complete: pages, the API and the exports show the
latest day whose MetricsRun is DONE, never the partial snapshots of a running or failed run."""

from __future__ import annotations

import csv
import importlib
import io
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from dashboard.selectors import resolve_as_of
from metrics import selectors, services
from metrics.families import awareness
from metrics.models import AccountSnapshot, InfluenceSummary, MetricsRun, SegmentSnapshot
from tests.metrics.builders import D, account, at, contact, touch

pytestmark = pytest.mark.django_db

YESTERDAY = D - timedelta(days=1)


def _world(n: int = 3) -> list:
    accounts = []
    for i in range(n):
        acc = account(f"Account {i}")
        touch(acc, "form_fill", at(i), who=contact(acc, role="champion"))  # 10 minutes each
        accounts.append(acc)
    return accounts


def _running_day() -> MetricsRun:
    """D with one chunk of three stored: its first account has a snapshot (percentile 0, no
    rollups), the run is RUNNING. YESTERDAY is complete."""
    services.compute_day(as_of=YESTERDAY)
    run = services.run_start(as_of=D, chunk_size=1)
    services.compute_run_chunk(chunk_id=run.chunks.get(index=0).pk)
    assert AccountSnapshot.objects.filter(as_of=D).count() == 1
    return run


def _failed_day(monkeypatch) -> None:
    """D's run failed at its second chunk: the first chunk's snapshot is stored."""
    services.compute_day(as_of=YESTERDAY)
    real = awareness.awareness_rows
    calls = iter(range(100))

    def fails_on_the_second_chunk(**kwargs):
        if next(calls) == 1:
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(awareness, "awareness_rows", fails_on_the_second_chunk)
    with pytest.raises(RuntimeError):
        services.compute_day(as_of=D, chunk_size=1)
    assert MetricsRun.objects.get(as_of=D).status == "failed"
    assert AccountSnapshot.objects.filter(as_of=D).count() == 1


def _export(*args: str) -> list[dict]:
    out = io.StringIO()
    call_command("export_metrics", "--level", "account", *args, stdout=out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


# ---------------------------------------------------------------------------- the rule, in one selector


def test_a_running_day_is_not_published_and_shows_as_computing() -> None:
    _world()
    _running_day()
    assert selectors.latest_published_day() == YESTERDAY
    assert not selectors.is_published(D)
    as_of = resolve_as_of(None)
    assert (as_of.day, as_of.latest) == (YESTERDAY, YESTERDAY)
    assert (as_of.computing.as_of, as_of.computing.chunks_done, as_of.computing.chunks_total) == (D, 1, 3)
    # Asking for D itself gives the last complete day, said so on the page.
    asked = resolve_as_of(D)
    assert (asked.day, asked.moved) == (YESTERDAY, True)


def test_a_failed_day_is_not_published(monkeypatch) -> None:
    _world()
    _failed_day(monkeypatch)
    assert selectors.latest_published_day() == YESTERDAY
    assert resolve_as_of(D).day == YESTERDAY
    assert resolve_as_of(None).computing is None


def test_the_day_is_published_when_its_rollups_are_stored() -> None:
    _world()
    run = _running_day()
    for chunk in run.chunks.filter(done_at=None):
        services.compute_run_chunk(chunk_id=chunk.pk)
    assert selectors.latest_published_day() == YESTERDAY  # every chunk, but no rollups yet
    services.run_rollups(run_id=run.pk)
    assert selectors.latest_published_day() == D
    assert resolve_as_of(None).day == D and resolve_as_of(None).computing is None


def test_recomputing_a_published_day_unpublishes_it_until_done() -> None:
    # Its chunks overwrite the snapshots in place (percentiles 0 until the rollups): not complete.
    _world()
    services.compute_day(as_of=YESTERDAY)
    services.compute_day(as_of=D)
    services.run_start(as_of=D)
    assert selectors.latest_published_day() == YESTERDAY


# ---------------------------------------------------------------------------- pages


def test_pages_show_the_last_complete_day_and_computing_n_of_m(client, alice) -> None:
    _world()
    _running_day()
    client.force_login(alice)
    page = client.get("/accounts/").content.decode()
    assert 'name="as_of" value="2024-06-29"' in page
    assert "Computing 2024-06-30: 1 of 3 chunks done. Showing 2024-06-29, the latest complete day" in page
    assert all(f">Account {i}</a>" in page for i in range(3))  # the complete day's accounts, all of them
    segments = client.get("/segments/target/").content.decode()
    assert 'name="as_of" value="2024-06-29"' in segments
    assert "Computing 2024-06-30: 1 of 3 chunks done." in segments
    assert 'max="2024-06-29"' in segments  # the date picker offers no unpublished day


def test_pages_ignore_a_failed_day(client, alice, monkeypatch) -> None:
    _world()
    _failed_day(monkeypatch)
    client.force_login(alice)
    page = client.get("/accounts/?as_of=2024-06-30").content.decode()
    assert 'name="as_of" value="2024-06-29"' in page
    assert "Computing" not in page
    exported = list(csv.DictReader(io.StringIO(b"".join(client.get("/accounts/export.csv").streaming_content)
                                               .decode())))
    assert {row["as_of"] for row in exported} == {"2024-06-29"} and len(exported) == 3


def test_with_no_complete_day_the_pages_show_the_first_run_in_progress(client, alice) -> None:
    _world()
    run = services.run_start(as_of=D, chunk_size=1)
    services.compute_run_chunk(chunk_id=run.chunks.get(index=0).pk)
    client.force_login(alice)
    page = client.get("/accounts/").content.decode()
    assert "No metrics yet" in page
    assert "Computing metrics for 2024-06-30: 1 of 3 chunks done." in page
    assert 'hx-trigger="every 2s"' in page


# ---------------------------------------------------------------------------- API and exports


def test_the_api_serves_only_published_days(client, alice, monkeypatch) -> None:
    _world()
    _running_day()
    client.force_login(alice)
    rows = client.get("/api/v1/metrics/account-snapshots/").json()["results"]
    assert {r["as_of"] for r in rows} == {"2024-06-29"} and len(rows) == 3
    assert client.get("/api/v1/metrics/account-snapshots/?as_of=2024-06-30").json()["results"] == []
    partial = AccountSnapshot.objects.get(as_of=D)
    assert client.get(f"/api/v1/metrics/account-snapshots/{partial.pk}/").status_code == 404


def test_export_defaults_to_the_last_published_day_and_refuses_a_running_one() -> None:
    _world()
    _running_day()
    assert {row["account"] for row in _export()} == {"Account 0", "Account 1", "Account 2"}
    with pytest.raises(CommandError, match=r"2024-06-30 is not published. The metrics of 2024-06-30 are being "
                                           r"computed \(1 of 3 chunks done\)"):
        _export("--as-of", D.isoformat())


def test_export_refuses_a_failed_day_with_its_reason(monkeypatch) -> None:
    _world()
    _failed_day(monkeypatch)
    with pytest.raises(CommandError, match="The metrics run of 2024-06-30 failed: RuntimeError: disk full"):
        _export("--as-of", D.isoformat())


# ---------------------------------------------------------------------------- days computed before runs gated them

publish_complete_days = importlib.import_module("metrics.migrations.0007_publish_complete_days").publish_complete_days


def test_upgrade_publishes_complete_days_without_a_run_and_fails_interrupted_runs() -> None:
    _world()
    services.compute_day(as_of=D - timedelta(days=2))
    services.compute_day(as_of=YESTERDAY)
    services.compute_day(as_of=D)
    # An older install: no run rows for D−2 and D−1, and D−1 lost its rollups (a crash mid-run).
    MetricsRun.objects.filter(as_of__lt=D).delete()
    SegmentSnapshot.objects.filter(as_of=YESTERDAY).delete()
    InfluenceSummary.objects.filter(as_of=YESTERDAY).delete()
    # A run the old code left running.
    MetricsRun.objects.filter(as_of=D).update(status="running")

    publish_complete_days(apps, None)

    assert list(MetricsRun.objects.order_by("as_of").values_list("as_of", "status")) == [
        (D - timedelta(days=2), "done"),
        (D, "failed"),
    ]
    assert "Interrupted by an upgrade" in MetricsRun.objects.get(as_of=D).error
    assert selectors.latest_published_day() == D - timedelta(days=2)
