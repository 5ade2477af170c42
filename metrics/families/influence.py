"""Influence — which activities lead to the right results? (METRICS.md §5)

Per account (in the chunk): pipeline created and revenue won in W90, influenced pipeline, and
the opportunity facts the journey stage needs. Per day (after all chunks): outcomes by
engagement quartile, target vs non-target, engaged vs not, target vs look-alike control, the
headline, attribution credits per program, and the sales figures per segment.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDay

from accounts.models import Account, Opportunity, Segment, Touchpoint
from metrics.families.common import Window, Windows, day_start, minutes_expression, trailing
from metrics.models import AccountSnapshot, AttributionModel, MetricSettings

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


def influenced(cfg: MetricSettings) -> Exists:
    """The opportunity's account has a touch worth > 0 minutes on a day from (created day −
    lookback) through the earlier of its closed day and D.

    Correlated on (account, occurred_at range): index touchpoint_account_time.
    """
    touches = (
        Touchpoint.objects.filter(
            account_id=OuterRef("account_id"),
            occurred_at__gte=OuterRef("influence_from"),
            occurred_at__lt=OuterRef("influence_to"),
        )
        .alias(touch_minutes=minutes_expression(cfg))
        .filter(touch_minutes__gt=0)
    )
    return Exists(touches)


def _with_influence_window(queryset: Any, cfg: MetricSettings, as_of: date) -> Any:
    end = day_start(as_of + timedelta(days=1))
    return queryset.alias(
        influence_from=_days_before("created_at", cfg.influence_lookback_days),
        # Exclusive upper bound: midnight after the closed day when closed on or before D, else after D.
        influence_to=Case(
            When(
                is_closed=True,
                closed_at__lt=end,
                then=ExpressionWrapper(
                    TruncDay("closed_at", tzinfo=UTC) + Value(timedelta(days=1)), output_field=DateTimeField()
                ),
            ),
            default=Value(end),
            output_field=DateTimeField(),
        ),
    ).annotate(is_influenced=influenced(cfg))


def influence_rows(*, as_of: date, account_ids: list[int], cfg: MetricSettings) -> dict[int, dict[str, Any]]:
    """Two queries over the chunk's opportunities (index: opportunity_account_created)."""
    w90 = Windows.for_day(as_of, cfg).w_long
    end = w90.end
    money = DecimalField(max_digits=18, decimal_places=2)
    opportunities = Opportunity.objects.filter(account_id__in=account_ids).order_by()
    totals = opportunities.values("account_id").annotate(
        pipeline=Coalesce(Sum("amount", filter=w90.q("created_at")), Value(ZERO), output_field=money),
        won=Coalesce(Sum("amount", filter=Q(is_won=True) & w90.q("closed_at")), Value(ZERO), output_field=money),
        open_count=Count("id", filter=_open_as_of(end)),
        won_count=Count("id", filter=Q(is_won=True, closed_at__lt=end)),
    )
    result: dict[int, dict[str, Any]] = {}
    for row in totals:
        result[row["account_id"]] = {
            "pipeline_created_90d": row["pipeline"],
            "won_revenue_90d": row["won"],
            "influenced_pipeline": ZERO,
            "influenced_opportunities": 0,
            "has_open_opportunity": row["open_count"] > 0,
            "is_customer": row["won_count"] > 0,
        }
    created_in_w90 = _with_influence_window(opportunities.filter(w90.q("created_at")), cfg, as_of)
    for account_id, amount in created_in_w90.filter(is_influenced=True).values_list("account_id", "amount"):
        result[account_id]["influenced_pipeline"] += amount
        result[account_id]["influenced_opportunities"] += 1
    return result


# --- Outcomes: quartiles, target vs non-target, engaged vs not, target vs control ---------------


@dataclass
class ClosedOpportunity:
    id: int
    external_id: str
    account_id: int
    is_target: bool
    is_won: bool
    amount: Decimal
    cycle_days: int  # closed day − created day
    minutes_before: float  # account's minutes on days (created day − 90) … (created day − 1)
    profile: tuple[str, str] | None  # the account's (industry, size band), see profile()


def _closed_opportunities(*, as_of: date, cfg: MetricSettings) -> list[ClosedOpportunity]:
    """The unit of the outcome tables: opportunities closed in the outcomes window ending D.

    One query; the pre-creation minutes are a correlated aggregate on touchpoint_account_time.
    """
    window = trailing(as_of, cfg.outcomes_window_days)
    minutes_before = (
        Touchpoint.objects.filter(
            account_id=OuterRef("account_id"),
            occurred_at__gte=OuterRef("engagement_from"),
            occurred_at__lt=OuterRef("engagement_to"),
        )
        .order_by()
        .values("account_id")
        .annotate(total=Sum(minutes_expression(cfg)))
        .values("total")
    )
    rows = (
        Opportunity.objects.filter(_closed_in(window))
        .order_by()
        .alias(
            engagement_from=_days_before("created_at", cfg.influence_lookback_days),
            engagement_to=_days_before("created_at", 0),
        )
        .annotate(minutes_before=Coalesce(Subquery(minutes_before), Value(0.0), output_field=FloatField()))
        .values_list("id", "external_id", "account_id", "account__is_target", "is_won", "amount", "created_at",
                     "closed_at", "minutes_before", "account__industry", "account__employees")
    )
    return [
        ClosedOpportunity(
            id=pk, external_id=external_id or "", account_id=account_id, is_target=is_target, is_won=is_won,
            amount=amount, cycle_days=(closed_at.date() - created_at.date()).days,
            # Rounded like the engagement family: ties in the quartile order must not hang on float noise.
            minutes_before=round(minutes, 6),
            profile=profile(industry, employees),
        )
        for pk, external_id, account_id, is_target, is_won, amount, created_at, closed_at, minutes, industry, employees
        in rows
    ]


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


def quartiles(opportunities: list[ClosedOpportunity]) -> dict[int, list[ClosedOpportunity]]:
    """Ascending by pre-creation minutes (ties by external_id, then id): the i-th of n (0-based)
    falls in quartile ⌊4i/n⌋ + 1, so quartile 4 is the most engaged."""
    ordered = sorted(opportunities, key=lambda o: (o.minutes_before, o.external_id, o.id))
    groups: dict[int, list[ClosedOpportunity]] = {1: [], 2: [], 3: [], 4: []}
    for i, opportunity in enumerate(ordered):
        groups[4 * i // len(ordered) + 1].append(opportunity)
    return groups


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
    minutes = Coalesce(
        Subquery(AccountSnapshot.objects.filter(account_id=OuterRef("pk"), as_of=as_of).values("minutes_90d")[:1]),
        Value(0.0),
        output_field=FloatField(),
    )
    accounts = Account.objects.order_by().annotate(minutes_90d=minutes)
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


def headline(groups: dict[str, dict[str, Any]], min_closed: int) -> tuple[str, int]:
    """The sentence comparing the top quartile with the bottom one, and the opportunities behind it.

    Empty when either quartile has fewer than `min_closed` closed opportunities.
    """
    top, bottom = groups["4"], groups["1"]
    behind = top["opportunities_closed"] + bottom["opportunities_closed"]
    if top["opportunities_closed"] < min_closed or bottom["opportunities_closed"] < min_closed:
        return "", behind
    clauses = []
    if top["median_cycle_days"] is not None and bottom["median_cycle_days"]:
        faster = (bottom["median_cycle_days"] - top["median_cycle_days"]) / bottom["median_cycle_days"] * 100
        clauses.append(f"closed {abs(faster):.0f} % {'faster' if faster >= 0 else 'slower'}")
    points = (top["win_rate"] - bottom["win_rate"]) * 100
    clauses.append(f"won {abs(points):.0f} points {'more' if points >= 0 else 'less'} often")
    sentence = (
        "Accounts in the top quartile of engagement " + " and ".join(clauses) + " than the bottom quartile"
        f" (based on {behind} closed opportunities)."
    )
    return sentence, behind


def outcome_groups(*, as_of: date, cfg: MetricSettings) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The OutcomeGroup rows of the day and the headline (text, opportunity count, details)."""
    closed = _closed_opportunities(as_of=as_of, cfg=cfg)
    rows: list[dict[str, Any]] = []
    by_quartile = quartiles(closed) if closed else {1: [], 2: [], 3: [], 4: []}
    for quartile, members in by_quartile.items():
        rows.append(_group_row("quartile", str(quartile), members))
    rows.append(_group_row("target", "target", [o for o in closed if o.is_target]))
    rows.append(_group_row("target", "non_target", [o for o in closed if not o.is_target]))
    rows.append(_group_row("engaged", "engaged", [o for o in closed if o.minutes_before >= cfg.engaged_min_minutes]))
    rows.append(
        _group_row("engaged", "not_engaged", [o for o in closed if o.minutes_before < cfg.engaged_min_minutes])
    )

    # Target vs look-alike control: accounts and their engagement are the accounts' own (all of
    # them, with their minutes_90d as of D), outcomes are their closed opportunities.
    profiles, accounts = _control_accounts(as_of=as_of)
    members = {
        "target": [o for o in closed if o.is_target],
        "control": [o for o in closed if not o.is_target and o.profile in profiles],
    }
    for group, opportunities in members.items():
        row = _group_row("control", group, opportunities)
        row["accounts"], row["mean_minutes_90d"] = accounts[group]
        rows.append(row)

    quartile_rows = {r["group"]: r for r in rows if r["dimension"] == "quartile"}
    text, behind = headline(quartile_rows, cfg.headline_min_closed)
    return rows, {"headline": text, "headline_opportunities": behind, "closed_opportunities": len(closed)}


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
    amount: Decimal
    point: datetime
    touches: list[tuple[datetime, int, int]] = field(default_factory=list)  # (occurred_at, touch id, program id)


def _journeys(*, basis: str, as_of: date, cfg: MetricSettings) -> Iterator[Journey]:
    """Each opportunity's program touches in [created_at − lookback, point], in time order, one
    opportunity at a time (in id order; those with no program touch have none).

    Pipeline: opportunities created in W90, point = created_at. Revenue: opportunities won and
    closed in W90, point = closed_at. (The same opportunities as the accounts' pipeline_created_90d
    and won_revenue_90d, so the attributed totals match those figures.)
    Two queries, both streamed in opportunity id order and merged here, so only one journey is
    held at a time: the opportunities, and the touches joined to them (touchpoint_account_time).
    """
    window = Windows.for_day(as_of, cfg).w_long
    point_field = "created_at" if basis == "pipeline" else "closed_at"
    opportunities = Opportunity.objects.filter(window.q(point_field)).order_by()
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
    pending = next(pairs, None)
    for pk, amount, point in opportunities.order_by("id").values_list("id", "amount", point_field).iterator(
        chunk_size=2000
    ):
        journey = Journey(amount=amount, point=point)
        while pending is not None and pending[0] == pk:
            journey.touches.append(pending[1:])
            pending = next(pairs, None)
        yield journey


def attribution_credits(*, as_of: date, cfg: MetricSettings) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """AttributionCredit rows (program × model × basis) and the uncredited totals per basis
    (the count and amount of opportunities with no program touch: no credit)."""
    rows: list[dict[str, Any]] = []
    uncredited: dict[str, Any] = {}
    for basis in ("pipeline", "revenue"):
        cents: dict[str, dict[int, int]] = {model: defaultdict(int) for model in AttributionModel.values}
        opportunities: dict[str, dict[int, int]] = {model: defaultdict(int) for model in AttributionModel.values}
        n_uncredited, amount_uncredited = 0, ZERO
        for journey in _journeys(basis=basis, as_of=as_of, cfg=cfg):
            if not journey.touches:
                n_uncredited += 1
                amount_uncredited += journey.amount
                continue
            times = [t for t, _, _ in journey.touches]
            programs = [p for _, _, p in journey.touches]
            for model in AttributionModel.values:
                weights = model_weights(model, times, journey.point, cfg.time_decay_half_life_days)
                for program_id, credit in split_amount(journey.amount, programs, weights).items():
                    cents[model][program_id] += credit
                    opportunities[model][program_id] += 1
        uncredited[basis] = {"opportunities": n_uncredited, "amount": str(amount_uncredited)}
        for model in AttributionModel.values:
            rows.extend(
                {"program_id": program_id, "model": model, "basis": basis, "credit": Decimal(total).scaleb(-2),
                 "opportunities": opportunities[model][program_id]}
                for program_id, total in sorted(cents[model].items())
            )
    return rows, uncredited


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
