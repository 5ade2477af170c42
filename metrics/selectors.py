"""Reads of the metrics app: which days are published, and the runs behind them.

A day is published when its MetricsRun is DONE: every chunk and the rollups are stored. The
run row is the gate, not the newest snapshot date, because a running or failed run has already
written some of the day's account snapshots (with percentiles of 0, and no rollups). Pages, the
API and the exports all ask here, so the rule lives in one place (Zulip's analytics FillState
plays the same part).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, F, Max, Min, Q, QuerySet, Value, When
from django.utils import timezone

from metrics.models import MetricsRun

DONE = MetricsRun.Status.DONE


def last_complete_day() -> dt.date:
    """Yesterday, UTC: the last day whose windows have closed. A run never computes today."""
    return timezone.now().date() - dt.timedelta(days=1)


def published_days() -> QuerySet:
    """The published days, as a subquery: `.filter(as_of__in=published_days())`.

    MetricsRun holds one small row per day, so this stays cheap next to the snapshot tables.
    """
    return MetricsRun.objects.filter(status=DONE).values("as_of")


def is_published(day: dt.date) -> bool:
    return MetricsRun.objects.filter(as_of=day, status=DONE).exists()


@dataclass(frozen=True)
class PublishedRange:
    """The first and latest published days, and the latest on or before a requested day."""

    first: dt.date | None
    latest: dt.date | None
    on_or_before: dt.date | None


def published_range(*, on_or_before: dt.date | None = None) -> PublishedRange:
    """One query over the runs (one row per day)."""
    done = Q(status=DONE)
    aggregates = {"first": Min("as_of", filter=done), "latest": Max("as_of", filter=done)}
    if on_or_before is not None:
        aggregates["on_or_before"] = Max("as_of", filter=done & Q(as_of__lte=on_or_before))
    agg = MetricsRun.objects.aggregate(**aggregates)
    return PublishedRange(agg["first"], agg["latest"], agg.get("on_or_before", agg["latest"]))


def latest_published_day() -> dt.date | None:
    return MetricsRun.objects.filter(status=DONE).aggregate(d=Max("as_of"))["d"]


def computing_run() -> MetricsRun | None:
    """The run in progress with the newest day, if any (what "computing n of m" shows)."""
    return MetricsRun.objects.filter(status__in=MetricsRun.ACTIVE).order_by("-as_of").first()


def active_run(day: dt.date) -> MetricsRun | None:
    """The run of `day` in progress, if any."""
    return MetricsRun.objects.filter(as_of=day, status__in=MetricsRun.ACTIVE).first()


def latest_run() -> MetricsRun | None:
    """The run the progress panel shows: one in progress first, else the one started last."""
    in_progress = Case(When(status__in=MetricsRun.ACTIVE, then=Value(0)), default=Value(1))
    # Days published by the upgrade (metrics.0007) have no start time: they sort last.
    return MetricsRun.objects.order_by(in_progress, F("started_at").desc(nulls_last=True), "-as_of").first()


def days_to_fill(*, up_to: dt.date, max_days: int) -> list[dt.date]:
    """The days of the `max_days` ending `up_to` that have no complete run and none in progress,
    oldest first: what the nightly run computes (a failed or missed night is caught up). A day
    computed before it was over (`compute_metrics --as-of` today) counts as not complete."""
    first = up_to - dt.timedelta(days=max_days - 1)
    taken = {
        day
        for day, status, started in MetricsRun.objects.filter(as_of__range=(first, up_to))
        .exclude(status=MetricsRun.Status.FAILED)
        .values_list("as_of", "status", "started_at")
        if status != DONE or started is None or started.date() > day
    }
    return [first + dt.timedelta(days=n) for n in range(max_days) if first + dt.timedelta(days=n) not in taken]


def days_to_refresh(*, since: dt.date | None, max_days: int) -> list[dt.date]:
    """The published days an import of facts dated from `since` changes, oldest first: those of the
    latest `max_days` published days on or after it (`since` None: facts with no date of their own,
    such as contacts or target flags — the latest day). Older history stays as it was computed until
    `compute_metrics --days N` recomputes it (docs/metrics.md)."""
    recent = list(published_days().order_by("-as_of").values_list("as_of", flat=True)[:max_days])
    if not recent:
        return []
    if since is None:
        return [recent[0]]
    return sorted(day for day in recent if day >= since)


def active_days(*, since: dt.date) -> list[dt.date]:
    """The days from `since` on whose run is in progress, oldest first."""
    return list(
        MetricsRun.objects.filter(as_of__gte=since, status__in=MetricsRun.ACTIVE).order_by("as_of").values_list("as_of", flat=True)
    )


@dataclass(frozen=True)
class Freshness:
    """How fresh a published day's figures are: when its full run finished, and when (and for how
    many accounts) new touches were last folded in since."""

    computed_at: dt.datetime | None
    refreshed_at: dt.datetime | None = None
    refreshed_accounts: int = 0

    @property
    def updated_at(self) -> dt.datetime | None:
        """The last time the day's figures changed."""
        return self.refreshed_at or self.computed_at


def day_freshness(day: dt.date | None) -> Freshness | None:
    """The freshness of a published day (None when it is not published)."""
    if day is None:
        return None
    row = (
        MetricsRun.objects.filter(as_of=day, status=DONE)
        .values_list("finished_at", "refreshed_at", "refreshed_accounts")
        .first()
    )
    return Freshness(*row) if row else None


def unpublished_reason(day: dt.date) -> str:
    """Why `day` is not published, in a sentence for a command's error or an API reader."""
    run = MetricsRun.objects.filter(as_of=day).first()
    if run is None:
        return f"No metrics run has computed {day}."
    if run.active:
        return f"The metrics of {day} are being computed ({run.chunks_done} of {run.chunks_total} chunks done)."
    if run.status == MetricsRun.Status.FAILED:
        return f"The metrics run of {day} failed: {run.error or 'see the worker log'}"
    return f"{day} is published."

