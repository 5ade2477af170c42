"""People — who at the account engages, and how much (METRICS.md "People (contact level)").

Per contact as of D, from the touches that name the contact, each worth the weighted minutes
that count for its account (common.base_units_sql × common.multiplier_sql: the source's minutes,
else the weight of its kind, × 2.0 for a CXO):

- minutes_7d, minutes_30d, minutes_90d, minutes_prev_30d: the minutes of its touches in W7, W30,
  W90 and P30;
- touches_90d: its touches of any kind in W90, zero-weight kinds (ad_impression) included;
- last_touch_at: its latest touch on or before D.

Which contacts get a row: those with a touch in the windows' span (W90 with the default
windows: every window ends with D and lies within it). For them the latest touch on or before D
is in the span too, so last_touch_at comes from the same read. A person whose touches are all
older has no row — none of their figures is above zero, and finding their last touch would take
an index probe per contact of every chunk, every night (as much again as the account figures at
5,000 accounts); the contact page looks that one date up for the person it shows. Anonymous
touches (no contact) count for the account and for no person; contacts matched to no account
are in no chunk.

A person's touches are the touches recorded at their own account (the join is on the contact
and the account). A touch whose source names a contact of another account counts for the
touch's account only — Data quality lists such touches, and fixing the touch's account puts it
right for both — so that a person's figures never depend on how the accounts are cut into chunks.

Written by store_contact_snapshots in the transaction of the chunk's account snapshots
(metrics.services.compute_account_chunk), so a day's people are published with its accounts
and every refresh of a chunk refreshes its people.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db import connection

from accounts.models import Contact, Touchpoint
from metrics.families.common import (
    NOT_INLINED,
    Params,
    Window,
    Windows,
    base_units_sql,
    id_filter,
    minutes_sql,
    multiplier_sql,
    table,
)
from metrics.models import ContactSnapshot, MetricSettings

FIGURES = ("minutes_7d", "minutes_30d", "minutes_90d", "minutes_prev_30d", "touches_90d", "last_touch_at")


def contact_snapshot_sql(
    *, as_of: date, account_ids: Sequence[int], cfg: MetricSettings
) -> list[tuple[str, list[Any]]]:
    """The statements that replace the ContactSnapshot rows of the chunk's accounts for `as_of`:
    a DELETE of the chunk's rows of the day (a person whose touches were deleted, or who moved to
    another account, leaves no stale row), then one INSERT … SELECT … ON CONFLICT (a person who
    moved here from an account of another chunk takes over their row).

    The touches are read as touch_pass reads them: one range of touchpoint_account_time
    (`account_id BETWEEN lo AND hi` and the windows' span), the minutes before the multiplier
    summed per (account, contact), then each group joined to its contact at the same account and
    multiplied by the contact's seniority multiplier (all of a contact's touches share it).
    """
    windows = Windows.for_day(as_of, cfg)
    span = windows.span
    quote = connection.ops.quote_name
    # The parameters of the SELECT's day, of `groups` and of the join, in the order the INSERT holds them.
    pi, p, pj = Params(), Params(), Params()

    def within(window: Window) -> str:
        return f"CASE WHEN t.occurred_at >= {p(window.start)} AND t.occurred_at < {p(window.end)} THEN 1 ELSE 0 END"

    def minutes(units: str) -> str:
        return minutes_sql(f"CAST(ROUND(g.{units} * {multiplier_sql(cfg, seniority='c.seniority_level')}) AS BIGINT)")

    columns = (
        f"{within(windows.w_spike)} AS in_w7, {within(windows.w_short)} AS in_w30, "
        f"{within(windows.p_short)} AS in_p30, {within(windows.w_long)} AS in_w90"
    )
    groups = f"""
        SELECT account_id, contact_id, SUM(in_w7 * units) AS b7, SUM(in_w30 * units) AS b30,
               SUM(in_w90 * units) AS b90, SUM(in_p30 * units) AS bp30, SUM(in_w90) AS n90,
               MAX(occurred_at) AS last_touch_at
        FROM (
            SELECT t.account_id, t.contact_id, t.occurred_at, {columns}, {base_units_sql(cfg, touch="t")} AS units
            FROM {table(Touchpoint)} t
            WHERE {id_filter("t.account_id", account_ids, p)} AND t.contact_id IS NOT NULL
              AND t.occurred_at >= {p(span.start)} AND t.occurred_at < {p(span.end)}
            {NOT_INLINED[connection.vendor]}
        ) t
        GROUP BY account_id, contact_id
    """
    names = ", ".join(quote(name) for name in ("contact_id", "account_id", "as_of", *FIGURES))
    replaced = ("account_id", *FIGURES)
    # WHERE TRUE: SQLite would read ON CONFLICT as the ON of a join.
    insert = f"""INSERT INTO {table(ContactSnapshot)} ({names})
        SELECT c.id, c.account_id, {pi(as_of)},
               {minutes("b7")}, {minutes("b30")}, {minutes("b90")}, {minutes("bp30")}, g.n90, g.last_touch_at
        FROM ({groups}) g
        JOIN {table(Contact)} c ON c.id = g.contact_id AND c.account_id = g.account_id
            AND {id_filter("c.account_id", account_ids, pj)}
        WHERE TRUE
        ON CONFLICT (contact_id, as_of) DO UPDATE SET {", ".join(f"{quote(n)} = EXCLUDED.{quote(n)}" for n in replaced)}
    """
    pd = Params()
    delete = f"DELETE FROM {table(ContactSnapshot)} WHERE as_of = {pd(as_of)} AND {id_filter('account_id', account_ids, pd)}"
    return [
        (delete, list(pd)),
        (insert, [*pi, *p, *pj]),
    ]


def store_contact_snapshots(*, cursor: Any, as_of: date, account_ids: Sequence[int], cfg: MetricSettings) -> None:
    """Replace the chunk's ContactSnapshot rows of `as_of`, on the chunk's cursor (its transaction)."""
    for sql, params in contact_snapshot_sql(as_of=as_of, account_ids=account_ids, cfg=cfg):
        cursor.execute(sql, params)
