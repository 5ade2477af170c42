"""A backfill: many days computed oldest first, each built on what the day before read.

`compute_metrics --days N` computes N days. Each day is still its own run (its chunks, then its
rollups, then published), so a backfill stopped halfway leaves its finished days complete, and
every day's figures are exactly those its own nightly run gives (tests/metrics/test_backfill.py
compares every table). What a day shares with the day before it:

- Program and channel reach count all of a program's touches up to D. The backfill keeps the
  per-(program, account) counts in a temporary table and adds each day's touches to the day
  before's, so a day reads one day of touches instead of the whole history.
- Influence: each opportunity's pre-creation minutes and attribution credit depend only on the
  opportunity and on touches before it (families.influence.InfluenceMemo), so each opportunity is
  read and attributed once, when its date enters the window, not on every day after.
- Planner statistics: each day refreshes those of the columns its rollups filter a day by; the
  last day, every column's (metrics.services.compute_rollups).

The per-account figures are recomputed each day from the touchpoints: a day's windows are sums
over (account, contact, kind, program) groups whose touches almost never share a day (1.04
touches per group-day in the benchmark's data), so per-day aggregates would save nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.db import connection

from metrics.families.common import Params, day_start
from metrics.families.influence import InfluenceMemo
from metrics.families.reach import pair_counts_sql
from metrics.models import MetricsRun
from metrics.services import compute_day, iter_days

PAIRS_TABLE = "metrics_backfill_pairs"


class Backfill:
    """The reads a backfill's days share. Use as a context manager: the temporary table goes
    at the end. Days must come oldest first; an earlier day than the last starts the counts
    again."""

    def __init__(self, *, last: date) -> None:
        self.last = last  # computed as a run's day (metrics.services.compute_rollups)
        self.influence = InfluenceMemo()
        self._pairs_through: datetime | None = None

    def __enter__(self) -> Backfill:
        return self

    def __exit__(self, *exc: object) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {PAIRS_TABLE}")

    def pairs_up_to(self, as_of: date) -> str:
        """The temporary table of (program, account, touches, successes) over the program touches
        on or before `as_of`, brought up to that day: the first day counts every touch up to it,
        each later day adds the touches of the days since."""
        end = day_start(as_of + timedelta(days=1))
        with connection.cursor() as cursor:
            if self._pairs_through is None or end < self._pairs_through:
                cursor.execute(f"DROP TABLE IF EXISTS {PAIRS_TABLE}")
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {PAIRS_TABLE} (program_id BIGINT NOT NULL, account_id BIGINT NOT NULL, "
                    "touches BIGINT NOT NULL, successes BIGINT NOT NULL, PRIMARY KEY (program_id, account_id))"
                )
                start = None
            elif end == self._pairs_through:
                return PAIRS_TABLE
            else:
                start = self._pairs_through
            p = Params()
            # WHERE TRUE: SQLite would read ON CONFLICT as the ON of a join.
            cursor.execute(
                f"INSERT INTO {PAIRS_TABLE} (program_id, account_id, touches, successes) "
                f"SELECT program_id, account_id, touches, successes FROM ({pair_counts_sql(start=start, end=end, p=p)}) g "
                f"WHERE TRUE ON CONFLICT (program_id, account_id) DO UPDATE SET "
                f"touches = {PAIRS_TABLE}.touches + excluded.touches, "
                f"successes = {PAIRS_TABLE}.successes + excluded.successes",
                p,
            )
        self._pairs_through = end
        return PAIRS_TABLE


def compute_days(
    *, as_of: date, days: int, chunk_size: int | None = None, progress: Callable[[int], None] | None = None,
    on_day: Callable[[date], None] | None = None,
) -> list[MetricsRun]:
    """Compute the `days` days ending with `as_of`, oldest first, each published when done
    (metrics.services.compute_day). Raises RunRefused for a day being computed already; the days
    before it stay done."""
    if days == 1:  # nothing to build on: the day as the nightly run computes it
        if on_day:
            on_day(as_of)
        return [compute_day(as_of=as_of, chunk_size=chunk_size, progress=progress)]
    runs = []
    with Backfill(last=as_of) as backfill:
        for day in iter_days(as_of=as_of, days=days):
            if on_day:
                on_day(day)
            runs.append(compute_day(as_of=day, chunk_size=chunk_size, progress=progress, backfill=backfill))
    return runs
