"""Trends by month and quarter (sales.trends) against hand sums. D = 2024-06-30 (UTC days).

The opportunities (noon UTC unless said; A and B are target accounts, A in "Enterprise"; N is not
a target):
    o8  A  1,000  created 2024-03-20, lost 2024-04-20
    o1  A 10,000  created 2024-04-10, won  2024-05-20  (cycle 40 days)
    o2  A  5,000  created 2024-04-15, lost 2024-05-05
    o3  A  8,000  created 2024-05-01, won  2024-06-10  (cycle 40)
    o4  B 20,000  created 2024-05-10, won  2024-05-30  (cycle 20)
    o10 B  2,000  created 2024-05-31 23:30, open       (May in UTC, whatever the hour)
    o5  B  3,000  created 2024-06-01, open
    o6  B  7,000  created 2024-06-05, won 2024-07-02   (after D: open as of D, not closed in June)
    o9  B  4,000  created 2024-07-01                   (after D: in no period)
    o7  N 50,000  created 2024-05-03, won  2024-05-25  (cycle 22; not a target)
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from accounts.models import Segment
from sales import trends
from sales.trends import EVERY_ACCOUNT, TARGETS
from tests.metrics.builders import D, account, opportunity

pytestmark = pytest.mark.django_db


def noon(y: int, m: int, d: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=UTC)


@pytest.fixture
def deals() -> Segment:
    a, b = account("A"), account("B")
    n = account("N", is_target=False)
    enterprise = Segment.objects.create(name="Enterprise")
    enterprise.accounts.add(a)
    opportunity(a, "1000", noon(2024, 3, 20), closed=noon(2024, 4, 20))
    opportunity(a, "10000", noon(2024, 4, 10), closed=noon(2024, 5, 20), won=True)
    opportunity(a, "5000", noon(2024, 4, 15), closed=noon(2024, 5, 5))
    opportunity(a, "8000", noon(2024, 5, 1), closed=noon(2024, 6, 10), won=True)
    opportunity(b, "20000", noon(2024, 5, 10), closed=noon(2024, 5, 30), won=True)
    opportunity(b, "2000", noon(2024, 5, 31, 23, 30))
    opportunity(b, "3000", noon(2024, 6, 1))
    opportunity(b, "7000", noon(2024, 6, 5), closed=noon(2024, 7, 2), won=True)
    opportunity(b, "4000", noon(2024, 7, 1))
    opportunity(n, "50000", noon(2024, 5, 3), closed=noon(2024, 5, 25), won=True)
    return enterprise


def _by_label(rows: list[trends.TrendRow]) -> dict[str, trends.TrendRow]:
    return {r.period.label: r for r in rows}


def test_monthly_trends_of_the_target_accounts_equal_hand_sums(deals):
    rows = _by_label(trends.trends(scope=TARGETS, as_of=D, grain="month", count=3))
    assert list(rows) == ["2024-04", "2024-05", "2024-06"]

    april = rows["2024-04"]
    # Created: o1 + o2 = 10,000 + 5,000. Closed: o8, lost → win rate 0 / 1, no won deal.
    assert (april.opportunities_created, april.pipeline_created) == (2, Decimal("15000.00"))
    assert (april.opportunities_closed, april.opportunities_won, april.win_rate) == (1, 0, 0.0)
    assert april.avg_contract_value is None and april.median_cycle_days is None and april.sales_velocity is None
    # Open at the end of April (before 1 May): o1 and o2 (o8 closed on 20 April).
    assert april.open_opportunities == 2

    may = rows["2024-05"]
    # Created: o3 + o4 + o10 = 8,000 + 20,000 + 2,000 (o10 at 23:30 UTC on 31 May is May's).
    assert (may.opportunities_created, may.pipeline_created) == (3, Decimal("30000.00"))
    # Closed: o1 won, o2 lost, o4 won → 2 / 3; won 10,000 + 20,000 = 30,000; ACV 30,000 / 2.
    assert (may.opportunities_closed, may.opportunities_won) == (3, 2)
    assert may.win_rate == pytest.approx(2 / 3)
    assert (may.pipeline_won, may.avg_contract_value) == (Decimal("30000.00"), Decimal("15000.00"))
    # Cycles 40 (o1) and 20 (o4): median (40 + 20) / 2 = 30.
    assert may.median_cycle_days == 30.0
    # Open at the end of May: o3 and o10. Velocity 2 × 2/3 × 15,000 / 30 = 666.67 per day.
    assert may.open_opportunities == 2
    assert may.sales_velocity == pytest.approx(2 * (2 / 3) * 15000 / 30)

    june = rows["2024-06"]
    # Created: o5 + o6 = 3,000 + 7,000 (o9 is after D). Closed: o3 won (o6 closes after D).
    assert (june.opportunities_created, june.pipeline_created) == (2, Decimal("10000.00"))
    assert (june.opportunities_closed, june.opportunities_won, june.win_rate) == (1, 1, 1.0)
    assert (june.avg_contract_value, june.median_cycle_days) == (Decimal("8000.00"), 40.0)
    # Open as of D (the running period ends with D): o10, o5, o6. Velocity 3 × 1 × 8,000 / 40 = 600.
    assert june.open_opportunities == 3
    assert june.sales_velocity == pytest.approx(600.0)


def test_quarterly_trends_sum_the_months(deals):
    rows = _by_label(trends.trends(scope=TARGETS, as_of=D, grain="quarter", count=2))
    assert list(rows) == ["2024 Q1", "2024 Q2"]
    q1, q2 = rows["2024 Q1"], rows["2024 Q2"]
    # Q1: o8 created (1,000), nothing closed; open at the end of March: o8.
    assert (q1.opportunities_created, q1.pipeline_created, q1.opportunities_closed) == (1, Decimal("1000.00"), 0)
    assert q1.win_rate is None and q1.open_opportunities == 1
    # Q2 = April + May + June: created 2 + 3 + 2 = 7, 15,000 + 30,000 + 10,000 = 55,000.
    assert (q2.opportunities_created, q2.pipeline_created) == (7, Decimal("55000.00"))
    # Closed 1 + 3 + 1 = 5, won 0 + 2 + 1 = 3 → 0.6; won 30,000 + 8,000 = 38,000; ACV 38,000 / 3.
    assert (q2.opportunities_closed, q2.opportunities_won, q2.win_rate) == (5, 3, 0.6)
    assert (q2.pipeline_won, q2.avg_contract_value) == (Decimal("38000.00"), Decimal("12666.67"))
    # Cycles 40, 20, 40 → median 40. Velocity 3 open × 0.6 × 12,666.67 / 40 = 570.0.
    assert q2.median_cycle_days == 40.0
    assert q2.sales_velocity == pytest.approx(3 * 0.6 * 12666.67 / 40)


def test_a_segment_counts_only_its_accounts_and_all_accounts_count_non_targets(deals):
    segment = trends.scope_named(str(deals.pk))
    assert segment.label == "Enterprise"
    may = _by_label(trends.trends(scope=segment, as_of=D, grain="month", count=3))["2024-05"]
    # A only: created o3 (8,000); closed o1 won, o2 lost → 1 / 2, ACV 10,000, cycle 40;
    # open at the end of May: o3 → velocity 1 × 0.5 × 10,000 / 40 = 125.
    assert (may.opportunities_created, may.pipeline_created) == (1, Decimal("8000.00"))
    assert (may.win_rate, may.avg_contract_value, may.median_cycle_days) == (0.5, Decimal("10000.00"), 40.0)
    assert may.sales_velocity == pytest.approx(125.0)

    everyone = _by_label(trends.trends(scope=EVERY_ACCOUNT, as_of=D, grain="month", count=3))["2024-05"]
    # With N's o7: created 30,000 + 50,000; closed 3 + 1, won 2 + 1; cycles 40, 20, 22 → median 22.
    assert (everyone.pipeline_created, everyone.opportunities_closed, everyone.opportunities_won) == (
        Decimal("80000.00"), 4, 3)
    assert everyone.median_cycle_days == 22.0


def test_an_unknown_scope_falls_back_to_the_target_accounts(deals):
    assert trends.scope_named("no-such-segment") == TARGETS
    assert trends.scope_named(None) == TARGETS
