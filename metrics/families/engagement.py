"""Engagement — how much time do they spend with us? (METRICS.md §3)

A touch is worth (the source's minutes, else the weight of its kind; 0 for a kind never scored)
× its contact's seniority multiplier (common.touch_pass). Per account:

- minutes_7d, minutes_prev_21d, minutes_30d, minutes_prev_30d, minutes_90d: the minutes of the
  touches in W7, B21, W30, P30 and W90;
- engaged_contacts_90d: known contacts with a touch worth > 0 minutes in W90;
- engaged = minutes_90d ≥ engaged_min_minutes (10);
- mqa = minutes_90d ≥ mqa_min_minutes (100) and at least mqa_min_contacts (2) known contacts
  with ≥ mqa_min_contact_minutes (20) each in W90;
- spike = minutes_7d ≥ spike_ratio (2) × minutes_prev_21d × spike_window_days (7) /
  spike_baseline_days (21) — this week against the average week of the three before — and
  minutes_7d ≥ spike_min_minutes (30);
- minutes_by_kind, minutes_by_role: W90 minutes per touch kind and per contact role (`no_role`,
  `anonymous`), kinds and roles with minutes only.

Minutes are added in whole millionths (common.UNITS), so every comparison is exact: a contact
with 6.72 + 11.54 + 1.74 minutes has 20, and 218.16 this week against 327.24 in B21 is a spike.
engagement_percentile needs every account's minutes: metrics.services.update_percentiles.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from fractions import Fraction
from math import gcd
from typing import Any

from metrics.families.common import (
    Cte,
    FamilySQL,
    Params,
    Windows,
    literal,
    minutes_object_sql,
    minutes_sql,
    touch_pass,
)
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

# The `touches` pass per (account, contact): a row per known contact with touches in the span,
# and one for the account's anonymous touches (contact_id NULL, role NULL).
CONTACT_MINUTES = Cte(
    "contact_minutes",
    """
    SELECT account_id, contact_id, role, SUM(u7) AS u7, SUM(u21) AS u21, SUM(u30) AS u30, SUM(up30) AS up30,
           SUM(u90) AS u90, SUM(pos90) AS pos90
    FROM touches
    GROUP BY account_id, contact_id, role
    """,
    (),
)


def _spike_factors(cfg: MetricSettings) -> tuple[int, int]:
    """minutes_7d ≥ ratio × minutes_prev_21d × window / baseline, multiplied out: the integer
    factors (a, b) of `u7 × a ≥ u21 × b`. The ratio is taken as the decimal it was typed as."""
    ratio = Fraction(repr(float(cfg.spike_ratio)))
    a, b = cfg.spike_baseline_days * ratio.denominator, ratio.numerator * cfg.spike_window_days
    divisor = gcd(a, b) or 1
    return a // divisor, b // divisor


def engagement_rows(*, as_of: date, account_ids: Sequence[int], cfg: MetricSettings) -> FamilySQL:
    """The chunk's `touches` pass (common.touch_pass: one read of touchpoint_account_time) per
    contact (CONTACT_MINUTES), then per account; minutes by kind from the pass, minutes by role
    from the contacts' W90 minutes."""
    this_week, weeks_before = _spike_factors(cfg)
    p = Params()
    role_key = f"CASE WHEN role IS NULL THEN '{ANONYMOUS}' WHEN role = '' THEN '{NO_ROLE}' ELSE role END"
    sql = f"""
        SELECT m.account_id,
               {minutes_sql("m.u7")} AS minutes_7d,
               {minutes_sql("m.u21")} AS minutes_prev_21d,
               {minutes_sql("m.u30")} AS minutes_30d,
               {minutes_sql("m.up30")} AS minutes_prev_30d,
               {minutes_sql("m.u90")} AS minutes_90d,
               m.engaged_contacts AS engaged_contacts_90d,
               {minutes_sql("m.u90")} >= {p(cfg.engaged_min_minutes)} AS engaged,
               {minutes_sql("m.u90")} >= {p(cfg.mqa_min_minutes)}
                   AND m.strong_contacts >= {p(cfg.mqa_min_contacts)} AS mqa,
               m.u7 * {this_week} >= m.u21 * {weeks_before}
                   AND {minutes_sql("m.u7")} >= {p(cfg.spike_min_minutes)} AS spike,
               COALESCE(k.minutes_by_kind, {literal({})}) AS minutes_by_kind,
               COALESCE(r.minutes_by_role, {literal({})}) AS minutes_by_role
        FROM (
            SELECT account_id, SUM(u7) AS u7, SUM(u21) AS u21, SUM(u30) AS u30, SUM(up30) AS up30, SUM(u90) AS u90,
                   SUM(CASE WHEN contact_id IS NOT NULL AND pos90 > 0 THEN 1 ELSE 0 END) AS engaged_contacts,
                   SUM(CASE WHEN contact_id IS NOT NULL
                                 AND {minutes_sql("u90")} >= {p(cfg.mqa_min_contact_minutes)} THEN 1 ELSE 0 END)
                       AS strong_contacts
            FROM contact_minutes
            GROUP BY account_id
        ) m
        LEFT JOIN (
            SELECT account_id, {minutes_object_sql("kind", "u")} AS minutes_by_kind
            FROM (SELECT account_id, kind, SUM(u90) AS u FROM touches GROUP BY account_id, kind) by_kind
            WHERE u <> 0
            GROUP BY account_id
        ) k ON k.account_id = m.account_id
        LEFT JOIN (
            SELECT account_id, {minutes_object_sql("role_key", "u")} AS minutes_by_role
            FROM (
                SELECT account_id, {role_key} AS role_key, SUM(u90) AS u
                FROM contact_minutes
                WHERE u90 <> 0
                GROUP BY account_id, {role_key}
            ) by_role
            GROUP BY account_id
        ) r ON r.account_id = m.account_id
    """
    touches = touch_pass(account_ids=account_ids, windows=Windows.for_day(as_of, cfg), cfg=cfg)
    return FamilySQL(sql, tuple(p), EMPTY, ctes=(*touches, CONTACT_MINUTES))
