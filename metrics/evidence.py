"""Evidence for a difference between two groups of closed opportunities (METRICS.md §5,
"Evidence, not just a difference"): the difference, its 95 % interval and a two-sided p-value.

- Win rates (won / closed): Fisher's exact test on the 2×2 table (scipy.stats.fisher_exact).
  The interval of the difference rate_a − rate_b is Newcombe's hybrid score interval (Newcombe
  1998, "Interval estimation for the difference between independent proportions", method 10),
  built from each rate's Wilson score interval (scipy.stats.binomtest(...).proportion_ci(method=
  "wilson")): with p_i, l_i, u_i a group's rate and Wilson bounds and d = p_a − p_b,
      L = d − √((p_a − l_a)² + (u_b − p_b)²),   U = d + √((u_a − p_a)² + (p_b − l_b)²).
- Cycle days (won deals): the Mann–Whitney U test, two-sided (scipy.stats.mannwhitneyu, method
  "auto": exact when a sample has at most 8 values and there are no ties, else the normal
  approximation with tie and continuity corrections). The shift a − b is the Hodges–Lehmann
  estimate, the median of the n·m differences a_i − b_j. Its interval is the distribution-free
  one of the ordered differences D(1) ≤ … ≤ D(nm) (Moses; Hollander & Wolfe, Nonparametric
  Statistical Methods, §4.3): [D(C), D(nm + 1 − C)] with the rank bound from the normal
  approximation of U, C = nm/2 − z·√(nm(n + m + 1)/12) rounded to the nearest whole number
  (z = 1.96 for 95 %); no interval when C < 1 (samples too small for 95 %).

scipy does the tests and the Wilson intervals; only the two combinations above are written here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
SIGNIFICANT = 0.05  # a difference is stated only where its p-value is below this


@dataclass(frozen=True)
class Difference:
    """An estimated difference a − b with its interval and the test's two-sided p-value; every
    part None when the groups cannot be compared (an empty group)."""

    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    p_value: float | None = None

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < SIGNIFICANT


def wilson_interval(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of successes / trials (trials ≥ 1)."""
    ci = stats.binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def compare_win_rates(*, won_a: int, closed_a: int, won_b: int, closed_b: int,
                      confidence: float = CONFIDENCE) -> Difference:
    """rate_a − rate_b (0–1), Newcombe's interval from Wilson intervals, Fisher's exact p."""
    if not closed_a or not closed_b:
        return Difference()
    table = [[won_a, closed_a - won_a], [won_b, closed_b - won_b]]
    p_value = min(float(stats.fisher_exact(table, alternative="two-sided").pvalue), 1.0)
    rate_a, rate_b = won_a / closed_a, won_b / closed_b
    low_a, high_a = wilson_interval(won_a, closed_a, confidence)
    low_b, high_b = wilson_interval(won_b, closed_b, confidence)
    d = rate_a - rate_b
    return Difference(
        estimate=d,
        low=d - math.sqrt((rate_a - low_a) ** 2 + (high_b - rate_b) ** 2),
        high=d + math.sqrt((high_a - rate_a) ** 2 + (rate_b - low_b) ** 2),
        p_value=p_value,
    )


class _PairwiseDifferences:
    """The n·m differences a_i − b_j of two samples of whole numbers, counted per value.

    Cycle days are whole days, so instead of listing n·m differences (10,000 won deals a side
    would be 10⁸) each value's count comes from one convolution of the two samples' day counts.
    """

    def __init__(self, a: Sequence[int], b: Sequence[int]) -> None:
        xa, xb = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        counts_a = np.bincount(xa - xa.min())
        counts_b = np.bincount(xb - xb.min())
        # Index k of the convolution of counts_a with counts_b reversed is the difference
        # k − (len(counts_b) − 1) + (min a − min b).
        self.cumulative = np.cumsum(np.convolve(counts_a, counts_b[::-1]))
        self.offset = int(xa.min() - xb.min()) - (len(counts_b) - 1)
        self.total = len(xa) * len(xb)

    def order_statistic(self, k: int) -> int:
        """D(k), the k-th smallest difference (1-based)."""
        return int(np.searchsorted(self.cumulative, k)) + self.offset

    def median(self) -> float:
        n = self.total
        if n % 2:
            return float(self.order_statistic((n + 1) // 2))
        return (self.order_statistic(n // 2) + self.order_statistic(n // 2 + 1)) / 2


def shift_rank_bound(n: int, m: int, confidence: float = CONFIDENCE) -> int:
    """C of the interval [D(C), D(nm + 1 − C)]: nm/2 − z·√(nm(n + m + 1)/12), to the nearest
    whole number (halves up)."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    return math.floor(n * m / 2 - z * math.sqrt(n * m * (n + m + 1) / 12) + 0.5)


def compare_cycle_days(a: Sequence[int], b: Sequence[int], confidence: float = CONFIDENCE) -> Difference:
    """Hodges–Lehmann shift a − b in days with its distribution-free interval, Mann–Whitney p."""
    if not a or not b:
        return Difference()
    p_value: float | None = float(stats.mannwhitneyu(a, b, alternative="two-sided", method="auto").pvalue)
    if p_value is not None and math.isnan(p_value):
        p_value = None  # no test possible (scipy gives NaN): stated as no p-value, never as "p = nan"
    differences = _PairwiseDifferences(a, b)
    bound = shift_rank_bound(len(a), len(b), confidence)
    low = high = None
    if bound >= 1:
        low = float(differences.order_statistic(bound))
        high = float(differences.order_statistic(differences.total + 1 - bound))
    return Difference(estimate=differences.median(), low=low, high=high, p_value=p_value)


# --- Wording: the headline and the page write these figures the same way ----------------------


def format_p(p_value: float | None) -> str:
    """"p < 0.001", else three decimals cut (not rounded), so that the shown value is on the same
    side of 0.05 as the value itself (0.0499… shows 0.049, not 0.050)."""
    if p_value is None:
        return "–"
    if p_value < 0.001:
        return "p < 0.001"
    return f"p = {math.floor(p_value * 1000) / 1000:.3f}"


def _minus(text: str) -> str:
    return text.replace("-", "−")


def format_points(share: float | None) -> str:
    """A difference of two rates (0–1) in percentage points, one decimal, signed: "+12.8", "−3.0"."""
    if share is None:
        return "–"
    text = f"{share * 100:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else _minus(text)


def format_days(days: float | None) -> str:
    """A shift in days, signed; a half day (the median of an even count) keeps its .5."""
    if days is None:
        return "–"
    text = f"{days:+.0f}" if float(days).is_integer() else f"{days:+.1f}"
    return "0" if text in ("+0", "-0") else _minus(text)


def format_interval(low: float | None, high: float | None,
                    formatter: Callable[[float | None], str] = format_points) -> str:
    """"low to high" written like the estimate (format_points or format_days)."""
    if low is None or high is None:
        return "–"
    return f"{formatter(low)} to {formatter(high)}"
