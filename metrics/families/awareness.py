"""Awareness — do they know us? (METRICS.md §2), over W90."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Q

from accounts.models import Touchpoint
from accounts.models import TouchpointKind as Kind
from metrics.families.common import Windows
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


def awareness_rows(*, as_of: date, account_ids: list[int], cfg: MetricSettings) -> dict[int, dict[str, Any]]:
    """One query over the chunk's W90 touchpoints, grouped by account.

    Index: touchpoint_account_time (account, occurred_at) — an IN list of accounts and a time range.
    """
    w90 = Windows.for_day(as_of, cfg).w_long
    rows = (
        Touchpoint.objects.filter(w90.q(), account_id__in=account_ids)
        .order_by()
        .values("account_id")
        .annotate(
            web_visits=Count("id", filter=Q(kind=Kind.WEB_VISIT)),
            # COUNT(DISTINCT contact_id) skips NULLs: anonymous visits count as visits, not visitors.
            known_visitors=Count("contact_id", distinct=True, filter=Q(kind=Kind.WEB_VISIT)),
            email_opens=Count("id", filter=Q(kind=Kind.EMAIL_OPEN)),
            event_attendances=Count("id", filter=Q(kind__in=[Kind.EVENT_ATTENDED, Kind.WEBINAR_ATTENDED])),
            calls_connected=Count("id", filter=Q(kind=Kind.CALL_CONNECTED)),
            aware_contacts=Count("contact_id", distinct=True, filter=Q(kind__in=AWARENESS_KINDS)),
            awareness_touches=Count("id", filter=Q(kind__in=AWARENESS_KINDS)),
        )
    )
    result: dict[int, dict[str, Any]] = {}
    for row in rows:
        account_id = row.pop("account_id")
        row["aware"] = row.pop("awareness_touches") > 0
        result[account_id] = row
    return result
