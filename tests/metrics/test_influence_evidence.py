"""Evidence, not just a difference (METRICS.md §5): tests, intervals, the headline rule and the
no-quartile rule. Every expected p-value, interval and shift is worked out in the comments, by hand
or with a closed formula independent of the code under test (Wilson's interval written out here,
not scipy's; pairwise differences listed here, not counted)."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import numpy as np
import pytest

from metrics import evidence
from metrics.models import InfluenceSummary, OutcomeComparison, OutcomeGroup
from metrics.services import compute_day
from tests.metrics.builders import D, account, at, opportunity, touch

Z = 1.959963984540054  # the 97.5 % point of the standard normal


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson's score interval written out: (p̂ + z²/2n ± z·√(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n)."""
    p = k / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return centre - half, centre + half


def newcombe(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    p1, p2 = k1 / n1, k2 / n2
    (l1, u1), (l2, u2) = wilson(k1, n1), wilson(k2, n2)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


# ---------------------------------------------------------------------------- the statistics


def test_win_rates_by_fisher_with_newcombes_interval() -> None:
    # [[8, 2], [3, 7]]: 11 won of 20, 10 a row. P(first row wins k) = C(10,k)·C(10,11−k)/C(20,11),
    # C(20,11) = 167,960; observed k = 8: 45·120 = 5,400. The tables as or less likely: k = 1, 2, 3, 8, 9, 10
    # (10 + 450 + 5,400, twice) = 11,720, p = 11,720/167,960 = 0.069778.
    # Wilson: 8/10 → 0.716741 ± 0.226577 = [0.490164, 0.943318]; 3/10 → 0.355507 ± 0.247715 = [0.107792,
    # 0.603222]. Newcombe: L = 0.5 − √(0.309836² + 0.303222²) = 0.066476, U = 0.5 + √(0.143318² + 0.192208²)
    # = 0.739759.
    result = evidence.compare_win_rates(won_a=8, closed_a=10, won_b=3, closed_b=10)
    assert result.p_value == pytest.approx(11720 / 167960, rel=1e-9)
    assert result.estimate == pytest.approx(0.5)
    assert (result.low, result.high) == pytest.approx((0.066476, 0.739759), abs=1e-6)
    assert (result.low, result.high) == pytest.approx(newcombe(8, 10, 3, 10), rel=1e-9)
    assert not result.significant  # p ≥ 0.05, though the interval leaves out 0: the rule reads p


@pytest.mark.parametrize(("k", "n"), [(0, 1), (0, 10), (3, 10), (8, 10), (10, 10), (5, 12), (11, 12), (250, 1000)])
def test_wilson_interval_is_the_closed_formula(k: int, n: int) -> None:
    assert evidence.wilson_interval(k, n) == pytest.approx(wilson(k, n), abs=1e-12)


def test_no_win_rate_comparison_with_an_empty_group() -> None:
    assert evidence.compare_win_rates(won_a=3, closed_a=5, won_b=0, closed_b=0) == evidence.Difference()


def test_cycle_days_by_mann_whitney_with_the_hodges_lehmann_shift() -> None:
    a, b = [10, 12, 15, 20, 30, 40], [25, 35, 45, 50, 60, 70]
    # No ties and 6 a side: the exact test. U (pairs a > b) = 3 (30 > 25, 40 > 25, 40 > 35). Arrangements
    # with U ≤ 3: partitions of 0, 1, 2, 3 into at most 6 parts ≤ 6: 1 + 1 + 2 + 3 = 7 of C(12,6) = 924;
    # two-sided p = 2·7/924 = 0.015152.
    # The 36 differences a − b, sorted: −60 −58 −55 −50 −50 −48 −45 −40 −40 −40 −38 −35 −35 −33 −30 −30 −30
    # −30 | −25 −25 −23 −20 −20 −20 −15 −15 −15 −13 −10 −10 −5 −5 −5 5 5 15: median (−30 − 25)/2 = −27.5.
    # C = round(36/2 − 1.96·√(36·13/12)) = round(18 − 12.24) = 6: [D(6), D(31)] = [−48, −5].
    result = evidence.compare_cycle_days(a, b)
    assert result.p_value == pytest.approx(14 / 924, rel=1e-9)
    assert (result.estimate, result.low, result.high) == (-27.5, -48.0, -5.0)
    assert evidence.shift_rank_bound(6, 6) == 6


def test_mann_whitney_with_ties_is_the_normal_approximation() -> None:
    a, b = [3, 5, 5, 8, 9, 9, 12], [1, 2, 5, 5, 6, 7, 9, 9, 9, 10]
    # Written out: U = Σ over pairs of [a > b] + ½[a = b]; σ² = nm/12 · (N + 1 − Σ(t³ − t)/(N(N − 1)))
    # over the tied groups; z = (|U − nm/2| − ½)/σ; p = 2·(1 − Φ(z)).
    n, m = len(a), len(b)
    u = sum((x > y) + 0.5 * (x == y) for x in a for y in b)
    values = a + b
    ties = sum(t**3 - t for t in (values.count(v) for v in set(values)))
    sigma = math.sqrt(n * m / 12 * ((n + m + 1) - ties / ((n + m) * (n + m - 1))))
    z = (abs(u - n * m / 2) - 0.5) / sigma
    p = 2 * (1 - 0.5 * (1 + math.erf(z / math.sqrt(2))))
    assert evidence.compare_cycle_days(a, b).p_value == pytest.approx(p, rel=1e-9)


@pytest.mark.parametrize(("n", "m", "spread"), [(1, 1, 5), (2, 3, 3), (15, 40, 200), (700, 300, 60), (1500, 2000, 900)])
def test_hodges_lehmann_from_counted_differences_equals_the_listed_differences(n: int, m: int, spread: int) -> None:
    rng = random.Random(n * 1000 + m)
    a = [rng.randint(0, spread) for _ in range(n)]
    b = [rng.randint(spread // 3, spread + 7) for _ in range(m)]
    listed = np.sort(np.subtract.outer(np.array(a), np.array(b)).ravel())
    result = evidence.compare_cycle_days(a, b)
    assert result.estimate == float(np.median(listed))
    bound = evidence.shift_rank_bound(n, m)
    if bound >= 1:
        assert (result.low, result.high) == (float(listed[bound - 1]), float(listed[n * m - bound]))
    else:
        assert (result.low, result.high) == (None, None)


def test_rank_bound_of_the_shift_interval() -> None:
    # nm/2 − 1.96·√(nm(n + m + 1)/12), to the nearest whole number:
    # 11 × 5: 27.5 − 1.96·√(55·17/12) = 27.5 − 17.30 = 10.20 → 10; 6 × 5: 15 − 1.96·√30 = 4.26 → 4;
    # 2 × 1: 1 − 1.60 = −0.60 → −1 < 1: no interval; 100 × 100: 5000 − 1.96·√(10⁴·201/12) = 5000 − 802.16 → 4198.
    assert [evidence.shift_rank_bound(*nm) for nm in ((11, 5), (6, 5), (2, 1), (100, 100))] == [10, 4, -1, 4198]


def test_p_values_are_cut_not_rounded() -> None:
    assert [evidence.format_p(p) for p in (0.0698, 0.04996, 0.05, 0.0009, 1.0, None)] == [
        "p = 0.069", "p = 0.049", "p = 0.050", "p < 0.001", "p = 1.000", "–"]
    assert [evidence.format_points(d) for d in (0.5, -0.27257, -0.00001)] == ["+50.0", "−27.3", "0.0"]
    assert [evidence.format_days(d) for d in (-35.0, -37.5, 0.0, 4.0)] == ["−35", "−37.5", "0", "+4"]


# ---------------------------------------------------------------------------- the day's figures


def deal(minutes: int | None, cycle: int, won: bool, *, target: bool = True) -> None:
    """A deal closed on D−10 after `cycle` days; its account's engagement before it: one visit of
    `minutes` on the day before it was created (none: no touchpoint at all)."""
    acc = account(is_target=target, industry="Software", employees=100)
    if minutes is not None:
        touch(acc, "web_visit", at(10 + cycle + 1), minutes=str(minutes))
    opportunity(acc, "1000", at(10 + cycle), closed=at(10), won=won)


def quartile_world(*, top_won: list[int], top_lost: int) -> None:
    """48 deals with distinct minutes, 12 per quartile (no ties).

    Quartile 1 (minutes 1–12): won 5, cycles 40 45 50 55 60 (median 50), 7 lost.
    Quartile 2 (20–31): won 6, cycles 70 72 76 77 80 85 (median 76.5), 6 lost.
    Quartile 3 (40–51): won 6, cycles 30, 6 lost.
    Quartile 4 (100–111): won `top_won` cycles, `top_lost` lost.
    """
    for i, cycle in enumerate((40, 45, 50, 55, 60)):
        deal(1 + i, cycle, True, target=i % 2 == 0)
    for i in range(7):
        deal(6 + i, 30, False, target=i % 2 == 0)
    for i, cycle in enumerate((70, 72, 76, 77, 80, 85)):
        deal(20 + i, cycle, True)
    for i in range(6):
        deal(26 + i, 30, False, target=False)
    for i in range(6):
        deal(40 + i, 30, True)
        deal(46 + i, 30, False, target=False)
    assert len(top_won) + top_lost == 12
    for i, cycle in enumerate(top_won):
        deal(100 + i, cycle, True)
    for i in range(top_lost):
        deal(100 + len(top_won) + i, 30, False)


def deals_without_touchpoints(n: int = 40) -> None:
    """A CRM file with opportunities and no touchpoints: every deal has 0 minutes."""
    for i in range(n):
        deal(None, 20 + i, won=i % 2 == 0, target=i % 3 != 0)


SIGNIFICANT_HEADLINE = (
    "Compared with the bottom quartile of engagement, accounts in the top quartile won 50.0 points more often "
    "(92 % of 12 closed deals against 42 % of 12; 95 % interval 12.2 to 73.4 points; Fisher's exact test "
    "p = 0.027) and closed their won deals 35 days faster (Hodges–Lehmann shift over 11 won deals against 5; "
    "95 % interval 27 to 43 days; Mann–Whitney U test p < 0.001)."
)


@pytest.mark.django_db
def test_a_significant_difference_is_stated_with_its_counts_interval_and_p() -> None:
    quartile_world(top_won=list(range(10, 21)), top_lost=1)
    compute_day(as_of=D)
    # Win rate 11/12 against 5/12. Fisher: 16 won of 24, 12 a row; P(k) = C(12,k)·C(12,16−k)/C(24,16), of
    # 735,471; observed k = 11: 12·792 = 9,504; as or less likely: k = 4, 5, 11, 12 → 2·(495 + 9,504) = 19,998;
    # p = 19,998/735,471 = 0.027191. Wilson: 11/12 → [0.646119, 0.985135], 5/12 → [0.193261, 0.680489];
    # Newcombe: 0.5 − √(0.270548² + 0.263822²) = 0.122114, 0.5 + √(0.068468² + 0.223406²) = 0.733662.
    # Cycle: 10 … 20 against 40 45 50 55 60, no ties, 5 values: exact; U = 0, p = 2/C(16,5) = 2/4,368
    # = 0.000458. Both samples are symmetric (about 15 and 50), so the 55 differences are symmetric about
    # −35: shift −35. C = round(27.5 − 1.96·√(55·17/12)) = 10; the smallest differences are −50 … −46 (b =
    # 60 only), then −45, −45, −44, −44, −43, −43: D(10) = −43, and D(46) = −27 by symmetry.
    q = OutcomeComparison.objects.get(as_of=D, dimension="quartile")
    assert (q.group_a, q.group_b, q.closed_a, q.closed_b, q.won_a, q.won_b) == ("4", "1", 12, 12, 11, 5)
    assert q.win_rate_p_value == pytest.approx(19998 / 735471, rel=1e-9)
    assert (q.win_rate_difference_low, q.win_rate_difference_high) == pytest.approx(newcombe(11, 12, 5, 12))
    assert (q.win_rate_difference_low, q.win_rate_difference_high) == pytest.approx((0.122114, 0.733662), abs=1e-6)
    assert q.cycle_p_value == pytest.approx(2 / 4368, rel=1e-9)
    assert (q.cycle_shift_days, q.cycle_shift_low, q.cycle_shift_high) == (-35.0, -43.0, -27.0)

    summary = InfluenceSummary.objects.get(as_of=D)
    assert (summary.headline_reason, summary.closed_opportunities, summary.headline_opportunities) == ("effect", 48, 24)
    assert summary.headline == SIGNIFICANT_HEADLINE


@pytest.mark.django_db
def test_only_the_significant_difference_is_stated() -> None:
    quartile_world(top_won=[10, 11, 12, 13, 14, 15], top_lost=6)
    compute_day(as_of=D)
    # Win rate 6/12 against 5/12: 11 won of 24; P(k) = C(12,k)·C(12,11−k)/C(24,11); k = 6 and k = 5 are
    # both the likeliest (924·792 each), so every table is as or less likely: p = 1.
    # Cycle: 10 … 15 against 40 … 60: no ties, exact, U = 0: p = 2/C(11,5) = 2/462 = 0.004329. Symmetric
    # about 12.5 − 50 = −37.5. C = round(15 − 1.96·√30) = 4: D(4) = −47 (−50, −49, −48, −47 come from b = 60
    # only), D(27) = −28.
    low, high = newcombe(6, 12, 5, 12)
    summary = InfluenceSummary.objects.get(as_of=D)
    assert summary.headline_reason == "effect"
    assert summary.headline == (
        "Compared with the bottom quartile of engagement, accounts in the top quartile closed their won deals "
        "37.5 days faster (Hodges–Lehmann shift over 6 won deals against 5; 95 % interval 28 to 47 days; "
        "Mann–Whitney U test p = 0.004). No clear difference in win rate 50 % of 12 closed deals against 42 % of 12 "
        f"(difference +8.3 points, 95 % interval {evidence.format_points(low)} to {evidence.format_points(high)} "
        "points, Fisher's exact test p = 1.000)."
    )


@pytest.mark.django_db
def test_opportunities_but_no_touchpoints_give_no_quartiles_and_say_why() -> None:
    deals_without_touchpoints(40)
    compute_day(as_of=D)
    assert not OutcomeGroup.objects.filter(as_of=D, dimension="quartile").exists()
    assert not OutcomeComparison.objects.filter(as_of=D, dimension="quartile").exists()
    summary = InfluenceSummary.objects.get(as_of=D)
    assert (summary.headline_reason, summary.headline_opportunities) == ("no_engagement", 0)
    assert summary.quartile_ties == [{"minutes": 0.0, "opportunities": 40}]
    assert summary.headline == (
        "The data shows no clear difference between the top and bottom quartiles of engagement: no engagement "
        "recorded. All 40 closed deals had 0 engagement minutes in the 90 days before they were created, so "
        "there are no quartiles."
    )
    # The other comparisons still split the same 40 deals (i % 3 != 0 are targets: 26 of 40).
    target = {g.group: g.opportunities_closed for g in OutcomeGroup.objects.filter(as_of=D, dimension="target")}
    engaged = {g.group: g.opportunities_closed for g in OutcomeGroup.objects.filter(as_of=D, dimension="engaged")}
    assert target == {"target": 26, "non_target": 14}
    assert engaged == {"engaged": 0, "not_engaged": 40}
    assert OutcomeComparison.objects.get(as_of=D, dimension="engaged").win_rate_p_value is None  # an empty group


@pytest.mark.django_db
def test_engagement_tied_across_a_quartile_boundary_gives_no_quartiles() -> None:
    # Sorted 0 0 | 0 5 | 5 10 | 20 30: deals 2 and 3 (0 and 0) straddle the first boundary, 4 and 5 (5 and 5)
    # the second. Which 0-minute deal is in quartile 1 would hang on its external_id: no quartiles.
    for minutes in (None, 0, None, 5, 5, 10, 20, 30):
        deal(minutes, 30, won=True)
    compute_day(as_of=D)
    summary = InfluenceSummary.objects.get(as_of=D)
    assert summary.headline_reason == "engagement_ties"
    assert summary.quartile_ties == [{"minutes": 0.0, "opportunities": 3}, {"minutes": 5.0, "opportunities": 2}]
    assert summary.headline == (
        "The data shows no clear difference between the top and bottom quartiles of engagement. Engagement ties "
        "across quartile boundaries (3 of 8 deals have 0 minutes; 2 of 8 deals have 5 minutes): no quartiles."
    )
    assert not OutcomeGroup.objects.filter(as_of=D, dimension="quartile").exists()


@pytest.mark.django_db
def test_every_comparison_counts_the_rows_it_compares_and_recomputing_changes_nothing() -> None:
    quartile_world(top_won=list(range(10, 21)), top_lost=1)
    compute_day(as_of=D)

    def stored() -> list[tuple]:
        return list(OutcomeComparison.objects.filter(as_of=D).order_by("dimension").values_list(
            "dimension", "closed_a", "closed_b", "won_a", "won_b", "win_rate_p_value", "cycle_shift_days"))

    first = stored()
    assert [row[0] for row in first] == ["control", "engaged", "quartile", "target"]
    groups = {(g.dimension, g.group): g for g in OutcomeGroup.objects.filter(as_of=D)}
    for c in OutcomeComparison.objects.filter(as_of=D):
        a, b = groups[(c.dimension, c.group_a)], groups[(c.dimension, c.group_b)]
        assert (c.closed_a, c.won_a, c.closed_b, c.won_b) == (
            a.opportunities_closed, a.opportunities_won, b.opportunities_closed, b.opportunities_won)
    # One population: each split adds up to the 48 closed deals.
    for dimension in ("quartile", "target", "engaged"):
        assert sum(g.opportunities_closed for (d, _), g in groups.items() if d == dimension) == 48
    # The quartiles' figures themselves are as before the evidence: e.g. quartile 2's median of 76 and 77.
    assert groups[("quartile", "2")].median_cycle_days == 76.5
    assert groups[("quartile", "4")].pipeline_created == Decimal("12000.00")

    compute_day(as_of=D)
    assert stored() == first
    assert OutcomeComparison.objects.count() == 4
