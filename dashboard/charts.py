"""Plotly figures for the dashboard, built in Python and drawn by static/js/charts.js.

Each builder takes rows a selector read and returns a plain dict (data, layout, config) that
the template embeds with `json_script`. The dicts are written out by hand rather than through
plotly.graph_objects: validating every property costs milliseconds per figure on each request,
and the output is the same JSON (tests/dashboard/test_charts_json.py checks each builder's dict
against plotly's own validation). Every family has one colour on every page, the same as the CSS
variables in static/css/app.css. Layouts use the "none" template, so a figure carries only its
own data (the default template would add ~7 KB to each one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from accounts.models import Channel
from dashboard.selectors import CreditRow, Heatmap, OutcomeRow, ProgramRow
from dashboard.templatetags.dash import money, num, pct
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
# One colour per channel and one per touchpoint kind, the same on every page and chart (a kind's
# colour never depends on which kinds an account happens to have). Kinds are shaded by how they
# arrive: email blues, web and content greens, events oranges, ads purples, sales reds, customers greys.
CHANNEL_COLOURS: dict[str, str] = {
    "email": "#4e79a7",
    "webinar": "#f28e2b",
    "event": "#e15759",
    "paid_social": "#76b7b2",
    "display": "#59a14f",
    "content": "#edc948",
    "direct_mail": "#b07aa1",
    "sdr_outreach": "#ff9da7",
    "web": "#9c755f",
}
KIND_COLOURS: dict[str, str] = {
    "email_open": "#9ecae1",
    "email_click": "#3182bd",
    "web_visit": "#a1d99b",
    "form_fill": "#41ab5d",
    "content_download": "#006d2c",
    "event_registered": "#fdd0a2",
    "event_attended": "#e6550d",
    "webinar_attended": "#fd8d3c",
    "ad_impression": "#dadaeb",
    "ad_click": "#9e9ac8",
    "social_engagement": "#6a51a3",
    "meeting": "#a50f15",
    "call_connected": "#ef3b2c",
    "sales_email_reply": "#fc9272",
    "direct_mail_response": "#8c6d31",
    "product_usage": "#636363",
    "nps_response": "#bdbdbd",
    # A rep's outbound actions (sales activity): light shades of the sales reds and the email blues.
    "call_attempt": "#fcbba1",
    "sales_email": "#6baed6",
}
# Shades for several series of one family (lighter = shorter window / weaker signal).
ENGAGEMENT_SHADES = ("#f4a582", "#e4572e", "#9e2a0c")
INFLUENCE_SHADES = ("#f0d77a", "#d4a017", "#8a6a0b")
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"

Figure = dict[str, Any]
Trace = dict[str, Any]

# plotly's "none" template as graph_objects writes it into a figure's layout (plotly.js knows no
# template names, only the object).
NONE_TEMPLATE: dict[str, Any] = {"data": {"scatter": [{"type": "scatter"}]}}


def _trace(kind: str, **props: Any) -> Trace:
    """One trace of plotly type `kind` (scatter, bar, heatmap, funnel) with its properties."""
    return {"type": kind, **props}


def _scatter(**props: Any) -> Trace:
    return _trace("scatter", **props)


def _bar(**props: Any) -> Trace:
    return _trace("bar", **props)


def _layout(*, height: int, x_title: str = "", y_title: str = "", **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "template": NONE_TEMPLATE,
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


def _count_axis(values: Sequence[float | int | None]) -> dict[str, Any]:
    """An axis of counts: whole-number ticks only (Plotly would tick 0.5 steps up to a count of 5)."""
    top = max((v for v in values if v is not None), default=0)
    return {"tickformat": ",d", "rangemode": "tozero", **({"dtick": 1} if top <= 5 else {})}


def _mean_axis(values: Sequence[float]) -> dict[str, Any]:
    """An axis of a mean of counts: about five round steps (0.5, 1, 2, 5…) from 0, not 1.28, 2.56…"""
    top = max(values, default=0) or 1
    step = next(s for s in (0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 1e9) if top / s <= 6)
    return {"tickmode": "linear", "tick0": 0, "dtick": step, "tickformat": ",d" if step >= 1 else ".1f"}


def _finish(data: Trace | list[Trace], layout: dict[str, Any], *, static: bool = False) -> Figure:
    return {
        "data": [data] if isinstance(data, dict) else data,
        "layout": layout,
        "config": {"displayModeBar": False, "staticPlot": True} if static else {"displayModeBar": False},
    }


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
    return _finish(
        _scatter(
            x=_dates([s.as_of for s in history]),
            y=values,
            mode="lines",
            line={"color": COLOURS[family], "width": 2},
            fill="tozeroy",
            fillcolor=COLOURS[family] + "22",
            name=name,
            hovertemplate="%{x}: %{y}<extra></extra>",
        ),
        _layout(
            height=60,
            margin={"l": 2, "r": 2, "t": 2, "b": 2},
            xaxis={"visible": False},
            yaxis={"visible": False},
            showlegend=False,
        ),
        static=True,
    )


def minutes_over_time(history: Sequence[AccountSnapshot]) -> Figure:
    """Engagement minutes over the last 7, 30 and 90 days, one point per snapshot day."""
    x = _dates([s.as_of for s in history])
    traces = [
        _scatter(x=x, y=[s.minutes_7d for s in history], name="Last 7 days", mode="lines",
                 line={"color": ENGAGEMENT_SHADES[0], "width": 2}),
        _scatter(x=x, y=[s.minutes_30d for s in history], name="Last 30 days", mode="lines",
                 line={"color": ENGAGEMENT_SHADES[1], "width": 2}),
        _scatter(x=x, y=[s.minutes_90d for s in history], name="Last 90 days", mode="lines",
                 line={"color": ENGAGEMENT_SHADES[2], "width": 2}),
    ]
    return _finish(traces, _layout(height=300, x_title="Snapshot day", y_title="Engagement minutes"))


def minutes_by_kind(history: Sequence[AccountSnapshot], *, weeks: int = 13) -> Figure:
    """W90 minutes per touchpoint kind, stacked, on every 7th snapshot day back from the as-of day."""
    sampled = list(history[::-7])[:weeks][::-1] if history else []
    kinds = sorted({k for s in sampled for k, v in (s.minutes_by_kind or {}).items() if v})
    x = _dates([s.as_of for s in sampled])
    traces = [
        _bar(
            x=x,
            y=[float((s.minutes_by_kind or {}).get(kind, 0)) for s in sampled],
            name=kind.replace("_", " "),
            marker={"color": KIND_COLOURS.get(kind, COLOURS["neutral"])},
        )
        for kind in kinds
    ]
    return _finish(traces, _layout(height=380, barmode="stack", x_title="Snapshot day",
                                   y_title="Minutes in the 90 days before", margin={"t": 10},
                                   legend={"orientation": "v", "x": 1.02, "y": 1, "yanchor": "top",
                                           "font": {"size": 10}}))


def contact_heatmap(heatmap: Heatmap) -> Figure:
    height = max(200, 60 + 26 * len(heatmap.rows))
    return _finish(
        _trace(
            "heatmap",
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
        _layout(height=height, x_title="Week starting", y_title="", hovermode="closest",
                yaxis={"autorange": "reversed", "rangemode": "normal"}))


# ---------------------------------------------------------------------------- segments

# The funnel counts accounts at or past each stage (METRICS.md), so its labels say "or further":
# "MQA" alone means the accounts with the MQA flag (mqa_share), as everywhere else.
FUNNEL_STAGES = (
    ("All accounts", "accounts", "neutral"),
    ("Aware or further", "funnel_aware", "awareness"),
    ("Engaged or further", "funnel_engaged", "engagement"),
    ("MQA or further", "funnel_mqa", "engagement"),
    ("Opportunity or customer", "funnel_opportunity", "influence"),
    ("Customer", "funnel_customer", "influence"),
)


def funnel(snapshot: SegmentSnapshot) -> Figure:
    """Accounts at or past each journey stage (METRICS.md), from the segment snapshot."""
    return _finish(
        _trace(
            "funnel",
            y=[label for label, _, _ in FUNNEL_STAGES],
            x=[getattr(snapshot, f) for _, f, _ in FUNNEL_STAGES],
            marker={"color": [COLOURS[c] for _, _, c in FUNNEL_STAGES]},
            textinfo="value+percent initial",
            hovertemplate="%{y}: %{x} accounts (%{percentInitial:.0%} of all)<extra></extra>",
        ),
        _layout(height=320, margin={"l": 150, "r": 20, "t": 10, "b": 20}, hovermode="closest"))


def funnel_compare(a_name: str, a: SegmentSnapshot, b_name: str, b: SegmentSnapshot) -> Figure:
    """Share of each segment's accounts at or past each stage, side by side (sizes differ, shares compare)."""
    labels = [label for label, _, _ in FUNNEL_STAGES]

    def shares(s: SegmentSnapshot) -> list[float]:
        return [round(getattr(s, f) / s.accounts, 4) if s.accounts else 0.0 for _, f, _ in FUNNEL_STAGES]

    return _finish(
        [
            _bar(x=labels, y=shares(a), name=a_name, marker={"color": COLOURS["engagement"]}),
            _bar(x=labels, y=shares(b), name=b_name, marker={"color": COLOURS["neutral"]}),
        ],
        _layout(height=300, barmode="group", x_title="Journey stage",
                y_title="Share of the segment's accounts", yaxis={"tickformat": ".0%", "range": [0, 1]}))


def segment_trend(history: Sequence[SegmentSnapshot]) -> Figure:
    """Each family's share of the segment's accounts over time (reach as mean programs, right axis)."""
    x = _dates([s.as_of for s in history])

    def share(count_field: str) -> list[float]:
        return [round(getattr(s, count_field) / s.accounts, 4) if s.accounts else 0.0 for s in history]

    def line(name: str, y: list[float], colour: str, *, dash: str = "solid", fmt: str = ".0%",
             **extra: Any) -> Trace:
        # The hover in the axis' format (whole percentages; one decimal for the mean), not a raw float.
        return _scatter(x=x, y=y, name=name, line={"color": colour, "dash": dash},
                        hovertemplate=f"{name}: %{{y:{fmt}}}<extra></extra>", **extra)

    traces = [
        line("Covered", [s.covered_share for s in history], COLOURS["coverage"]),
        line("Aware", [s.aware_share for s in history], COLOURS["awareness"]),
        line("Engaged", [s.engaged_share for s in history], COLOURS["engagement"]),
        line("MQA", [s.mqa_share for s in history], COLOURS["engagement"], dash="dot"),
        line("Opportunity or customer", share("funnel_opportunity"), COLOURS["influence"]),
        line("Mean programs reached (right axis)", [s.mean_programs_reached for s in history], COLOURS["reach"],
             dash="dash", fmt=".1f", yaxis="y2"),
    ]
    layout = _layout(
        height=340, x_title="Snapshot day", y_title="Share of accounts",
        yaxis={"tickformat": ".0%", "range": [0, 1.02]},
        yaxis2={"title": {"text": "Programs reached"}, "overlaying": "y", "side": "right", "rangemode": "tozero",
                "showgrid": False, **_mean_axis([s.mean_programs_reached for s in history])},
        margin={"r": 60, "t": 60},
    )
    return _finish(traces, layout)


def minutes_histogram(buckets: Sequence[tuple[str, int]], *, name: str = "Accounts") -> Figure:
    return _finish(
        _bar(x=[b for b, _ in buckets], y=[n for _, n in buckets], name=name,
             marker={"color": COLOURS["engagement"]}, hovertemplate="%{x} minutes: %{y} accounts<extra></extra>"),
        _layout(height=280, x_title="Engagement minutes, last 90 days", y_title="Accounts", hovermode="closest",
                yaxis=_count_axis([n for _, n in buckets])))


def minutes_histogram_compare(a_name: str, a: Sequence[tuple[str, int]], b_name: str,
                              b: Sequence[tuple[str, int]]) -> Figure:
    def shares(buckets: Sequence[tuple[str, int]]) -> list[float]:
        total = sum(n for _, n in buckets)
        return [round(n / total, 4) if total else 0.0 for _, n in buckets]

    labels = [label for label, _ in a]
    return _finish(
        [_bar(x=labels, y=shares(a), name=a_name, marker={"color": COLOURS["engagement"]}),
         _bar(x=labels, y=shares(b), name=b_name, marker={"color": COLOURS["neutral"]})],
        _layout(height=280, barmode="group", x_title="Engagement minutes, last 90 days",
                y_title="Share of accounts", yaxis={"tickformat": ".0%"}))


# ---------------------------------------------------------------------------- programs


def reach_focus_waste(rows: Sequence[ProgramSnapshot | ChannelSnapshot], labels: Sequence[str]) -> Figure:
    """Target reach, focus and waste side by side per program or channel (shares 0–1)."""
    def vals(name: str) -> list[float | None]:
        return [getattr(r, name) for r in rows]

    return _finish(
        [
            _bar(y=list(labels), x=vals("target_reach"), name="Target reach", orientation="h",
                 marker={"color": COLOURS["reach"]}),
            _bar(y=list(labels), x=vals("focus"), name="Focus", orientation="h", marker={"color": "#0e6655"}),
            _bar(y=list(labels), x=vals("waste"), name="Waste", orientation="h", marker={"color": COLOURS["bad"]}),
        ],
        _layout(height=max(240, 90 + 48 * len(rows)), barmode="group", x_title="Share",
                xaxis={"tickformat": ".0%", "range": [0, 1]},
                yaxis={"autorange": "reversed", "rangemode": "normal"},
                margin={"l": 160}, hovermode="y unified"))


def cost_vs_pipeline(rows: Sequence[ProgramRow], *, currency: str) -> Figure:
    """One point per program: its cost against the pipeline one attribution model (the page's)
    credits it with, coloured by channel. The dotted diagonal is pipeline = cost: points above it
    brought more than they cost."""
    traces: list[Trace] = []
    for channel, label in Channel.choices:
        points = [r for r in rows if r.program.channel == channel]
        if not points:
            continue
        traces.append(_scatter(
            x=[float(r.returns.cost) for r in points], y=[float(r.returns.pipeline) for r in points],
            text=[r.program.name for r in points], customdata=[
                [float(r.returns.revenue), r.returns.opportunities,
                 "–" if r.returns.roi is None else f"{float(r.returns.roi):+.0%}"] for r in points
            ],
            mode="markers", name=str(label),
            marker={"color": CHANNEL_COLOURS[channel], "size": 10, "opacity": 0.85,
                    "line": {"color": "#ffffff", "width": 1}},
            hovertemplate=(f"<b>%{{text}}</b> ({label})<br>cost %{{x:,.0f}} {currency}<br>"
                           f"pipeline %{{y:,.0f}} {currency} from %{{customdata[1]}} opportunities<br>"
                           f"revenue %{{customdata[0]:,.0f}} {currency} · ROI %{{customdata[2]}}<extra></extra>"),
        ))
    costs = [float(r.returns.cost) for r in rows]
    pipelines = [float(r.returns.pipeline) for r in rows]
    # The diagonal spans the costs only, so it never stretches the cost axis.
    top = max(costs, default=0.0)
    traces.append(_scatter(x=[0, top], y=[0, top], mode="lines", name="pipeline = cost", hoverinfo="skip",
                           line={"color": COLOURS["neutral"], "dash": "dot", "width": 1}))

    def amounts(values: list[float]) -> dict[str, Any]:
        # 20k, 1.5M: short ticks on a phone ("~s" would write 0.2 as 200m, so only past a thousand).
        return {"rangemode": "tozero", "tickformat": "~s" if max(values, default=0) >= 1000 else ",.0f"}

    # Tall enough that on a phone, where the nine channels' legend wraps to several rows, the plot keeps room.
    layout = _layout(height=440, x_title=f"Cost ({currency})",
                     y_title=f"Attributed pipeline ({currency})", hovermode="closest",
                     xaxis=amounts(costs), yaxis=amounts(pipelines))
    return _finish(traces, layout)


def cost_and_waste(rows: Sequence[ProgramSnapshot | ChannelSnapshot], labels: Sequence[str],
                   costs: Sequence[float]) -> Figure:
    """Cost split into the part spent at target accounts and the wasted part."""
    wasted = [float(r.wasted_cost) for r in rows]
    return _finish(
        [
            _bar(y=list(labels), x=[round(c - w, 2) for c, w in zip(costs, wasted, strict=True)],
                 name="Cost at target accounts", orientation="h", marker={"color": COLOURS["reach"]}),
            _bar(y=list(labels), x=wasted, name="Wasted cost", orientation="h", marker={"color": COLOURS["bad"]}),
        ],
        _layout(height=max(220, 90 + 28 * len(rows)), barmode="stack", x_title="Cost",
                yaxis={"autorange": "reversed", "rangemode": "normal"},
                margin={"l": 160}, hovermode="y unified"))


def program_trend(history: Sequence[ProgramSnapshot]) -> Figure:
    x = _dates([s.as_of for s in history])
    return _finish(
        [
            _scatter(x=x, y=[s.target_reach for s in history], name="Target reach", line={"color": COLOURS["reach"]}),
            _scatter(x=x, y=[s.focus for s in history], name="Focus", line={"color": "#0e6655", "dash": "dot"}),
            _scatter(x=x, y=[s.waste for s in history], name="Waste", line={"color": COLOURS["bad"]}),
        ],
        _layout(height=280, x_title="Snapshot day", y_title="Share", yaxis={"tickformat": ".0%",
                                                                           "range": [0, 1]}))


# ---------------------------------------------------------------------------- influence

# Title, axis tick format, and the formatter of the bar labels: the tables' own filter, so that a
# bar and its table cell show the same text (Plotly's d3 rounds 76.5 up, Python's format to even).
OUTCOME_METRICS: dict[str, tuple[str, str, Callable[[Any], str]]] = {
    "win_rate": ("Win rate", ".0%", pct),
    "median_cycle_days": ("Median sales cycle (days)", ",.0f", num),
    "avg_contract_value": ("Average contract value", ",.0f", money),
}


def outcome_bars(rows: Sequence[OutcomeRow], metric: str) -> Figure:
    """One outcome figure per engagement quartile (or other grouping), with the closed count in the hover."""
    title, fmt, label = OUTCOME_METRICS[metric]
    x = [r.label.replace(" (least engaged)", "").replace(" (most engaged)", "") for r in rows]
    values = [None if r.row is None else getattr(r.row, metric) for r in rows]
    y = [None if v is None else float(v) for v in values]
    closed = [r.row.opportunities_closed if r.row else 0 for r in rows]
    return _finish(
        _bar(
            x=x, y=y, customdata=closed, text=[label(v) for v in values],
            # The last group (most engaged quartile, or the first-named group) in the full family colour.
            marker={"color": [INFLUENCE_SHADES[0]] * (len(x) - 1) + [COLOURS["influence"]]},
            texttemplate="%{text}", textposition="outside", cliponaxis=False,
            hovertemplate="%{x}: %{text}<br>%{customdata} closed opportunities<extra></extra>",
            name=title,
        ),
        _layout(height=260, y_title=title, hovermode="closest", margin={"t": 20},
                yaxis={"tickformat": fmt}))


# Each "pipeline" on the influence page says which amounts it sums.
ATTRIBUTED_PIPELINE = "Attributed pipeline (created)"
ATTRIBUTED_REVENUE = "Attributed revenue (won)"


def attribution_bars(rows: Sequence[CreditRow], *, limit: int = 15) -> Figure:
    """Pipeline and revenue credited, largest first (the top `limit` rows)."""
    shown = list(rows)[:limit]
    labels = [r.name for r in shown]
    return _finish(
        [
            _bar(y=labels, x=[round(r.pipeline, 2) for r in shown], name=ATTRIBUTED_PIPELINE, orientation="h",
                 marker={"color": INFLUENCE_SHADES[0]}),
            _bar(y=labels, x=[round(r.revenue, 2) for r in shown], name=ATTRIBUTED_REVENUE, orientation="h",
                 marker={"color": INFLUENCE_SHADES[2]}),
        ],
        _layout(height=max(220, 90 + 44 * len(shown)), barmode="group", x_title="Amount credited",
                yaxis={"autorange": "reversed", "rangemode": "normal"}, margin={"l": 170},
                hovermode="y unified"))
