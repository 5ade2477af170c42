"""The metrics runs as Celery tasks: thin wrappers around metrics.services.

compute_snapshots claims a day and queues one compute_chunk task per chunk of accounts, so more
workers on more machines finish a night sooner with no change here. The run's state is in the
database, not in the broker: each chunk marks its MetricsRunChunk row done, and whichever chunk
finds every chunk done queues compute_rollups_task (no chord: a chord counts redelivered chunks
twice and forgets re-queued ones). Every task is idempotent (a chunk done already stores
nothing; rollups of a finished run do nothing), hence acks_late and reject_on_worker_lost: a task
lost with its worker is delivered again, and recover_stalled_runs re-queues what the broker
does not give back in time. With no REDIS_URL the tasks run eagerly, in-process, in order.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from metrics import selectors, services
from metrics.models import RefreshRequest

logger = logging.getLogger(__name__)

# A night's work is stale by the next night: drop it rather than run it late.
EXPIRES_SECONDS = 20 * 3600
TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    # Only transient database trouble (a lost connection, a lock timeout) is worth retrying;
    # a bug in a family fails the chunk at once.
    "autoretry_for": (OperationalError,),
    "max_retries": 3,
    "retry_backoff": True,
    "expires": EXPIRES_SECONDS,
}


class RunTask(Task):
    """A task of one run (its first argument is the run id): failing for good, after its
    retries, fails the run with the error, for the progress panel and the admin."""

    def on_failure(self, exc: Exception, task_id: str, args: tuple, kwargs: dict, einfo: Any) -> None:
        services.run_fail(run_id=args[0], error=f"{type(exc).__name__}: {exc}")


@shared_task(bind=True, **TASK_OPTIONS)
def compute_snapshots(self: Task, as_of: str | None = None, chunk_size: int | None = None) -> list[str]:
    """Start the run of `as_of` (ISO date), or by default of every day of the last
    METRICS_BACKFILL_MAX_DAYS ending yesterday (the last whole UTC day) without a complete run,
    oldest first. Chunks of `chunk_size` accounts (default: settings.METRICS_CHUNK_SIZE). A day
    being computed already is left to its run (logged). Returns the days started."""
    if as_of:
        days = [date.fromisoformat(as_of)]
    else:
        days = selectors.days_to_fill(up_to=selectors.last_complete_day(), max_days=settings.METRICS_BACKFILL_MAX_DAYS)
    # The run's tasks go to the queue this one came from, so workers dedicated to a queue get
    # the whole run (and nothing is left on a queue no worker listens to).
    queue = (self.request.delivery_info or {}).get("routing_key") or ""
    started = []
    for day in days:
        try:
            services.run_request(as_of=day, chunk_size=chunk_size, queue=queue)
        except services.RunRefused as refused:
            logger.warning("Metrics run of %s not started: %s", day, refused)
            continue
        started.append(day.isoformat())
    return started


@shared_task(base=RunTask, **TASK_OPTIONS)
def compute_chunk(run_id: int, chunk_id: int) -> int | None:
    """The AccountSnapshot rows of one chunk of a run, in its own transaction; then the rollups
    are queued if this was the run's last chunk to finish."""
    stored = services.compute_run_chunk(chunk_id=chunk_id)
    services.run_queue_rollups_when_complete(run_id=run_id)
    return stored


@shared_task(base=RunTask, **TASK_OPTIONS)
def compute_rollups_task(run_id: int) -> bool:
    """Percentiles, segments, programs, channels and influence once every chunk is stored; then
    the day is published."""
    return services.run_rollups(run_id=run_id)


# Beat runs this every minute: a stale run found late is no worse, so drop a backlog of them.
@shared_task(expires=55)
def recover_stalled_runs() -> list[str]:
    """Re-queue the work of stalled runs, or fail them after METRICS_RUN_MAX_ATTEMPTS re-queues."""
    return [str(recovery) for recovery in services.recover_stalled_runs()]


@shared_task(**TASK_OPTIONS)
def refresh_after_import(since: str | None = None) -> list[str]:
    """Recompute the published days an import changed (metrics.selectors.days_to_refresh): fresh
    within minutes of new data instead of the next night. A day being computed is left to its run."""
    day = date.fromisoformat(since) if since else None
    started = []
    for as_of in selectors.days_to_refresh(since=day, max_days=settings.METRICS_BACKFILL_MAX_DAYS):
        try:
            services.run_request(as_of=as_of)
        except services.RunRefused as refused:
            logger.warning("Metrics refresh of %s not started: %s", as_of, refused)
            continue
        started.append(as_of.isoformat())
    return started


# A refresh that finds a day being computed waits for that run this long, this many times.
REFRESH_RETRY_SECONDS = 60
REFRESH_MAX_ATTEMPTS = 30


@shared_task(**TASK_OPTIONS)
def refresh_accounts_task(account_ids: list[int], since: str, attempt: int = 0) -> list[str]:
    """Recompute these accounts in the published days from `since` (ISO date) on, and those days'
    rollups (services.refresh_accounts): what new touches change, within minutes of their import.

    A day whose run is in progress may have computed some of these accounts before the touches
    arrived, so the refresh is queued again for after it (with workers; in-process, where nothing
    else runs at the same time, it is logged). Returns the days refreshed."""
    day = date.fromisoformat(since)
    result = services.refresh_accounts(account_ids=account_ids, since=day)
    if result.busy:
        if attempt < REFRESH_MAX_ATTEMPTS and not refresh_accounts_task.app.conf.task_always_eager:
            refresh_accounts_task.apply_async(
                (account_ids, result.busy[0].isoformat(), attempt + 1), countdown=REFRESH_RETRY_SECONDS
            )
        else:
            logger.warning("Metrics refresh of %s account(s) skipped %s: a run of the day is in progress",
                           len(account_ids), ", ".join(d.isoformat() for d in result.busy))
    return [d.isoformat() for d in result.refreshed]


def queue_refresh(sender: object, *, account_ids: frozenset[int], earliest_day: date, **kwargs: Any) -> None:
    """Receiver of accounts.signals.touchpoints_changed (connected in metrics.apps): record the
    request, and queue refresh_pending unless requests were already waiting (their task, queued
    or running, takes this one too). A burst of imports or API calls is one refresh of all their
    accounts, not one each; beat's refresh_stranded catches a request whose task was lost."""
    if selectors.latest_published_day() is None:
        return  # nothing published yet: the nightly run will compute the new touches
    waiting = RefreshRequest.objects.exists()
    RefreshRequest.objects.create(account_ids=sorted(account_ids), earliest_day=earliest_day)
    if not waiting or refresh_pending.app.conf.task_always_eager:
        # In-process (no broker, no beat) each request is handled at once, waiting ones too.
        refresh_pending.delay()


@shared_task(**TASK_OPTIONS)
def refresh_pending() -> list[str]:
    """Every waiting refresh request at once: the union of their accounts, from the earliest of
    their days (refresh_accounts_task). The requests are deleted once done, and requests that
    arrived meanwhile get a task of their own. Returns the days refreshed."""
    pending = list(RefreshRequest.objects.order_by("id").values_list("id", "account_ids", "earliest_day"))
    if not pending:
        return []
    account_ids = sorted({account_id for _, ids, _ in pending for account_id in ids})
    since = min(day for _, _, day in pending)
    done = refresh_accounts_task(account_ids, since.isoformat())
    RefreshRequest.objects.filter(id__lte=pending[-1][0]).delete()
    if RefreshRequest.objects.exists():
        refresh_pending.delay()
    return done


# A request older than this has lost its task (a broker outage, a race with a finishing task).
REFRESH_STRANDED_SECONDS = 120


@shared_task(expires=55)
def refresh_stranded() -> bool:
    """Beat, every minute: queue refresh_pending for requests waiting longer than they should."""
    cutoff = timezone.now() - timedelta(seconds=REFRESH_STRANDED_SECONDS)
    if not RefreshRequest.objects.filter(created_at__lt=cutoff).exists():
        return False
    refresh_pending.delay()
    return True
