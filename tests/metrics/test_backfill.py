"""`compute_metrics --days N` (metrics.backfill): each day builds on the reads of the day before,
and every day's figures are exactly those its own run gives."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Opportunity, Touchpoint
from metrics import backfill, services
from metrics.families import influence
from metrics.models import (
    AccountSnapshot,
    AttributionModel,
    AttributionCredit,
    ChannelSnapshot,
    ContactSnapshot,
    InfluenceSummary,
    MetricsRun,
    OpportunityFact,
    OutcomeComparison,
    OutcomeGroup,
    ProgramReachState,
    ProgramSnapshot,
    SegmentSnapshot,
)
from tests.metrics.builders import D, account, at, contact, opportunity, program, snapshot_rows, touch

pytestmark = pytest.mark.django_db

TABLES = (AccountSnapshot, ContactSnapshot, SegmentSnapshot, ProgramSnapshot, ChannelSnapshot, OutcomeGroup,
          OutcomeComparison, AttributionCredit, InfluenceSummary)


def _clear() -> None:
    for model in (*TABLES, MetricsRun):
        model.objects.all().delete()


def _day_by_day(last: date, days: int) -> dict[str, list[tuple]]:
    for day in services.iter_days(as_of=last, days=days):
        services.compute_day(as_of=day)
    return snapshot_rows()


def _backfilled(last: date, days: int) -> dict[str, list[tuple]]:
    _clear()
    backfill.compute_days(as_of=last, days=days)
    return snapshot_rows()


def test_a_backfill_of_the_demo_data_gives_every_day_exactly_its_own_runs_figures() -> None:
    end = date(2026, 3, 1)
    call_command("seed_demo", "--accounts", "40", "--end-date", end.isoformat(), "--no-progress",
                 stdout=StringIO(), stderr=StringIO())
    # Twelve days: opportunities enter and leave W90 and the outcomes window, programs add touches.
    expected = _day_by_day(end, 12)
    assert len({row[1] for row in expected["AccountSnapshot"]}) == 12
    assert expected["AttributionCredit"] and expected["OutcomeGroup"] and expected["ProgramSnapshot"]
    assert _backfilled(end, 12) == expected


def test_opportunities_at_the_window_edges_enter_and_leave_on_the_right_day() -> None:
    """A hand-built case at the edges, day by day against the backfill.

    Days D−2 … D. W90 of D−2 starts at D−91. Pipeline attribution counts the opportunities
    created in W90: `old` (1,000, created D−91 at 00:00) is in on D−2 and out on D−1; `new`
    (2,500, created on D at 23:59) only on D; `won` (400, created D−60) on all three. Each has a
    webinar touch in its 90 days before creation (D−95 for old and won, D 08:00 for new): all to
    the webinar. Revenue: `won` closed on D−1 at 12:00, so in from D−1. Program reach: the
    webinar has 1 touch up to D−2 and D−1, and 2 on D."""
    acc = account(is_target=True)
    ada = contact(acc)
    webinar = program("Webinar", "webinar")
    touch(acc, "webinar_attended", at(95), who=ada, program=webinar)
    touch(acc, "webinar_attended", at(0, 8), program=webinar)
    opportunity(acc, "1000.00", at(91, 0))
    opportunity(acc, "2500.00", at(0, 23, 59))
    opportunity(acc, "400.00", at(60), closed=at(1), won=True)

    expected = _day_by_day(D, 3)
    pipeline = {
        day: {(c.program_id, c.credit) for c in AttributionCredit.objects.filter(as_of=day, basis="pipeline",
                                                                                 model="linear")}
        for day in services.iter_days(as_of=D, days=3)
    }
    assert pipeline == {
        D - timedelta(days=2): {(webinar.pk, Decimal("1400.00"))},  # old + won (created D−60)
        D - timedelta(days=1): {(webinar.pk, Decimal("400.00"))},
        D: {(webinar.pk, Decimal("2900.00"))},
    }
    revenue = {day: list(AttributionCredit.objects.filter(as_of=day, basis="revenue", model="linear")
                         .values_list("credit", flat=True)) for day in services.iter_days(as_of=D, days=3)}
    assert revenue == {D - timedelta(days=2): [], D - timedelta(days=1): [Decimal("400.00")], D: [Decimal("400.00")]}
    touches = dict(ProgramSnapshot.objects.filter(program=webinar).values_list("as_of", "touches"))
    assert touches == {D - timedelta(days=2): 1, D - timedelta(days=1): 1, D: 2}
    assert _backfilled(D, 3) == expected


def test_the_backfill_reads_each_opportunity_once_and_each_days_touches_once(monkeypatch) -> None:
    acc = account(is_target=True)
    webinar = program("Webinar", "webinar")
    for days_before in (40, 20, 3):
        touch(acc, "webinar_attended", at(days_before), program=webinar)
    for days_before in (30, 10, 2):
        opportunity(acc, "100.00", at(days_before))
    attributed = []
    real = influence.journey_credits
    monkeypatch.setattr(influence, "journey_credits",
                        lambda journey, cfg: attributed.append(journey.pk) or real(journey, cfg))
    backfill.compute_days(as_of=D, days=5)
    # Pipeline basis (the revenue basis has no won deal): on D−4 … D−1 each of the three
    # opportunities once, when it enters W90; D, the last day, is computed as a run (and stores
    # the facts a refresh reuses): all three again.
    assert sorted(attributed) == sorted(list(Opportunity.objects.values_list("pk", flat=True)) * 2)
    assert Touchpoint.objects.count() == 3
    # Day by day, the same opportunity is attributed again every day.
    attributed.clear()
    _clear()
    for day in services.iter_days(as_of=D, days=5):
        services.compute_day(as_of=day)
    assert len(attributed) == 5 * 3 - 2  # the one created at D−2 exists on its last three days only


def test_compute_metrics_days_runs_the_backfill_and_leaves_no_table_behind() -> None:
    acc = account(is_target=True)
    touch(acc, "webinar_attended", at(3), program=program("Webinar", "webinar"))
    call_command("compute_metrics", "--as-of", D.isoformat(), "--days", "4", stdout=StringIO(), stderr=StringIO())
    assert MetricsRun.objects.filter(status="done").count() == 4
    assert ProgramSnapshot.objects.filter(as_of=D, touches=1).count() == 1
    with connection.cursor() as cursor:  # a temporary table: gone when the backfill ends
        with pytest.raises(Exception, match="metrics_backfill_pairs"):
            cursor.execute(f"SELECT 1 FROM {backfill.PAIRS_TABLE}")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="planner statistics are PostgreSQL's: the services tier")
def test_each_backfill_day_refreshes_the_statistics_of_its_day_filter_and_the_last_day_all_of_them() -> None:
    touch(account(), "web_visit", at(2))
    with CaptureQueriesContext(connection) as captured:
        backfill.compute_days(as_of=D, days=3)
    analyzed = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("ANALYZE")]
    assert analyzed == ['ANALYZE metrics_accountsnapshot ("as_of", "account_id")'] * 2 + ["ANALYZE metrics_accountsnapshot"]


def test_the_last_day_of_a_backfill_keeps_what_a_refresh_reuses_as_a_run_does() -> None:
    acc = account(is_target=True)
    webinar = program("Webinar", "webinar")
    touch(acc, "webinar_attended", at(20), program=webinar)
    opportunity(acc, "100.00", at(10))
    backfill.compute_days(as_of=D, days=3)
    # The opportunity's pipeline credit (the last day's run stored it) and the reach pairs of D.
    assert list(OpportunityFact.objects.values_list("kind", "credit")) == [
        ("pipeline", {model: {str(webinar.pk): 10_000} for model in AttributionModel.values})]
    assert ProgramReachState.objects.get().as_of == D
    OpportunityFact.objects.all().delete()
    call_command("compute_metrics", "--as-of", D.isoformat(), stdout=StringIO(), stderr=StringIO())
    assert OpportunityFact.objects.count() == 1  # one day: a run's
