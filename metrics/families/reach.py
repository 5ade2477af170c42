"""Reach — are our programs reaching the target accounts, and where is effort wasted? (METRICS.md §4)

Per account (W90): programs and channels with a success there. Per program and per channel
(all touches on or before D): touched / reached accounts, target reach, focus and waste.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count

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


def _program_row(pairs: list[tuple[int, int, int]], targets: set[int], scope: set[int], cost: Decimal) -> dict[str, Any]:
    """Figures of one program (or channel) from its (account, touches, successes) pairs.

    `scope` is the set of target accounts target_reach is measured against.
    """
    touches = sum(n for _, n, _ in pairs)
    at_targets = sum(n for account_id, n, _ in pairs if account_id in targets)
    successes = sum(k for _, _, k in pairs)
    target_successes = sum(k for account_id, _, k in pairs if account_id in targets)
    reached = {account_id for account_id, _, k in pairs if k}
    waste = _ratio(touches - at_targets, touches)
    return {
        "touches": touches,
        "touches_at_targets": at_targets,
        "touched_accounts": len({account_id for account_id, _, _ in pairs}),
        "reached_accounts": len(reached),
        "reached_target_accounts": len(reached & targets),
        "target_accounts": len(scope),
        "successes": successes,
        "target_successes": target_successes,
        # No target accounts to reach: 0, not undefined, so the reach chart stays plottable.
        "target_reach": _ratio(len(reached & scope), len(scope)) or 0.0,
        "focus": _ratio(target_successes, successes),
        "waste": waste,
        "wasted_cost": (cost * Decimal(str(waste))).quantize(Decimal("0.01")) if waste is not None else Decimal("0.00"),
    }


def program_and_channel_rows(*, as_of: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """ProgramSnapshot rows (every program, with touches or not) and ChannelSnapshot rows (every
    channel that has programs), over all program touches on or before D.

    One grouped query — touches and successes per (program, account), on the index
    touchpoint_program_time — whose rows (at most programs × accounts touched) give every figure,
    including the distinct accounts of a channel, which do not add up across its programs.
    A program with a segment is measured against the segment's target accounts; everything
    else against all target accounts.
    """
    success = success_q(program_success_kinds())
    pairs: dict[int, list[tuple[int, int, int]]] = {}
    for program_id, account_id, touches, successes in (
        Touchpoint.objects.filter(on_or_before(as_of), program__isnull=False)
        .order_by()
        .values("program_id", "account_id")
        .annotate(touches=Count("id"), successes=Count("id", filter=success))
        .values_list("program_id", "account_id", "touches", "successes")
    ):
        pairs.setdefault(program_id, []).append((account_id, touches, successes))
    targets = set(Account.objects.filter(is_target=True).values_list("id", flat=True))
    segment_targets: dict[int, set[int]] = {}
    for segment_id, account_id in Segment.accounts.through.objects.filter(account__is_target=True).values_list(
        "segment_id", "account_id"
    ):
        segment_targets.setdefault(segment_id, set()).add(account_id)

    programs = []
    by_channel: dict[str, dict[str, Any]] = {}
    for program in Program.objects.order_by("id").only("id", "channel", "segment_id", "cost"):
        scope = segment_targets.get(program.segment_id, set()) if program.segment_id else targets
        row = _program_row(pairs.get(program.pk, []), targets, scope, program.cost)
        programs.append({"program_id": program.pk, **row})
        channel = by_channel.setdefault(program.channel, {"programs": 0, "cost": Decimal("0.00"), "pairs": [],
                                                          "wasted_cost": Decimal("0.00")})
        channel["programs"] += 1
        channel["cost"] += program.cost
        channel["wasted_cost"] += row["wasted_cost"]
        channel["pairs"].extend(pairs.get(program.pk, []))

    channels = []
    for name, channel in sorted(by_channel.items()):
        # An account touched by two programs of the channel is one account of the channel.
        merged: dict[int, list[int]] = {}
        for account_id, touches, successes in channel["pairs"]:
            totals = merged.setdefault(account_id, [0, 0])
            totals[0] += touches
            totals[1] += successes
        row = _program_row([(a, n, k) for a, (n, k) in merged.items()], targets, targets, channel["cost"])
        # The channel's wasted cost is what its programs wasted, each at its own cost and waste.
        row["wasted_cost"] = channel["wasted_cost"]
        channels.append({"channel": name, "programs": channel["programs"], "cost": channel["cost"], **row})
    return programs, channels
