"""The Follow button's state on the account and segment pages (alerts/_follow.html)."""

from __future__ import annotations

import datetime as dt

from django import template

from accounts.models import Account, Segment
from alerts import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def is_following(context: template.Context, account: Account | None = None, segment: Segment | None = None) -> bool:
    """Whether the signed-in user follows this account or segment (one query)."""
    request = context.get("request")
    # An include's missing variable arrives as "" (the template's string_if_invalid).
    account, segment = account or None, segment or None
    if request is None or not request.user.is_authenticated or (account is None and segment is None):
        return False
    return selectors.is_following(user=request.user, account=account, segment=segment)


@register.filter
def isodate(value: str | None) -> dt.date | None:
    """An ISO date stored in a payload, back to a date for the |date filter."""
    try:
        return dt.date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


@register.filter
def change(value: float | None) -> str:
    """A relative change (0.25) as "+25 %"; "–" when there was nothing to compare with."""
    if value is None:
        return "–"
    text = f"{value * 100:+.0f} %"
    return "±0 %" if text.lstrip("+-").startswith("0 ") else text.replace("-", "−")


@register.filter
def points(value: float | None) -> str:
    """A difference of two shares (0.12) in percentage points, signed: "+12"."""
    if value is None:
        return "–"
    return f"{value * 100:+.0f}".replace("-", "−")


@register.filter
def days(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:+.0f}".replace("-", "−")


@register.filter
def pvalue(value: float | None) -> str:
    """"p = 0.012", "p < 0.001"; "p –" when there is none."""
    if value is None:
        return "p –"
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


@register.filter
def sub(value: float | int | None, other: float | int | None) -> float | None:
    return None if value is None or other is None else value - other
