"""Awareness — do they know us? (METRICS.md §2), over W90.

Awareness kinds: web_visit, email_open, event_attended, webinar_attended, call_connected,
ad_click. Per account:

- web_visits (known and anonymous), known_visitors = distinct contacts with a web visit;
- email_opens; event_attendances = event_attended + webinar_attended; calls_connected;
- aware_contacts = distinct contacts with any awareness touch;
- aware = at least one awareness touch (an anonymous web visit is enough).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from accounts.models import TouchpointKind as Kind
from metrics.families.common import FamilySQL, Windows, touch_pass
from metrics.models import MetricSettings

AWARENESS_KINDS: tuple[str, ...] = (
    Kind.WEB_VISIT,
    Kind.EMAIL_OPEN,
    Kind.EVENT_ATTENDED,
    Kind.WEBINAR_ATTENDED,
    Kind.CALL_CONNECTED,
    Kind.AD_CLICK,
)

EMPTY: dict[str, Any] = {
    "web_visits": 0,
    "known_visitors": 0,
    "email_opens": 0,
    "event_attendances": 0,
    "calls_connected": 0,
    "aware_contacts": 0,
    "aware": False,
}


def _kinds(*kinds: str) -> str:
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    return f"kind IN ({listed})"


def awareness_rows(*, as_of: date, account_ids: Sequence[int], cfg: MetricSettings) -> FamilySQL:
    """The chunk's `touches` pass (common.touch_pass: one read of touchpoint_account_time)
    grouped by account, counting its W90 touches (`n90`) by kind. COUNT(DISTINCT contact_id)
    skips NULL: anonymous visits count as visits, not visitors."""
    aware = _kinds(*AWARENESS_KINDS)
    sql = f"""
        SELECT account_id,
               SUM(CASE WHEN {_kinds(Kind.WEB_VISIT)} THEN n90 ELSE 0 END) AS web_visits,
               COUNT(DISTINCT CASE WHEN {_kinds(Kind.WEB_VISIT)} AND n90 > 0 THEN contact_id END) AS known_visitors,
               SUM(CASE WHEN {_kinds(Kind.EMAIL_OPEN)} THEN n90 ELSE 0 END) AS email_opens,
               SUM(CASE WHEN {_kinds(Kind.EVENT_ATTENDED, Kind.WEBINAR_ATTENDED)} THEN n90 ELSE 0 END)
                   AS event_attendances,
               SUM(CASE WHEN {_kinds(Kind.CALL_CONNECTED)} THEN n90 ELSE 0 END) AS calls_connected,
               COUNT(DISTINCT CASE WHEN {aware} AND n90 > 0 THEN contact_id END) AS aware_contacts,
               SUM(CASE WHEN {aware} THEN n90 ELSE 0 END) > 0 AS aware
        FROM touches
        GROUP BY account_id
    """
    return FamilySQL(sql, (), EMPTY, ctes=touch_pass(account_ids=account_ids, windows=Windows.for_day(as_of, cfg), cfg=cfg))
