"""Program and channel reach from kept (program, account) pairs: the run of the latest day keeps
them (ProgramAccountReach), a refresh of that day replaces only the refreshed accounts' pairs,
and every figure equals a run's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from accounts.models import Segment
from metrics import backfill, services
from metrics.families import reach
from metrics.models import ProgramAccountReach, ProgramReachState, ProgramSnapshot
from tests.metrics.builders import D, account, at, program, snapshot_rows, touch

pytestmark = pytest.mark.django_db

D1 = D - timedelta(days=1)


@pytest.fixture
def world():
    """A webinar (of a segment holding `first`) and an email program, touched at three accounts;
    D−1 and D computed, D last."""
    first, second, other = account(), account(), account(is_target=False)
    segment = Segment.objects.create(name="Enterprise")
    segment.accounts.add(first)
    webinar = program("Webinar", "webinar", segment=segment)
    email = program("Newsletter", "email")
    touch(first, "webinar_attended", at(30), program=webinar)  # a success
    touch(second, "email_open", at(20), program=webinar)  # a touch, not a webinar success
    touch(other, "email_click", at(10), program=email)  # a success at a non-target
    for day in (D1, D):
        services.compute_day(as_of=day)
    return first, second, other, webinar, email


def _pairs() -> set[tuple[int, int, int, int]]:
    return set(ProgramAccountReach.objects.values_list("program_id", "account_id", "touches", "successes"))


def test_the_run_of_the_latest_day_keeps_its_pairs(world) -> None:
    first, second, other, webinar, email = world
    assert ProgramReachState.objects.get().as_of == D
    assert _pairs() == {(webinar.pk, first.pk, 1, 1), (webinar.pk, second.pk, 1, 0), (email.pk, other.pk, 1, 1)}
    # A run of an earlier day leaves them as they are.
    services.compute_day(as_of=D1)
    assert ProgramReachState.objects.get().as_of == D


def test_a_refresh_of_the_kept_day_replaces_only_its_accounts_pairs_and_equals_a_run(world, monkeypatch) -> None:
    first, second, other, webinar, email = world
    touch(second, "webinar_attended", at(0, 9), program=webinar)  # second is reached now
    touch(second, "email_click", at(0, 10), program=email)
    read = []
    real = reach.pair_counts_sql
    monkeypatch.setattr(reach, "pair_counts_sql", lambda **kw: read.append(kw.get("account_ids")) or real(**kw))
    services.refresh_day_accounts(as_of=D, account_ids=[second.pk])
    assert read == [[second.pk]]  # only `second`'s touches were read
    assert _pairs() == {(webinar.pk, first.pk, 1, 1), (webinar.pk, second.pk, 2, 1), (email.pk, other.pk, 1, 1),
                        (email.pk, second.pk, 1, 1)}
    w = ProgramSnapshot.objects.get(as_of=D, program=webinar)
    assert (w.touches, w.reached_accounts, w.reached_target_accounts) == (3, 2, 2)
    refreshed = snapshot_rows()
    monkeypatch.setattr(reach, "pair_counts_sql", real)
    services.compute_day(as_of=D)
    assert snapshot_rows() == refreshed


def test_a_refresh_of_another_day_or_after_success_kinds_changed_counts_from_the_touches(world, monkeypatch):
    first, second, other, webinar, email = world
    touch(second, "webinar_attended", at(1, 9), program=webinar)
    read = []
    real = reach.pair_counts_sql
    monkeypatch.setattr(reach, "pair_counts_sql", lambda **kw: read.append(kw.get("account_ids")) or real(**kw))
    services.refresh_day_accounts(as_of=D1, account_ids=[second.pk])
    assert read == [None]  # D−1 is not the kept day: every touch up to it
    read.clear()
    webinar.success_kinds = ["email_open"]
    webinar.save()
    services.refresh_day_accounts(as_of=D, account_ids=[second.pk])
    assert read == [None]  # the webinar's successes changed: the kept pairs no longer hold

    def reach_rows() -> dict:
        # D's program and channel rows. (The other accounts' programs_reached, and D−1 refreshed
        # under the old kinds, wait for their next run: the refresh was of `second` on D.)
        return {name: [row for row in rows if repr(D) in row] for name, rows in snapshot_rows().items()
                if name in ("ProgramSnapshot", "ChannelSnapshot")}

    refreshed = reach_rows()
    monkeypatch.setattr(reach, "pair_counts_sql", real)
    services.compute_day(as_of=D)
    assert reach_rows() == refreshed


def test_a_backfill_keeps_the_pairs_of_its_last_day(world) -> None:
    first, *_ = world
    ProgramReachState.objects.all().delete()
    ProgramAccountReach.objects.all().delete()
    backfill.compute_days(as_of=D, days=3)
    assert ProgramReachState.objects.get().as_of == D
    assert len(_pairs()) == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="UNLOGGED is PostgreSQL's: the services tier")
def test_the_kept_pairs_and_their_state_are_emptied_together_after_a_crash() -> None:
    # Both UNLOGGED: PostgreSQL empties both after a crash, so no state row can claim pairs that are gone.
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, relpersistence FROM pg_class WHERE relname IN "
                       "('metrics_programaccountreach', 'metrics_programreachstate') ORDER BY relname")
        assert cursor.fetchall() == [("metrics_programaccountreach", "u"), ("metrics_programreachstate", "u")]
