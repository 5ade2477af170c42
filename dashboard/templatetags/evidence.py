"""The evidence for a difference (OutcomeComparison) as the influence page writes it: the same
wording functions as the headline (metrics.evidence), so a number reads the same in both."""

from __future__ import annotations

from django import template

from metrics import evidence
from metrics.models import OutcomeComparison

register = template.Library()


@register.filter
def p_value(value: float | None) -> str:
    return evidence.format_p(value)


@register.filter
def points(value: float | None) -> str:
    return evidence.format_points(value)


@register.filter
def shift_days(value: float | None) -> str:
    return evidence.format_days(value)


@register.filter
def points_interval(comparison: OutcomeComparison) -> str:
    return evidence.format_interval(comparison.win_rate_difference_low, comparison.win_rate_difference_high)


@register.filter
def days_interval(comparison: OutcomeComparison) -> str:
    return evidence.format_interval(comparison.cycle_shift_low, comparison.cycle_shift_high, evidence.format_days)


@register.filter
def significant(value: float | None) -> bool:
    return value is not None and value < evidence.SIGNIFICANT
