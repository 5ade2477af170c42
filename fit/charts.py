"""The Fit page's Plotly figures as plain dicts, drawn by static/js/charts.js like every chart.

The colours and font are the dashboard's (dashboard.charts): targets in the coverage colour,
other accounts in the neutral grey.
"""

from __future__ import annotations

from typing import Any

from dashboard.charts import COLOURS, _layout
from fit.selectors import BIN_POINTS

Figure = dict[str, Any]


def bin_labels() -> list[str]:
    n = 100 // BIN_POINTS
    return [f"{k * BIN_POINTS}–{k * BIN_POINTS + BIN_POINTS - 1}" if k < n - 1 else f"{k * BIN_POINTS}–100"
            for k in range(n)]


def distribution(counts: dict[str, list[int]]) -> Figure:
    """Share of target and of other accounts per fit bin (so two groups of different sizes compare),
    with the counts in the hover text."""
    labels = bin_labels()
    data = []
    for key, name, colour in (("targets", "Target accounts", COLOURS["coverage"]),
                              ("others", "Other accounts", COLOURS["neutral"])):
        values = counts[key]
        total = sum(values) or 1
        data.append({
            "type": "bar", "name": f"{name} ({sum(values):,})", "x": labels,
            "y": [round(100 * v / total, 1) for v in values], "customdata": values,
            "marker": {"color": colour},
            "hovertemplate": "%{x}: %{y:.1f} % (%{customdata:,} accounts)<extra>" + name + "</extra>",
        })
    layout = _layout(height=300, x_title="Fit score", y_title="% of the group", barmode="group",
                     hovermode="closest")
    return {"data": data, "layout": layout, "config": {"displayModeBar": False}}


def calibration(table: list[dict]) -> Figure:
    """Observed win rate against the mean predicted score per bin of held-out deals; the diagonal
    is perfect calibration."""
    data = [
        {"type": "scatter", "mode": "lines", "name": "Perfect calibration", "x": [0, 100], "y": [0, 100],
         "line": {"color": COLOURS["neutral"], "dash": "dot"}, "hoverinfo": "skip"},
        {"type": "scatter", "mode": "lines+markers", "name": "Held-out deals",
         "x": [r["predicted"] for r in table], "y": [r["observed"] for r in table],
         "customdata": [r["deals"] for r in table], "marker": {"color": COLOURS["coverage"], "size": 9},
         "hovertemplate": "predicted %{x:.0f}, won %{y:.0f} % of %{customdata} deals<extra></extra>"},
    ]
    layout = _layout(height=300, x_title="Mean fit score of the bin", y_title="Won, % of the bin's deals",
                     hovermode="closest")
    layout["xaxis"]["range"] = [0, 100]
    layout["yaxis"]["range"] = [0, 100]
    return {"data": data, "layout": layout, "config": {"displayModeBar": False}}
