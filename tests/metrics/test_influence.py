"""Influence (METRICS.md §5) and the journey stages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from metrics.models import AccountSnapshot, InfluenceSummary, MetricSettings, OutcomeGroup, SegmentSnapshot
from metrics.services import compute_day
from tests.metrics.builders import D, account, at, contact, opportunity, touch

pytestmark = pytest.mark.django_db


def _snap(acc) -> AccountSnapshot:
    return AccountSnapshot.objects.get(account=acc, as_of=D)


def test_pipeline_won_revenue_and_influenced_pipeline() -> None:
    a = account()
    opportunity(a, "1000", at(10))  # open, created in W90
    opportunity(a, "500", at(30), closed=at(5), won=True)  # created and won in W90
    touch(a, "web_visit", at(95))  # D−95: within (created day − 90) for both → both influenced

    b = account()
    opportunity(b, "700", at(20), closed=at(15))  # lost; window D−110 … D−15
    touch(b, "email_open", at(10))  # after its closed day: does not count
    touch(b, "ad_impression", at(18))  # worth 0 minutes: does not count
    touch(b, "web_visit", at(111))  # D−111: before created day − 90
    opportunity(b, "300", at(100), closed=at(80), won=True)  # created before W90, won in W90
    opportunity(b, "900", at(-3))  # created after D: not yet there

    c = account()
    opportunity(c, "400", at(20, hour=15))
    touch(c, "web_visit", at(110, hour=0))  # exactly (created day − 90) at midnight: counts

    compute_day(as_of=D)
    sa, sb, sc = _snap(a), _snap(b), _snap(c)
    assert (sa.pipeline_created_90d, sa.won_revenue_90d) == (Decimal("1500.00"), Decimal("500.00"))
    assert (sa.influenced_pipeline, sa.influenced_opportunities) == (Decimal("1500.00"), 2)
    assert (sb.pipeline_created_90d, sb.won_revenue_90d) == (Decimal("700.00"), Decimal("300.00"))
    assert (sb.influenced_pipeline, sb.influenced_opportunities) == (Decimal("0.00"), 0)
    assert sc.influenced_pipeline == Decimal("400.00")
    summary = InfluenceSummary.objects.get(as_of=D)
    # 1500 + 400
    assert (summary.influenced_pipeline, summary.influenced_opportunities) == (Decimal("1900.00"), 3)


def test_journey_stages_take_the_highest_met() -> None:
    nothing = account()
    aware = account()
    touch(aware, "email_open", at(3))
    engaged = account()
    touch(engaged, "meeting", at(3))  # 30 minutes, no awareness kind: still "engaged"
    mqa = account()
    for who in (contact(mqa), contact(mqa)):
        touch(mqa, "meeting", at(3), who=who, minutes="60")
    opp = account()
    opportunity(opp, "10", at(10))
    won_after_d = account()
    opportunity(won_after_d, "10", at(10), closed=at(-2), won=True)  # open as of D
    lost = account()
    opportunity(lost, "10", at(40), closed=at(5))  # closed lost: no opportunity stage
    future = account()
    opportunity(future, "10", at(-1))  # created after D
    customer = account()
    opportunity(customer, "10", at(400), closed=at(300), won=True)
    opportunity(customer, "10", at(4))  # an open one too: customer is higher
    compute_day(as_of=D)
    stages = {
        nothing: "none", aware: "aware", engaged: "engaged", mqa: "mqa", opp: "opportunity",
        won_after_d: "opportunity", lost: "none", future: "none", customer: "customer",
    }
    assert {acc.name: _snap(acc).journey_stage for acc in stages} == {acc.name: s for acc, s in stages.items()}
    funnel = SegmentSnapshot.objects.get(segment=None, as_of=D)
    assert funnel.accounts == 9
    # at or past: aware 6 (aware, engaged, mqa, opp, won_after_d, customer), engaged 5, mqa 4, opportunity 3, customer 1
    assert (funnel.funnel_aware, funnel.funnel_engaged, funnel.funnel_mqa) == (6, 5, 4)
    assert (funnel.funnel_opportunity, funnel.funnel_customer) == (3, 1)


def _closed(minutes: str | None, *, target: bool, won: bool, amount: str, closed_days_before: int = 60,
            external_id: str | None = None):
    acc = account(is_target=target, industry="Software", employees=100)
    if minutes is not None:
        touch(acc, "web_visit", at(101), minutes=minutes)  # created day − 1: the last day that counts
    return opportunity(acc, amount, at(100), closed=at(closed_days_before), won=won, external_id=external_id)


@pytest.fixture
def eight_closed() -> None:
    a = _closed(None, target=False, won=False, amount="1000")  # 0 minutes
    touch(a.account, "web_visit", at(191), minutes="1000")  # created day − 91: too early
    b = _closed(None, target=False, won=True, amount="100")  # cycle D−100 → D−60: 40 days
    touch(b.account, "web_visit", at(190), minutes="1")  # created day − 90: counts → 1 minute
    touch(b.account, "web_visit", at(100), minutes="50")  # the creation day itself: does not count
    _closed("20", target=True, won=False, amount="300")
    _closed("30", target=True, won=False, amount="300")
    _closed("100", target=True, won=True, amount="150", closed_days_before=70)  # cycle 30
    _closed("200", target=True, won=False, amount="500")
    _closed("300", target=True, won=True, amount="200", closed_days_before=80)  # cycle 20
    _closed("400", target=True, won=True, amount="400", closed_days_before=80)  # cycle 20
    # Not in the unit: closed before the 365 days ending D, and still open.
    _closed("999", target=True, won=True, amount="5", closed_days_before=400)
    opportunity(account(), "5", at(100))
    account(is_target=False, industry="Retail", employees=100)  # no look-alike of any target


def _groups(dimension: str) -> dict[str, OutcomeGroup]:
    return {g.group: g for g in OutcomeGroup.objects.filter(as_of=D, dimension=dimension)}


def test_outcomes_by_engagement_quartile(eight_closed) -> None:
    compute_day(as_of=D)
    q = _groups("quartile")
    # Sorted minutes 0, 1 | 20, 30 | 100, 200 | 300, 400: i-th of 8 → quartile ⌊4i/8⌋ + 1
    assert [q[k].opportunities_closed for k in "1234"] == [2, 2, 2, 2]
    assert (q["1"].opportunities_won, q["1"].win_rate, q["1"].median_cycle_days) == (1, 0.5, 40.0)
    assert (q["1"].avg_contract_value, q["1"].pipeline_created) == (Decimal("100.00"), Decimal("1100.00"))
    assert q["1"].mean_minutes_90d == pytest.approx(0.5)  # (0 + 1) / 2
    assert (q["2"].win_rate, q["2"].median_cycle_days, q["2"].avg_contract_value) == (0.0, None, None)
    assert (q["3"].win_rate, q["3"].median_cycle_days, q["3"].avg_contract_value) == (0.5, 30.0, Decimal("150.00"))
    assert (q["4"].win_rate, q["4"].median_cycle_days, q["4"].avg_contract_value) == (1.0, 20.0, Decimal("300.00"))
    assert q["4"].pipeline_created == Decimal("600.00")

    target, engaged = _groups("target"), _groups("engaged")
    assert (target["target"].opportunities_closed, target["target"].win_rate) == (6, 0.5)  # 3 of 6 won
    assert (target["non_target"].opportunities_closed, target["non_target"].win_rate) == (2, 0.5)
    # engaged = pre-creation minutes ≥ 10: the six with 20 … 400
    assert (engaged["engaged"].opportunities_closed, engaged["not_engaged"].opportunities_closed) == (6, 2)

    control = _groups("control")
    # Look-alikes: non-target Software accounts of 50–249 employees (a and b, not the Retail one)
    assert (control["control"].accounts, control["control"].opportunities_closed) == (2, 2)
    # Target accounts: the six above, the old-closed one and the open one (8), with 6 closed in the unit
    assert (control["target"].accounts, control["target"].opportunities_closed) == (8, 6)


def test_no_effect_stated_with_fewer_than_ten_closed_per_quartile(eight_closed) -> None:
    compute_day(as_of=D)
    summary = InfluenceSummary.objects.get(as_of=D)
    assert (summary.headline_reason, summary.closed_opportunities) == ("too_few", 8)
    assert summary.headline == (
        "The data shows no clear difference between the top and bottom quartiles of engagement: too few closed "
        "deals. Quartile 4 has 2 and quartile 1 2 closed opportunities; each needs at least 10."
    )
    assert summary.headline_opportunities == 4  # 2 in the top + 2 in the bottom quartile


def test_no_effect_stated_when_no_difference_is_significant(eight_closed) -> None:
    cfg = MetricSettings.load()
    cfg.headline_min_closed = 2
    cfg.save()
    compute_day(as_of=D)
    summary = InfluenceSummary.objects.get(as_of=D)
    # Win rate: quartile 4 won 2 of 2, quartile 1 1 of 2. Fisher: with 3 won of 4, quartile 4 wins 1 or 2,
    # each with probability C(2,k)·C(2,3−k)/C(4,3) = 2/4, so p = 1. Newcombe from Wilson (z = 1.95996):
    # 2/2 → [1/(1 + z²/2), 1] = [0.34238, 1]; 1/2 → 0.5 ± 0.40547 = [0.09453, 0.90547];
    # L = 0.5 − √(0.65762² + 0.40547²) = −0.27257, U = 0.5 + √(0² + 0.40547²) = 0.90547.
    # Cycle: 20, 20 (won in quartile 4) against 40: U = 0, ties → normal approximation with tie and
    # continuity corrections: σ² = 2·1/12 · (4 − (2³ − 2)/(3·2)) = 0.5, z = (1 − 0.5)/√0.5 = 0.7071,
    # p = 2·(1 − Φ(0.7071)) = 0.4795 (shown cut to 0.479). Shift: both differences are −20; with 2 × 1
    # values C = round(1 − 1.96·√(2·4/12)) < 1: no 95 % interval.
    assert summary.headline_reason == "not_significant"
    assert summary.headline == (
        "The data shows no clear difference between the top and bottom quartiles of engagement: no difference "
        "has p < 0.05. The win rate 100 % of 2 closed deals against 50 % of 2 (difference +50.0 points, 95 % "
        "interval −27.3 to +90.5 points, Fisher's exact test p = 1.000); cycle days of the 2 won deals against 1 "
        "(Hodges–Lehmann shift −20 days, no 95 % interval: too few won deals, Mann–Whitney U test p = 0.479)."
    )


def test_ties_inside_a_quartile_keep_the_quartiles() -> None:
    # Sorted 0, 0 | 5, 5 | 9, 9 | 20, 20: equal minutes, but never on both sides of a boundary, so the
    # tie-break by external_id moves no deal from one quartile to another.
    for external_id, minutes in (("H", "20"), ("A", None), ("C", "5"), ("F", "9"), ("B", None), ("D", "5"),
                                 ("E", "9"), ("G", "20")):
        _closed(minutes, target=True, won=False, amount="1", external_id=external_id)
    compute_day(as_of=D)
    q = _groups("quartile")
    assert [q[k].mean_minutes_90d for k in "1234"] == [0.0, 5.0, 9.0, 20.0]
    assert InfluenceSummary.objects.get(as_of=D).quartile_ties == []


def test_sales_velocity_per_segment() -> None:
    for days_before, won, amount in ((60, True, "1000"), (50, True, "3000"), (40, False, "500")):
        acc = account()
        opportunity(acc, amount, at(days_before + 30), closed=at(days_before), won=won)
    for _ in range(3):
        opportunity(account(), "100", at(5))  # open
    compute_day(as_of=D)
    row = SegmentSnapshot.objects.get(segment=None, as_of=D)
    assert row.open_opportunities == 3
    assert row.win_rate == pytest.approx(2 / 3)
    assert row.avg_contract_value == Decimal("2000.00")  # (1000 + 3000) / 2
    assert row.median_cycle_days == 30.0
    # 3 × 2/3 × 2000 / 30 = 133.33 per day
    assert row.sales_velocity == pytest.approx(3 * (2 / 3) * 2000 / 30)
