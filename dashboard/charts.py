"""Plotly figures for the dashboard, built in Python and drawn by static/js/charts.js.

Each builder takes rows a selector read and returns a plain dict (data, layout, config) that
the template embeds with `json_script`. Every family has one colour on every page, the same as
the CSS variables in static/css/app.css. Layouts use the "none" template, so a figure carries
only its own data (the default template would add ~7 KB to each one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from dashboard.selectors import CreditRow, Heatmap, OutcomeRow
from metrics.models import AccountSnapshot, ChannelSnapshot, ProgramSnapshot, SegmentSnapshot

COLOURS: dict[str, str] = {
    "coverage": "#6f42c1",
    "awareness": "#1f77b4",
    "engagement": "#e4572e",
    "reach": "#17a589",
    "influence": "#d4a017",
    "neutral": "#8a94a6",
    "bad": "#c0312b",
}
# Shades for several series of one family (lighter = shorter window / weaker signal).
ENGAGEMENT_SHADES = ("#f4a582", "#e4572e", "#9e2a0c")
INFLUENCE_SHADES = ("#f0d77a", "#d4a017", "#8a6a0b")
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"

Figure = dict[str, Any]


def _layout(*, height: int, x_title: str = "", y_title: str = "", **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "template": "none",
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 36, "b": 50},
        "font": {"family": FONT, "size": 12, "color": "#1d2330"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "xaxis": {"title": {"text": x_title}, "gridcolor": "#eef0f4", "automargin": True},
        "yaxis": {"title": {"text": y_title}, "gridcolor": "#eef0f4", "automargin": True, "rangemode": "tozero"},
        # Above the plot: below it, a legend collides with the x-axis title on narrow cards.
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "xanchor": "left", "yanchor": "bottom"},
        "hovermode": "x unified",
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def _finish(fig: go.Figure, *, static: bool = False) -> Figure:
    out = fig.to_plotly_json()
    out["config"] = {"displayModeBar": False, "staticPlot": True} if static else {"displayModeBar": False}
    return out


def _dates(days: Sequence[dt.date]) -> list[str]:
    return [d.isoformat() for d in days]


# ---------------------------------------------------------------------------- account health

# The figure each family's tile draws its 90-day sparkline from.
SPARKLINE_FIELDS: dict[str, str] = {
    "coverage": "role_coverage",
    "awareness": "aware_contacts",
    "engagement": "minutes_90d",
    "reach": "programs_reached",
    "influence": "influenced_pipeline",
}


def sparkline(history: Sequence[AccountSnapshot], family: str) -> Figure:
    """A tiny line of the tile's headline figure over the account's snapshot history."""
    name = SPARKLINE_FIELDS[family]
    values = [float(getattr(s, name)) for s in history]
    fig = go.Figure(
        go.Scatter(
            x=_dates([s.as_of for s in history]),
            y=values,
            mode="lines",
            line={"color": COLOURS[family], "width": 2},
            fill="tozeroy",
            fillcolor=COLOURS[family] + "22",
            name=name,
            hovertemplate="%{x}: %{y}<extra></extra>",
        ),
        layout=_layout(
            height=60,
            margin={"l": 2, "r": 2, "t": 2, "b": 2},
            xaxis={"visible": False},
            yaxis={"visible": False},
            showlegend=False,
        ),
    )
    return _finish(fig, static=True)


def minutes_over_time(history: Sequence[AccountSnapshot]) -> Figure:
    """Engagement minutes over the last 7, 30 and 90 days, one point per snapshot day."""
    x = _dates([s.as_of for s in history])
    traces = [
        go.Scatter(x=x, y=[s.minutes_7d for s in history], name="Last 7 days", mode="lines",
                   line={"color": ENGAGEMENT_SHADES[0], "width": 2}),
        go.Scatter(x=x, y=[s.minutes_30d for s in history], name="Last 30 days", mode="lines",
                   line={"color": ENGAGEMENT_SHADES[1], "width": 2}),
        go.Scatter(x=x, y=[s.minutes_90d for s in history], name="Last 90 days", mode="lines",
                   line={"color": ENGAGEMENT_SHADES[2], "width": 2}),
    ]
    return _finish(go.Figure(traces, layout=_layout(height=300, x_title="Snapshot day", y_title="Engagement minutes")))


def minutes_by_kind(history: Sequence[AccountSnapshot], *, weeks: int = 13) -> Figure:
    """W90 minutes per touchpoint kind, stacked, on every 7th snapshot day back from the as-of day."""
    sampled = list(history[::-7])[:weeks][::-1] if history else []
    kinds = sorted({k for s in sampled for k, v in (s.minutes_by_kind or {}).items() if v})
    x = _dates([s.as_of for s in sampled])
    palette = ["#e4572e", "#f29e4c", "#1f77b4", "#17a589", "#6f42c1", "#d4a017", "#8c564b", "#e377c2",
               "#7f7f7f", "#bcbd22", "#17becf", "#9e2a0c", "#aec7e8", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94"]
    traces = [
        go.Bar(
            x=x,
            y=[float((s.minutes_by_kind or {}).get(kind, 0)) for s in sampled],
            name=kind.replace("_", " "),
            marker={"color": palette[i % len(palette)]},
        )
        for i, kind in enumerate(kinds)
    ]
    return _finish(
        go.Figure(traces, layout=_layout(height=380, barmode="stack", x_title="Snapshot day",
                                         y_title="Minutes in the 90 days before", margin={"t": 10},
                                         legend={"orientation": "v", "x": 1.02, "y": 1, "yanchor": "top",
                                                 "font": {"size": 10}}))
    )


def contact_heatmap(heatmap: Heatmap) -> Figure:
    height = max(200, 60 + 26 * len(heatmap.rows))
    fig = go.Figure(
        go.Heatmap(
            z=heatmap.z,
            x=[f"{w:%b %d}" for w in heatmap.weeks],
            y=heatmap.rows,
            colorscale=[[0, "#fbeee9"], [0.001, "#f8d3c5"], [1, COLOURS["engagement"]]],
            zmin=0,
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": "min"}, "thickness": 12},
            hovertemplate="%{y}<br>week of %{x}: %{z} min<extra></extra>",
        ),
        layout=_layout(height=height, x_title="Week starting", y_title="", hovermode="closest",
                       yaxis={"autorange": "reversed", "rangemode": "normal"}),
    )
    return _finish(fig)


# ---------------------------------------------------------------------------- segments

FUNNEL_STAGES = (
    ("All accounts", "accounts", "neutral"),
    ("Aware", "funnel_aware", "awareness"),
    ("Engaged", "funnel_engaged", "engagement"),
    ("MQA", "funnel_mqa", "engagement"),
    ("Opportunity", "funnel_opportunity", "influence"),
    ("Customer", "funnel_customer", "influence"),
)


def funnel(snapshot: SegmentSnapshot) -> Figure:
    """Accounts at or past each journey stage (METRICS.md), from the segment snapshot."""
    fig = go.Figure(
        go.Funnel(
            y=[label for label, _, _ in FUNNEL_STAGES],
            x=[getattr(snapshot, f) for _, f, _ in FUNNEL_STAGES],
            marker={"color": [COLOURS[c] for _, _, c in FUNNEL_STAGES]},
            textinfo="value+percent initial",
            hovertemplate="%{y}: %{x} accounts (%{percentInitial:.0%} of all)<extra></extra>",
        ),
        layout=_layout(height=320, margin={"l": 100, "r": 20, "t": 10, "b": 20}, hovermode="closest"),
    )
    return _finish(fig)


def funnel_compare(a_name: str, a: SegmentSnapshot, b_name: str, b: SegmentSnapshot) -> Figure:
    """Share of each segment's accounts at or past each stage, side by side (sizes differ, shares compare)."""
    labels = [label for label, _, _ in FUNNEL_STAGES]

    def shares(s: SegmentSnapshot) -> list[float]:
        return [round(getattr(s, f) / s.accounts, 4) if s.accounts else 0.0 for _, f, _ in FUNNEL_STAGES]

    fig = go.Figure(
        [
            go.Bar(x=labels, y=shares(a), name=a_name, marker={"color": COLOURS["engagement"]}),
            go.Bar(x=labels, y=shares(b), name=b_name, marker={"color": COLOURS["neutral"]}),
        ],
        layout=_layout(height=300, barmode="group", x_title="Journey stage (at or past)",
                       y_title="Share of the segment's accounts", yaxis={"tickformat": ".0%", "range": [0, 1]}),
    )
    return _finish(fig)


def segment_trend(history: Sequence[SegmentSnapshot]) -> Figure:
    """Each family's share of the segment's accounts over time (reach as mean programs, right axis)."""
    x = _dates([s.as_of for s in history])

    def share(count_field: str) -> list[float]:
        return [round(getattr(s, count_field) / s.accounts, 4) if s.accounts else 0.0 for s in history]

    traces = [
        go.Scatter(x=x, y=[s.covered_share for s in history], name="Covered", line={"color": COLOURS["coverage"]}),
        go.Scatter(x=x, y=[s.aware_share for s in history], name="Aware", line={"color": COLOURS["awareness"]}),
        go.Scatter(x=x, y=[s.engaged_share for s in history], name="Engaged", line={"color": COLOURS["engagement"]}),
        go.Scatter(x=x, y=[s.mqa_share for s in history], name="MQA",
                   line={"color": COLOURS["engagement"], "dash": "dot"}),
        go.Scatter(x=x, y=share("funnel_opportunity"), name="Opportunity or customer",
                   line={"color": COLOURS["influence"]}),
        go.Scatter(x=x, y=[s.mean_programs_reached for s in history], name="Mean programs reached (right axis)",
                   line={"color": COLOURS["reach"], "dash": "dash"}, yaxis="y2"),
    ]
    layout = _layout(
        height=340, x_title="Snapshot day", y_title="Share of accounts",
        yaxis={"tickformat": ".0%", "range": [0, 1.02]},
        yaxis2={"title": {"text": "Programs reached"}, "overlaying": "y", "side": "right", "rangemode": "tozero",
                "showgrid": False},
        margin={"r": 60, "t": 60},
    )
    return _finish(go.Figure(traces, layout=layout))


def minutes_histogram(buckets: Sequence[tuple[str, int]], *, name: str = "Accounts") -> Figure:
    fig = go.Figure(
        go.Bar(x=[b for b, _ in buckets], y=[n for _, n in buckets], name=name,
               marker={"color": COLOURS["engagement"]}, hovertemplate="%{x} minutes: %{y} accounts<extra></extra>"),
        layout=_layout(height=280, x_title="Engagement minutes, last 90 days", y_title="Accounts", hovermode="closest"),
    )
    return _finish(fig)


def minutes_histogram_compare(a_name: str, a: Sequence[tuple[str, int]], b_name: str,
                              b: Sequence[tuple[str, int]]) -> Figure:
    def shares(buckets: Sequence[tuple[str, int]]) -> list[float]:
        total = sum(n for _, n in buckets)
        return [round(n / total, 4) if total else 0.0 for _, n in buckets]

    labels = [label for label, _ in a]
    fig = go.Figure(
        [go.Bar(x=labels, y=shares(a), name=a_name, marker={"color": COLOURS["engagement"]}),
         go.Bar(x=labels, y=shares(b), name=b_name, marker={"color": COLOURS["neutral"]})],
        layout=_layout(height=280, barmode="group", x_title="Engagement minutes, last 90 days",
                       y_title="Share of accounts", yaxis={"tickformat": ".0%"}),
    )
    return _finish(fig)


# ---------------------------------------------------------------------------- programs


def reach_focus_waste(rows: Sequence[ProgramSnapshot | ChannelSnapshot], labels: Sequence[str]) -> Figure:
    """Target reach, focus and waste side by side per program or channel (shares 0–1)."""
    def vals(name: str) -> list[float | None]:
        return [getattr(r, name) for r in rows]

    fig = go.Figure(
        [
            go.Bar(y=list(labels), x=vals("target_reach"), name="Target reach", orientation="h",
                   marker={"color": COLOURS["reach"]}),
            go.Bar(y=list(labels), x=vals("focus"), name="Focus", orientation="h", marker={"color": "#0e6655"}),
            go.Bar(y=list(labels), x=vals("waste"), name="Waste", orientation="h", marker={"color": COLOURS["bad"]}),
        ],
        layout=_layout(height=max(240, 90 + 48 * len(rows)), barmode="group", x_title="Share",
                       xaxis={"tickformat": ".0%", "range": [0, 1]},
                       yaxis={"autorange": "reversed", "rangemode": "normal"},
                       margin={"l": 160}, hovermode="y unified"),
    )
    return _finish(fig)


def cost_and_waste(rows: Sequence[ProgramSnapshot | ChannelSnapshot], labels: Sequence[str],
                   costs: Sequence[float]) -> Figure:
    """Cost split into the part spent at target accounts and the wasted part."""
    wasted = [float(r.wasted_cost) for r in rows]
    fig = go.Figure(
        [
            go.Bar(y=list(labels), x=[round(c - w, 2) for c, w in zip(costs, wasted, strict=True)],
                   name="Cost at target accounts", orientation="h", marker={"color": COLOURS["reach"]}),
            go.Bar(y=list(labels), x=wasted, name="Wasted cost", orientation="h", marker={"color": COLOURS["bad"]}),
        ],
        layout=_layout(height=max(220, 90 + 28 * len(rows)), barmode="stack", x_title="Cost",
                       yaxis={"autorange": "reversed", "rangemode": "normal"},
                       margin={"l": 160}, hovermode="y unified"),
    )
    return _finish(fig)


def program_trend(history: Sequence[ProgramSnapshot]) -> Figure:
    x = _dates([s.as_of for s in history])
    fig = go.Figure(
        [
            go.Scatter(x=x, y=[s.target_reach for s in history], name="Target reach", line={"color": COLOURS["reach"]}),
            go.Scatter(x=x, y=[s.focus for s in history], name="Focus", line={"color": "#0e6655", "dash": "dot"}),
            go.Scatter(x=x, y=[s.waste for s in history], name="Waste", line={"color": COLOURS["bad"]}),
        ],
        layout=_layout(height=280, x_title="Snapshot day", y_title="Share", yaxis={"tickformat": ".0%",
                                                                                  "range": [0, 1]}),
    )
    return _finish(fig)


# ---------------------------------------------------------------------------- influence

OUTCOME_METRICS = {
    "win_rate": ("Win rate", ".0%"),
    "median_cycle_days": ("Median sales cycle (days)", ",.0f"),
    "avg_contract_value": ("Average contract value", ",.0f"),
}


def outcome_bars(rows: Sequence[OutcomeRow], metric: str) -> Figure:
    """One outcome figure per engagement quartile (or other grouping), with the closed count in the hover."""
    title, fmt = OUTCOME_METRICS[metric]
    x = [r.label.replace(" (least engaged)", "").replace(" (most engaged)", "") for r in rows]
    y = [None if r.row is None or getattr(r.row, metric) is None else float(getattr(r.row, metric)) for r in rows]
    closed = [r.row.opportunities_closed if r.row else 0 for r in rows]
    fig = go.Figure(
        go.Bar(
            x=x, y=y, customdata=closed,
            # The last group (most engaged quartile, or the first-named group) in the full family colour.
            marker={"color": [INFLUENCE_SHADES[0]] * (len(x) - 1) + [COLOURS["influence"]]},
            texttemplate=f"%{{y:{fmt}}}", textposition="outside", cliponaxis=False,
            hovertemplate=f"%{{x}}: %{{y:{fmt}}}<br>%{{customdata}} closed opportunities<extra></extra>",
            name=title,
        ),
        layout=_layout(height=260, y_title=title, hovermode="closest", margin={"t": 20},
                       yaxis={"tickformat": fmt}),
    )
    return _finish(fig)


def attribution_bars(rows: Sequence[CreditRow], *, limit: int = 15) -> Figure:
    """Pipeline and revenue credited, largest first (the top `limit` rows)."""
    shown = list(rows)[:limit]
    labels = [r.name for r in shown]
    fig = go.Figure(
        [
            go.Bar(y=labels, x=[round(r.pipeline, 2) for r in shown], name="Pipeline", orientation="h",
                   marker={"color": INFLUENCE_SHADES[0]}),
            go.Bar(y=labels, x=[round(r.revenue, 2) for r in shown], name="Revenue (won)", orientation="h",
                   marker={"color": INFLUENCE_SHADES[2]}),
        ],
        layout=_layout(height=max(220, 90 + 44 * len(shown)), barmode="group", x_title="Amount credited",
                       yaxis={"autorange": "reversed", "rangemode": "normal"}, margin={"l": 170},
                       hovermode="y unified"),
    )
    return _finish(fig)
