"""The day's snapshots as flat rows for CSV / JSON export, named exactly as METRICS.md.

Booleans are true/false, shares 0–1, percentiles 0–100, journey stages lower case; an undefined
figure (e.g. focus with no successes) is empty in CSV and null in JSON.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import IO, Any

from metrics.models import (
    AccountSnapshot,
    AttributionCredit,
    ChannelSnapshot,
    OutcomeGroup,
    ProgramSnapshot,
    SegmentSnapshot,
)

LEVELS = ("account", "segment", "program", "channel", "influence")

ACCOUNT_FIELDS: tuple[str, ...] = (
    "contacts", "reachable_contacts", "roles_covered", "role_coverage", "profile_completeness", "covered",
    "web_visits", "known_visitors", "email_opens", "event_attendances", "calls_connected", "aware_contacts", "aware",
    "minutes_7d", "minutes_30d", "minutes_90d", "minutes_prev_30d", "engaged_contacts_90d", "engaged", "mqa", "spike",
    "engagement_percentile", "programs_reached", "channels_reached", "pipeline_created_90d", "won_revenue_90d",
    "influenced_pipeline", "journey_stage", "nps", "nps_responses",
)
SEGMENT_FIELDS: tuple[str, ...] = (
    "accounts", "covered_accounts", "covered_share", "mean_role_coverage", "accounts_without_decision_maker",
    "aware_share", "engaged_share", "mqa_share", "median_minutes_90d", "funnel_aware", "funnel_engaged",
    "funnel_mqa", "funnel_opportunity", "funnel_customer", "mean_programs_reached", "pipeline_created_90d",
    "won_revenue_90d", "open_opportunities", "win_rate", "avg_contract_value", "median_cycle_days",
    "sales_velocity", "nps", "nps_responses",
)
PROGRAM_FIELDS: tuple[str, ...] = (
    "touched_accounts", "reached_accounts", "target_reach", "focus", "waste", "touches", "touches_at_targets",
    "successes", "target_successes", "reached_target_accounts", "target_accounts", "wasted_cost",
)
OUTCOME_FIELDS: tuple[str, ...] = (
    "dimension", "group", "opportunities_closed", "opportunities_won", "win_rate", "median_cycle_days",
    "avg_contract_value", "pipeline_created", "accounts", "mean_minutes_90d",
)
CREDIT_FIELDS: tuple[str, ...] = ("program_external_id", "program", "channel", "model", "basis", "credit", "opportunities")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_rows(*, level: str, as_of: date) -> tuple[list[str], list[dict[str, Any]]]:
    """(column names, rows) of one level for one day."""
    if level == "account":
        columns = ["account_external_id", "account", *ACCOUNT_FIELDS]
        snapshots = (
            AccountSnapshot.objects.filter(as_of=as_of)
            .order_by("account__external_id", "account_id")
            .values("account__external_id", "account__name", *ACCOUNT_FIELDS)
        )
        rows = [
            {"account_external_id": s.pop("account__external_id"), "account": s.pop("account__name"), **s}
            for s in snapshots
        ]
    elif level == "segment":
        columns = ["segment", *SEGMENT_FIELDS]
        snapshots = (
            SegmentSnapshot.objects.filter(as_of=as_of).order_by("segment__name").values("segment__name", *SEGMENT_FIELDS)
        )
        # segment None is the whole target list.
        rows = [{"segment": s.pop("segment__name") or "All target accounts", **s} for s in snapshots]
    elif level == "program":
        columns = ["program_external_id", "program", "channel", *PROGRAM_FIELDS]
        snapshots = (
            ProgramSnapshot.objects.filter(as_of=as_of)
            .order_by("program__name", "program_id")
            .values("program__external_id", "program__name", "program__channel", *PROGRAM_FIELDS)
        )
        rows = [
            {
                "program_external_id": s.pop("program__external_id"),
                "program": s.pop("program__name"),
                "channel": s.pop("program__channel"),
                **s,
            }
            for s in snapshots
        ]
    elif level == "channel":
        columns = ["channel", "programs", "cost", *PROGRAM_FIELDS]
        rows = list(ChannelSnapshot.objects.filter(as_of=as_of).order_by("channel").values(*columns))
    elif level == "influence":
        # One table, two kinds of rows: `record` says which columns apply.
        columns = ["record", *OUTCOME_FIELDS, *CREDIT_FIELDS]
        outcomes = OutcomeGroup.objects.filter(as_of=as_of).order_by("dimension", "group").values(*OUTCOME_FIELDS)
        credits = (
            AttributionCredit.objects.filter(as_of=as_of)
            .order_by("basis", "model", "program__name", "program_id")
            .values("program__external_id", "program__name", "program__channel", "model", "basis", "credit",
                    "opportunities")
        )
        rows = [{"record": "outcome", **o} for o in outcomes] + [
            {
                "record": "attribution",
                "program_external_id": c.pop("program__external_id"),
                "program": c.pop("program__name"),
                "channel": c.pop("program__channel"),
                **c,
            }
            for c in credits
        ]
    else:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    return columns, rows


def csv_value(value: Any) -> str:
    """One CSV field: booleans true/false, empty for None, and no formula injection.

    A text starting with = + - @ (or tab / carriage return) would run as a formula in a
    spreadsheet, so it gets a leading apostrophe. Numbers are never text here, so a negative
    number keeps its sign.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        # Text a spreadsheet would run as a formula (CSV injection) is quoted as text.
        return "'" + value if value.startswith(_FORMULA_START) else value
    return str(value)


def write_csv(out: IO[str], columns: list[str], rows: Iterable[dict[str, Any]]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_value(row.get(column)) for column in columns])


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(out: IO[str], columns: list[str], rows: Iterable[dict[str, Any]]) -> None:
    out.write(json.dumps([{c: row.get(c) for c in columns} for row in rows], default=_json_default, indent=1) + "\n")
