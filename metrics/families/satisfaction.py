"""Customer satisfaction (beyond the five): NPS from nps_response scores in W90.

NPS = 100 × (promoters (9–10) − detractors (0–6)) / responses, in points; undefined (null)
without responses.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Q

from accounts.models import Touchpoint, TouchpointKind
from metrics.families.common import Windows
from metrics.models import MetricSettings

EMPTY: dict[str, Any] = {"nps_responses": 0, "nps": None, "nps_promoters": 0, "nps_detractors": 0}


def nps(promoters: int, detractors: int, responses: int) -> float | None:
    return 100 * (promoters - detractors) / responses if responses else None


def satisfaction_rows(*, as_of: date, account_ids: list[int], cfg: MetricSettings) -> dict[int, dict[str, Any]]:
    """One query over the chunk's scored W90 NPS responses. Index: touchpoint_account_time."""
    w90 = Windows.for_day(as_of, cfg).w_long
    rows = (
        Touchpoint.objects.filter(
            w90.q(), account_id__in=account_ids, kind=TouchpointKind.NPS_RESPONSE, score__isnull=False
        )
        .order_by()
        .values("account_id")
        .annotate(
            responses=Count("id"),
            promoters=Count("id", filter=Q(score__gte=9)),
            detractors=Count("id", filter=Q(score__lte=6)),
        )
    )
    return {
        row["account_id"]: {
            "nps_responses": row["responses"],
            "nps": nps(row["promoters"], row["detractors"], row["responses"]),
            "nps_promoters": row["promoters"],
            "nps_detractors": row["detractors"],
        }
        for row in rows
    }
