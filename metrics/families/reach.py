"""Reach — are our programs reaching the target accounts, and where is effort wasted? (METRICS.md §4)

A program's success at an account is a touch of the program whose kind is one of its success
kinds (its own list, else its channel's default). Per account (W90): programs_reached =
distinct programs with a success there, channels_reached = their distinct channels. Per
program and per channel (all touches on or before D): touched / reached accounts, target reach,
focus and waste.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, F, IntegerField, Q, QuerySet
from django.db.models.functions import Cast

from accounts.models import Account, Program, Segment, Touchpoint
from metrics.families.common import (
    Cte,
    FamilySQL,
    Params,
    Windows,
    id_bounds,
    on_or_before,
    program_success_kinds,
    success_q,
    touch_pass,
)
from metrics.models import MetricSettings

EMPTY: dict[str, Any] = {"programs_reached": 0, "channels_reached": 0}


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
    lo, hi = id_bounds(account_ids)
    sql = """
        SELECT t.account_id, COUNT(DISTINCT t.program_id) AS programs_reached,
               COUNT(DISTINCT s.channel) AS channels_reached
        FROM touches t JOIN program_success s ON s.program_id = t.program_id AND s.kind = t.kind
        WHERE t.n90 > 0
        GROUP BY t.account_id
    """
    touches = touch_pass(lo=lo, hi=hi, windows=Windows.for_day(as_of, cfg), cfg=cfg)
    return FamilySQL(sql, (), EMPTY, ctes=(*touches, _program_successes()))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _reach_figures(touches: QuerySet[Touchpoint], group: str, success: Q) -> dict[Any, dict[str, int]]:
    """Touch and account counts of program touches per `group` (a field path), in the database.

    Two levels: touches and successes per (group, account), then per group sums and counts of
    those rows — one hash aggregate instead of a sort per COUNT(DISTINCT). An account touched by
    two programs of a channel is one account of the channel: the account counts are counts of
    (group, account) rows, never sums over programs. The ORM cannot aggregate over a grouped
    subquery, so the outer level is SQL around the ORM's own inner query.
    """
    pairs = (
        touches.values(group, "account_id")
        .annotate(
            grp=F(group),
            is_target=Cast("account__is_target", IntegerField()),
            n=Count("id"),
            k=Count("id", filter=success),
        )
        .values("grp", "is_target", "n", "k")
    )
    inner, params = pairs.query.sql_with_params()
    sql = f"""
        SELECT grp, SUM(n), SUM(is_target * n), SUM(k), SUM(is_target * k), COUNT(*),
               SUM(CASE WHEN k > 0 THEN 1 ELSE 0 END), SUM(CASE WHEN k > 0 THEN is_target ELSE 0 END)
        FROM ({inner}) pairs GROUP BY grp
    """
    keys = ("touches", "touches_at_targets", "successes", "target_successes", "touched_accounts",
            "reached_accounts", "reached_target_accounts")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # PostgreSQL sums bigints to numeric (Decimal): back to int.
    return {row[0]: {key: int(value) for key, value in zip(keys, row[1:], strict=True)} for row in rows}


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


def program_and_channel_rows(*, as_of: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """ProgramSnapshot rows (every program, with touches or not) and ChannelSnapshot rows (every
    channel that has programs), over all program touches on or before D.

    Counted in the database — one two-level grouped query by program, one by channel (index
    touchpoint_program_time), and one per segment that has programs — so memory does not grow
    with the number of touches or accounts. A program with a segment is measured against the
    segment's target accounts; everything else against all target accounts.
    """
    success = success_q(program_success_kinds())
    touches = Touchpoint.objects.filter(on_or_before(as_of), program__isnull=False).order_by()
    by_program = _reach_figures(touches, "program_id", success)
    by_channel = _reach_figures(touches, "program__channel", success)
    targets = Account.objects.filter(is_target=True).count()
    memberships = Segment.accounts.through.objects.filter(account__is_target=True)
    segment_targets = dict(
        memberships.order_by().values("segment_id").annotate(n=Count("account_id")).values_list("segment_id", "n")
    )
    # Target accounts of a program's own segment that the program reached.
    reached_in_segment: dict[int, int] = {}
    program_segments = Program.objects.filter(segment__isnull=False).order_by().values_list("segment_id", flat=True)
    for segment_id in program_segments.distinct():
        in_segment = Q(program__segment_id=segment_id, account__is_target=True, account__segments=segment_id)
        reached_in_segment.update(
            touches.filter(success, in_segment)
            .values("program_id")
            .annotate(n=Count("account_id", distinct=True))
            .values_list("program_id", "n")
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
