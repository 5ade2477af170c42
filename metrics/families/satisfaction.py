"""Customer satisfaction (beyond the five): NPS from nps_response scores in W90.

Per account: nps_responses (scored nps_response touches in W90), nps_promoters (scores 9–10),
nps_detractors (0–6), and NPS = 100 × (promoters − detractors) / responses, in points;
undefined (null) without responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from accounts.models import TouchpointKind
from metrics.families.common import FamilySQL, Windows, touch_pass
from metrics.models import MetricSettings

EMPTY: dict[str, Any] = {"nps_responses": 0, "nps": None, "nps_promoters": 0, "nps_detractors": 0}


def nps(promoters: int, detractors: int, responses: int) -> float | None:
    return 100 * (promoters - detractors) / responses if responses else None


def satisfaction_rows(*, as_of: date, account_ids: Sequence[int], cfg: MetricSettings) -> FamilySQL:
    """The chunk's `touches` pass (common.touch_pass: one read of touchpoint_account_time),
    which counts the scored responses in W90; accounts with at least one. The NPS is a float
    division of the integer counts, as nps() computes it."""
    sql = f"""
        SELECT account_id, SUM(nps_responses) AS nps_responses,
               CAST(100 * (SUM(nps_promoters) - SUM(nps_detractors)) AS DOUBLE PRECISION)
                   / CAST(SUM(nps_responses) AS DOUBLE PRECISION) AS nps,
               SUM(nps_promoters) AS nps_promoters, SUM(nps_detractors) AS nps_detractors
        FROM touches
        WHERE kind = '{TouchpointKind.NPS_RESPONSE}'
        GROUP BY account_id
        HAVING SUM(nps_responses) > 0
    """
    touches = touch_pass(account_ids=account_ids, windows=Windows.for_day(as_of, cfg), cfg=cfg)
    return FamilySQL(sql, (), EMPTY, ctes=touches)
