"""Plotly figures of the people pages, as plain dicts in the style of dashboard.charts (its
helpers build the traces and layouts, so a person's chart looks like their account's)."""

from __future__ import annotations

from collections.abc import Sequence

from dashboard.charts import ENGAGEMENT_SHADES, Figure, _dates, _finish, _layout, _trace
from metrics.models import ContactSnapshot


def contact_minutes_over_time(history: Sequence[ContactSnapshot]) -> Figure:
    """A person's engagement minutes in the last 7, 30 and 90 days, one point per published day
    with a row (a day before their first touch has none)."""
    x = _dates([s.as_of for s in history])
    traces = [
        _trace("scatter", x=x, y=[s.minutes_7d for s in history], name="Last 7 days", mode="lines+markers",
               line={"color": ENGAGEMENT_SHADES[0], "width": 2}, marker={"size": 4}),
        _trace("scatter", x=x, y=[s.minutes_30d for s in history], name="Last 30 days", mode="lines+markers",
               line={"color": ENGAGEMENT_SHADES[1], "width": 2}, marker={"size": 4}),
        _trace("scatter", x=x, y=[s.minutes_90d for s in history], name="Last 90 days", mode="lines+markers",
               line={"color": ENGAGEMENT_SHADES[2], "width": 2}, marker={"size": 4}),
    ]
    # Whole days on the axis (one day alone would be ticked in fractions of a second).
    days = {"type": "date", "tickformat": "%-d %b %Y", "dtick": 86_400_000 * max(1, len(history) // 6)}
    return _finish(traces, _layout(height=300, x_title="Snapshot day", y_title="Engagement minutes", xaxis=days))
