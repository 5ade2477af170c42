"""What every family shares: the day windows, the engagement-minutes rule, program success, and
the SQL the per-account families are written in.

A window is whole UTC days ending with the as-of date D, D included (METRICS.md). It is held as
a half-open interval of instants [start, end) so a touch at 23:59:59 on D is in and one at
00:00:00 on D+1 is out, and so each filter is a plain range on the indexed `occurred_at`.

The per-account families compute a chunk of accounts — an account-id range lo … hi — in the
database: each gives one SELECT grouped by account (a FamilySQL), and
metrics.services.compute_account_chunk joins them into one INSERT … SELECT into the snapshot
table. The touchpoints are read once per chunk, by the `touches` pass below, which the
awareness, engagement, reach and satisfaction families aggregate further.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Case, F, FloatField, Q, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast

from accounts.models import Contact, Program, Seniority, Touchpoint, TouchpointKind
from metrics.models import MetricSettings


def day_start(day: date) -> datetime:
    """00:00:00 UTC of `day`."""
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """The instants of the days first … last (both included)."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return day_start(self.first)

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after `last`."""
        return day_start(self.last + timedelta(days=1))

    def q(self, field: str = "occurred_at") -> Q:
        return Q(**{f"{field}__gte": self.start, f"{field}__lt": self.end})


def trailing(as_of: date, days: int, *, skip: int = 0) -> Window:
    """The `days` whole days ending `skip` days before D: trailing(D, 90) = W90 (D−89 … D),
    trailing(D, 30, skip=30) = P30 (D−59 … D−30), trailing(D, 21, skip=7) = B21 (D−27 … D−7)."""
    last = as_of - timedelta(days=skip)
    return Window(first=last - timedelta(days=days - 1), last=last)


def on_or_before(as_of: date, field: str = "occurred_at") -> Q:
    """Everything on or before D (program reach counts all of a program's touches up to D)."""
    return Q(**{f"{field}__lt": day_start(as_of + timedelta(days=1))})


@dataclass(frozen=True)
class Windows:
    """The engagement windows for one as-of date, from the tunable settings."""

    w_long: Window  # W90
    w_short: Window  # W30
    p_short: Window  # P30
    w_spike: Window  # W7
    b_spike: Window  # B21

    @classmethod
    def for_day(cls, as_of: date, cfg: MetricSettings) -> Windows:
        return cls(
            w_long=trailing(as_of, cfg.long_window_days),
            w_short=trailing(as_of, cfg.short_window_days),
            p_short=trailing(as_of, cfg.short_window_days, skip=cfg.short_window_days),
            w_spike=trailing(as_of, cfg.spike_window_days),
            b_spike=trailing(as_of, cfg.spike_baseline_days, skip=cfg.spike_window_days),
        )

    @property
    def span(self) -> Window:
        """The smallest window holding all of them: one range scan reads every touch they need."""
        windows = (self.w_long, self.w_short, self.p_short, self.w_spike, self.b_spike)
        return Window(first=min(w.first for w in windows), last=max(w.last for w in windows))


def minutes_expression(cfg: MetricSettings, prefix: str = "") -> Combinable:
    """Engagement minutes of one touchpoint, as one SQL expression.

    (the source's `minutes` when given, else the default of its kind) × the seniority multiplier
    of the touch's contact. A kind whose default is 0 (ad_impression: "never scored") or that the
    settings leave out is worth 0 even with a duration from the source. Anonymous touches (no
    contact, so the LEFT JOIN gives a NULL seniority) and unknown seniorities take × 1.0.
    `prefix` lets a query that reaches touchpoints through a relation (e.g. "touchpoints__") use
    the same rule.
    """
    scored = {kind: float(weight) for kind, weight in cfg.minutes_by_kind.items() if float(weight) > 0}
    # Usually just ad_impression.
    unscored = [kind for kind in TouchpointKind.values if kind not in scored]
    kind_weight = Case(
        *[When(**{f"{prefix}kind": kind}, then=Value(weight)) for kind, weight in scored.items()],
        default=Value(0.0),
        output_field=FloatField(),
    )
    base = Case(
        When(**{f"{prefix}kind__in": unscored}, then=Value(0.0)),
        When(**{f"{prefix}minutes__isnull": False}, then=Cast(F(f"{prefix}minutes"), FloatField())),
        default=kind_weight,
        output_field=FloatField(),
    )
    multiplier = Case(
        *[
            When(**{f"{prefix}contact__seniority_level": level}, then=Value(float(factor)))
            for level, factor in cfg.seniority_multipliers.items()
            if float(factor) != 1.0
        ],
        default=Value(1.0),
        output_field=FloatField(),
    )
    return base * multiplier


def program_success_kinds() -> dict[int, list[str]]:
    """Program id → the touchpoint kinds that count as its success (its own list or its channel's)."""
    return {p.pk: p.effective_success_kinds for p in Program.objects.only("id", "channel", "success_kinds")}


def success_q(success_kinds: dict[int, list[str]], prefix: str = "") -> Q:
    """A touch that is a success of the program it belongs to.

    Programs sharing the same success kinds (usually all programs of one channel) are grouped,
    so the condition has one term per distinct kind list, not one per program.
    """
    by_kinds: dict[tuple[str, ...], list[int]] = {}
    for program_id, kinds in success_kinds.items():
        if kinds:
            by_kinds.setdefault(tuple(sorted(kinds)), []).append(program_id)
    # Never true: the starting term when no program has success kinds (an empty `__in` would
    # make the whole aggregate's SQL raise EmptyResultSet instead).
    q = Q(**{f"{prefix}program__isnull": True}) & Q(**{f"{prefix}program__isnull": False})
    for kinds, program_ids in by_kinds.items():
        q |= Q(**{f"{prefix}program_id__in": program_ids, f"{prefix}kind__in": list(kinds)})
    return q


# --- The per-account families as SQL -------------------------------------------------------------

# Engagement minutes are summed as whole millionths of a minute. A touch is worth the source's
# minutes (2 decimal places) or a weight from the settings, times a multiplier: a whole number of
# millionths, so in integers every sum and every threshold test is exact, in any order of
# addition and on either database. A figure is the sum / UNITS as a float, the float nearest the
# exact decimal: 6.72 + 11.54 + 1.74 gives 20.0, never 19.999999999999996.
UNITS = 1_000_000


def id_bounds(account_ids: Sequence[int]) -> tuple[int, int]:
    """The first and last account id of a chunk. A chunk is every account whose id lies between
    them (`account_id BETWEEN lo AND hi`: one range of every index that leads with the account);
    a run cuts the ranges from the ids in id order."""
    return min(account_ids), max(account_ids)


def id_filter(column: str, account_ids: Sequence[int], p: Params) -> str:
    """The chunk's accounts as a condition on `column`. A range (a run's chunk: range(lo, hi + 1))
    is every account between its ends; a list (a refresh of the accounts new touches changed) is
    exactly those accounts, still bounded by the range, so each index that leads with the account
    is probed at those ids only."""
    lo, hi = id_bounds(account_ids)
    condition = f"{column} BETWEEN {p(lo)} AND {p(hi)}"
    if not isinstance(account_ids, range):
        condition += f" AND {column} IN ({p.each(sorted(set(account_ids)))})"
    return condition


class Params(list):
    """The parameters of a piece of SQL, in the order it uses them: `p(value)` appends one and
    returns its placeholder (dates and times adapted as the ORM adapts them)."""

    def __call__(self, value: Any) -> str:
        if isinstance(value, datetime):
            value = connection.ops.adapt_datetimefield_value(value)
        elif isinstance(value, date):
            value = connection.ops.adapt_datefield_value(value)
        self.append(value)
        return "%s"

    def each(self, values: Sequence[Any]) -> str:
        """The placeholders of an IN list (callers never pass an empty one: `IN ()` is no SQL)."""
        return ", ".join(self(value) for value in values)


def table(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def number(value: float) -> str:
    """A setting's number as an SQL literal, as typed (0.1, not 0.1000000000000000055…), so that
    PostgreSQL computes with it as an exact numeric."""
    return repr(float(value))


def literal(value: Any) -> str:
    """A figure's empty value (a FamilySQL's `empty`) as SQL."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dict):
        return "CAST('{}' AS jsonb)" if connection.vendor == "postgresql" else "'{}'"
    return str(value)


def day_start_sql(moment: str, days: int) -> str:
    """Midnight (UTC) of the day of the `moment` column, `days` days later (or earlier), as SQL."""
    if connection.vendor == "postgresql":
        return f"((DATE_TRUNC('day', {moment} AT TIME ZONE 'UTC') + INTERVAL '{int(days)} days') AT TIME ZONE 'UTC')"
    # SQLite holds instants as UTC text, 'YYYY-MM-DD HH:MM:SS[.ffffff]', compared as text.
    return f"DATETIME({moment}, 'start of day', '{int(days):+d} days')"


def minutes_sql(units: str) -> str:
    """A sum of millionths as the figure: the float nearest the exact number of minutes."""
    return f"CAST({units} AS DOUBLE PRECISION) / {UNITS}"


def minutes_object_sql(key: str, units: str) -> str:
    """The aggregate JSON object key → minutes of a group's rows (minutes_by_kind, _by_role)."""
    if connection.vendor == "postgresql":
        # A numeric with decimals: a float 20 would be stored as the JSON integer 20 and read
        # back as int, where the figure is the float 20.0.
        return f"jsonb_object_agg({key}, ROUND(CAST({units} AS NUMERIC) / {UNITS}, 6))"
    # SQLite writes a REAL with its decimal point (20.0) and up to 15 significant digits.
    return f"json_group_object({key}, CAST({units} AS REAL) / {UNITS})"


def base_units_sql(cfg: MetricSettings, *, touch: str) -> str:
    """A touchpoint's minutes before the seniority multiplier, in millionths, as an SQL integer:
    the source's minutes, else the weight of its kind; 0 for a kind never scored, whatever the
    source says (the rule of minutes_expression). Settings are validated to known kinds; others
    would match no touch, so they are left out."""
    scored = {kind: float(w) for kind, w in cfg.minutes_by_kind.items() if kind in TouchpointKind.values and float(w) > 0}
    unscored = ", ".join(f"'{kind}'" for kind in TouchpointKind.values if kind not in scored)
    weights = " ".join(f"WHEN '{kind}' THEN {number(w)}" for kind, w in scored.items())
    kind_weight = f"CASE {touch}.kind {weights} ELSE 0 END" if weights else "0"
    never = f"WHEN {touch}.kind IN ({unscored}) THEN 0 " if unscored else ""
    # Exact in PostgreSQL (numeric); in SQLite the REAL product is within far less than half a
    # millionth of the whole number of millionths it stands for, so ROUND gives that number.
    return (
        f"CAST(ROUND((CASE {never}WHEN {touch}.minutes IS NOT NULL THEN {touch}.minutes ELSE {kind_weight} END)"
        f" * {UNITS}) AS BIGINT)"
    )


def multiplier_sql(cfg: MetricSettings, *, seniority: str) -> str:
    """The seniority multiplier of a contact's `seniority` level (1.0 when NULL: anonymous)."""
    factors = " ".join(
        f"WHEN '{level}' THEN {number(factor)}"
        for level, factor in cfg.seniority_multipliers.items()
        if level in Seniority.values and float(factor) != 1.0
    )
    return f"CASE {seniority} {factors} ELSE 1.0 END" if factors else "1.0"


@dataclass(frozen=True)
class Cte:
    """A named subquery (WITH name AS (…)) that several families read: computed once per chunk.
    `name` may list its columns: "name (a, b)"."""

    name: str
    sql: str
    params: tuple[Any, ...]


def with_clause(ctes: Sequence[Cte]) -> tuple[str, list[Any]]:
    """WITH … for these subqueries, each once (families name the same pass the same way)."""
    seen: dict[str, Cte] = {}
    for cte in ctes:
        if seen.setdefault(cte.name, cte) != cte:
            raise ValueError(f"Two different subqueries named {cte.name!r}")
    if not seen:
        return "", []
    return "WITH " + ",\n".join(f"{c.name} AS ({c.sql})" for c in seen.values()) + "\n", [
        value for c in seen.values() for value in c.params
    ]


@dataclass(frozen=True)
class FamilySQL:
    """One family's per-account figures for a chunk, as SQL.

    `sql` selects `account_id` and one column per figure, a row per account of the chunk that
    has something to count; it may read `ctes` by name. `empty` holds the figures of an account
    without a row (zeros, {}, undefined): the SQL defaults when the chunk's INSERT joins the
    families, and the Python types when `rows()` reads the figures back.
    """

    sql: str
    params: tuple[Any, ...]
    empty: dict[str, Any]
    ctes: tuple[Cte, ...] = field(default=())

    def rows(self) -> dict[int, dict[str, Any]]:
        """The figures by account id, run alone (tests, the shell; the nightly run writes them
        with metrics.services.compute_account_chunk and never reads them into Python)."""
        with_sql, with_params = with_clause(self.ctes)
        with connection.cursor() as cursor:
            cursor.execute(with_sql + self.sql, [*with_params, *self.params])
            names = [column[0] for column in cursor.description]
            rows = cursor.fetchall()
        return {row[0]: {name: _python(self.empty.get(name), value) for name, value in zip(names[1:], row[1:], strict=True)}
                for row in rows}

    def __getitem__(self, account_id: int) -> dict[str, Any]:
        return self.rows()[account_id]


def _python(empty: Any, value: Any) -> Any:
    """A database value as the Python type of the figure's empty value (SQLite gives booleans
    as 0/1, JSON as text and decimals as REAL; PostgreSQL sums integers to numeric)."""
    if value is None or empty is None:
        return value
    if isinstance(empty, bool):
        return bool(value)
    if isinstance(empty, dict):
        return json.loads(value) if isinstance(value, str) else value
    if isinstance(empty, Decimal):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    return type(empty)(value)


# A no-op LIMIT/OFFSET keeps the planner from inlining a subquery into the query around it: a
# touch's minutes are then computed once per touch, not once per window sum that uses them.
NOT_INLINED = {"postgresql": "OFFSET 0", "sqlite": "LIMIT -1 OFFSET 0"}


def touch_pass(*, account_ids: Sequence[int], windows: Windows, cfg: MetricSettings) -> tuple[Cte, ...]:
    """`touches`: the chunk's touchpoints in the windows' span, read once and grouped by
    (account, contact, kind, program), for awareness, engagement, reach and satisfaction.

    Columns: the contact's buying-committee `role` (NULL: anonymous), `n90` touches in W90;
    `u7`, `u21`, `u30`, `up30`, `u90` engagement minutes in W7, B21, W30, P30, W90 (millionths:
    UNITS); `pos90` touches in W90 worth more than 0 minutes; `nps_responses`, `nps_promoters`
    (9–10), `nps_detractors` (0–6) among the scored nps_response touches in W90.

    Two steps. `touch_groups` reads touchpoint_account_time (account, occurred_at) once: one
    range scan `account_id BETWEEN lo AND hi` with the span as an index condition (the rows of a
    range of accounts lie together when touchpoints were loaded account by account), and sums
    the minutes before the seniority multiplier. `touches` joins each group to its contact among
    the contacts of the range's accounts (accounts_contact's account index) — a contact of
    another account (a source names a touch's account and contact separately) is looked up by
    its primary key; a plain join on the contact id made PostgreSQL hash every contact of the
    database for each chunk — and applies the multiplier per group: a contact's touches share
    it, so the sum of (minutes × multiplier) is (sum of minutes) × multiplier, still a whole
    number of millionths.
    """
    p = Params()

    def within(window: Window) -> str:
        return f"CASE WHEN t.occurred_at >= {p(window.start)} AND t.occurred_at < {p(window.end)} THEN 1 ELSE 0 END"

    columns = (
        f"{within(windows.w_long)} AS in_w90, {within(windows.w_spike)} AS in_w7, {within(windows.b_spike)} AS in_b21, "
        f"{within(windows.w_short)} AS in_w30, {within(windows.p_short)} AS in_p30"
    )
    where = (
        f"{id_filter('t.account_id', account_ids, p)} AND t.occurred_at >= {p(windows.span.start)} "
        f"AND t.occurred_at < {p(windows.span.end)}"
    )
    groups = f"""
        SELECT account_id, contact_id, kind, program_id,
               SUM(in_w90) AS n90,
               SUM(in_w7 * units) AS b7, SUM(in_b21 * units) AS b21, SUM(in_w30 * units) AS b30,
               SUM(in_p30 * units) AS bp30, SUM(in_w90 * units) AS b90,
               SUM(CASE WHEN in_w90 = 1 AND units > 0 THEN 1 ELSE 0 END) AS pos90,
               SUM(in_w90 * scored_nps) AS nps_responses,
               SUM(CASE WHEN in_w90 = 1 AND scored_nps = 1 AND score >= 9 THEN 1 ELSE 0 END) AS nps_promoters,
               SUM(CASE WHEN in_w90 = 1 AND scored_nps = 1 AND score <= 6 THEN 1 ELSE 0 END) AS nps_detractors
        FROM (
            SELECT t.account_id, t.contact_id, t.kind, t.program_id, t.score, {columns},
                   CASE WHEN t.kind = '{TouchpointKind.NPS_RESPONSE}' AND t.score IS NOT NULL THEN 1 ELSE 0 END
                       AS scored_nps,
                   {base_units_sql(cfg, touch="t")} AS units
            FROM {table(Touchpoint)} t
            WHERE {where}
            {NOT_INLINED[connection.vendor]}
        ) t
        GROUP BY account_id, contact_id, kind, program_id
    """
    q = Params()

    def of_contact(column: str) -> str:
        # NOT NULL columns: a NULL is a contact of another account, looked up alone by its key.
        return (
            f"CASE WHEN g.contact_id IS NULL THEN NULL "
            f"ELSE COALESCE(c.{column}, (SELECT o.{column} FROM {table(Contact)} o WHERE o.id = g.contact_id)) END"
        )

    def times(column: str) -> str:
        return f"CAST(ROUND({column} * multiplier) AS BIGINT)"

    touches = f"""
        SELECT account_id, contact_id, role, kind, program_id, n90,
               {times("b7")} AS u7, {times("b21")} AS u21, {times("b30")} AS u30, {times("bp30")} AS up30,
               {times("b90")} AS u90,
               CASE WHEN multiplier > 0 THEN pos90 ELSE 0 END AS pos90,
               nps_responses, nps_promoters, nps_detractors
        FROM (
            SELECT g.*, {of_contact("role")} AS role,
                   {multiplier_sql(cfg, seniority=of_contact("seniority_level"))} AS multiplier
            FROM touch_groups g
            LEFT JOIN {table(Contact)} c ON c.id = g.contact_id AND {id_filter("c.account_id", account_ids, q)}
            {NOT_INLINED[connection.vendor]}
        ) g
    """
    return Cte("touch_groups", groups, tuple(p)), Cte("touches", touches, tuple(q))
