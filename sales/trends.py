"""Trends: is it getting better? (METRICS.md, "Beyond the five" → Trends; docs/metrics.md, Trends)

By month or quarter (UTC), per segment, for all target accounts or for every account:

- pipeline created: opportunities created in the period and their amounts (period of created_at);
- of the opportunities closed in the period (period of closed_at): won, lost, win rate (won /
  closed), average contract value (mean won amount), median sales-cycle days (closed day − created
  day, won only) and pipeline won (won amounts) — the influence family's rules
  (metrics.families.influence), applied to a calendar period instead of the outcomes window;
- open opportunities at the period's end (as of its last day, or as of D for the running period),
  and sales velocity = open opportunities × win rate × average contract value / median cycle days
  (per day; blank when any factor is undefined or the median cycle is 0 days).

Each is one grouped query over the opportunities (set-based, no loop over rows): a GROUP BY the
period of creation, a GROUP BY (period of close, won, cycle days) whose few groups give the counts,
sums and the exact median, and one aggregate with a filtered COUNT per period end.

Stage history (sales.models.OpportunityStageChange): of the opportunities that entered stage X in
a period, the share that later entered a later stage (conversion), and the median days spent in
each stage (from entering it to entering the next), per period of entering. See stage_history().
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, DateTimeField, DurationField, ExpressionWrapper, Max, Q, QuerySet, Sum
from django.db.models.functions import Trunc, TruncDay

from accounts.models import Account, Opportunity, Segment
from accounts.picklists import Picklists, picklist_key
from metrics.families.common import Params, day_start, table
from metrics.families.influence import CENT, ZERO, _counted_median, _open_as_of
from sales.models import OpportunityStageChange

GRAINS = ("month", "quarter")
# How many periods the page shows, ending with the one that holds D.
PERIODS_SHOWN = {"month": 12, "quarter": 8}
WON, LOST = "won", "lost"


# --- periods -------------------------------------------------------------------------------------


def period_start(day: date, grain: str) -> date:
    """The first day of the month or quarter holding `day`."""
    month = day.month if grain == "month" else 3 * ((day.month - 1) // 3) + 1
    return date(day.year, month, 1)


def _following(start: date, grain: str) -> date:
    months = start.month - 1 + (1 if grain == "month" else 3)
    return date(start.year + months // 12, months % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    start: date
    grain: str

    @property
    def end(self) -> date:
        """Exclusive: the first day of the next period."""
        return _following(self.start, self.grain)

    @property
    def label(self) -> str:
        if self.grain == "month":
            return self.start.strftime("%Y-%m")
        return f"{self.start.year} Q{(self.start.month - 1) // 3 + 1}"


def periods(*, as_of: date, grain: str, count: int) -> list[Period]:
    """The `count` periods ending with the one that holds D, oldest first."""
    if grain not in GRAINS:
        raise ValueError(f"unknown period {grain!r}: month or quarter")
    starts = [period_start(as_of, grain)]
    while len(starts) < count:
        starts.append(period_start(starts[-1] - timedelta(days=1), grain))
    return [Period(start, grain) for start in reversed(starts)]


# --- scopes: which opportunities ------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The opportunities of the target accounts ("targets"), of every account ("all"), or of a
    segment's accounts (its id). Membership and target status as they are now."""

    key: str
    label: str
    segment_id: int | None = None

    def opportunities(self) -> QuerySet[Opportunity]:
        opportunities = Opportunity.objects.order_by()
        if self.segment_id is not None:
            return opportunities.filter(account__segments=self.segment_id)
        if self.key == "targets":
            return opportunities.filter(account__is_target=True)
        return opportunities


TARGETS = Scope("targets", "All target accounts")
EVERY_ACCOUNT = Scope("all", "All accounts (targets or not)")


def scopes() -> list[Scope]:
    segments = Segment.objects.order_by("name").values_list("id", "name")
    return [TARGETS, EVERY_ACCOUNT, *(Scope(str(pk), name, pk) for pk, name in segments)]


def scope_named(key: str | None) -> Scope:
    """The scope a request names; the target accounts when it names none (or an unknown one)."""
    return next((s for s in scopes() if s.key == key), TARGETS)


# --- trends --------------------------------------------------------------------------------------


@dataclass
class TrendRow:
    period: Period
    opportunities_created: int = 0
    pipeline_created: Decimal = ZERO
    opportunities_closed: int = 0
    opportunities_won: int = 0
    pipeline_won: Decimal = ZERO
    open_opportunities: int = 0
    win_rate: float | None = None
    avg_contract_value: Decimal | None = None
    median_cycle_days: float | None = None
    sales_velocity: float | None = None
    cycles: Counter[int] = field(default_factory=Counter, repr=False)


def _period_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def trends(*, scope: Scope, as_of: date, grain: str, count: int | None = None) -> list[TrendRow]:
    """One row per period (oldest first) of the figures in the module docstring, counting only
    facts on or before D: an opportunity created or closed after D is in no period yet.

    Index: opportunity_account_created serves the scope's join; opportunity_closed the close range.
    """
    shown = periods(as_of=as_of, grain=grain, count=count or PERIODS_SHOWN[grain])
    rows = {p.start: TrendRow(p) for p in shown}
    start, end = day_start(shown[0].start), day_start(as_of + timedelta(days=1))
    opportunities = scope.opportunities()

    created = (
        opportunities.filter(created_at__gte=start, created_at__lt=end)
        .annotate(period=Trunc("created_at", grain, tzinfo=UTC, output_field=DateTimeField()))
        .values("period")
        .annotate(n=Count("id"), amount=Sum("amount"))
    )
    for group in created:
        row = rows[_period_of(group["period"])]
        row.opportunities_created, row.pipeline_created = group["n"], Decimal(group["amount"]).quantize(CENT)

    # Cycle days as the influence family counts them: closed day − created day (UTC days).
    cycle = ExpressionWrapper(
        TruncDay("closed_at", tzinfo=UTC) - TruncDay("created_at", tzinfo=UTC), output_field=DurationField()
    )
    closed = (
        opportunities.filter(is_closed=True, closed_at__gte=start, closed_at__lt=end)
        .annotate(period=Trunc("closed_at", grain, tzinfo=UTC, output_field=DateTimeField()), cycle=cycle)
        .values("period", "is_won", "cycle")
        .annotate(n=Count("id"), amount=Sum("amount"))
    )
    for group in closed:
        row = rows[_period_of(group["period"])]
        row.opportunities_closed += group["n"]
        if group["is_won"]:
            row.opportunities_won += group["n"]
            row.pipeline_won += Decimal(group["amount"]).quantize(CENT)
            row.cycles[group["cycle"].days] += group["n"]

    # Open at each period's end: created before it and not closed before it (_open_as_of, the
    # influence family's rule), for the running period as of D.
    ends = {f"open_{i}": Count("id", filter=_open_as_of(min(day_start(p.end), end))) for i, p in enumerate(shown)}
    open_counts = opportunities.aggregate(**ends)
    for i, period in enumerate(shown):
        row = rows[period.start]
        row.open_opportunities = open_counts[f"open_{i}"]
        if row.opportunities_closed:
            row.win_rate = row.opportunities_won / row.opportunities_closed
        if row.opportunities_won:
            row.avg_contract_value = (row.pipeline_won / row.opportunities_won).quantize(CENT)
            row.median_cycle_days = _counted_median(row.cycles)
        if row.win_rate is not None and row.avg_contract_value is not None and row.median_cycle_days:
            row.sales_velocity = (
                row.open_opportunities * row.win_rate * float(row.avg_contract_value) / row.median_cycle_days
            )
    return list(rows.values())


# --- stage history -------------------------------------------------------------------------------


@dataclass
class StageRow:
    stage: str
    label: str
    entered: int = 0  # opportunities that entered the stage (first time) in the period
    advanced: int = 0  # of those, how many later entered a later stage (lost is no advance)
    next_label: str = ""  # the stage after it in the order ("" for won and lost)
    timed: int = 0  # visits that ended (the deal entered another stage), behind median_days
    days: Counter[int] = field(default_factory=Counter, repr=False)

    @property
    def conversion(self) -> float | None:
        if not self.next_label or not self.entered:
            return None
        return self.advanced / self.entered

    @property
    def median_days(self) -> float | None:
        return _counted_median(self.days) if self.days else None


@dataclass
class StageHistory:
    opportunities: int  # of the scope, with a stage history entered on or before D
    order: list[tuple[str, str]]  # (stage key, label), open stages first, then won and lost
    totals: list[StageRow]  # over every period shown
    by_period: list[tuple[Period, list[StageRow]]]

    def conversion_series(self) -> dict[str, list[float | None]]:
        """Open stage label → its conversion in each period (for the chart)."""
        series: dict[str, list[float | None]] = {}
        for index, (_, label) in enumerate(self.order):
            if self.totals[index].next_label:
                series[label] = [rows[index].conversion for _, rows in self.by_period]
        return series


def stage_key(label: str, picklists: Picklists) -> tuple[str, str]:
    """(key, label) of a stage as a source wrote it: every won stage of the picklist is "won" (and
    every lost one "lost"), other stages are told apart ignoring case, spaces and punctuation."""
    outcome = picklists.stage_outcome(label)
    if outcome == WON:
        return WON, "Won"
    if outcome == LOST:
        return LOST, "Lost"
    return picklist_key(label), label.strip()


def _stage_keys(picklists: Picklists) -> tuple[dict[str, str], dict[str, str]]:
    """Every stage label stored → its key, and each key → the label the page shows (the label the
    history uses most, ties alphabetical). One grouped query: labels are few."""
    counted = (
        OpportunityStageChange.objects.order_by().values("stage").annotate(n=Count("id")).values_list("stage", "n")
    )
    keys: dict[str, str] = {}
    votes: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for label, n in counted:
        key, shown = stage_key(label, picklists)
        keys[label] = key
        votes[key].append((-n, shown))
    return keys, {key: min(options)[1] for key, options in votes.items()}


def _case(column: str, mapping: dict[str, Any], p: Params, default: str = "NULL") -> str:
    """CASE column WHEN value THEN result … END, values and results as parameters."""
    if not mapping:
        return default
    whens = " ".join(f"WHEN {p(value)} THEN {p(result)}" for value, result in mapping.items())
    return f"CASE {column} {whens} ELSE {default} END"


def _utc_day_diff(later: str, earlier: str) -> str:
    """Whole UTC days between two instants, as SQL."""
    if connection.vendor == "postgresql":
        return (f"(CAST(({later}) AT TIME ZONE 'UTC' AS date) - CAST(({earlier}) AT TIME ZONE 'UTC' AS date))")
    # SQLite holds instants as UTC text.
    return f"CAST(julianday(date({later})) - julianday(date({earlier})) AS INTEGER)"


def _utc_month(moment: str) -> str:
    """The first day of the UTC month of an instant, as SQL (a date, or ISO text on SQLite)."""
    if connection.vendor == "postgresql":
        return f"CAST(DATE_TRUNC('month', ({moment}) AT TIME ZONE 'UTC') AS date)"
    return f"strftime('%%Y-%%m-01', {moment})"


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _history_sql(*, scope: Scope, end: datetime, keys: dict[str, str], p: Params) -> str:
    """history: the scope's stage-history rows before `end`, each with its stage key."""
    scope_sql, scope_params = scope.opportunities().values("id").query.sql_with_params()
    stage = _case("h.stage", keys, p)
    sql = f"""
        SELECT h.opportunity_id AS opp, h.id, h.entered_at, {stage} AS stage
        FROM {table(OpportunityStageChange)} h
        WHERE h.entered_at < {p(end)} AND h.opportunity_id IN ({scope_sql})
    """
    p.extend(scope_params)
    return sql


def _entries_sql(*, scope: Scope, end: datetime, keys: dict[str, str], p: Params) -> str:
    """WITH … entries: each opportunity's stage entries before `end`, one row per entry, with
    `left_at` (its next entry: when it left the stage) and `visit` (1 for its first entry into that
    stage). A history row whose stage key is the previous row's is no entry. Reads
    stage_change_opportunity_time in (opportunity, entered_at) order."""
    return f"""
        WITH history AS ({_history_sql(scope=scope, end=end, keys=keys, p=p)}),
        marked AS (
            SELECT opp, id, entered_at, stage,
                   LAG(stage) OVER (PARTITION BY opp ORDER BY entered_at, id) AS previous
            FROM history
        ),
        entries AS (
            SELECT opp, id, entered_at, stage,
                   LEAD(entered_at) OVER (PARTITION BY opp ORDER BY entered_at, id) AS left_at,
                   ROW_NUMBER() OVER (PARTITION BY opp, stage ORDER BY entered_at, id) AS visit
            FROM marked
            WHERE previous IS NULL OR previous <> stage
        )
    """


def _fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def stage_history(*, scope: Scope, as_of: date, grain: str, count: int | None = None) -> StageHistory:
    """Per stage and period of entering (UTC), over the history rows on or before D:

    - order: open stages by the median whole UTC days from a deal's first history row to its first
      entry into the stage (ties by label), then won, then lost;
    - entered: opportunities whose first entry into the stage falls in the period;
    - advanced: of those, the ones whose history later holds a stage further along the order (won
      counts, lost does not; skipping a stage still moves past it); conversion = advanced /
      entered, to the next stage of the order;
    - median days in the stage: over the visits that began in the period and ended (the deal
      entered another stage on or before D), UTC day left − UTC day entered; a deal still in the
      stage is left out. Won and lost end a deal: no time in them.

    Set-based, two queries: the order from two aggregates (first row per deal, first entry per
    deal and stage), then window functions mark the entries and one pass counts them by (stage,
    month of entering) and by (stage, month, days in stage); months fold into quarters here, and
    medians come from the counts (_counted_median).
    """
    shown = periods(as_of=as_of, grain=grain, count=count or PERIODS_SHOWN[grain])
    start, end = day_start(shown[0].start), day_start(as_of + timedelta(days=1))
    keys, labels = _stage_keys(Picklists.load())

    # The order, and how many opportunities have a history in the scope. A stage's first entry is
    # its first row whatever rows repeat it, so two aggregates do without the window functions.
    p = Params()
    history = _history_sql(scope=scope, end=end, keys=keys, p=p)
    offsets: dict[str, Counter[int]] = defaultdict(Counter)
    seen: set[str] = set()
    rows = _fetch(f"""
        WITH history AS ({history})
        SELECT s.stage, {_utc_day_diff("s.first_in", "f.first_at")} AS offset_days, COUNT(*), MAX(f.opportunities)
        FROM (SELECT opp, stage, MIN(entered_at) AS first_in FROM history GROUP BY opp, stage) s
        JOIN (SELECT opp, MIN(entered_at) AS first_at, COUNT(*) OVER () AS opportunities FROM history GROUP BY opp) f
          ON f.opp = s.opp
        GROUP BY s.stage, offset_days
        """, list(p))
    opportunities = rows[0][3] if rows else 0
    for stage, offset, n, _ in rows:
        seen.add(stage)
        if stage not in (WON, LOST):
            offsets[stage][int(offset)] += n
    ordered = sorted(offsets, key=lambda key: (_counted_median(offsets[key]), labels[key].lower()))
    ordered += [key for key in (WON, LOST) if key in seen]
    order = [(key, labels[key]) for key in ordered]
    position = {key: i for i, key in enumerate(ordered)}
    next_label = {key: labels[ordered[i + 1]] if i + 1 < len(ordered) and ordered[i + 1] != LOST else ""
                  for i, key in enumerate(ordered) if key not in (WON, LOST)}

    def blank() -> list[StageRow]:
        return [StageRow(key, label, next_label=next_label.get(key, "")) for key, label in order]

    by_period = {p.start: blank() for p in shown}
    totals = blank()

    def cells(stage: str, month: date | str) -> tuple[StageRow, StageRow]:
        index = position[stage]
        return by_period[period_start(_as_date(month), grain)][index], totals[index]

    if order:
        # One pass over the entries, counted two ways: entered and advanced by month of entering
        # (`further`: the furthest position a later entry of the deal reaches; lost reaches none),
        # and the days of each ended visit to an open stage by month of entering.
        p = Params()
        entries = _entries_sql(scope=scope, end=end, keys=keys, p=p)
        progress = _case("stage", {key: i for key, i in position.items() if key != LOST}, p)
        month = _utc_month("entered_at")
        since = p(start)
        ended = f"entered_at >= {p(start)} AND left_at IS NOT NULL AND stage NOT IN ({p(WON)}, {p(LOST)})"
        counted = _fetch(entries + f"""
            , reached AS (
                SELECT stage, visit, entered_at, left_at, progress AS pos,
                       MAX(progress) OVER (PARTITION BY opp ORDER BY entered_at, id
                                           ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS further
                FROM (SELECT entries.*, {progress} AS progress FROM entries) positioned
            )
            SELECT 'entered', stage, {month} AS month, SUM(CASE WHEN visit = 1 THEN 1 ELSE 0 END),
                   SUM(CASE WHEN visit = 1 AND further > pos THEN 1 ELSE 0 END)
            FROM reached WHERE entered_at >= {since}
            GROUP BY stage, month
            UNION ALL
            SELECT 'days', stage, {month} AS month, {_utc_day_diff("left_at", "entered_at")} AS days, COUNT(*)
            FROM reached WHERE {ended}
            GROUP BY stage, month, days
        """, list(p))
        for part, stage, month_start, x, y in counted:
            for cell in cells(stage, month_start):
                if part == "entered":
                    cell.entered += x
                    cell.advanced += y if stage in next_label else 0
                else:
                    cell.timed += y
                    cell.days[int(x)] += y
    return StageHistory(
        opportunities=opportunities,
        order=order,
        totals=totals,
        by_period=[(p, by_period[p.start]) for p in shown],
    )


# The page's figures are kept this long, and recomputed at once when opportunities, their history,
# target status or segment membership change (the key below): at 100,000 accounts the stage
# history takes seconds.
CACHE_SECONDS = 600


def _data_marks() -> str:
    """What the figures depend on, in a few cheap aggregates (their max id / latest change, count)."""
    through = Segment.accounts.through
    marks = (
        Opportunity.objects.aggregate(n=Count("id"), changed=Max("updated_at")),
        OpportunityStageChange.objects.aggregate(n=Count("id"), last=Max("id")),
        Account.objects.aggregate(targets=Count("id", filter=Q(is_target=True)), changed=Max("updated_at")),
        through.objects.aggregate(n=Count("id"), last=Max("id")),
    )
    return ":".join(str(value.timestamp() if isinstance(value, datetime) else value)
                    for mark in marks for value in mark.values())


def page_figures(*, scope: Scope, as_of: date, grain: str) -> tuple[list[TrendRow], StageHistory]:
    """The trend rows and the stage history the page shows, from the cache while the data is the same."""
    key = f"sales:trends:{scope.key}:{grain}:{as_of.isoformat()}:{_data_marks()}"
    found = cache.get(key)
    if found is None:
        found = (trends(scope=scope, as_of=as_of, grain=grain), stage_history(scope=scope, as_of=as_of, grain=grain))
        cache.set(key, found, timeout=CACHE_SECONDS)
    return found


TABLE_COLUMNS = ["period", "opportunities_created", "pipeline_created", "opportunities_closed", "opportunities_won",
                 "pipeline_won", "win_rate", "avg_contract_value", "median_cycle_days", "open_opportunities",
                 "sales_velocity"]


def as_table(rows: list[TrendRow]) -> list[dict[str, Any]]:
    """The trend rows as CSV cells, under the figure names of docs/metrics.md."""
    return [
        {
            "period": r.period.label,
            "opportunities_created": r.opportunities_created,
            "pipeline_created": r.pipeline_created,
            "opportunities_closed": r.opportunities_closed,
            "opportunities_won": r.opportunities_won,
            "pipeline_won": r.pipeline_won,
            "win_rate": r.win_rate,
            "avg_contract_value": r.avg_contract_value,
            "median_cycle_days": r.median_cycle_days,
            "open_opportunities": r.open_opportunities,
            "sales_velocity": None if r.sales_velocity is None else round(r.sales_velocity, 2),
        }
        for r in rows
    ]


# What each figure of the trends page means, said once: the page's ⓘ tooltips and its definitions
# list read this (docs/metrics.md, Trends, says the same at length).
DEFINITIONS: dict[str, tuple[str, str]] = {
    "opportunities_created": ("Opportunities created", "Opportunities created in the period (UTC)."),
    "pipeline_created": ("Pipeline created", "Amounts of the opportunities created in the period."),
    "opportunities_closed": ("Closed", "Opportunities closed (won or lost) in the period."),
    "opportunities_won": ("Won", "Of the opportunities closed in the period, those won."),
    "pipeline_won": ("Pipeline won", "Amounts of the opportunities won and closed in the period."),
    "win_rate": ("Win rate", "Won / closed, of the opportunities closed in the period; blank when none closed."),
    "avg_contract_value": ("Average contract value",
                           "Mean amount of the opportunities won in the period; blank when none was won."),
    "median_cycle_days": ("Median sales cycle",
                          "Median of closed day − created day (UTC days) over the opportunities won in the period."),
    "open_opportunities": ("Open at the period's end",
                           "Opportunities created before the period's end and not closed before it (for the "
                           "running period: open as of the last complete day)."),
    "sales_velocity": ("Sales velocity",
                       "Open opportunities at the period's end × win rate × average contract value / median cycle "
                       "days: the amount a day the pipeline is expected to win at the period's pace. Blank when a "
                       "factor is blank or the median cycle is 0 days."),
    "stage_entered": ("Entered", "Opportunities whose first entry into the stage falls in the period (from the "
                                 "imported stage history; a row that repeats the previous stage is no entry)."),
    "stage_conversion": ("Moved on", "Of the opportunities that entered the stage, the share that later entered a "
                                     "later stage of the order (skipping one counts; lost does not): conversion "
                                     "to the next stage."),
    "stage_days": ("Median days in stage", "Median UTC days from entering the stage to entering the next one, over "
                                           "the visits that ended on or before the last complete day."),
    "stage_order": ("Stage order", "Open stages in the order deals reach them (median days from a deal's first "
                                   "stage to its first entry into the stage), then won, then lost. Won and lost "
                                   "stages are the stage picklist's."),
}
