"""The trends page (/trends/): is it getting better? For every role.

By month or quarter (an htmx toggle that swaps the page body), for the target accounts, every
account or a segment: the trend table and its charts, and the stage funnel from the imported stage
history. Computed on request from the opportunities (a few grouped queries, sales.trends) up to the
last complete day, the day every other page shows.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from dashboard.charts import COLOURS, INFLUENCE_SHADES, _layout
from metrics.exports import csv_lines
from metrics.selectors import last_complete_day
from sales import trends

FigureDict = dict[str, Any]


def _grain(request: HttpRequest) -> str:
    grain = request.GET.get("period", "month")
    return grain if grain in trends.GRAINS else "month"


def _figure(data: list[dict[str, Any]], **layout: Any) -> FigureDict:
    """A Plotly figure as a plain dict (no graph_objects validation on each request)."""
    return {"data": data, "layout": _layout(height=250, margin={"t": 20}, xaxis={"type": "category"}, **layout),
            "config": {"displayModeBar": False}}


def _line(rows: list[trends.TrendRow], metric: str, *, title: str, colour: str, tickformat: str = "") -> FigureDict:
    values = [getattr(r, metric) for r in rows]
    trace = {"type": "scatter", "mode": "lines+markers", "name": title, "line": {"color": colour},
             "x": [r.period.label for r in rows], "y": [None if v is None else float(v) for v in values]}
    return _figure([trace], y_title=title, yaxis={"tickformat": tickformat} if tickformat else {})


def _pipeline_bars(rows: list[trends.TrendRow]) -> FigureDict:
    x = [r.period.label for r in rows]
    return _figure(
        [
            {"type": "bar", "name": "Pipeline created", "x": x, "y": [float(r.pipeline_created) for r in rows],
             "marker": {"color": INFLUENCE_SHADES[0]}},
            {"type": "bar", "name": "Pipeline won", "x": x, "y": [float(r.pipeline_won) for r in rows],
             "marker": {"color": INFLUENCE_SHADES[2]}},
        ],
        barmode="group", y_title="Amount",
    )


def _conversion_lines(history: trends.StageHistory) -> FigureDict:
    x = [p.label for p, _ in history.by_period]
    return _figure(
        [{"type": "scatter", "mode": "lines+markers", "name": f"{label} → next", "x": x, "y": values}
         for label, values in history.conversion_series().items()],
        y_title="Moved on", yaxis={"tickformat": ".0%", "range": [0, 1.05]},
    )


def _context(request: HttpRequest) -> dict[str, Any]:
    grain = _grain(request)
    scope = trends.scope_named(request.GET.get("scope"))
    as_of = last_complete_day()
    rows, history = trends.page_figures(scope=scope, as_of=as_of, grain=grain)
    charts = [
        ("pipeline", "Pipeline created and won", _pipeline_bars(rows)),
        ("win_rate", "Win rate", _line(rows, "win_rate", title="Win rate", colour=COLOURS["influence"],
                                       tickformat=".0%")),
        ("avg_contract_value", "Average contract value",
         _line(rows, "avg_contract_value", title="Average contract value", colour=INFLUENCE_SHADES[2])),
        ("median_cycle_days", "Median sales cycle (days)",
         _line(rows, "median_cycle_days", title="Days", colour=COLOURS["neutral"])),
        ("sales_velocity", "Sales velocity (per day)",
         _line(rows, "sales_velocity", title="Per day", colour=COLOURS["influence"])),
    ]
    return {
        "as_of": as_of,
        "grain": grain,
        "grains": [("month", "By month"), ("quarter", "By quarter")],
        "scope": scope,
        "scopes": trends.scopes(),
        "rows": rows,
        "charts": charts,
        "history": history,
        "stage_periods": [(p, stage_rows) for p, stage_rows in history.by_period if any(r.entered for r in stage_rows)],
        "conversion_fig": _conversion_lines(history) if history.conversion_series() else None,
        "definitions": trends.DEFINITIONS,
    }


@require_GET
def trends_page(request: HttpRequest) -> HttpResponse:
    context = _context(request)
    partial = bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")
    response = render(request, "sales/trends_body.html" if partial else "sales/trends.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
def trends_export(request: HttpRequest) -> StreamingHttpResponse:
    """The trend table shown (same period and scope) as CSV, under the figure names of docs/metrics.md."""
    grain = _grain(request)
    scope = trends.scope_named(request.GET.get("scope"))
    as_of = last_complete_day()
    table = trends.as_table(trends.page_figures(scope=scope, as_of=as_of, grain=grain)[0])
    response = StreamingHttpResponse(csv_lines(trends.TABLE_COLUMNS, table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="trends-{scope.key}-{grain}-{as_of.isoformat()}.csv"'
    return response
