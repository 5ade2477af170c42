"""Influence — which activities lead to the right results? (METRICS.md §5)

Per account (in the chunk): pipeline created and revenue won in W90, influenced pipeline, and
the opportunity facts the journey stage needs. Per day (after all chunks): outcomes by
engagement quartile, target vs non-target, engaged vs not, target vs look-alike control, with the
evidence for each difference (metrics.evidence), the headline, attribution credits per program,
and the sales figures per segment.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    DateTimeField,
    DecimalField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    FloatField,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDay

from accounts.models import Account, Contact, Opportunity, Segment, Touchpoint
from metrics import evidence
from metrics.families.common import (
    NOT_INLINED,
    FamilySQL,
    Params,
    Window,
    Windows,
    base_units_sql,
    day_start,
    day_start_sql,
    id_filter,
    minutes_expression,
    multiplier_sql,
    UNITS,
    table,
    trailing,
)
from metrics.models import AttributionModel, MetricSettings, OpportunityFact

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

EMPTY: dict[str, Any] = {
    "pipeline_created_90d": ZERO,
    "won_revenue_90d": ZERO,
    "influenced_pipeline": ZERO,
    "influenced_opportunities": 0,
    "has_open_opportunity": False,
    "is_customer": False,
}


def _days_before(field_name: str, days: int) -> ExpressionWrapper:
    """Midnight (UTC) of the day of `field_name`, minus `days` days."""
    return ExpressionWrapper(
        TruncDay(field_name, tzinfo=UTC) - Value(timedelta(days=days)), output_field=DateTimeField()
    )


def _open_as_of(end: datetime) -> Q:
    """Created on or before D and not closed on or before D (`end` = midnight after D)."""
    return Q(created_at__lt=end) & (Q(is_closed=False) | Q(closed_at__gte=end))


def _closed_in(window: Window) -> Q:
    return Q(is_closed=True) & window.q("closed_at")


def influence_rows(*, as_of: date, account_ids: Sequence[int], cfg: MetricSettings) -> FamilySQL:
    """The chunk's opportunities grouped by account:

    - pipeline_created_90d: amounts of the opportunities created in W90;
    - won_revenue_90d: amounts of those won and closed in W90;
    - influenced_pipeline, influenced_opportunities: amount and number of those created in W90
      that are influenced — the account has a touch worth > 0 minutes on a day from (created day
      − influence_lookback_days (90)) through the earlier of the closed day and D;
    - has_open_opportunity (created on or before D, not closed on or before D) and is_customer
      (one won and closed on or before D), for the journey stage; not stored.

    Index: opportunity_account_created for the account range; the influence test is a correlated
    EXISTS on touchpoint_account_time (the contact by primary key for its multiplier), probed
    only for the opportunities created in W90.
    """
    w90 = Windows.for_day(as_of, cfg).w_long
    start, end = w90.start, w90.end
    p = Params()  # placeholders in the order of the text: each helper call adds its own

    def created() -> str:
        return f"o.created_at >= {p(start)} AND o.created_at < {p(end)}"

    def influenced() -> str:
        worth = f"({base_units_sql(cfg, touch='t')}) * ({multiplier_sql(cfg, seniority='c.seniority_level')}) > 0"
        return f"""EXISTS (
            SELECT 1 FROM {table(Touchpoint)} t LEFT JOIN {table(Contact)} c ON c.id = t.contact_id
            WHERE t.account_id = o.account_id
              AND t.occurred_at >= {day_start_sql("o.created_at", -cfg.influence_lookback_days)}
              AND t.occurred_at < CASE WHEN o.is_closed AND o.closed_at < {p(end)}
                                       THEN {day_start_sql("o.closed_at", 1)} ELSE {p(end)} END
              AND {worth}
        )"""

    opportunities = f"""
        SELECT o.account_id, o.amount,
               CASE WHEN {created()} THEN 1 ELSE 0 END AS created_in_w90,
               CASE WHEN o.is_won AND o.closed_at >= {p(start)} AND o.closed_at < {p(end)} THEN 1 ELSE 0 END
                   AS won_in_w90,
               CASE WHEN o.created_at < {p(end)} AND (NOT o.is_closed OR o.closed_at >= {p(end)}) THEN 1 ELSE 0 END
                   AS open_as_of,
               CASE WHEN o.is_won AND o.closed_at < {p(end)} THEN 1 ELSE 0 END AS won_as_of,
               CASE WHEN {created()} AND {influenced()} THEN 1 ELSE 0 END AS influenced
        FROM {table(Opportunity)} o
        WHERE {id_filter("o.account_id", account_ids, p)}
        {NOT_INLINED[connection.vendor]}
    """
    sql = f"""
        SELECT account_id,
               COALESCE(SUM(CASE WHEN created_in_w90 = 1 THEN amount END), 0) AS pipeline_created_90d,
               COALESCE(SUM(CASE WHEN won_in_w90 = 1 THEN amount END), 0) AS won_revenue_90d,
               COALESCE(SUM(CASE WHEN influenced = 1 THEN amount END), 0) AS influenced_pipeline,
               SUM(influenced) AS influenced_opportunities,
               SUM(open_as_of) > 0 AS has_open_opportunity,
               SUM(won_as_of) > 0 AS is_customer
        FROM ({opportunities}) opportunities
        GROUP BY account_id
    """
    return FamilySQL(sql, tuple(p), EMPTY)


# --- Outcomes: quartiles, target vs non-target, engaged vs not, target vs control ---------------


@dataclass(slots=True)  # one per deal closed in the outcomes window: tens of thousands
class ClosedOpportunity:
    id: int
    external_id: str
    account_id: int
    is_target: bool
    is_won: bool
    amount: Decimal
    cycle_days: int  # closed day − created day
    units: int  # the account's minutes on days (created day − 90) … (created day − 1), in millionths
    profile: tuple[str, str] | None  # the account's (industry, size band), see profile()
    closed_at: datetime | None = None
    created_at: datetime | None = None
    stored: bool = False  # `units` read from a stored OpportunityFact, not computed

    @property
    def minutes_before(self) -> float:
        """The pre-creation minutes, from the exact millionths: ties in the quartile order never
        hang on float noise."""
        return round(self.units / UNITS, 6)


def _closed_opportunities(
    *, as_of: date, cfg: MetricSettings, window: Window | None = None, reuse: str | None = None
) -> list[ClosedOpportunity]:
    """The unit of the outcome tables: opportunities closed in the outcomes window ending D (or in
    `window`: a backfill reads only the days it has not read yet, metrics.backfill). `reuse`: the
    settings digest (settings_digest) under which stored minutes facts hold: the minutes of an
    opportunity with such a fact are read from it, only the others computed (StoredFacts).

    One query. The pre-creation minutes are one grouped join: the window's opportunities joined
    to their account's touches on the days (created day − lookback) … (created day − 1), each a
    range of touchpoint_account_time, summed per (opportunity, contact) as whole millionths of a
    minute (common.UNITS), then times the contact's multiplier (as the chunks do: a contact's
    touches share it, and only those groups are joined to the contacts) and summed per
    opportunity: exact whatever the order of addition, the float nearest it is the figure.
    """
    window = window or trailing(as_of, cfg.outcomes_window_days)
    p = Params()
    multiplier = multiplier_sql(cfg, seniority="c.seniority_level")
    if reuse:
        known = "f.units AS known"
        facts = f"LEFT JOIN {table(OpportunityFact)} f ON {_fact_holds('o', 'f', 'o.created_at', p, kind='minutes', digest=reuse)}"
    else:
        known, facts = "CAST(NULL AS BIGINT) AS known", ""
    closed = f"""
        SELECT o.id, o.external_id, o.account_id, o.is_won, o.amount, o.created_at, o.closed_at, {known}
        FROM {table(Opportunity)} o {facts}
        WHERE o.is_closed AND o.closed_at >= {p(window.start)} AND o.closed_at < {p(window.end)}
    """
    sql = f"""
        WITH closed AS ({closed}),
        by_contact AS (
            SELECT o.id, t.contact_id, SUM({base_units_sql(cfg, touch="t")}) AS units
            FROM closed o
            JOIN {table(Touchpoint)} t ON t.account_id = o.account_id
                AND t.occurred_at >= {day_start_sql("o.created_at", -cfg.influence_lookback_days)}
                AND t.occurred_at < {day_start_sql("o.created_at", 0)}
            WHERE o.known IS NULL
            GROUP BY o.id, t.contact_id
        ),
        minutes AS (
            SELECT g.id, SUM(CAST(ROUND(g.units * {multiplier}) AS BIGINT)) AS units
            FROM by_contact g LEFT JOIN {table(Contact)} c ON c.id = g.contact_id
            GROUP BY g.id
        )
        SELECT o.id, o.external_id, o.account_id, a.is_target, o.is_won, o.amount, o.created_at, o.closed_at,
               COALESCE(o.known, m.units, 0), a.industry, a.employees, o.known IS NOT NULL
        FROM closed o
        JOIN {table(Account)} a ON a.id = o.account_id
        LEFT JOIN minutes m ON m.id = o.id
    """
    convert = connection.ops.convert_datetimefield_value if connection.vendor == "sqlite" else None
    result = []
    with connection.cursor() as cursor:
        cursor.execute(sql, p)
        # A batch of raw rows at a time beside the deals built so far, not all of them twice.
        while batch := cursor.fetchmany(5000):
            for (pk, external_id, account_id, is_target, is_won, amount, created_at, closed_at, units, industry,
                 employees, stored) in batch:
                if convert is not None:  # SQLite: text, 0/1 and REAL, as the ORM would read them
                    created_at, closed_at = (convert(v, None, connection) for v in (created_at, closed_at))
                    is_target, is_won, amount = bool(is_target), bool(is_won), Decimal(str(amount)).quantize(CENT)
                result.append(ClosedOpportunity(
                    id=pk, external_id=external_id or "", account_id=account_id, is_target=is_target,
                    is_won=is_won, amount=amount, cycle_days=(closed_at.date() - created_at.date()).days,
                    units=int(units), profile=profile(industry, employees), closed_at=closed_at,
                    created_at=created_at, stored=bool(stored),
                ))
    return result


def _group_row(dimension: str, group: str, opportunities: list[ClosedOpportunity]) -> dict[str, Any]:
    won = [o for o in opportunities if o.is_won]
    return {
        "dimension": dimension,
        "group": group,
        "opportunities_closed": len(opportunities),
        "opportunities_won": len(won),
        "win_rate": len(won) / len(opportunities) if opportunities else None,
        "median_cycle_days": float(statistics.median(o.cycle_days for o in won)) if won else None,
        "avg_contract_value": (sum((o.amount for o in won), ZERO) / len(won)).quantize(CENT) if won else None,
        "pipeline_created": sum((o.amount for o in opportunities), ZERO),
        "accounts": len({o.account_id for o in opportunities}),
        "mean_minutes_90d": statistics.fmean(o.minutes_before for o in opportunities) if opportunities else None,
    }


def _quartile(i: int, n: int) -> int:
    return 4 * i // n + 1


def _engagement_order(opportunities: list[ClosedOpportunity]) -> list[ClosedOpportunity]:
    """Ascending by pre-creation minutes, ties by external_id, then id."""
    return sorted(opportunities, key=lambda o: (o.minutes_before, o.external_id, o.id))


def quartiles(opportunities: list[ClosedOpportunity]) -> dict[int, list[ClosedOpportunity]]:
    """In engagement order, the i-th of n (0-based) falls in quartile ⌊4i/n⌋ + 1, so quartile 4 is
    the most engaged. Meaningful only without quartile_ties."""
    ordered = _engagement_order(opportunities)
    groups: dict[int, list[ClosedOpportunity]] = {1: [], 2: [], 3: [], 4: []}
    for i, opportunity in enumerate(ordered):
        groups[_quartile(i, len(ordered))].append(opportunity)
    return groups


def quartile_ties(opportunities: list[ClosedOpportunity]) -> list[dict[str, Any]]:
    """The minutes that tie across a quartile boundary, each with how many deals have them.

    Engagement ties across a boundary when two neighbours in engagement order fall in different
    quartiles and have the same minutes (the last deal of quartile q and the first of the next).
    Then which deal lands on which side depends on its external_id, not on its engagement, so
    there are no quartiles (METRICS.md §5). With no tie there, the tie-break moves no deal
    between quartiles. Empty list: the quartiles stand.
    """
    ordered = _engagement_order(opportunities)
    n = len(ordered)
    tied = sorted({
        ordered[i].minutes_before for i in range(n - 1)
        if _quartile(i, n) != _quartile(i + 1, n) and ordered[i].minutes_before == ordered[i + 1].minutes_before
    })
    counts = Counter(o.minutes_before for o in ordered)
    return [{"minutes": minutes, "opportunities": counts[minutes]} for minutes in tied]


SIZE_BANDS: tuple[tuple[int, str], ...] = ((5000, "5000+"), (1000, "1000-4999"), (250, "250-999"), (50, "50-249"), (1, "1-49"))


def size_band(employees: int | None) -> str | None:
    """Employees 1–49, 50–249, 250–999, 1,000–4,999, 5,000+; unknown (or 0) has no band."""
    if not employees:
        return None
    return next(label for floor, label in SIZE_BANDS if employees >= floor)


def profile(industry: str | None, employees: int | None) -> tuple[str, str] | None:
    """What a look-alike shares with a target account: industry and size band. Accounts with no
    industry or size cannot be matched (None)."""
    band = size_band(employees)
    return (industry.strip().lower(), band) if industry and band else None


def _control_accounts(*, as_of: date) -> tuple[set[tuple[str, str]], dict[str, tuple[int, float | None]]]:
    """The target accounts' profiles, and for the target accounts and their look-alike control
    (non-target accounts sharing a target account's profile): (accounts, mean minutes_90d as of D,
    0 for an account without a snapshot that day).

    Streamed (two passes over the accounts), so memory does not grow with their number; fsum of
    a stream is the same exactly rounded sum statistics.fmean takes.
    """
    # The day's snapshot as a LEFT JOIN (one hash join), not a subquery per account.
    accounts = Account.objects.order_by().annotate(
        day=FilteredRelation("snapshots", condition=Q(snapshots__as_of=as_of)),
        minutes_90d=Coalesce(F("day__minutes_90d"), Value(0.0), output_field=FloatField()),
    )
    targets = accounts.filter(is_target=True).values_list("industry", "employees", "minutes_90d")
    profiles: set[tuple[str, str]] = set()
    counted = {"target": 0, "control": 0}

    def target_minutes() -> Iterator[float]:
        for industry, employees, value in targets.iterator(chunk_size=5000):
            counted["target"] += 1
            if found := profile(industry, employees):
                profiles.add(found)
            yield value

    def control_minutes() -> Iterator[float]:
        others = accounts.filter(is_target=False).values_list("industry", "employees", "minutes_90d")
        for industry, employees, value in others.iterator(chunk_size=5000):
            if profile(industry, employees) in profiles:
                counted["control"] += 1
                yield value

    # Target first: the control pass needs every target profile.
    sums = {"target": math.fsum(target_minutes()), "control": math.fsum(control_minutes())}
    groups = {group: (n, sums[group] / n if n else None) for group, n in counted.items()}
    return profiles, groups


COMPARED: dict[str, tuple[str, str]] = {
    "quartile": ("4", "1"),
    "target": ("target", "non_target"),
    "engaged": ("engaged", "not_engaged"),
    "control": ("target", "control"),
}


def comparison(dimension: str, a: list[ClosedOpportunity], b: list[ClosedOpportunity]) -> dict[str, Any]:
    """The OutcomeComparison row of a dimension: its group a against its group b (COMPARED) on win
    rate (all their closed deals) and cycle days (their won deals), as metrics.evidence says."""
    cycles_a = [o.cycle_days for o in a if o.is_won]
    cycles_b = [o.cycle_days for o in b if o.is_won]
    rate = evidence.compare_win_rates(won_a=len(cycles_a), closed_a=len(a), won_b=len(cycles_b), closed_b=len(b))
    cycle = evidence.compare_cycle_days(cycles_a, cycles_b)
    group_a, group_b = COMPARED[dimension]
    return {
        "dimension": dimension, "group_a": group_a, "group_b": group_b,
        "closed_a": len(a), "closed_b": len(b), "won_a": len(cycles_a), "won_b": len(cycles_b),
        "win_rate_difference": rate.estimate, "win_rate_difference_low": rate.low,
        "win_rate_difference_high": rate.high, "win_rate_p_value": rate.p_value,
        "cycle_shift_days": cycle.estimate, "cycle_shift_low": cycle.low, "cycle_shift_high": cycle.high,
        "cycle_p_value": cycle.p_value,
    }


def _count(n: int) -> str:
    return f"{n:,}"


def _share(value: float) -> str:
    """Like the pages' win rates (the pct filter): whole percent."""
    return f"{value * 100:.0f} %"


def _minutes(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0")


def ties_sentence(ties: list[dict[str, Any]], closed: int) -> str:
    """"Engagement ties across quartile boundaries (3,355 of 3,355 deals have 0 minutes): no quartiles." """
    have = "; ".join(f"{_count(t['opportunities'])} of {_count(closed)} deals have {_minutes(t['minutes'])} minutes"
                     for t in ties)
    return f"Engagement ties across quartile boundaries ({have}): no quartiles."


def _rates(c: dict[str, Any]) -> str:
    """"62 % of 80 closed deals against 50 % of 81": the two rows' own figures."""
    return (
        f"{_share(c['won_a'] / c['closed_a'])} of {_count(c['closed_a'])} closed deals against "
        f"{_share(c['won_b'] / c['closed_b'])} of {_count(c['closed_b'])}"
    )


def _won(c: dict[str, Any]) -> str:
    return f"{_count(c['won_a'])} won deals against {_count(c['won_b'])}"


def _win_rate_evidence(c: dict[str, Any]) -> str:
    """The difference, signed, with its interval and p-value."""
    interval = evidence.format_interval(c["win_rate_difference_low"], c["win_rate_difference_high"])
    return (
        f"difference {evidence.format_points(c['win_rate_difference'])} points, 95 % interval {interval} points, "
        f"Fisher's exact test {evidence.format_p(c['win_rate_p_value'])}"
    )


def _cycle_interval(c: dict[str, Any], sign: int | None = None) -> str:
    """The shift's interval in days, signed; with `sign` the size in the stated direction (−1:
    "faster", the interval of −shift)."""
    if c["cycle_shift_low"] is None:
        return "no 95 % interval: too few won deals"
    if sign is None:
        interval = evidence.format_interval(c["cycle_shift_low"], c["cycle_shift_high"], evidence.format_days)
        return f"95 % interval {interval} days"
    low, high = sorted((sign * c["cycle_shift_low"], sign * c["cycle_shift_high"]))
    return f"95 % interval {_days(low)} to {_days(high)} days"


def _cycle_evidence(c: dict[str, Any]) -> str:
    return (
        f"Hodges–Lehmann shift {evidence.format_days(c['cycle_shift_days'])} days, {_cycle_interval(c)}, "
        f"Mann–Whitney U test {evidence.format_p(c['cycle_p_value'])}"
    )


def _points(share: float) -> str:
    """Percentage points, unsigned but for a minus: the size of a stated effect."""
    return f"{share * 100:.1f}".replace("-", "−")


def _days(days: float) -> str:
    return evidence.format_days(days).lstrip("+")


def headline(*, quartile: dict[str, Any] | None, ties: list[dict[str, Any]], closed: int, min_closed: int,
             lookback_days: int) -> tuple[str, str]:
    """The sentence comparing the top quartile of engagement with the bottom one, and its reason
    (a HeadlineReason value). It states an effect only where p < 0.05, with the counts behind it
    (the two quartile rows' closed and won counts) and the 95 % interval, turned to the stated
    direction; otherwise it says that the data shows no clear difference, and why."""
    no_difference = "The data shows no clear difference between the top and bottom quartiles of engagement"
    if quartile is None:  # no quartiles: the engagement ties across a boundary
        if len(ties) == 1 and ties[0]["minutes"] == 0 and ties[0]["opportunities"] == closed:
            return (
                f"{no_difference}: no engagement recorded. All {_count(closed)} closed deals had 0 engagement "
                f"minutes in the {lookback_days} days before they were created, so there are no quartiles.",
                "no_engagement",
            )
        return f"{no_difference}. {ties_sentence(ties, closed)}", "engagement_ties"
    if quartile["closed_a"] < min_closed or quartile["closed_b"] < min_closed:
        return (
            f"{no_difference}: too few closed deals. Quartile 4 has {_count(quartile['closed_a'])} and quartile 1 "
            f"{_count(quartile['closed_b'])} closed opportunities; each needs at least {min_closed}.",
            "too_few",
        )
    rate = evidence.Difference(p_value=quartile["win_rate_p_value"])
    cycle = evidence.Difference(p_value=quartile["cycle_p_value"])
    if cycle.p_value is None:
        cycle_unclear = "cycle days cannot be compared: a quartile has no won deal"
    else:
        cycle_unclear = f"cycle days of the {_won(quartile)} ({_cycle_evidence(quartile)})"
    rate_unclear = f"win rate {_rates(quartile)} ({_win_rate_evidence(quartile)})"
    if not rate.significant and not cycle.significant:
        return f"{no_difference}: no difference has p < 0.05. The {rate_unclear}; {cycle_unclear}.", "not_significant"

    clauses = []
    if rate.significant:
        d, low, high = (quartile[f] for f in ("win_rate_difference", "win_rate_difference_low",
                                              "win_rate_difference_high"))
        sign = 1 if d > 0 else -1
        low, high = sorted((sign * low, sign * high))
        clauses.append(
            f"won {_points(abs(d))} points {'more' if d > 0 else 'less'} often ({_rates(quartile)}; 95 % interval "
            f"{_points(low)} to {_points(high)} points; Fisher's exact test {evidence.format_p(rate.p_value)})"
        )
    if cycle.significant:
        shift = quartile["cycle_shift_days"]
        sign = -1 if shift < 0 else 1
        pace = f"{_days(abs(shift))} days {'faster' if shift < 0 else 'slower'}" if shift else "at another pace"
        clauses.append(
            f"closed their won deals {pace} (Hodges–Lehmann shift over {_won(quartile)}; "
            f"{_cycle_interval(quartile, sign)}; Mann–Whitney U test {evidence.format_p(cycle.p_value)})"
        )
    sentence = f"Compared with the bottom quartile of engagement, accounts in the top quartile {' and '.join(clauses)}."
    if not rate.significant:
        sentence += f" No clear difference in {rate_unclear}."
    elif not cycle.significant:
        sentence += (f" No clear difference in {cycle_unclear}." if cycle.p_value is not None
                     else f" The {cycle_unclear}.")
    return sentence, "effect"


def outcome_groups(
    *, as_of: date, cfg: MetricSettings, memo: InfluenceMemo | StoredFacts | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """The day's OutcomeGroup rows, OutcomeComparison rows and the InfluenceSummary figures of the
    outcomes (headline, its reason, the population count, the quartile ties).

    One population: the opportunities closed in the outcomes window. Every dimension splits it
    (the control group leaves out non-target deals at accounts without a target's profile), and
    the headline compares two of the quartile rows, so its counts are theirs. `memo`: where the
    opportunities' pre-creation minutes come from — a backfill's read on earlier days
    (InfluenceMemo) or the stored facts (StoredFacts); None computes them all.
    """
    closed = memo.closed(as_of=as_of, cfg=cfg) if memo else _closed_opportunities(as_of=as_of, cfg=cfg)
    ties = quartile_ties(closed)
    members: dict[str, dict[str, list[ClosedOpportunity]]] = {}
    if not ties:
        members["quartile"] = {str(q): group for q, group in quartiles(closed).items()}
    members["target"] = {"target": [o for o in closed if o.is_target],
                         "non_target": [o for o in closed if not o.is_target]}
    members["engaged"] = {"engaged": [o for o in closed if o.minutes_before >= cfg.engaged_min_minutes],
                          "not_engaged": [o for o in closed if o.minutes_before < cfg.engaged_min_minutes]}
    # Target vs look-alike control: accounts and their engagement are the accounts' own (all of
    # them, with their minutes_90d as of D), outcomes are their closed opportunities.
    profiles, accounts = _control_accounts(as_of=as_of)
    members["control"] = {"target": [o for o in closed if o.is_target],
                          "control": [o for o in closed if not o.is_target and o.profile in profiles]}

    rows: list[dict[str, Any]] = []
    for dimension, groups in members.items():
        for group, opportunities in groups.items():
            row = _group_row(dimension, group, opportunities)
            if dimension == "control":
                row["accounts"], row["mean_minutes_90d"] = accounts[group]
            rows.append(row)
    comparisons = [
        comparison(dimension, groups[COMPARED[dimension][0]], groups[COMPARED[dimension][1]])
        for dimension, groups in members.items()
    ]
    quartile = comparisons[0] if not ties else None
    text, reason = headline(quartile=quartile, ties=ties, closed=len(closed), min_closed=cfg.headline_min_closed,
                            lookback_days=cfg.influence_lookback_days)
    summary = {
        "headline": text,
        "headline_reason": reason,
        "headline_opportunities": quartile["closed_a"] + quartile["closed_b"] if quartile else 0,
        "closed_opportunities": len(closed),
        "quartile_ties": ties,
    }
    return rows, comparisons, summary


def pipeline_totals(*, as_of: date, cfg: MetricSettings) -> dict[str, Any]:
    """The populations of influenced pipeline and attribution: the opportunities created in W90
    (the same as the accounts' pipeline_created_90d; influenced_pipeline is a part of them) and
    those won and closed in W90 (won_revenue_90d). One aggregate over opportunity."""
    w90 = Windows.for_day(as_of, cfg).w_long
    money = DecimalField(max_digits=18, decimal_places=2)
    won = Q(is_won=True) & w90.q("closed_at")
    return Opportunity.objects.order_by().aggregate(
        pipeline_opportunities=Count("id", filter=w90.q("created_at")),
        pipeline_created=Coalesce(Sum("amount", filter=w90.q("created_at")), Value(ZERO), output_field=money),
        won_opportunities=Count("id", filter=won),
        won_revenue=Coalesce(Sum("amount", filter=won), Value(ZERO), output_field=money),
    )


# --- Attribution ---------------------------------------------------------------------------------


def model_weights(model: str, touch_times: list[datetime], point: datetime, half_life_days: float) -> list[float]:
    """Each touch's share of one opportunity (they sum to 1). Touches are in time order."""
    n = len(touch_times)
    if model == AttributionModel.FIRST_TOUCH:
        return [1.0] + [0.0] * (n - 1)
    if model == AttributionModel.LAST_TOUCH:
        return [0.0] * (n - 1) + [1.0]
    if model == AttributionModel.LINEAR:
        return [1.0 / n] * n
    if model == AttributionModel.U_SHAPED:
        if n == 1:
            return [1.0]
        if n == 2:
            return [0.5, 0.5]
        return [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]
    if model == AttributionModel.TIME_DECAY:
        raw = [2 ** (-((point - t).total_seconds() / 86400) / half_life_days) for t in touch_times]
        total = math.fsum(raw)
        return [w / total for w in raw]
    raise ValueError(f"unknown attribution model {model!r}")


def split_amount(amount: Decimal, programs: list[int], weights: list[float]) -> dict[int, int]:
    """Whole cents per program for one opportunity, summing exactly to `amount`, none negative.

    A program's share is the sum of its touches' weights. Each program gets its exact share
    rounded down to the cent; the cents left over go one each to the programs with the largest
    remainders, ties to the program touched last (largest-remainder rounding).
    """
    cents = int(amount * 100)
    shares: dict[int, float] = defaultdict(float)
    last_touch: dict[int, int] = {}
    for position, (program_id, weight) in enumerate(zip(programs, weights, strict=True)):
        if weight > 0:
            shares[program_id] += weight
            last_touch[program_id] = position
    if not shares:
        return {programs[-1]: cents}
    # The shares add up to `cents` within far less than a cent, so the leftover is a whole number
    # from 0 to the number of programs. (Exact Fractions gave the same cents at 2.5× the cost of
    # the whole attribution pass.)
    total = math.fsum(shares.values())
    exact = {program_id: cents * share / total for program_id, share in shares.items()}
    allocated = {program_id: math.floor(value) for program_id, value in exact.items()}
    leftover = cents - sum(allocated.values())
    # Remainders equal but for float noise (thirds: 0.6666… and 0.6666…7) are equal: rounded.
    by_remainder = sorted(exact, key=lambda p: (round(exact[p] - allocated[p], 9), last_touch[p]), reverse=True)
    for program_id in by_remainder[:leftover]:
        allocated[program_id] += 1
    return allocated


@dataclass
class Journey:
    pk: int
    amount: Decimal
    point: datetime
    account_id: int = 0
    created_at: datetime | None = None
    touches: list[tuple[datetime, int, int]] = field(default_factory=list)  # (occurred_at, touch id, program id)


def _journeys(
    *, basis: str, as_of: date, cfg: MetricSettings, window: Window | None = None, ids: Sequence[int] | None = None
) -> Iterator[Journey]:
    """Each opportunity's program touches in [created_at − lookback, point], in time order, one
    opportunity at a time (in id order; those with no program touch have none).

    Pipeline: opportunities created in W90, point = created_at. Revenue: opportunities won and
    closed in W90, point = closed_at. (The same opportunities as the accounts' pipeline_created_90d
    and won_revenue_90d, so the attributed totals match those figures.)
    Two queries, both streamed in opportunity id order and merged here, so only one journey is
    held at a time: the opportunities, and the touches joined to them (touchpoint_account_time).
    `window`: only the opportunities whose point lies in it (a backfill's new days); `ids`: only
    these opportunities (a refresh's, StoredFacts).
    """
    window = window or Windows.for_day(as_of, cfg).w_long
    point_field = "created_at" if basis == "pipeline" else "closed_at"
    opportunities = Opportunity.objects.filter(window.q(point_field)).order_by()
    if ids is not None:
        opportunities = opportunities.filter(id__in=list(ids))
    if basis == "revenue":
        opportunities = opportunities.filter(is_won=True)
    # Opportunities JOIN their account's program touches in [created_at − lookback, point]: the
    # bounds are per opportunity, so each is one range seek on touchpoint_account_time. The
    # values_list below reuses the filter's join, so every row is a (touch, opportunity) pair.
    pairs = (
        opportunities.alias(
            attribution_from=ExpressionWrapper(
                F("created_at") - timedelta(days=cfg.attribution_lookback_days), output_field=DateTimeField()
            )
        )
        .filter(
            account__touchpoints__occurred_at__gte=F("attribution_from"),
            account__touchpoints__occurred_at__lte=F(point_field),
            account__touchpoints__program__isnull=False,
        )
        .order_by("id", "account__touchpoints__occurred_at", "account__touchpoints__id")
        .values_list("id", "account__touchpoints__occurred_at", "account__touchpoints__id",
                     "account__touchpoints__program_id")
        .iterator(chunk_size=2000)
    )
    opportunity_rows = (
        opportunities.order_by("id").values_list("id", "amount", point_field, "account_id", "created_at")
        .iterator(chunk_size=2000)
    )
    # Both server-side cursors are closed here however the caller stops (callers close this
    # generator): left to the garbage collector, a cursor's CLOSE could run in the middle of
    # another statement on the connection and hang it.
    with closing(pairs), closing(opportunity_rows):
        pending = next(pairs, None)
        for pk, amount, point, account_id, created_at in opportunity_rows:
            journey = Journey(pk=pk, amount=amount, point=point, account_id=account_id, created_at=created_at)
            while pending is not None and pending[0] == pk:
                journey.touches.append(pending[1:])
                pending = next(pairs, None)
            yield journey


# One opportunity's credit: model → program → whole cents; None when it has no program touch.
OpportunityCredit = dict[str, dict[int, int]] | None


def journey_credits(journey: Journey, cfg: MetricSettings) -> OpportunityCredit:
    """The cents of one opportunity's amount per program under each model (each model's cents
    sum to the amount); None when the journey has no program touch (it stays unattributed)."""
    if not journey.touches:
        return None
    times = [t for t, _, _ in journey.touches]
    programs = [p for _, _, p in journey.touches]
    return {
        model: split_amount(journey.amount, programs, model_weights(model, times, journey.point,
                                                                    cfg.time_decay_half_life_days))
        for model in AttributionModel.values
    }


def _day_credits(*, basis: str, as_of: date, cfg: MetricSettings,
                 memo: InfluenceMemo | StoredFacts | None) -> Iterator[tuple[Decimal, OpportunityCredit]]:
    """(amount, credit) of each opportunity of the day's population for `basis`."""
    if memo is not None:
        yield from memo.credits(basis=basis, as_of=as_of, cfg=cfg)
        return
    with closing(_journeys(basis=basis, as_of=as_of, cfg=cfg)) as journeys:
        for journey in journeys:
            yield journey.amount, journey_credits(journey, cfg)


def attribution_credits(
    *, as_of: date, cfg: MetricSettings, memo: InfluenceMemo | StoredFacts | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """AttributionCredit rows (program × model × basis) and the uncredited totals per basis
    (the count and amount of opportunities with no program touch: no credit).

    An opportunity's credit depends only on the opportunity and the touches before its point
    (created_at, or closed_at for revenue), never on D: a day's credits are the sum over the
    opportunities whose point lies in W90. `memo`: a backfill's credits of the opportunities
    read on earlier days (InfluenceMemo), so each is attributed once, not once a day."""
    rows: list[dict[str, Any]] = []
    uncredited: dict[str, Any] = {}
    for basis in ("pipeline", "revenue"):
        cents: dict[str, dict[int, int]] = {model: defaultdict(int) for model in AttributionModel.values}
        opportunities: dict[str, dict[int, int]] = {model: defaultdict(int) for model in AttributionModel.values}
        n_uncredited, amount_uncredited = 0, ZERO
        with closing(_day_credits(basis=basis, as_of=as_of, cfg=cfg, memo=memo)) as day_credits:
            for amount, credit in day_credits:
                if credit is None:
                    n_uncredited += 1
                    amount_uncredited += amount
                    continue
                for model, by_program in credit.items():
                    for program_id, value in by_program.items():
                        cents[model][program_id] += value
                        opportunities[model][program_id] += 1
        uncredited[basis] = {"opportunities": n_uncredited, "amount": str(amount_uncredited)}
        for model in AttributionModel.values:
            rows.extend(
                {"program_id": program_id, "model": model, "basis": basis, "credit": Decimal(total).scaleb(-2),
                 "opportunities": opportunities[model][program_id]}
                for program_id, total in sorted(cents[model].items())
            )
    return rows, uncredited


class InfluenceMemo:
    """What a backfill (metrics.backfill) reads once and reuses on the following days: the
    opportunities closed in the outcomes window with their pre-creation minutes, and each
    opportunity's attribution credit. Both depend only on the opportunity and on touches before
    it was created (closed, for revenue), not on D, so day D reads only the opportunities whose
    date falls on days not read yet — in a backfill, oldest day first, the one new day.

    The memo holds what it read: an opportunity or touch changed while the backfill runs is seen
    by the next nightly run or refresh, as any change made after a day is computed.
    """

    def __init__(self) -> None:
        self._closed: dict[int, ClosedOpportunity] = {}
        self._closed_through: datetime | None = None
        # basis → opportunity id → (point, amount, credit)
        self._credits: dict[str, dict[int, tuple[datetime, Decimal, OpportunityCredit]]] = {
            "pipeline": {}, "revenue": {}}
        self._credits_through: dict[str, datetime | None] = {"pipeline": None, "revenue": None}

    @staticmethod
    def _unread(window: Window, through: datetime | None) -> Window | None:
        """The part of `window` after `through` (the end of what was read), as whole days; None
        when nothing is left. Days before `through` were read on earlier days."""
        if through is None or through <= window.start:
            return window
        if through >= window.end:
            return None
        return Window(first=through.astimezone(UTC).date(), last=window.last)

    def closed(self, *, as_of: date, cfg: MetricSettings) -> list[ClosedOpportunity]:
        window = trailing(as_of, cfg.outcomes_window_days)
        unread = self._unread(window, self._closed_through)
        if unread is not None:
            for o in _closed_opportunities(as_of=as_of, cfg=cfg, window=unread):
                self._closed[o.id] = o
            self._closed_through = max(window.end, self._closed_through or window.end)
        # Those that left the window are dropped: memory stays that of one window.
        self._closed = {pk: o for pk, o in self._closed.items() if o.closed_at >= window.start}
        return sorted((o for o in self._closed.values() if o.closed_at < window.end), key=lambda o: o.id)

    def credits(self, *, basis: str, as_of: date, cfg: MetricSettings) -> Iterator[tuple[Decimal, OpportunityCredit]]:
        window = Windows.for_day(as_of, cfg).w_long
        memo = self._credits[basis]
        unread = self._unread(window, self._credits_through[basis])
        if unread is not None:
            with closing(_journeys(basis=basis, as_of=as_of, cfg=cfg, window=unread)) as journeys:
                for journey in journeys:
                    memo[journey.pk] = (journey.point, journey.amount, journey_credits(journey, cfg))
            self._credits_through[basis] = max(window.end, self._credits_through[basis] or window.end)
        for pk in [pk for pk, (point, _, _) in memo.items() if point < window.start]:
            del memo[pk]
        for pk in sorted(memo):
            point, amount, credit = memo[pk]
            if point < window.end:
                yield amount, credit


def settings_digest(cfg: MetricSettings) -> str:
    """A digest of the settings an OpportunityFact depends on (weights, multipliers, lookbacks,
    half-life): a fact computed under other settings does not hold."""
    relevant = [cfg.minutes_by_kind, cfg.seniority_multipliers, cfg.influence_lookback_days,
                cfg.attribution_lookback_days, cfg.time_decay_half_life_days]
    return hashlib.sha1(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()


def _fact_holds(o: str, f: str, point: str, p: Params, *, kind: str, digest: str) -> str:
    """The join condition of opportunity `o` to its stored fact `f` of this kind that still holds:
    computed under these settings from the opportunity's present account, creation, point and
    amount (OpportunityFact)."""
    return (f"{f}.opportunity_id = {o}.id AND {f}.kind = {p(kind)} AND {f}.settings = {p(digest)} "
            f"AND {f}.account_id = {o}.account_id AND {f}.created_at = {o}.created_at AND {f}.point_at = {point} "
            f"AND {f}.amount = {o}.amount")


def _credit_from_db(value: Any) -> OpportunityCredit:
    """A stored credit (JSON keys are text) as model → program id → cents."""
    if isinstance(value, str):
        value = json.loads(value)
    if value is None:
        return None
    return {model: {int(program): int(cents) for program, cents in by_program.items()} for model, by_program in value.items()}


class StoredFacts:
    """The influence rollups' per-opportunity figures kept as OpportunityFact rows.

    A full run computes every opportunity's minutes and credits (`reuse=False`) and stores them; a
    refresh after new touches (`reuse=True`) reads those that still hold — the refresh deleted the
    facts of the accounts it touched first (metrics.services.refresh_day_accounts) — and computes
    only the rest: the opportunities of the touched accounts, new or changed ones. The same
    interface as InfluenceMemo (closed, credits)."""

    BATCH = 1000

    def __init__(self, cfg: MetricSettings, *, reuse: bool) -> None:
        self.digest = settings_digest(cfg)
        self.reuse = reuse

    def _store(self, facts: Iterable[OpportunityFact]) -> None:
        """Insert or replace these facts, BATCH at a time (only a batch of model objects in memory)."""
        facts = iter(facts)
        while batch := list(islice(facts, self.BATCH)):
            OpportunityFact.objects.bulk_create(
                batch, update_conflicts=True, unique_fields=["opportunity", "kind"],
                update_fields=["account_id", "created_at", "point_at", "amount", "settings", "units", "credit"],
            )

    def closed(self, *, as_of: date, cfg: MetricSettings) -> list[ClosedOpportunity]:
        closed = _closed_opportunities(as_of=as_of, cfg=cfg, reuse=self.digest if self.reuse else None)
        self._store(
            OpportunityFact(opportunity_id=o.id, kind=OpportunityFact.Kind.MINUTES, account_id=o.account_id,
                            created_at=o.created_at, point_at=o.created_at, amount=o.amount, settings=self.digest,
                            units=o.units)
            for o in closed if not o.stored
        )
        return closed

    def _known(self, *, basis: str, window: Window) -> tuple[dict[int, tuple[Decimal, OpportunityCredit]], list[int]]:
        """The day's population for `basis`: the credits stored for it that hold, and the ids of
        the opportunities without one."""
        p = Params()
        point = "o.created_at" if basis == "pipeline" else "o.closed_at"
        holds = _fact_holds("o", "f", point, p, kind=basis, digest=self.digest)
        won = " AND o.is_won" if basis == "revenue" else ""
        sql = f"""
            SELECT o.id, o.amount, f.id, f.credit
            FROM {table(Opportunity)} o LEFT JOIN {table(OpportunityFact)} f ON {holds}
            WHERE {point} >= {p(window.start)} AND {point} < {p(window.end)}{won}
        """
        known: dict[int, tuple[Decimal, OpportunityCredit]] = {}
        missing: list[int] = []
        with connection.cursor() as cursor:
            cursor.execute(sql, p)
            for pk, amount, fact_id, credit in cursor.fetchall():
                if fact_id is None:
                    missing.append(pk)
                else:
                    known[pk] = (Decimal(str(amount)).quantize(CENT), _credit_from_db(credit))
        return known, missing

    def credits(self, *, basis: str, as_of: date, cfg: MetricSettings) -> Iterator[tuple[Decimal, OpportunityCredit]]:
        window = Windows.for_day(as_of, cfg).w_long
        known: dict[int, tuple[Decimal, OpportunityCredit]] | None = None
        if self.reuse:
            known, missing = self._known(basis=basis, window=window)
            reads = [{"ids": missing[i:i + self.BATCH]} for i in range(0, len(missing), self.BATCH)]
        else:
            reads = [{}]
        computed: dict[int, tuple[Decimal, OpportunityCredit]] = {}
        facts: list[OpportunityFact] = []
        for read in reads:
            with closing(_journeys(basis=basis, as_of=as_of, cfg=cfg, **read)) as journeys:
                for journey in journeys:
                    credit = journey_credits(journey, cfg)
                    facts.append(OpportunityFact(
                        opportunity_id=journey.pk, kind=basis, account_id=journey.account_id,
                        created_at=journey.created_at, point_at=journey.point, amount=journey.amount,
                        settings=self.digest, credit=credit,
                    ))
                    if len(facts) >= self.BATCH:
                        self._store(facts)
                        facts = []
                    if known is None:  # a run: streamed in id order, as computed
                        yield journey.amount, credit
                    else:
                        computed[journey.pk] = (journey.amount, credit)
        self._store(facts)
        if known is not None:  # a refresh: the stored and the computed, merged in id order
            merged = known | computed
            for pk in sorted(merged):
                yield merged[pk]


# --- Sales figures per segment -------------------------------------------------------------------


def segment_sales(*, as_of: date, cfg: MetricSettings) -> dict[int | None, dict[str, Any]]:
    """Segment id (None = all target accounts) → open opportunities as of D, and over the
    opportunities closed in the outcomes window: win rate, average won amount, median cycle days,
    and sales velocity = open × win rate × average contract value / median cycle days.

    Per segment (segments are few): one query counts, one streams the won opportunities, which
    only add to a sum and to a count per cycle length, so memory does not grow with the data.
    """
    end = day_start(as_of + timedelta(days=1))
    window = trailing(as_of, cfg.outcomes_window_days)
    opportunities = Opportunity.objects.filter(_open_as_of(end) | _closed_in(window)).order_by()
    segment_ids = Segment.objects.order_by("id").values_list("id", flat=True)
    scopes: dict[int | None, Any] = {pk: opportunities.filter(account__segments=pk) for pk in segment_ids}
    scopes[None] = opportunities.filter(account__is_target=True)
    # Closed on or before D: in the outcomes window. Everything else selected is open as of D.
    closed_q = Q(is_closed=True, closed_at__lt=end)

    result: dict[int | None, dict[str, Any]] = {}
    for segment_id, scope in scopes.items():
        counts = scope.aggregate(total=Count("id"), closed=Count("id", filter=closed_q))
        closed = counts["closed"]
        won_count = 0
        won_total = ZERO
        cycles: Counter[int] = Counter()
        won = scope.filter(closed_q, is_won=True).values_list("amount", "created_at", "closed_at")
        for amount, created_at, closed_at in won.iterator(chunk_size=2000):
            won_count += 1
            won_total += amount
            cycles[(closed_at.date() - created_at.date()).days] += 1
        open_count = counts["total"] - closed
        win_rate = won_count / closed if closed else None
        acv = (won_total / won_count).quantize(CENT) if won_count else None
        median_cycle = _counted_median(cycles) if cycles else None
        velocity = (
            open_count * win_rate * float(acv) / median_cycle
            if win_rate is not None and acv is not None and median_cycle
            else None
        )
        result[segment_id] = {
            "open_opportunities": open_count,
            "win_rate": win_rate,
            "avg_contract_value": acv,
            "median_cycle_days": median_cycle,
            "sales_velocity": velocity,
        }
    return result


def _counted_median(counts: Counter[int]) -> float:
    """statistics.median of the values, each repeated as often as counted (the middle one, or the
    mean of the middle two)."""
    n = counts.total()
    wanted = sorted({(n - 1) // 2, n // 2})
    middle: list[int] = []
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        while wanted and wanted[0] < seen:
            middle.append(value)
            wanted.pop(0)
    return float(middle[0]) if len(middle) == 1 else float((middle[0] + middle[1]) / 2)
