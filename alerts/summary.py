"""The weekly executive summary of a published day D. Reads only.

- the influence headline of D with its counts, and the 95 % intervals and p-values of the
  quartile comparison where the metrics store them (metrics.models.OutcomeComparison);
- pipeline and revenue influenced this week (D−6 … D) against the week before, and quarter to
  date against the same number of days at the start of the previous quarter;
- each segment's journey funnel on D, with the week before's MQA and opportunity counts;
- the top movers: target accounts whose engagement rose most this week.

Returned as plain JSON-able data: the page renders it, and the email delivery stores it, so a
history entry shows what was sent. Influence is judged as of each period's last day (METRICS.md
§5's rule), so a past period reads as it did then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDay

from accounts.models import Opportunity, Touchpoint
from dashboard.selectors import week_change_expr
from metrics import models as metric_models
from metrics.families.common import Window, day_start, minutes_expression
from metrics.models import AccountSnapshot, InfluenceSummary, JourneyStage, MetricSettings, SegmentSnapshot
from metrics.selectors import is_published

TOP_MOVERS = 10


@dataclass(frozen=True)
class Period:
    first: dt.date
    last: dt.date

    def as_json(self) -> dict[str, str]:
        return {"first": self.first.isoformat(), "last": self.last.isoformat()}


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def periods(as_of: dt.date) -> dict[str, tuple[Period, Period]]:
    """This week and the week before; quarter to date and the same days of the previous quarter."""
    week = Period(as_of - dt.timedelta(days=6), as_of)
    week_before = Period(week.first - dt.timedelta(days=7), week.first - dt.timedelta(days=1))
    q_start = quarter_start(as_of)
    pq_start = quarter_start(q_start - dt.timedelta(days=1))
    pq_last = min(pq_start + (as_of - q_start), q_start - dt.timedelta(days=1))
    return {"week": (week, week_before), "quarter": (Period(q_start, as_of), Period(pq_start, pq_last))}


def _influence_as_of(opportunities: QuerySet, *, cfg: MetricSettings, last: dt.date) -> QuerySet:
    """Each opportunity's is_influenced as of `last` (METRICS.md §5): its account has a touch worth
    > 0 minutes on a day from (created day − lookback) through the earlier of its closed day and
    `last`. Correlated on (account, occurred_at): index touchpoint_account_time."""
    end = day_start(last + dt.timedelta(days=1))
    touches = (
        Touchpoint.objects.filter(
            account_id=OuterRef("account_id"),
            occurred_at__gte=OuterRef("influence_from"),
            occurred_at__lt=OuterRef("influence_to"),
        )
        .alias(worth=minutes_expression(cfg))
        .filter(worth__gt=0)
    )
    return opportunities.alias(
        influence_from=ExpressionWrapper(
            TruncDay("created_at", tzinfo=UTC) - Value(dt.timedelta(days=cfg.influence_lookback_days)),
            output_field=DateTimeField(),
        ),
        influence_to=Case(
            When(
                is_closed=True,
                closed_at__lt=end,
                then=ExpressionWrapper(
                    TruncDay("closed_at", tzinfo=UTC) + Value(dt.timedelta(days=1)), output_field=DateTimeField()
                ),
            ),
            default=Value(end),
            output_field=DateTimeField(),
        ),
    ).annotate(is_influenced=Exists(touches))


def _money(value: Decimal | None) -> float:
    return float(value or 0)


def period_figures(period: Period, *, cfg: MetricSettings) -> dict[str, Any]:
    """Pipeline created and revenue won in the period, and the influenced part of each (2 queries;
    indexes opportunity_account_created / opportunity_closed, then touchpoint_account_time)."""
    window = Window(period.first, period.last)
    influenced_q = Q(is_influenced=True)
    created = _influence_as_of(Opportunity.objects.filter(window.q("created_at")), cfg=cfg, last=period.last)
    won = _influence_as_of(
        Opportunity.objects.filter(window.q("closed_at"), is_won=True), cfg=cfg, last=period.last
    )
    p = created.aggregate(
        total=Sum("amount"), n=Count("id"), influenced=Sum("amount", filter=influenced_q),
        n_influenced=Count("id", filter=influenced_q),
    )
    r = won.aggregate(
        total=Sum("amount"), n=Count("id"), influenced=Sum("amount", filter=influenced_q),
        n_influenced=Count("id", filter=influenced_q),
    )
    return {
        "period": period.as_json(),
        "pipeline_created": _money(p["total"]),
        "pipeline_opportunities": p["n"],
        "influenced_pipeline": _money(p["influenced"]),
        "influenced_pipeline_opportunities": p["n_influenced"],
        "won_revenue": _money(r["total"]),
        "won_opportunities": r["n"],
        "influenced_revenue": _money(r["influenced"]),
        "influenced_revenue_opportunities": r["n_influenced"],
    }


def _change(now: float, before: float) -> float | None:
    """Relative change (0.25 = +25 %); None when there was nothing before."""
    return (now - before) / before if before else None


def _evidence(as_of: dt.date) -> dict[str, Any] | None:
    """The quartile 4 vs 1 comparison's intervals and p-values, where the metrics store them.
    Read with getattr: the fields arrived with the evidence work and may be absent."""
    model = getattr(metric_models, "OutcomeComparison", None)
    row = model.objects.filter(as_of=as_of, dimension="quartile").first() if model else None
    if row is None:
        return None
    names = (
        "closed_a", "closed_b", "won_a", "won_b", "win_rate_difference", "win_rate_difference_low",
        "win_rate_difference_high", "win_rate_p_value", "cycle_shift_days", "cycle_shift_low", "cycle_shift_high",
        "cycle_p_value",
    )
    return {name: getattr(row, name, None) for name in names}


def _headline(as_of: dt.date) -> dict[str, Any] | None:
    summary = InfluenceSummary.objects.filter(as_of=as_of).first()
    if summary is None:
        return None
    reason = getattr(summary, "headline_reason", "")
    return {
        "text": summary.headline,
        "reason": reason,
        "reason_label": summary.get_headline_reason_display() if reason and hasattr(
            summary, "get_headline_reason_display") else "",
        "opportunities": summary.headline_opportunities,
        "closed_opportunities": getattr(summary, "closed_opportunities", None),
        "evidence": _evidence(as_of),
    }


_FUNNEL = ("accounts", "funnel_aware", "funnel_engaged", "funnel_mqa", "funnel_opportunity", "funnel_customer")


def funnels(as_of: dt.date) -> list[dict[str, Any]]:
    """The target list, then each segment: accounts at or past each stage on D, and the MQAs and
    opportunities a week before when that day is published (2 queries)."""
    week_ago = as_of - dt.timedelta(days=7)
    days = [as_of, week_ago] if is_published(week_ago) else [as_of]
    rows = SegmentSnapshot.objects.filter(as_of__in=days).select_related("segment")
    today = {r.segment_id: r for r in rows if r.as_of == as_of}
    before = {r.segment_id: r for r in rows if r.as_of == week_ago}
    order = sorted(today, key=lambda sid: (sid is not None, today[sid].segment.name if sid else ""))
    result = []
    for sid in order:
        row, prior = today[sid], before.get(sid)
        entry = {"segment_id": sid, "name": row.segment.name if sid else "All target accounts"}
        entry.update({name: getattr(row, name) for name in _FUNNEL})
        entry["week_ago"] = {name: getattr(prior, name) for name in _FUNNEL} if prior else None
        result.append(entry)
    return result


def top_movers(as_of: dt.date, *, limit: int = TOP_MOVERS) -> list[dict[str, Any]]:
    """Target accounts whose minutes this week rose most above their weekly average (1 query)."""
    rows = (
        AccountSnapshot.objects.filter(as_of=as_of, account__is_target=True)
        .annotate(week_change=week_change_expr())
        .filter(week_change__gt=0)
        .order_by("-week_change", "account__name")
        .values("account_id", "account__name", "minutes_7d", "minutes_prev_21d", "week_change", "journey_stage",
                "spike", "mqa")[:limit]
    )
    return [
        {
            "account_id": r["account_id"], "account": r["account__name"], "minutes_7d": r["minutes_7d"],
            "weekly_average": r["minutes_prev_21d"] / 3, "week_change": r["week_change"],
            "journey_stage": r["journey_stage"], "stage": str(JourneyStage(r["journey_stage"]).label),
            "spike": r["spike"], "mqa": r["mqa"],
        }
        for r in rows
    ]


def weekly_summary(*, as_of: dt.date, cfg: MetricSettings | None = None) -> dict[str, Any]:
    """Everything the weekly summary shows for the published day `as_of` (about a dozen queries)."""
    cfg = cfg or MetricSettings.load()
    influence = {}
    for key, (now, before) in periods(as_of).items():
        current, previous = period_figures(now, cfg=cfg), period_figures(before, cfg=cfg)
        influence[key] = {
            "now": current,
            "before": previous,
            "pipeline_change": _change(current["influenced_pipeline"], previous["influenced_pipeline"]),
            "revenue_change": _change(current["influenced_revenue"], previous["influenced_revenue"]),
        }
    return {
        "as_of": as_of.isoformat(),
        "influence_lookback_days": cfg.influence_lookback_days,
        "headline": _headline(as_of),
        "influence": influence,
        "funnels": funnels(as_of),
        "movers": top_movers(as_of),
    }
