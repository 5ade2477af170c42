"""Journey stage: the highest stage an account meets (METRICS.md, Journey stages).

none → aware → engaged → mqa → opportunity (one open as of D) → customer (one won and closed on
or before D). "Highest met", not "every step met": an account with a meeting-only MQA and no
awareness touch is still mqa.
"""

from __future__ import annotations

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

# The condition of each stage above none, over an account's merged figures (the chunk's INSERT:
# metrics.services.compute_account_chunk); is_customer and has_open_opportunity come from the
# influence family and are not stored.
_MET_WHEN: dict[str, str] = {
    JourneyStage.CUSTOMER: "is_customer",
    JourneyStage.OPPORTUNITY: "has_open_opportunity",
    JourneyStage.MQA: "mqa",
    JourneyStage.ENGAGED: "engaged",
    JourneyStage.AWARE: "aware",
}

# The highest stage met, as SQL.
STAGE_SQL = (
    "CASE "
    + " ".join(f"WHEN {_MET_WHEN[stage]} THEN '{stage}'" for stage in reversed(STAGE_ORDER[1:]))
    + f" ELSE '{JourneyStage.NONE}' END"
)
