"""Reach — are our programs reaching the target accounts, and where is effort wasted? (METRICS.md §4)

A program's success at an account is a touch of the program whose kind is one of its success
kinds (its own list, else its channel's default). Per account (W90): programs_reached =
distinct programs with a success there, channels_reached = their distinct channels. Per
program and per channel (all touches on or before D): touched / reached accounts, target reach,
focus and waste.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count

from accounts.models import Account, Program, Segment, Touchpoint
from metrics.families.common import (
    Cte,
    FamilySQL,
    Params,
    Windows,
    day_start,
    id_filter,
    program_success_kinds,
    table,
    touch_pass,
)
from metrics.models import MetricSettings, ProgramAccountReach, ProgramReachState

EMPTY: dict[str, Any] = {"programs_reached": 0, "channels_reached": 0}
# PostgreSQL's work_mem for the rollups' grouping of every (program, account) pair.
ROLLUP_WORK_MEM = "64MB"


def _program_successes() -> Cte:
    """`program_success (program_id, kind, channel)`: a row per program and kind that is a success
    of the program, with its channel; a small table the chunk's touches are joined to."""
    p = Params()
    rows = [
        f"({int(program.pk)}, {p(kind)}, {p(program.channel)})"
        for program in Program.objects.order_by("id").only("id", "channel", "success_kinds")
        for kind in program.effective_success_kinds
    ]
    # VALUES cannot be empty: no program has success kinds, no success.
    sql = f"VALUES {', '.join(rows)}" if rows else "SELECT 0, '', '' WHERE 1 = 0"
    return Cte("program_success (program_id, kind, channel)", sql, tuple(p))


def reach_rows(*, as_of: date, account_ids: Sequence[int], cfg: MetricSettings) -> FamilySQL:
    """The chunk's `touches` pass (common.touch_pass: one read of touchpoint_account_time),
    which is grouped by program and kind, joined to the programs' success kinds: the W90
    successes, per account."""
    sql = """
        SELECT t.account_id, COUNT(DISTINCT t.program_id) AS programs_reached,
               COUNT(DISTINCT s.channel) AS channels_reached
        FROM touches t JOIN program_success s ON s.program_id = t.program_id AND s.kind = t.kind
        WHERE t.n90 > 0
        GROUP BY t.account_id
    """
    touches = touch_pass(account_ids=account_ids, windows=Windows.for_day(as_of, cfg), cfg=cfg)
    return FamilySQL(sql, (), EMPTY, ctes=(*touches, _program_successes()))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


_NO_TOUCHES = dict.fromkeys(
    ("touches", "touches_at_targets", "successes", "target_successes", "touched_accounts", "reached_accounts",
     "reached_target_accounts"),
    0,
)


def _program_row(figures: dict[str, int], scope_size: int, reached_in_scope: int, cost: Decimal) -> dict[str, Any]:
    """Figures of one program (or channel) from its counts (see _reach_figures).

    target_reach is measured against `scope_size` target accounts, `reached_in_scope` of which
    the program reached.
    """
    touches = figures["touches"]
    waste = _ratio(touches - figures["touches_at_targets"], touches)
    return {
        "touches": touches,
        "touches_at_targets": figures["touches_at_targets"],
        "touched_accounts": figures["touched_accounts"],
        "reached_accounts": figures["reached_accounts"],
        "reached_target_accounts": figures["reached_target_accounts"],
        "target_accounts": scope_size,
        "successes": figures["successes"],
        "target_successes": figures["target_successes"],
        # No target accounts to reach: 0, not undefined, so the reach chart stays plottable.
        "target_reach": _ratio(reached_in_scope, scope_size) or 0.0,
        "focus": _ratio(figures["target_successes"], figures["successes"]),
        "waste": waste,
        "wasted_cost": (cost * Decimal(str(waste))).quantize(Decimal("0.01")) if waste is not None else Decimal("0.00"),
    }


def _success_sql(success_kinds: dict[int, list[str]], p: Params, *, touch: str) -> str:
    """success_q as SQL over the touch `touch`: 1 for a success of its program, else 0 (programs
    sharing a kind list are one term, as there)."""
    by_kinds: dict[tuple[str, ...], list[int]] = {}
    for program_id, kinds in success_kinds.items():
        if kinds:
            by_kinds.setdefault(tuple(sorted(kinds)), []).append(program_id)
    terms = [
        f"({touch}.program_id IN ({', '.join(str(int(pk)) for pk in ids)}) AND {touch}.kind IN ({p.each(kinds)}))"
        for kinds, ids in by_kinds.items()
    ]
    return f"CASE WHEN {' OR '.join(terms)} THEN 1 ELSE 0 END" if terms else "0"


_FIGURE_KEYS = ("touches", "touches_at_targets", "successes", "target_successes", "touched_accounts",
                "reached_accounts", "reached_target_accounts")


def pair_counts_sql(
    *, start: datetime | None, end: datetime, p: Params, account_ids: Sequence[int] | None = None
) -> str:
    """Per (program, account): `touches` and `successes` among the program touches in
    [start, end) (from the first touch when start is None) — of these accounts only, when given —
    one read of touchpoint_program_time (touchpoint_account_time for accounts)."""
    # Placeholders in the order of the text.
    success = _success_sql(program_success_kinds(), p, touch="t")
    since = f"AND t.occurred_at >= {p(start)} " if start is not None else ""
    until = f"AND t.occurred_at < {p(end)} "
    accounts = f"AND {id_filter('t.account_id', account_ids, p)} " if account_ids is not None else ""
    return f"""
        SELECT t.program_id, t.account_id, COUNT(*) AS touches, SUM({success}) AS successes
        FROM {table(Touchpoint)} t
        WHERE t.program_id IS NOT NULL {since}{until}{accounts}
        GROUP BY t.program_id, t.account_id
    """


def _success_digest() -> str:
    """A digest of every program's success kinds: the kept pairs' successes hold under these."""
    kinds = sorted((pk, sorted(k)) for pk, k in program_success_kinds().items())
    return hashlib.sha1(json.dumps(kinds).encode()).hexdigest()


# A refresh replaces the kept pairs of at most this many accounts per statement.
PAIRS_BATCH = 500


def kept_pairs(*, as_of: date, refreshed: Sequence[int] | None = None) -> str | None:
    """The table of (program, account) counts up to `as_of` (ProgramAccountReach), brought up to
    date, or None when the day's counts are to be read from the touches instead.

    A run (`refreshed` None) of the latest day kept so far, or a later one, rebuilds the table from
    every program touch on or before the day — the same read the sums would make — and records
    the day; a run of an earlier day leaves it alone. A refresh of the recorded day replaces the
    rows of the refreshed accounts (their touches on or before the day, read by account); of
    another day, or after a program's success kinds changed, it reads the touches. The state row
    is locked meanwhile, so runs and refreshes of different days take turns at the table."""
    end = day_start(as_of + timedelta(days=1))
    name = table(ProgramAccountReach)
    columns = "(program_id, account_id, touches, successes)"
    digest = _success_digest()
    with transaction.atomic(), connection.cursor() as cursor:
        state, _ = ProgramReachState.objects.select_for_update().get_or_create(pk=1)
        if refreshed is None:
            if state.as_of is not None and as_of < state.as_of:
                return None
            if connection.vendor == "postgresql":
                cursor.execute(f"SET LOCAL work_mem = '{ROLLUP_WORK_MEM}'")  # the grouping of every pair
                cursor.execute(f"TRUNCATE {name}")
            else:
                cursor.execute(f"DELETE FROM {name}")
            p = Params()
            # In the key's order: 5.8 s → 3.1 s for 2 million pairs at 100,000 accounts.
            cursor.execute(f"INSERT INTO {name} {columns} SELECT * FROM ({pair_counts_sql(start=None, end=end, p=p)}) g "
                           "ORDER BY account_id, program_id", p)
            state.as_of, state.digest = as_of, digest
            state.save()
            return name
        if state.as_of != as_of or state.digest != digest:
            return None
        ids = sorted(set(refreshed))
        for batch in (ids[i:i + PAIRS_BATCH] for i in range(0, len(ids), PAIRS_BATCH)):
            p = Params()
            cursor.execute(f"DELETE FROM {name} WHERE {id_filter('account_id', batch, p)}", p)
            p = Params()
            cursor.execute(
                f"INSERT INTO {name} {columns} {pair_counts_sql(start=None, end=end, p=p, account_ids=batch)}", p)
        return name


def _reach_counts(
    as_of: date, *, pairs_table: str | None = None
) -> tuple[dict[int, dict[str, int]], dict[str, dict[str, int]], dict[int, int]]:
    """Per program and per channel, the counts of _reach_figures, and per program with a segment
    the target accounts of its segment it reached: one statement, one read of the program touches
    on or before D (index touchpoint_program_time).

    The touches are grouped once by (program, account) — touches n and successes k of each pair —
    and every figure is a sum over those pairs: per program directly, per channel after summing
    the pairs of the channel's programs by account (an account touched by two programs of a
    channel is one account of the channel). A program's reach in its own segment is a membership
    probe per pair of such a program, so all segments are counted in the same pass.

    `pairs_table`: a table holding those (program, account, touches, successes) counts up to D
    already: the kept pairs (kept_pairs), or a backfill's, which adds each day's touches to the
    day before's (metrics.backfill).
    """
    p = Params()
    source = pairs_table or f"({pair_counts_sql(start=None, end=day_start(as_of + timedelta(days=1)), p=p)}) counted"
    counted = f"SELECT program_id, account_id, touches AS n, successes AS k FROM {source}"
    materialized = "MATERIALIZED " if connection.vendor == "postgresql" else ""
    sql = f"""
        WITH pairs AS {materialized}(
            SELECT g.program_id, g.account_id, g.n, g.k, pr.channel, pr.segment_id,
                   CASE WHEN a.is_target THEN 1 ELSE 0 END AS tgt
            FROM ({counted}) g
            JOIN {table(Program)} pr ON pr.id = g.program_id
            JOIN {table(Account)} a ON a.id = g.account_id
        )
        SELECT program_id, NULL, SUM(n), SUM(tgt * n), SUM(k), SUM(tgt * k), COUNT(*),
               SUM(CASE WHEN k > 0 THEN 1 ELSE 0 END), SUM(CASE WHEN k > 0 THEN tgt ELSE 0 END),
               SUM(CASE WHEN k > 0 AND tgt = 1 AND segment_id IS NOT NULL AND EXISTS (
                   SELECT 1 FROM {table(Segment.accounts.through)} m
                   WHERE m.segment_id = pairs.segment_id AND m.account_id = pairs.account_id
               ) THEN 1 ELSE 0 END)
        FROM pairs GROUP BY program_id
        UNION ALL
        SELECT NULL, channel, SUM(n), SUM(tgt * n), SUM(k), SUM(tgt * k), COUNT(*),
               SUM(CASE WHEN k > 0 THEN 1 ELSE 0 END), SUM(CASE WHEN k > 0 THEN tgt ELSE 0 END), 0
        FROM (SELECT channel, account_id, MAX(tgt) AS tgt, SUM(n) AS n, SUM(k) AS k FROM pairs GROUP BY channel, account_id) c
        GROUP BY channel
    """
    by_program: dict[int, dict[str, int]] = {}
    by_channel: dict[str, dict[str, int]] = {}
    in_segment: dict[int, int] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The (program, account) pairs are ~20 per account: at the default 4 MB the grouping
            # spills to disk in batches.
            cursor.execute(f"SET LOCAL work_mem = '{ROLLUP_WORK_MEM}'")
        cursor.execute(sql, p)
        for program_id, channel, *counts in cursor.fetchall():
            # PostgreSQL sums bigints to numeric (Decimal): back to int.
            figures = {key: int(value) for key, value in zip(_FIGURE_KEYS, counts, strict=False)}
            if program_id is not None:
                by_program[program_id] = figures
                in_segment[program_id] = int(counts[-1])
            else:
                by_channel[channel] = figures
    return by_program, by_channel, in_segment


def program_and_channel_rows(
    *, as_of: date, pairs_table: str | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """ProgramSnapshot rows (every program, with touches or not) and ChannelSnapshot rows (every
    channel that has programs), over all program touches on or before D.

    Counted in the database in one pass (_reach_counts), so memory does not grow with the number
    of touches or accounts. A program with a segment is measured against the segment's target
    accounts; everything else against all target accounts.
    """
    by_program, by_channel, reached_in_segment = _reach_counts(as_of, pairs_table=pairs_table)
    targets = Account.objects.filter(is_target=True).count()
    memberships = Segment.accounts.through.objects.filter(account__is_target=True)
    segment_targets = dict(
        memberships.order_by().values("segment_id").annotate(n=Count("account_id")).values_list("segment_id", "n")
    )

    programs = []
    channels: dict[str, dict[str, Any]] = {}
    for program in Program.objects.order_by("id").only("id", "channel", "segment_id", "cost"):
        figures = by_program.get(program.pk, _NO_TOUCHES)
        if program.segment_id:
            scope_size = segment_targets.get(program.segment_id, 0)
            reached_in_scope = reached_in_segment.get(program.pk, 0)
        else:
            scope_size, reached_in_scope = targets, figures["reached_target_accounts"]
        row = _program_row(figures, scope_size, reached_in_scope, program.cost)
        programs.append({"program_id": program.pk, **row})
        channel = channels.setdefault(
            program.channel, {"programs": 0, "cost": Decimal("0.00"), "wasted_cost": Decimal("0.00")}
        )
        channel["programs"] += 1
        channel["cost"] += program.cost
        channel["wasted_cost"] += row["wasted_cost"]

    rows = []
    for name, channel in sorted(channels.items()):
        figures = by_channel.get(name, _NO_TOUCHES)
        row = _program_row(figures, targets, figures["reached_target_accounts"], channel["cost"])
        # The channel's wasted cost is what its programs wasted, each at its own cost and waste.
        row["wasted_cost"] = channel["wasted_cost"]
        rows.append({"channel": name, "programs": channel["programs"], "cost": channel["cost"], **row})
    return programs, rows
