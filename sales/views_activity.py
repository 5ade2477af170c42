"""The Sales activity page (/sales-activity/) and each rep's own numbers on /me/.

Who sees what: marketing, admin and executive users (and superusers) manage or review the sales
team, so they see every rep; anyone else — a sales rep — sees their own row only, the same rule
as /me/, where only those roles may pick another rep.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import TouchpointKind
from accounts.roles import ADMIN, EXECUTIVE, MARKETING, user_groups
from dashboard import charts
from dashboard.views import _as_of, _no_metrics
from sales import activity

DEFAULT_GRAIN = "week"
GRAIN_LABELS = {"day": "Day", "week": "Week", "month": "Month"}
# The chart's series: (the Activity field, its label, its colour: the touch kind's, as on every page).
SERIES: tuple[tuple[str, str, str], ...] = (
    ("calls", "Calls", charts.KIND_COLOURS[TouchpointKind.CALL_ATTEMPT]),
    ("connects", "Connects", charts.KIND_COLOURS[TouchpointKind.CALL_CONNECTED]),
    ("meaningful_conversations", "Meaningful conversations", "#7f2704"),
    ("sales_emails", "Sales emails", charts.KIND_COLOURS[TouchpointKind.SALES_EMAIL]),
    ("replies", "Replies", charts.KIND_COLOURS[TouchpointKind.SALES_EMAIL_REPLY]),
    ("meetings", "Meetings", charts.KIND_COLOURS[TouchpointKind.MEETING]),
)


def sees_all_reps(user: AbstractBaseUser) -> bool:
    return user.is_superuser or bool(user_groups(user) & {MARKETING, ADMIN, EXECUTIVE})


def _period_label(start, grain: str) -> str:
    if grain == "day":
        return start.strftime("%d %b")
    if grain == "week":
        return f"Wk {start:%d %b}"
    return start.strftime("%b %Y")


def activity_chart(report: activity.Report) -> charts.Figure:
    """Grouped bars: the shown reps' activity per period (the team's, or the rep's own)."""
    by_period = report.team_by_period()
    labels = [_period_label(p, report.grain) for p in report.periods]
    data = [
        charts._bar(name=label, x=labels, y=[getattr(by_period[p], field) for p in report.periods],
                    marker={"color": colour}, hovertemplate=f"{label}: %{{y:,d}}<extra></extra>")
        for field, label, colour in SERIES
    ]
    values = [getattr(a, field) for a in by_period.values() for field, _, _ in SERIES]
    layout = charts._layout(height=340, y_title="Count", barmode="group", yaxis=charts._count_axis(values),
                            xaxis={"type": "category"})
    return charts._finish(data, layout)


@require_GET
def sales_activity(request: HttpRequest) -> HttpResponse:
    as_of = _as_of(request)
    if as_of.day is None:
        return _no_metrics(request, "Sales activity")
    grain = request.GET.get("period", DEFAULT_GRAIN)
    if grain not in activity.GRAINS:
        grain = DEFAULT_GRAIN
    all_reps = sees_all_reps(request.user)
    periods = activity.periods(as_of=as_of.day, grain=grain)
    if all_reps:
        reps: list[User] = list(activity.reps_for_report(first=periods[0], as_of=as_of.day))
    else:
        reps = [request.user]
    report = activity.sales_activity(reps=reps, grain=grain, as_of=as_of.day)
    context: dict[str, Any] = {
        "as_of": as_of,
        "grain": grain,
        "grains": GRAIN_LABELS.items(),
        "report": report,
        "all_reps": all_reps,
        "first_day": periods[0],
        "period_count": len(periods),
        "fig": activity_chart(report) if report.rows else None,
        "meaningful_minutes": activity.MEANINGFUL_CALL_MINUTES,
    }
    return render(request, "sales/activity.html", context)


def my_activity_context(*, rep: AbstractBaseUser, as_of, grain: str = DEFAULT_GRAIN) -> dict[str, Any]:
    """What the /me/ include shows: one rep's activity and outcomes (sales/activity_me.html)."""
    report = activity.sales_activity(reps=[rep], grain=grain, as_of=as_of, cached=False)
    row = report.rows[0]
    current = report.periods[-1]
    return {"activity_row": row, "activity_week": row.by_period.get(current, activity.Activity()),
            "activity_week_start": current, "activity_report": report}
