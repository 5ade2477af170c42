"""Stage-to-stage conversion and time in stage from a small history (sales.trends.stage_history).

D = 2024-06-30, by month (April, May, June 2024). Four deals at a target account, one at a
non-target account (left out). All at noon UTC:
    h1  Prospecting 04-01, Qualification 04-11, Proposal 05-01, Proposal 05-10 (an amount change:
        no new entry), Closed Won 05-21
    h2  Prospecting 04-05, Qualification 04-25, Closed Lost 05-15
    h3  Prospecting 05-02, Proposal 05-12 (skips Qualification), closedwon 06-01
    h4  Prospecting 06-03 (still there on D)
    h5  Prospecting 04-01 at a non-target account

Order (median days from a deal's first entry to the stage's first entry): Prospecting 0,
Qualification median(10, 20) = 15, Proposal median(30, 10) = 20; then Won ("Closed Won" and
"closedwon" are both the picklist's won), then Lost.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sales import trends
from sales.models import OpportunityStageChange
from sales.trends import TARGETS
from tests.metrics.builders import D, account, opportunity

pytestmark = pytest.mark.django_db


def noon(m: int, d: int) -> datetime:
    return datetime(2024, m, d, 12, tzinfo=UTC)


def history(opp, *changes: tuple[str, datetime]) -> None:
    for n, (stage, at) in enumerate(changes):
        OpportunityStageChange.objects.create(opportunity=opp, stage=stage, entered_at=at, source="test",
                                              external_id=f"{opp.external_id}-{n}")


@pytest.fixture
def histories() -> None:
    target, other = account("T"), account("N", is_target=False)
    h1, h2, h3, h4 = (opportunity(target, "1000", noon(4, 1)) for _ in range(4))
    history(h1, ("Prospecting", noon(4, 1)), ("Qualification", noon(4, 11)), ("Proposal", noon(5, 1)),
            ("Proposal", noon(5, 10)), ("Closed Won", noon(5, 21)))
    history(h2, ("Prospecting", noon(4, 5)), ("Qualification", noon(4, 25)), ("Closed Lost", noon(5, 15)))
    history(h3, ("Prospecting", noon(5, 2)), ("Proposal", noon(5, 12)), ("closedwon", noon(6, 1)))
    history(h4, ("Prospecting", noon(6, 3)))
    history(opportunity(other, "1000", noon(4, 1)), ("Prospecting", noon(4, 1)))


def _rows(rows: list[trends.StageRow]) -> dict[str, tuple]:
    return {r.label: (r.entered, r.advanced, r.conversion, r.median_days) for r in rows}


def test_stage_order_conversion_and_days_over_the_months_shown(histories):
    result = trends.stage_history(scope=TARGETS, as_of=D, grain="month", count=3)
    assert result.opportunities == 4
    assert [label for _, label in result.order] == ["Prospecting", "Qualification", "Proposal", "Won", "Lost"]
    assert [r.next_label for r in result.totals] == ["Qualification", "Proposal", "Won", "", ""]
    assert _rows(result.totals) == {
        # Entered by h1-h4; h1, h2 reached Qualification, h3 skipped to Proposal: 3 / 4.
        # Days: h1 10, h2 20, h3 10 (h4 has not left) → median 10.
        "Prospecting": (4, 3, 0.75, 10.0),
        # h1 went on to Proposal, h2 was lost: 1 / 2. Days: h1 04-11 → 05-01 = 20, h2 04-25 → 05-15 = 20.
        "Qualification": (2, 1, 0.5, 20.0),
        # h1 and h3 were won: 2 / 2. Days: h1 05-01 → 05-21 = 20 (the 05-10 row is no new entry),
        # h3 05-12 → 06-01 = 20.
        "Proposal": (2, 2, 1.0, 20.0),
        "Won": (2, 0, None, None),
        "Lost": (1, 0, None, None),
    }


def test_each_period_counts_the_deals_that_entered_the_stage_in_it(histories):
    result = trends.stage_history(scope=TARGETS, as_of=D, grain="month", count=3)
    by_period = {period.label: _rows(rows) for period, rows in result.by_period}
    # April: h1, h2 entered Prospecting (both advanced; days 10 and 20 → 15) and Qualification (h1 advanced).
    assert by_period["2024-04"]["Prospecting"] == (2, 2, 1.0, 15.0)
    assert by_period["2024-04"]["Qualification"] == (2, 1, 0.5, 20.0)
    # May: h3 entered Prospecting (advanced, 10 days); h1 and h3 entered Proposal; h1 won; h2 lost.
    assert by_period["2024-05"]["Prospecting"] == (1, 1, 1.0, 10.0)
    assert by_period["2024-05"]["Proposal"] == (2, 2, 1.0, 20.0)
    assert (by_period["2024-05"]["Won"][0], by_period["2024-05"]["Lost"][0]) == (1, 1)
    # June: h4 entered Prospecting and is still there (0 / 1, no finished visit); h3 won.
    assert by_period["2024-06"]["Prospecting"] == (1, 0, 0.0, None)
    assert by_period["2024-06"]["Won"][0] == 1
    assert result.conversion_series()["Prospecting"] == [1.0, 1.0, 0.0]


def test_history_after_the_as_of_day_does_not_count(histories):
    # As of 2024-05-20: h1's win (05-21) and h3's (06-01) have not happened; h4 does not exist yet.
    result = trends.stage_history(scope=TARGETS, as_of=datetime(2024, 5, 20).date(), grain="month", count=2)
    totals = _rows(result.totals)
    # Proposal: h1 (05-01) and h3 (05-12) entered, neither has left by D.
    assert totals["Proposal"] == (2, 0, None, None)
    assert "Won" not in totals
    assert totals["Prospecting"][0] == 3
