"""Journey stage: the highest stage an account meets (METRICS.md, Journey stages).

none → aware → engaged → mqa → opportunity (one open as of D) → customer (one won and closed on
or before D). "Highest met", not "every step met": an account with a meeting-only MQA and no
awareness touch is still mqa.
"""

from __future__ import annotations

from typing import Any

from metrics.models import JourneyStage

# Lowest to highest; the segment funnel counts accounts at or past each.
STAGE_ORDER: tuple[str, ...] = (
    JourneyStage.NONE,
    JourneyStage.AWARE,
    JourneyStage.ENGAGED,
    JourneyStage.MQA,
    JourneyStage.OPPORTUNITY,
    JourneyStage.CUSTOMER,
)


def journey_stage(row: dict[str, Any]) -> str:
    """From a merged per-account row of the families."""
    if row["is_customer"]:
        return JourneyStage.CUSTOMER
    if row["has_open_opportunity"]:
        return JourneyStage.OPPORTUNITY
    if row["mqa"]:
        return JourneyStage.MQA
    if row["engaged"]:
        return JourneyStage.ENGAGED
    if row["aware"]:
        return JourneyStage.AWARE
    return JourneyStage.NONE
