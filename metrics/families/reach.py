"""Reach — are our programs reaching the target accounts, and where is effort wasted? (METRICS.md §4)

Per account (W90): programs and channels with a success there. Per program and per channel
(all touches on or before D): touched / reached accounts, target reach, focus and waste.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q

from accounts.models import Account, Program, Segment, Touchpoint
from metrics.families.common import Windows, on_or_before, program_success_kinds, success_q
from metrics.models import MetricSettings

EMPTY: dict[str, Any] = {"programs_reached": 0, "channels_reached": 0}


def reach_rows(
    *, as_of: date, account_ids: list[int], cfg: MetricSettings, success_kinds: dict[int, list[str]] | None = None
) -> dict[int, dict[str, Any]]:
    """One query over the chunk's W90 program touches. Index: touchpoint_account_time."""
    kinds = program_success_kinds() if success_kinds is None else success_kinds
    w90 = Windows.for_day(as_of, cfg).w_long
    rows = (
        Touchpoint.objects.filter(w90.q(), success_q(kinds), account_id__in=account_ids)
        .order_by()
        .values("account_id")
        .annotate(
            programs_reached=Count("program_id", distinct=True),
            channels_reached=Count("program__channel", distinct=True),
        )
    )
    return {row.pop("account_id"): row for row in rows}


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _segment_members() -> Any:
    return Segment.accounts.through.objects


def program_rows(*, as_of: date) -> list[dict[str, Any]]:
    """One row per program (programs without touches too): ProgramSnapshot's fields.

    One grouped query over every program touch on or before D (index: touchpoint_program_time,
    the program_id IS NOT NULL range), plus two counts of target accounts for the denominators.
    """
    kinds = program_success_kinds()
    success = success_q(kinds)
    at_target = Q(account__is_target=True)
    # A touch at a target account that belongs to the program's own segment: the numerator of
    # target_reach for a program with a segment (so reach stays a share of that segment).
    in_program_segment = Exists(
        _segment_members().filter(segment_id=OuterRef("program__segment_id"), account_id=OuterRef("account_id"))
    )
    rows = {
        row["program_id"]: row
        for row in Touchpoint.objects.filter(on_or_before(as_of), program__isnull=False)
        .order_by()
        .values("program_id")
        .annotate(
            touches=Count("id"),
            touches_at_targets=Count("id", filter=at_target),
            touched_accounts=Count("account_id", distinct=True),
            reached_accounts=Count("account_id", distinct=True, filter=success),
            reached_target_accounts=Count("account_id", distinct=True, filter=success & at_target),
            reached_segment_targets=Count(
                "account_id", distinct=True, filter=success & at_target & Q(in_program_segment)
            ),
            successes=Count("id", filter=success),
            target_successes=Count("id", filter=success & at_target),
        )
    }
    all_targets = Account.objects.filter(is_target=True).count()
    segment_targets = dict(
        _segment_members()
        .filter(account__is_target=True)
        .order_by()
        .values("segment_id")
        .annotate(n=Count("account_id"))
        .values_list("segment_id", "n")
    )

    result = []
    for program in Program.objects.order_by("id").only("id", "segment_id", "cost"):
        row = rows.get(program.pk, {})
        touches = row.get("touches", 0)
        successes = row.get("successes", 0)
        if program.segment_id is not None:
            denominator = segment_targets.get(program.segment_id, 0)
            reached_in_scope = row.get("reached_segment_targets", 0)
        else:
            denominator = all_targets
            reached_in_scope = row.get("reached_target_accounts", 0)
        waste = _ratio(touches - row.get("touches_at_targets", 0), touches)
        result.append(
            {
                "program_id": program.pk,
                "touches": touches,
                "touches_at_targets": row.get("touches_at_targets", 0),
                "touched_accounts": row.get("touched_accounts", 0),
                "reached_accounts": row.get("reached_accounts", 0),
                "reached_target_accounts": row.get("reached_target_accounts", 0),
                "target_accounts": denominator,
                "successes": successes,
                "target_successes": row.get("target_successes", 0),
                # No target accounts to reach: 0, not undefined, so the reach chart stays plottable.
                "target_reach": _ratio(reached_in_scope, denominator) or 0.0,
                "focus": _ratio(row.get("target_successes", 0), successes),
                "waste": waste,
                "wasted_cost": (program.cost * Decimal(str(waste))).quantize(Decimal("0.01"))
                if waste is not None
                else Decimal("0.00"),
            }
        )
    return result


def channel_rows(*, as_of: date, programs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per channel that has programs: ChannelSnapshot's fields.

    Distinct accounts do not add up across programs, so they come from one query grouped by
    channel; touch and success counts and costs are sums of the programs' rows.
    """
    success = success_q(program_success_kinds())
    at_target = Q(account__is_target=True)
    distinct_counts = {
        row.pop("program__channel"): row
        for row in Touchpoint.objects.filter(on_or_before(as_of), program__isnull=False)
        .order_by()
        .values("program__channel")
        .annotate(
            touched_accounts=Count("account_id", distinct=True),
            reached_accounts=Count("account_id", distinct=True, filter=success),
            reached_target_accounts=Count("account_id", distinct=True, filter=success & at_target),
        )
    }
    all_targets = Account.objects.filter(is_target=True).count()
    by_program = {row["program_id"]: row for row in programs}
    channels: dict[str, dict[str, Any]] = {}
    for program_id, channel, cost in Program.objects.order_by("id").values_list("id", "channel", "cost"):
        row = by_program[program_id]
        totals = channels.setdefault(
            channel,
            {"programs": 0, "cost": Decimal("0.00"), "touches": 0, "touches_at_targets": 0, "successes": 0,
             "target_successes": 0, "wasted_cost": Decimal("0.00")},
        )
        totals["programs"] += 1
        totals["cost"] += cost
        for field in ("touches", "touches_at_targets", "successes", "target_successes", "wasted_cost"):
            totals[field] += row[field]

    result = []
    for channel, totals in sorted(channels.items()):
        counts = distinct_counts.get(channel, {})
        reached_targets = counts.get("reached_target_accounts", 0)
        result.append(
            {
                "channel": channel,
                **totals,
                "touched_accounts": counts.get("touched_accounts", 0),
                "reached_accounts": counts.get("reached_accounts", 0),
                "reached_target_accounts": reached_targets,
                "target_accounts": all_targets,
                "target_reach": _ratio(reached_targets, all_targets) or 0.0,
                "focus": _ratio(totals["target_successes"], totals["successes"]),
                "waste": _ratio(totals["touches"] - totals["touches_at_targets"], totals["touches"]),
            }
        )
    return result
