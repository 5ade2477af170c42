"""Engagement — how much time do they spend with us? (METRICS.md §3)

Minutes per touch come from metrics.families.common.minutes_expression. The percentile needs
every target account's minutes, so metrics.services computes it after all chunks.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any

from django.db.models import Case, Count, F, FloatField, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from accounts.models import Touchpoint
from metrics.families.common import Window, Windows, minutes_expression
from metrics.models import MetricSettings

EMPTY: dict[str, Any] = {
    "minutes_7d": 0.0,
    "minutes_prev_21d": 0.0,
    "minutes_30d": 0.0,
    "minutes_prev_30d": 0.0,
    "minutes_90d": 0.0,
    "engaged_contacts_90d": 0,
    "engaged": False,
    "mqa": False,
    "spike": False,
    "minutes_by_kind": {},
    "minutes_by_role": {},
}

# minutes_by_role keys for touches that have no role to show.
ANONYMOUS = "anonymous"
NO_ROLE = "no_role"


def _windowed_minutes(window: Window) -> Sum:
    """Sum of the `touch_minutes` alias over the touches in `window` (the alias is resolved once)."""
    return Sum(
        Case(When(window.q(), then=F("touch_minutes")), default=Value(0.0), output_field=FloatField()),
        default=0.0,
    )


def _settle(minutes: float) -> float:
    """Round away floating-point noise. The database may add a chunk's rows in any order, and
    0.1 + 0.2 is not 0.2 + 0.1 in the last bit: unrounded, two runs over the same data could
    differ by 1e-13 and break percentile ties or a threshold like `minutes_90d ≥ 10`. Minutes come
    with at most two decimals and multipliers with one, so six decimals lose nothing real."""
    return round(minutes, 6)


def _exact(value: float) -> Fraction:
    """The decimal a settled float stands for (218.16, not 218.159999999999996589…)."""
    return Fraction(repr(float(value)))


def engagement_rows(*, as_of: date, account_ids: list[int], cfg: MetricSettings) -> dict[int, dict[str, Any]]:
    """Two grouped queries over the chunk's touchpoints in the windows' span.

    Index: touchpoint_account_time (account, occurred_at); the contact join (seniority
    multiplier, role) is by primary key. The first query groups by (account, contact): its rows
    (one per known contact with touches, plus one anonymous row per account) add up to the
    account's window totals and give the per-contact minutes MQA needs and the minutes by role.
    """
    windows = Windows.for_day(as_of, cfg)
    in_chunk = Touchpoint.objects.filter(account_id__in=account_ids).order_by()
    w90 = windows.w_long

    per_contact = (
        in_chunk.filter(windows.span.q())
        .alias(touch_minutes=minutes_expression(cfg))
        # The role is NULL only through the LEFT JOIN of an anonymous touch (role itself is NOT NULL).
        .values("account_id", "contact_id", role_key=Coalesce("contact__role", Value(ANONYMOUS)))
        .annotate(
            m7=_windowed_minutes(windows.w_spike),
            m21=_windowed_minutes(windows.b_spike),
            m30=_windowed_minutes(windows.w_short),
            mp30=_windowed_minutes(windows.p_short),
            m90=_windowed_minutes(w90),
            positive_touches_90d=Count("id", filter=w90.q() & Q(touch_minutes__gt=0)),
        )
        .values_list("account_id", "contact_id", "role_key", "m7", "m21", "m30", "mp30", "m90", "positive_touches_90d")
    )
    by_kind = (
        in_chunk.filter(w90.q())
        .values("account_id", "kind")
        .annotate(minutes=Sum(minutes_expression(cfg)))
        .values_list("account_id", "kind", "minutes")
    )

    sums: dict[int, dict[str, Any]] = {}
    for account_id, contact_id, role, m7, m21, m30, mp30, m90, positive in per_contact:
        acc = sums.setdefault(
            account_id,
            {"m7": 0.0, "m21": 0.0, "m30": 0.0, "mp30": 0.0, "m90": 0.0, "engaged_contacts": 0, "strong_contacts": 0,
             "by_role": {}},
        )
        for key, value in (("m7", m7), ("m21", m21), ("m30", m30), ("mp30", mp30), ("m90", m90)):
            acc[key] += value
        if contact_id is not None:
            acc["engaged_contacts"] += positive > 0
            # Settled like the account totals: 6.72 + 11.54 + 1.74 is 20 or 19.999999999999996
            # depending on the order the database adds them.
            acc["strong_contacts"] += _settle(m90) >= cfg.mqa_min_contact_minutes
        if m90:
            key = role or NO_ROLE
            acc["by_role"][key] = acc["by_role"].get(key, 0.0) + m90

    result: dict[int, dict[str, Any]] = {}
    for account_id, acc in sums.items():
        for key in ("m7", "m21", "m30", "mp30", "m90"):
            acc[key] = _settle(acc[key])
        m7, m21, m90 = acc["m7"], acc["m21"], acc["m90"]
        # This week against the weekly average of the baseline weeks: with the defaults,
        # minutes_7d ≥ 2 × minutes_prev_21d / 3. Multiplied out and compared as exact fractions of
        # the decimal figures, so that exactly equal sides (218.16 against 327.24) are a spike.
        spike = (
            _exact(m7) * cfg.spike_baseline_days >= _exact(cfg.spike_ratio) * _exact(m21) * cfg.spike_window_days
            and m7 >= cfg.spike_min_minutes
        )
        result[account_id] = {
            "minutes_7d": m7,
            "minutes_prev_21d": m21,
            "minutes_30d": acc["m30"],
            "minutes_prev_30d": acc["mp30"],
            "minutes_90d": m90,
            "engaged_contacts_90d": acc["engaged_contacts"],
            "engaged": m90 >= cfg.engaged_min_minutes,
            "mqa": m90 >= cfg.mqa_min_minutes and acc["strong_contacts"] >= cfg.mqa_min_contacts,
            "spike": spike,
            "minutes_by_kind": {},
            "minutes_by_role": {role: _settle(m) for role, m in acc["by_role"].items()},
        }
    for account_id, kind, minutes in by_kind:
        if minutes:
            result[account_id]["minutes_by_kind"][kind] = _settle(minutes)
    return result
