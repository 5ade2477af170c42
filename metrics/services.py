"""Writes of the metrics app: compute a day's snapshots, chunk by chunk, then the rollups.

The same functions run from the management command (in-process), the Celery tasks (one chunk per
task) and the tests. Every write replaces the rows of its (things, day) inside one transaction,
so recomputing a day is idempotent and a failed chunk leaves everything else as it was.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Account, Segment
from metrics.families import awareness, coverage, engagement, influence, reach, satisfaction
from metrics.families.common import program_success_kinds
from metrics.families.journey import STAGE_ORDER, journey_stage
from metrics.models import (
    AccountSnapshot,
    AttributionCredit,
    ChannelSnapshot,
    InfluenceSummary,
    MetricSettings,
    MetricsRun,
    OutcomeGroup,
    ProgramSnapshot,
    SegmentSnapshot,
)

# The merged per-account row holds these helper keys; they feed the journey stage, not a column.
_NOT_STORED = ("has_open_opportunity", "is_customer")


def account_chunks(*, chunk_size: int | None = None) -> list[list[int]]:
    """Every account id, in id order, cut into chunks of `chunk_size` (default: the setting)."""
    size = chunk_size or settings.METRICS_CHUNK_SIZE
    ids = list(Account.objects.order_by("id").values_list("id", flat=True))
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def account_rows(*, as_of: date, account_ids: list[int], cfg: MetricSettings) -> dict[int, dict[str, Any]]:
    """Every per-account figure of the families for the chunk, merged; one row per existing account.

    A bounded number of queries whatever the chunk holds: one or a few per family.
    """
    base = coverage.coverage_rows(as_of=as_of, account_ids=account_ids, cfg=cfg)
    families = (
        (awareness.EMPTY, awareness.awareness_rows(as_of=as_of, account_ids=account_ids, cfg=cfg)),
        (engagement.EMPTY, engagement.engagement_rows(as_of=as_of, account_ids=account_ids, cfg=cfg)),
        (
            reach.EMPTY,
            reach.reach_rows(as_of=as_of, account_ids=account_ids, cfg=cfg, success_kinds=program_success_kinds()),
        ),
        (influence.EMPTY, influence.influence_rows(as_of=as_of, account_ids=account_ids, cfg=cfg)),
        (satisfaction.EMPTY, satisfaction.satisfaction_rows(as_of=as_of, account_ids=account_ids, cfg=cfg)),
    )
    for account_id, row in base.items():
        for empty, rows in families:
            # Copy the defaults: the dict/JSON values of EMPTY must not be shared between accounts.
            row.update({key: (dict(value) if isinstance(value, dict) else value) for key, value in empty.items()})
            row.update(rows.get(account_id, {}))
        row["journey_stage"] = journey_stage(row)
        for key in _NOT_STORED:
            del row[key]
    return base


def compute_account_chunk(*, as_of: date, account_ids: list[int]) -> int:
    """Compute and store the AccountSnapshot rows of these accounts for `as_of`; returns how many.

    One transaction: the chunk's old rows for the day go and the new ones come, or nothing changes.
    engagement_percentile needs every account and is filled in by compute_rollups.
    """
    cfg = MetricSettings.load()
    rows = account_rows(as_of=as_of, account_ids=account_ids, cfg=cfg)
    snapshots = [AccountSnapshot(account_id=pk, as_of=as_of, **row) for pk, row in rows.items()]
    with transaction.atomic():
        AccountSnapshot.objects.filter(as_of=as_of, account_id__in=account_ids).delete()
        AccountSnapshot.objects.bulk_create(snapshots, batch_size=1000)
    return len(snapshots)


# --- Rollups -----------------------------------------------------------------------------------


def update_percentiles(*, as_of: date) -> None:
    """engagement_percentile = 100 × (target accounts whose minutes_90d ≤ this account's) /
    (target accounts), for every account of the day: a second pass, since ranks need every chunk.

    One UPDATE … FROM over a window function (PostgreSQL, and SQLite ≥ 3.33): the running count of
    target accounts in minutes_90d order, where RANGE … CURRENT ROW includes ties, so it counts
    "≤". Sorting reads the index acct_snap_day_minutes (as_of, minutes_90d). The ORM cannot put a
    window function in an UPDATE; a Python loop with bulk_update cost 0.1 s per 300 accounts.
    With no target accounts there is nothing to rank against: every percentile is 0.
    """
    snapshot_table = connection.ops.quote_name(AccountSnapshot._meta.db_table)
    account_table = connection.ops.quote_name(Account._meta.db_table)
    sql = f"""
        UPDATE {snapshot_table} SET engagement_percentile = ranked.percentile
        FROM (
            SELECT s.id AS snapshot_id,
                   COALESCE(
                       100.0 * SUM(CASE WHEN a.is_target THEN 1 ELSE 0 END) OVER (
                           ORDER BY s.minutes_90d RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                       ) / NULLIF(SUM(CASE WHEN a.is_target THEN 1 ELSE 0 END) OVER (), 0),
                       0
                   ) AS percentile
            FROM {snapshot_table} s JOIN {account_table} a ON a.id = s.account_id
            WHERE s.as_of = %s
        ) ranked
        WHERE {snapshot_table}.id = ranked.snapshot_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [as_of])


def _share(part: int, whole: int) -> float:
    """A share of a segment's accounts; 0 for an empty segment (nothing to be a share of)."""
    return part / whole if whole else 0.0


def _segment_row(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(snapshots)
    stage_index = {stage: i for i, stage in enumerate(STAGE_ORDER)}
    at_or_past = defaultdict(int)
    for s in snapshots:
        for i in range(1, stage_index[s["journey_stage"]] + 1):
            at_or_past[STAGE_ORDER[i]] += 1
    responses = sum(s["nps_responses"] for s in snapshots)
    promoters = sum(s["nps_promoters"] for s in snapshots)
    detractors = sum(s["nps_detractors"] for s in snapshots)
    covered = sum(1 for s in snapshots if s["covered"])
    return {
        "accounts": n,
        "covered_accounts": covered,
        "covered_share": _share(covered, n),
        "mean_role_coverage": statistics.fmean(s["role_coverage"] for s in snapshots) if n else 0.0,
        "accounts_without_decision_maker": sum(1 for s in snapshots if not s["has_decision_maker"]),
        "aware_share": _share(sum(1 for s in snapshots if s["aware"]), n),
        "engaged_share": _share(sum(1 for s in snapshots if s["engaged"]), n),
        "mqa_share": _share(sum(1 for s in snapshots if s["mqa"]), n),
        "median_minutes_90d": float(statistics.median(s["minutes_90d"] for s in snapshots)) if n else 0.0,
        "funnel_aware": at_or_past["aware"],
        "funnel_engaged": at_or_past["engaged"],
        "funnel_mqa": at_or_past["mqa"],
        "funnel_opportunity": at_or_past["opportunity"],
        "funnel_customer": at_or_past["customer"],
        "mean_programs_reached": statistics.fmean(s["programs_reached"] for s in snapshots) if n else 0.0,
        "pipeline_created_90d": sum((s["pipeline_created_90d"] for s in snapshots), Decimal("0.00")),
        "won_revenue_90d": sum((s["won_revenue_90d"] for s in snapshots), Decimal("0.00")),
        "nps_responses": responses,
        "nps": satisfaction.nps(promoters, detractors, responses),
    }


_SEGMENT_INPUTS = (
    "account_id", "covered", "role_coverage", "has_decision_maker", "aware", "engaged", "mqa", "minutes_90d",
    "journey_stage", "programs_reached", "pipeline_created_90d", "won_revenue_90d", "nps_responses",
    "nps_promoters", "nps_detractors",
)


def compute_segments(*, as_of: date, cfg: MetricSettings) -> int:
    """SegmentSnapshot per segment and for all target accounts (segment None).

    Reads the day's account snapshots once (one row per account) and the memberships once.
    """
    snapshots = {s["account_id"]: s for s in AccountSnapshot.objects.filter(as_of=as_of).values(*_SEGMENT_INPUTS)}
    members: dict[int | None, list[int]] = {pk: [] for pk in Segment.objects.values_list("id", flat=True)}
    for segment_id, account_id in Segment.accounts.through.objects.values_list("segment_id", "account_id"):
        members[segment_id].append(account_id)
    members[None] = list(Account.objects.filter(is_target=True).values_list("id", flat=True))
    sales = influence.segment_sales(as_of=as_of, cfg=cfg)
    rows = [
        SegmentSnapshot(
            segment_id=segment_id,
            as_of=as_of,
            **_segment_row([snapshots[pk] for pk in account_ids if pk in snapshots]),
            **sales[segment_id],
        )
        for segment_id, account_ids in members.items()
    ]
    with transaction.atomic():
        SegmentSnapshot.objects.filter(as_of=as_of).delete()
        SegmentSnapshot.objects.bulk_create(rows)
    return len(rows)


def compute_programs(*, as_of: date) -> int:
    """ProgramSnapshot per program and ChannelSnapshot per channel with programs."""
    programs, channels = reach.program_and_channel_rows(as_of=as_of)
    with transaction.atomic():
        ProgramSnapshot.objects.filter(as_of=as_of).delete()
        ProgramSnapshot.objects.bulk_create([ProgramSnapshot(as_of=as_of, **row) for row in programs], batch_size=1000)
        ChannelSnapshot.objects.filter(as_of=as_of).delete()
        ChannelSnapshot.objects.bulk_create([ChannelSnapshot(as_of=as_of, **row) for row in channels])
    return len(programs)


def compute_influence(*, as_of: date, cfg: MetricSettings) -> None:
    """OutcomeGroup rows, AttributionCredit rows and the InfluenceSummary of the day."""
    groups, headline = influence.outcome_groups(as_of=as_of, cfg=cfg)
    credits, uncredited = influence.attribution_credits(as_of=as_of, cfg=cfg)
    influenced = AccountSnapshot.objects.filter(as_of=as_of).values_list(
        "influenced_pipeline", "influenced_opportunities"
    )
    influenced_pipeline = sum((amount for amount, _ in influenced), Decimal("0.00"))
    influenced_opportunities = sum(n for _, n in influenced)
    with transaction.atomic():
        OutcomeGroup.objects.filter(as_of=as_of).delete()
        OutcomeGroup.objects.bulk_create([OutcomeGroup(as_of=as_of, **row) for row in groups])
        AttributionCredit.objects.filter(as_of=as_of).delete()
        AttributionCredit.objects.bulk_create([AttributionCredit(as_of=as_of, **row) for row in credits], batch_size=1000)
        InfluenceSummary.objects.update_or_create(
            as_of=as_of,
            defaults={
                "headline": headline["headline"],
                "headline_opportunities": headline["headline_opportunities"],
                "influenced_pipeline": influenced_pipeline,
                "influenced_opportunities": influenced_opportunities,
                "details": {"closed_opportunities": headline["closed_opportunities"], "uncredited": uncredited},
            },
        )


def compute_rollups(*, as_of: date) -> None:
    """Everything that needs all accounts' snapshots of the day: percentiles, segments, programs,
    channels and influence. Run after every chunk of the day is stored."""
    cfg = MetricSettings.load()
    update_percentiles(as_of=as_of)
    compute_segments(as_of=as_of, cfg=cfg)
    compute_programs(as_of=as_of)
    compute_influence(as_of=as_of, cfg=cfg)


# --- Run state -----------------------------------------------------------------------------------


def run_start(*, as_of: date, chunks_total: int) -> MetricsRun:
    run, _ = MetricsRun.objects.update_or_create(
        as_of=as_of,
        defaults={
            "status": MetricsRun.Status.RUNNING,
            "chunks_total": chunks_total,
            "chunks_done": 0,
            "started_at": timezone.now(),
            "finished_at": None,
            "error": "",
        },
    )
    return run


def run_chunk_done(*, as_of: date) -> None:
    # F() so that chunks finishing at once on several workers all count.
    MetricsRun.objects.filter(as_of=as_of).update(chunks_done=F("chunks_done") + 1)


def run_finish(*, as_of: date) -> None:
    MetricsRun.objects.filter(as_of=as_of).update(status=MetricsRun.Status.DONE, finished_at=timezone.now())


def run_fail(*, as_of: date, error: str) -> None:
    MetricsRun.objects.filter(as_of=as_of).update(
        status=MetricsRun.Status.FAILED, finished_at=timezone.now(), error=error[:2000]
    )


def compute_day(
    *, as_of: date, chunk_size: int | None = None, progress: Callable[[int], None] | None = None
) -> MetricsRun:
    """Compute one day in this process: every chunk, then the rollups. `progress(n)` is told of
    each chunk done (n accounts). A failing chunk marks the run failed and re-raises; the chunks
    stored before it stay, and the day's earlier snapshots of the other accounts are untouched."""
    chunks = account_chunks(chunk_size=chunk_size)
    run_start(as_of=as_of, chunks_total=len(chunks))
    try:
        for account_ids in chunks:
            compute_account_chunk(as_of=as_of, account_ids=account_ids)
            run_chunk_done(as_of=as_of)
            if progress:
                progress(len(account_ids))
        compute_rollups(as_of=as_of)
    except Exception as exc:
        # Recorded for the progress UI, then re-raised: this is not where the error is handled.
        run_fail(as_of=as_of, error=f"{type(exc).__name__}: {exc}")
        raise
    run_finish(as_of=as_of)
    return MetricsRun.objects.get(as_of=as_of)


def iter_days(*, as_of: date, days: int) -> Iterator[date]:
    """The `days` dates ending with as_of, oldest first (a backfill)."""
    return (date.fromordinal(as_of.toordinal() - offset) for offset in range(days - 1, -1, -1))
