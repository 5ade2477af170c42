"""Writes of the metrics app: compute a day's snapshots, chunk by chunk, then the rollups.

The same functions run from the management command (in-process), the Celery tasks (one chunk per
task) and the tests. Every write replaces the rows of its (things, day) inside one transaction,
so recomputing a day is idempotent and a failed chunk leaves everything else as it was.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, DecimalField, F, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account, Segment
from alerts.hooks import day_published
from metrics import selectors
from metrics.families import awareness, coverage, engagement, influence, people, reach, satisfaction
from metrics.families.common import FamilySQL, Params, literal, table, with_clause
from metrics.families.journey import STAGE_ORDER, STAGE_SQL
from metrics.models import (
    AccountSnapshot,
    AttributionCredit,
    ChannelSnapshot,
    InfluenceSummary,
    MetricSettings,
    MetricsRun,
    MetricsRunChunk,
    OpportunityFact,
    OutcomeComparison,
    OutcomeGroup,
    ProgramSnapshot,
    SegmentSnapshot,
)

if TYPE_CHECKING:
    from metrics.backfill import Backfill

ZERO = Decimal("0.00")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccountRange:
    """A chunk of accounts: every account whose id lies between `lo` and `hi` (`accounts` of them
    when the run started)."""

    lo: int
    hi: int
    accounts: int


def account_ranges(*, chunk_size: int | None = None) -> list[AccountRange]:
    """Every account, cut in id order into ranges of `chunk_size` (default: the setting) accounts.

    One query over the account primary key that returns only the ranges' bounds, not the ids.
    """
    size = chunk_size or settings.METRICS_CHUNK_SIZE
    sql = f"""
        SELECT MIN(id), MAX(id), COUNT(*)
        FROM (SELECT id, (ROW_NUMBER() OVER (ORDER BY id) - 1) / %s AS chunk FROM {table(Account)}) numbered
        GROUP BY chunk
        ORDER BY chunk
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [size])
        return [AccountRange(lo, hi, accounts) for lo, hi, accounts in cursor.fetchall()]


def _snapshot_upsert(*, as_of: date, account_ids: Sequence[int], cfg: MetricSettings) -> tuple[str, list[Any]]:
    """The chunk's one statement: INSERT INTO the snapshot table the families' figures of every
    account of the range, ON CONFLICT (account, day) replacing the row's every figure.

    Coverage gives a row per account; the other families' per-account SELECTs (metrics.families,
    one module each) are LEFT JOINed to it, an account without a row there taking the family's
    empty figures; the journey stage is the CASE of metrics.families.journey over the merged
    figures. engagement_percentile is 0 until the rollups rank the day. The families are looked
    up here, each time, so that a test can replace one.
    """
    families: list[FamilySQL] = [
        coverage.coverage_rows(as_of=as_of, account_ids=account_ids, cfg=cfg),
        awareness.awareness_rows(as_of=as_of, account_ids=account_ids, cfg=cfg),
        engagement.engagement_rows(as_of=as_of, account_ids=account_ids, cfg=cfg),
        reach.reach_rows(as_of=as_of, account_ids=account_ids, cfg=cfg),
        influence.influence_rows(as_of=as_of, account_ids=account_ids, cfg=cfg),
        satisfaction.satisfaction_rows(as_of=as_of, account_ids=account_ids, cfg=cfg),
    ]
    with_sql, with_params = with_clause([cte for family in families for cte in family.ctes])
    base, *others = families
    merged = [f"f0.{name}" for name in base.empty]
    joins = []
    for n, family in enumerate(others, start=1):
        merged += [f"COALESCE(f{n}.{name}, {literal(empty)}) AS {name}" for name, empty in family.empty.items()]
        joins.append(f"LEFT JOIN ({family.sql}) f{n} ON f{n}.account_id = f0.account_id")
    stored = {f.name for f in AccountSnapshot._meta.concrete_fields}
    figures = [name for family in families for name in family.empty if name in stored]
    quote = connection.ops.quote_name
    replaced = [quote(name) for name in (*figures, "engagement_percentile", "journey_stage")]
    p = Params()
    # WHERE TRUE: SQLite would read ON CONFLICT as the ON of a join.
    sql = f"""INSERT INTO {table(AccountSnapshot)} ({quote("account_id")}, {quote("as_of")}, {", ".join(replaced)})
        {with_sql}
        SELECT account_id, {p(as_of)}, {", ".join(figures)}, 0, {STAGE_SQL}
        FROM (
            SELECT f0.account_id, {", ".join(merged)}
            FROM ({base.sql}) f0
            {" ".join(joins)}
        ) merged
        WHERE TRUE
        ON CONFLICT (account_id, as_of) DO UPDATE SET {", ".join(f"{name} = EXCLUDED.{name}" for name in replaced)}
    """
    params = [*with_params, *p, *base.params, *(value for family in others for value in family.params)]
    return sql, params


# PostgreSQL's work_mem for a chunk's statements (its sorts and hashes of the chunk's touches).
CHUNK_WORK_MEM = "64MB"


def compute_account_chunk(*, as_of: date, account_ids: Sequence[int]) -> int:
    """Compute and store the AccountSnapshot rows of a chunk for `as_of`, and its people's
    ContactSnapshot rows: for a range (a run's chunk), every account whose id lies in it; for a
    list (a refresh), exactly those accounts (metrics.families.common.id_filter). Returns how
    many account rows.

    One INSERT … SELECT: the figures are computed and written in the database, and the statement
    either stores every row of the chunk or changes nothing. Recomputing replaces the rows.
    engagement_percentile needs every account and is filled in by compute_rollups.
    """
    cfg = MetricSettings.load()
    sql, params = _snapshot_upsert(as_of=as_of, account_ids=account_ids, cfg=cfg)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The statement's estimated cost passes jit_above_cost, and compiling its ~190
            # expressions took 150 ms of a 0.8 s chunk at 10,000 accounts: no gain for a
            # statement this short. At the default 4 MB work_mem the groupings of a chunk's
            # ~50,000 touches sort on disk.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(f"SET LOCAL work_mem = '{CHUNK_WORK_MEM}'")
        people.store_contact_snapshots(cursor=cursor, as_of=as_of, account_ids=account_ids, cfg=cfg)
        cursor.execute(sql, params)
        return cursor.rowcount


# --- Rollups -----------------------------------------------------------------------------------


def update_percentiles(*, as_of: date) -> None:
    """engagement_percentile = 100 × (target accounts whose minutes_90d ≤ this account's) /
    (target accounts), for every account of the day: a second pass, since ranks need every chunk.

    One UPDATE … FROM over a window function (PostgreSQL, and SQLite ≥ 3.33): the running count of
    target accounts in minutes_90d order, where RANGE … CURRENT ROW includes ties, so it counts
    "≤". Sorting reads the index acct_snap_day_minutes (as_of, minutes_90d). The ORM cannot put a
    window function in an UPDATE; a Python loop with bulk_update cost 0.1 s per 300 accounts.
    With no target accounts there is nothing to rank against: every percentile is 0. Only the rows
    whose percentile changes are written: after a refresh of a few accounts, few do.
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
        WHERE {snapshot_table}.id = ranked.snapshot_id AND {snapshot_table}.engagement_percentile <> ranked.percentile
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [as_of])


def _share(part: int, whole: int) -> float:
    """A share of a segment's accounts; 0 for an empty segment (nothing to be a share of)."""
    return part / whole if whole else 0.0


def _snapshot_figures() -> dict[str, Any]:
    """The aggregates one SegmentSnapshot needs over a set of the day's account snapshots, summed
    in the database so that memory does not grow with the number of accounts."""
    money = DecimalField(max_digits=18, decimal_places=2)
    figures: dict[str, Any] = {
        "accounts": Count("id"),
        "covered_accounts": Count("id", filter=Q(covered=True)),
        "accounts_without_decision_maker": Count("id", filter=Q(has_decision_maker=False)),
        "aware_accounts": Count("id", filter=Q(aware=True)),
        "engaged_accounts": Count("id", filter=Q(engaged=True)),
        "mqa_accounts": Count("id", filter=Q(mqa=True)),
        "programs_reached": Coalesce(Sum("programs_reached"), 0),
        "pipeline_created_90d": Coalesce(Sum("pipeline_created_90d"), Value(ZERO), output_field=money),
        "won_revenue_90d": Coalesce(Sum("won_revenue_90d"), Value(ZERO), output_field=money),
        "nps_responses": Coalesce(Sum("nps_responses"), 0),
        "nps_promoters": Coalesce(Sum("nps_promoters"), 0),
        "nps_detractors": Coalesce(Sum("nps_detractors"), 0),
    }
    # An account is counted at its own stage and at every stage before it (the funnel).
    for i in range(1, len(STAGE_ORDER)):
        figures[f"funnel_{STAGE_ORDER[i]}"] = Count("id", filter=Q(journey_stage__in=STAGE_ORDER[i:]))
    return figures


def _exact_mean(value_counts: list[tuple[float, int]], n: int) -> float:
    """statistics.fmean of the values, each repeated `count` times, from (value, count) pairs.

    fmean is the correctly rounded exact sum divided by n; the Fraction sum is exact and
    float(Fraction) correctly rounded, so this gives the same float without the values in memory.
    """
    return float(sum((Fraction(value) * count for value, count in value_counts), Fraction(0))) / n if n else 0.0


def _median_minutes(snapshots: QuerySet[AccountSnapshot], n: int) -> float:
    """statistics.median of minutes_90d over `snapshots` (n of them): the middle one or two rows
    in minutes order, read with OFFSET (index acct_snap_day_minutes)."""
    if not n:
        return 0.0
    middle = list(snapshots.order_by("minutes_90d").values_list("minutes_90d", flat=True)[(n - 1) // 2 : n // 2 + 1])
    return float(middle[0]) if n % 2 else float((middle[0] + middle[1]) / 2)


def _segment_row(figures: dict[str, Any], role_coverage: list[tuple[float, int]], median: float) -> dict[str, Any]:
    n = figures["accounts"]
    return {
        "accounts": n,
        "covered_accounts": figures["covered_accounts"],
        "covered_share": _share(figures["covered_accounts"], n),
        "mean_role_coverage": _exact_mean(role_coverage, n),
        "accounts_without_decision_maker": figures["accounts_without_decision_maker"],
        "aware_share": _share(figures["aware_accounts"], n),
        "engaged_share": _share(figures["engaged_accounts"], n),
        "mqa_share": _share(figures["mqa_accounts"], n),
        "median_minutes_90d": median,
        "funnel_aware": figures["funnel_aware"],
        "funnel_engaged": figures["funnel_engaged"],
        "funnel_mqa": figures["funnel_mqa"],
        "funnel_opportunity": figures["funnel_opportunity"],
        "funnel_customer": figures["funnel_customer"],
        "mean_programs_reached": figures["programs_reached"] / n if n else 0.0,
        "pipeline_created_90d": figures["pipeline_created_90d"],
        "won_revenue_90d": figures["won_revenue_90d"],
        "nps_responses": figures["nps_responses"],
        "nps": satisfaction.nps(figures["nps_promoters"], figures["nps_detractors"], figures["nps_responses"]),
    }


def compute_segments(*, as_of: date, cfg: MetricSettings) -> int:
    """SegmentSnapshot per segment and for all target accounts (segment None).

    Each segment's figures are aggregated in the database over its members' snapshots of the
    day (segments are few: a handful of grouped queries plus two small ones per segment), so
    memory stays the same whatever the number of accounts.
    """
    day = AccountSnapshot.objects.filter(as_of=as_of).order_by()
    scopes: dict[int | None, QuerySet[AccountSnapshot]] = {
        pk: day.filter(account__segments=pk) for pk in Segment.objects.order_by("id").values_list("id", flat=True)
    }
    scopes[None] = day.filter(account__is_target=True)
    # One grouped query for every segment (accounts in no segment form the group None, unused).
    by_segment = {
        row.pop("segment"): row for row in day.values(segment=F("account__segments")).annotate(**_snapshot_figures())
    }
    by_segment[None] = day.filter(account__is_target=True).aggregate(**_snapshot_figures())
    coverage: dict[int | None, list[tuple[float, int]]] = defaultdict(list)
    # role_coverage takes few distinct values (covered roles / required roles): count each.
    for segment_id, value, count in (
        day.values("account__segments", "role_coverage")
        .annotate(n=Count("id"))
        .values_list("account__segments", "role_coverage", "n")
    ):
        coverage[segment_id].append((value, count))
    coverage[None] = list(
        day.filter(account__is_target=True)
        .values("role_coverage")
        .annotate(n=Count("id"))
        .values_list("role_coverage", "n")
    )
    # A segment with no snapshotted members: every count 0 (the grouped query has no row for it).
    empty = {key: 0 for key in _snapshot_figures()} | {"pipeline_created_90d": ZERO, "won_revenue_90d": ZERO}
    sales = influence.segment_sales(as_of=as_of, cfg=cfg)
    rows = []
    for segment_id, scope in scopes.items():
        figures = by_segment.get(segment_id, empty)
        rows.append(
            SegmentSnapshot(
                segment_id=segment_id,
                as_of=as_of,
                **_segment_row(figures, coverage[segment_id], _median_minutes(scope, figures["accounts"])),
                **sales[segment_id],
            )
        )
    with transaction.atomic():
        SegmentSnapshot.objects.filter(as_of=as_of).delete()
        SegmentSnapshot.objects.bulk_create(rows)
    return len(rows)


def compute_programs(*, as_of: date, pairs_table: str | None = None) -> int:
    """ProgramSnapshot per program and ChannelSnapshot per channel with programs (`pairs_table`:
    a backfill's running (program, account) counts, reach._reach_counts)."""
    programs, channels = reach.program_and_channel_rows(as_of=as_of, pairs_table=pairs_table)
    with transaction.atomic():
        ProgramSnapshot.objects.filter(as_of=as_of).delete()
        ProgramSnapshot.objects.bulk_create([ProgramSnapshot(as_of=as_of, **row) for row in programs], batch_size=1000)
        ChannelSnapshot.objects.filter(as_of=as_of).delete()
        ChannelSnapshot.objects.bulk_create([ChannelSnapshot(as_of=as_of, **row) for row in channels])
    return len(programs)


def compute_influence(
    *, as_of: date, cfg: MetricSettings, memo: influence.InfluenceMemo | influence.StoredFacts | None = None
) -> None:
    """OutcomeGroup and OutcomeComparison rows, AttributionCredit rows and the InfluenceSummary of
    the day. `memo`: where the opportunities' own figures come from — a backfill's read on earlier
    days (InfluenceMemo), or the stored facts (StoredFacts: written by a run, reused by a refresh);
    None computes them all and keeps nothing."""
    groups, comparisons, outcomes = influence.outcome_groups(as_of=as_of, cfg=cfg, memo=memo)
    credits, uncredited = influence.attribution_credits(as_of=as_of, cfg=cfg, memo=memo)
    totals = influence.pipeline_totals(as_of=as_of, cfg=cfg)
    money = DecimalField(max_digits=18, decimal_places=2)
    influenced = AccountSnapshot.objects.filter(as_of=as_of).aggregate(
        pipeline=Coalesce(Sum("influenced_pipeline"), Value(ZERO), output_field=money),
        opportunities=Coalesce(Sum("influenced_opportunities"), 0),
    )
    with transaction.atomic():
        OutcomeGroup.objects.filter(as_of=as_of).delete()
        OutcomeGroup.objects.bulk_create([OutcomeGroup(as_of=as_of, **row) for row in groups])
        OutcomeComparison.objects.filter(as_of=as_of).delete()
        OutcomeComparison.objects.bulk_create([OutcomeComparison(as_of=as_of, **row) for row in comparisons])
        AttributionCredit.objects.filter(as_of=as_of).delete()
        AttributionCredit.objects.bulk_create([AttributionCredit(as_of=as_of, **row) for row in credits], batch_size=1000)
        InfluenceSummary.objects.update_or_create(
            as_of=as_of,
            defaults={
                **outcomes,
                **totals,
                "influenced_pipeline": influenced["pipeline"],
                "influenced_opportunities": influenced["opportunities"],
                "details": {"uncredited": uncredited},
            },
        )


# The columns a backfill's earlier days refresh the statistics of: those the rollups filter a day
# by. Every column's (the pages filter and sort by many) waits for its last day.
DAY_COLUMNS = ("as_of", "account_id")


def _refresh_planner_statistics(*, columns: Sequence[str] = ()) -> None:
    """The chunks just replaced a day's worth of snapshot rows. Without fresh statistics
    PostgreSQL misjudges how many rows a filter keeps until autovacuum gets round to it; at
    100,000 accounts a filtered account list went from 0.8 ms to 530 ms that way, and a backfill's
    new day, unknown to the statistics, made the planner probe the (as_of, minutes) index once per
    account (a day took 26 s instead of 6 s at 10,000 accounts). `columns`: only these."""
    if connection.vendor == "postgresql":
        listed = f" ({', '.join(connection.ops.quote_name(c) for c in columns)})" if columns else ""
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {AccountSnapshot._meta.db_table}{listed}")


def compute_rollups(
    *, as_of: date, analyze: bool = True, backfill: Backfill | None = None, refreshed: Sequence[int] | None = None
) -> None:
    """Everything that needs all accounts' snapshots of the day: percentiles, segments, programs,
    channels and influence. Run after every chunk of the day is stored. `analyze`: refresh the
    planner statistics first (a partial refresh, which rewrites a few rows, skips it).

    What each day keeps for the next: a run stores the opportunities' facts (influence.StoredFacts)
    and, for the latest day, the (program, account) reach pairs (reach.kept_pairs); a refresh of
    the `refreshed` accounts (whose facts it deleted) reuses the others'. `backfill`: the days
    before's reads to build on (metrics.backfill); its last day is computed and kept as a run's."""
    cfg = MetricSettings.load()
    if analyze:
        # A backfill's earlier days too, for the columns the day's rollups filter by.
        partial = backfill is not None and as_of != backfill.last
        _refresh_planner_statistics(columns=DAY_COLUMNS if partial else ())
    update_percentiles(as_of=as_of)
    compute_segments(as_of=as_of, cfg=cfg)
    # A backfill's last day is computed as a run's, so that it keeps what a refresh reuses.
    building_on = backfill is not None and as_of != backfill.last
    if building_on:
        pairs = backfill.pairs_up_to(as_of)
    else:
        pairs = reach.kept_pairs(as_of=as_of, refreshed=refreshed)
    compute_programs(as_of=as_of, pairs_table=pairs)
    memo = backfill.influence if building_on else influence.StoredFacts(cfg, reuse=refreshed is not None)
    compute_influence(as_of=as_of, cfg=cfg, memo=memo)


# --- Runs ---------------------------------------------------------------------------------------
#
# A run computes one day: chunks of accounts (any order, on any worker, each idempotent), then
# the rollups once every chunk is stored. Its MetricsRun row is the fill state: claimed under a
# lock so that a day has one run at a time, one MetricsRunChunk row per chunk marked done in the
# transaction that stores the chunk's snapshots (a redelivered chunk is done already and stores
# nothing), and DONE only after the rollups, which is when readers start to show the day.


class RunRefused(Exception):
    """A run of the day cannot start now; the message says why (for a page, a command or a log)."""


def run_start(*, as_of: date, chunk_size: int | None = None, queue: str = "") -> MetricsRun:
    """Claim `as_of` for a new run and lay out its chunks, in one transaction.

    The day's row is unique and locked while it is claimed, so of two starters the second waits,
    then finds the run in progress and is refused: one run per day at a time, enforced by the
    database. A done or failed day can be run again; the chunk rows of its last run go. While a
    done day is recomputed it is unpublished, since its chunks overwrite its snapshots in place.
    """
    ranges = account_ranges(chunk_size=chunk_size)
    now = timezone.now()
    with transaction.atomic():
        run, created = MetricsRun.objects.select_for_update().get_or_create(as_of=as_of)
        if run.active and not created:
            raise RunRefused(
                f"The metrics of {as_of} are already being computed ({run.chunks_done} of {run.chunks_total} "
                f"chunks done, started {run.started_at:%Y-%m-%d %H:%M} UTC). A stalled run is re-queued "
                "automatically."
            )
        run.chunks.all().delete()
        run.status = MetricsRun.Status.RUNNING
        run.chunks_total, run.chunks_done, run.requeues = len(ranges), 0, 0
        run.started_at = run.progressed_at = now
        run.finished_at = run.rollups_queued_at = None
        run.queue, run.error = queue, ""
        run.refreshed_at, run.refreshed_accounts = None, 0
        run.save()
        MetricsRunChunk.objects.bulk_create(
            [MetricsRunChunk(run=run, index=i, lo=r.lo, hi=r.hi, accounts=r.accounts) for i, r in enumerate(ranges)],
            batch_size=500,
        )
    return run


def run_dispatch(*, run: MetricsRun, chunk_ids: list[int], rollups: bool = False) -> None:
    """Queue these chunks of the run (or its rollups) on the run's queue. Call it after the
    transaction that recorded them has committed, so that a worker finds what it is sent.

    The tasks are imported here: they import this module (the styleguide's way round the cycle).
    """
    from metrics import tasks

    route = {"queue": run.queue} if run.queue else {}
    for chunk_id in chunk_ids:
        tasks.compute_chunk.apply_async((run.pk, chunk_id), **route)
    if rollups:
        tasks.compute_rollups_task.apply_async((run.pk,), **route)


def run_request(*, as_of: date, chunk_size: int | None = None, queue: str = "") -> MetricsRun:
    """Start a run of `as_of` on the workers: claim the day, then queue every chunk (or, with no
    accounts, the rollups). Raises RunRefused when the day is being computed already.

    With no broker (the embedded setup) the tasks run here, one after the other."""
    run = run_start(as_of=as_of, chunk_size=chunk_size, queue=queue)
    chunk_ids = list(run.chunks.order_by("index").values_list("pk", flat=True))
    try:
        run_dispatch(run=run, chunk_ids=chunk_ids, rollups=not chunk_ids and run_claim_rollups(run_id=run.pk))
    except Exception as exc:
        # The broker is unreachable, or the tasks run eagerly and one failed: eager mode raises
        # here instead of calling the task's on_failure. Recorded on the run, then re-raised.
        run_fail(run_id=run.pk, error=f"{type(exc).__name__}: {exc}")
        raise
    return run


def compute_run_chunk(*, chunk_id: int) -> int | None:
    """Store the AccountSnapshot rows of one chunk of a run and mark the chunk done, in one
    transaction; returns how many rows, or None when there was nothing to do: the chunk is done
    already (a redelivered or re-queued duplicate), or belongs to a run that was restarted or
    is no longer running.

    The chunk row is locked before the write and checked again under the lock, so of two copies
    of a chunk running at once the second waits for the first and then stores nothing: a chunk
    is written and counted once, and never rewritten after the rollups have read it.
    """
    open_chunk = MetricsRunChunk.objects.filter(pk=chunk_id, done_at=None, run__status=MetricsRun.Status.RUNNING)
    chunk = open_chunk.select_related("run").first()
    if chunk is None:
        return None
    with transaction.atomic():
        if open_chunk.select_for_update(of=("self",)).first() is None:
            return None
        stored = compute_account_chunk(as_of=chunk.run.as_of, account_ids=chunk.account_ids)
        now = timezone.now()
        MetricsRunChunk.objects.filter(pk=chunk_id).update(done_at=now)
        # Last, so that the run row is locked only for the end of the transaction.
        MetricsRun.objects.filter(pk=chunk.run_id).update(chunks_done=F("chunks_done") + 1, progressed_at=now)
    return stored


def run_claim_rollups(*, run_id: int) -> bool:
    """True for the one caller that finds every chunk of the running run done first: it queues
    the rollups. Checked after the chunk's commit, so the chunk that finishes last sees all the
    others done."""
    if MetricsRunChunk.objects.filter(run_id=run_id, done_at=None).exists():
        return False
    now = timezone.now()
    return bool(
        MetricsRun.objects.filter(pk=run_id, status=MetricsRun.Status.RUNNING, rollups_queued_at=None).update(
            rollups_queued_at=now, progressed_at=now
        )
    )


def run_queue_rollups_when_complete(*, run_id: int) -> None:
    """After a chunk: queue the run's rollups if every chunk is done and nobody queued them yet."""
    if run_claim_rollups(run_id=run_id):
        run_dispatch(run=MetricsRun.objects.get(pk=run_id), chunk_ids=[], rollups=True)


def run_rollups(*, run_id: int, backfill: Backfill | None = None) -> bool:
    """The rollups of a run whose chunks are all stored, then the run DONE: the day is published.
    Returns False (and does nothing) when the run is not running or misses a chunk.

    One transaction with the run row locked: a duplicate rollups task waits, then finds the run
    done; the stall detector passes a locked run by (it is working, not stalled); readers see
    the day's rollups and its DONE status at the same instant.
    """
    with transaction.atomic():
        run = MetricsRun.objects.select_for_update().filter(pk=run_id, status=MetricsRun.Status.RUNNING).first()
        if run is None or run.chunks.filter(done_at=None).exists():
            return False
        compute_rollups(as_of=run.as_of, backfill=backfill)
        run.status, run.finished_at = MetricsRun.Status.DONE, timezone.now()
        run.save(update_fields=["status", "finished_at"])
        day_published(as_of=run.as_of)  # after the commit: queue the day's alerts
    return True


def _settings_note() -> str:
    """Why a run may have failed when the settings are what broke it (set outside the admin,
    which validates them)."""
    try:
        MetricSettings.load().full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
        return f" The metric settings are invalid ({problems}); fix them in the admin."
    return ""


def run_fail(*, run_id: int, error: str) -> None:
    """Mark a run in progress failed with its reason (the first failure of a run wins)."""
    MetricsRun.objects.filter(pk=run_id, status__in=MetricsRun.ACTIVE).update(
        status=MetricsRun.Status.FAILED, finished_at=timezone.now(), error=(error + _settings_note())[:2000]
    )


def compute_day(
    *, as_of: date, chunk_size: int | None = None, progress: Callable[[int], None] | None = None,
    backfill: Backfill | None = None,
) -> MetricsRun:
    """Compute one day in this process: every chunk, then the rollups. `progress(n)` is told of
    each chunk done (n accounts). A failing chunk marks the run failed and re-raises; the chunks
    stored before it stay, and the day's earlier snapshots of the other accounts are untouched.
    Raises RunRefused when the day is being computed already (by the workers, say).
    `backfill`: one day of a backfill, oldest first (metrics.backfill.compute_days)."""
    run = run_start(as_of=as_of, chunk_size=chunk_size)
    try:
        for chunk_id in run.chunks.order_by("index").values_list("pk", flat=True):
            stored = compute_run_chunk(chunk_id=chunk_id)
            if progress:
                progress(stored or 0)
        run_rollups(run_id=run.pk, backfill=backfill)
    except Exception as exc:
        # Recorded for the progress UI, then re-raised: this is not where the error is handled.
        run_fail(run_id=run.pk, error=f"{type(exc).__name__}: {exc}")
        raise
    run.refresh_from_db()
    return run


# --- Partial refresh after new touches ------------------------------------------------------------
#
# An import or an API ingest that writes touchpoints sends accounts.signals.touchpoints_changed
# with the accounts it touched and the earliest day of those touches; metrics.tasks queues
# refresh_accounts_task, which recomputes, for each published day from that day on, only those
# accounts' snapshots (through compute_account_chunk, so every per-account table of the chunk is
# refreshed), then the day's rollups. Each day is one transaction with its run row locked: readers
# see the old figures or the new ones, never a mix, and the day stays published throughout. The
# run row records when (refreshed_at) and for how many accounts; a full run of the day resets it.


# A partial refresh passes the touched accounts' ids as lists of at most this many (each list one
# statement per table, probing the account-leading indexes at those ids only; families.common.id_filter).
REFRESH_BATCH = 500


def refresh_day_accounts(*, as_of: date, account_ids: Sequence[int]) -> bool:
    """Recompute these accounts' snapshots of the published day `as_of`, then its rollups, in one
    transaction; record the refresh on the day's run. False (nothing done) when the day is not
    published: not computed, failed, or being computed by a run right now."""
    ids = sorted(set(account_ids))
    batches = [ids[i:i + REFRESH_BATCH] for i in range(0, len(ids), REFRESH_BATCH)]
    with transaction.atomic():
        # Locked: a full run of the day (run_start) waits for the refresh, and vice versa.
        run = MetricsRun.objects.select_for_update().filter(as_of=as_of, status=MetricsRun.Status.DONE).first()
        if run is None:
            return False
        for batch in batches:
            compute_account_chunk(as_of=as_of, account_ids=batch)
            # Their touches changed: their opportunities' minutes and credits are computed again.
            OpportunityFact.objects.filter(account_id__in=batch).delete()
        compute_rollups(as_of=as_of, analyze=False, refreshed=ids)
        run.refreshed_at, run.refreshed_accounts = timezone.now(), len(set(account_ids))
        run.save(update_fields=["refreshed_at", "refreshed_accounts"])
    return True


@dataclass(frozen=True)
class Refresh:
    """What refresh_accounts did: the days refreshed, and those it could not because a run of the
    day was in progress (refresh them again once it is done: its early chunks may predate the
    new touches)."""

    refreshed: list[date]
    busy: list[date]


def refresh_accounts(*, account_ids: Sequence[int], since: date) -> Refresh:
    """Recompute `account_ids` for every published day their new touches change — the days from
    `since` (the earliest touch's day) on, among the latest METRICS_BACKFILL_MAX_DAYS published
    days (metrics.selectors.days_to_refresh) — oldest first, each with its rollups."""
    refreshed, busy = [], []
    if account_ids:
        for day in selectors.days_to_refresh(since=since, max_days=settings.METRICS_BACKFILL_MAX_DAYS):
            (refreshed if refresh_day_accounts(as_of=day, account_ids=account_ids) else busy).append(day)
    busy += selectors.active_days(since=since)
    return Refresh(refreshed, sorted(set(busy)))


# --- Stalled runs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recovery:
    """What the stall detector did to one run."""

    as_of: date
    requeued_chunks: int = 0
    requeued_rollups: bool = False
    failed: bool = False
    reason: str = ""

    def __str__(self) -> str:
        if self.failed:
            return f"{self.as_of}: failed. {self.reason}"
        return f"{self.as_of}: re-queued " + ("its rollups" if self.requeued_rollups else f"{self.requeued_chunks} chunk(s)")


def recover_stalled_runs(*, stall_after: timedelta | None = None, max_attempts: int | None = None) -> list[Recovery]:
    """Re-queue the missing work of the runs that stopped progressing; after `max_attempts`
    re-queues (METRICS_RUN_MAX_ATTEMPTS) mark such a run failed, with the reason.

    Runs are stalled when none of the runs in progress has progressed (a chunk finished, the
    rollups were queued, a re-queue) for `stall_after` (METRICS_RUN_STALL_MINUTES) and none is
    computing its rollups (which hold its row locked). Measured over all runs, not per run: the
    days of a nightly backfill share the queue, so a later day waits behind the earlier ones
    without being stalled. A stalled run gets its chunks that are not done queued again; with
    every chunk done, its rollups. A copy of a chunk that turns up later (a lost message
    redelivered after the broker's visibility timeout) finds it done and stores nothing.
    """
    stall_after = timedelta(minutes=settings.METRICS_RUN_STALL_MINUTES) if stall_after is None else stall_after
    max_attempts = settings.METRICS_RUN_MAX_ATTEMPTS if max_attempts is None else max_attempts
    now = timezone.now()
    in_progress = MetricsRun.objects.filter(status__in=MetricsRun.ACTIVE)
    last_progress = in_progress.aggregate(last=Max("progressed_at"))["last"]
    if not in_progress.exists() or (last_progress is not None and last_progress > now - stall_after):
        return []
    recoveries: list[Recovery] = []
    work: list[tuple[MetricsRun, list[int]]] = []
    with transaction.atomic():
        runs = list(in_progress.select_for_update(skip_locked=True).order_by("as_of"))
        if len(runs) < in_progress.count():
            return []  # a run's rollups are being computed: the workers are busy, not stalled
        for run in runs:
            missing = list(run.chunks.filter(done_at=None).order_by("index").values_list("pk", flat=True))
            idle = now - (run.progressed_at or run.started_at or now)
            if run.requeues >= max_attempts:
                stuck = (
                    f"{len(missing)} of {run.chunks_total} chunks never finished" if missing
                    else "its rollups never finished"
                )
                reason = (
                    f"Stalled: no progress for {idle.total_seconds() / 60:.0f} minutes after {run.requeues} "
                    f"re-queue(s); {stuck}. The nightly run computes the day again; see the worker log."
                )
                run.status, run.finished_at, run.error = MetricsRun.Status.FAILED, now, reason
                run.save(update_fields=["status", "finished_at", "error"])
                recoveries.append(Recovery(run.as_of, failed=True, reason=reason))
                continue
            run.requeues += 1
            run.progressed_at = now
            if not missing:
                run.rollups_queued_at = now
            run.save(update_fields=["requeues", "progressed_at", "rollups_queued_at"])
            work.append((run, missing))
            recoveries.append(Recovery(run.as_of, requeued_chunks=len(missing), requeued_rollups=not missing))
    for run, missing in work:
        logger.warning("Metrics run %s stalled: re-queueing %s (attempt %s of %s)", run.as_of,
                       f"{len(missing)} chunk(s)" if missing else "its rollups", run.requeues, max_attempts)
        run_dispatch(run=run, chunk_ids=missing, rollups=not missing)
    return recoveries


def iter_days(*, as_of: date, days: int) -> Iterator[date]:
    """The `days` dates ending with as_of, oldest first (a backfill)."""
    return (date.fromordinal(as_of.toordinal() - offset) for offset in range(days - 1, -1, -1))
