"""The nightly metrics run as Celery tasks: thin wrappers around metrics.services.

compute_snapshots fans the accounts out in chunks (a chord: a group of compute_chunk tasks whose
callback is compute_rollups_task), so more workers on more machines finish a night sooner with
no change here. Every task rewrites whole (things, day) sets in one transaction, so running one
twice is harmless: hence acks_late (a task lost with its worker is redelivered) and retries.
With no REDIS_URL the tasks run eagerly, in-process, in the same order.
"""

from __future__ import annotations

from datetime import date, timedelta

from celery import Task, chord, shared_task
from django.db import OperationalError
from django.utils import timezone

from metrics import services

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


def _last_complete_day() -> date:
    return timezone.now().date() - timedelta(days=1)


@shared_task(bind=True, **TASK_OPTIONS)
def compute_snapshots(self: Task, as_of: str | None = None, chunk_size: int | None = None) -> str:
    """Compute every snapshot of `as_of` (ISO date; default: yesterday UTC, the last whole day,
    because beat starts this early in the morning and a day's windows end at its midnight), in
    chunks of `chunk_size` accounts (default: settings.METRICS_CHUNK_SIZE)."""
    day = date.fromisoformat(as_of) if as_of else _last_complete_day()
    chunks = services.account_chunks(chunk_size=chunk_size)
    services.run_start(as_of=day, chunks_total=len(chunks))
    iso = day.isoformat()
    # The run's tasks go to the queue this one came from, so workers dedicated to a queue get
    # the whole run (and nothing is left on a queue no worker listens to).
    queue = (self.request.delivery_info or {}).get("routing_key")
    route = {"queue": queue} if queue else {}
    callback = compute_rollups_task.si(iso).set(**route)
    callback.link_error(mark_run_failed.si(iso).set(**route))
    try:
        if chunks:
            chord([compute_chunk.si(iso, ids).set(**route) for ids in chunks], callback).apply_async()
        else:
            callback.apply_async()
    except Exception as exc:
        # Only reached when tasks run eagerly (no broker): a chunk's error surfaces here instead
        # of in the chord's errback. Recorded for the progress UI, then re-raised.
        services.run_fail(as_of=day, error=f"{type(exc).__name__}: {exc}")
        raise
    return iso


@shared_task(**TASK_OPTIONS)
def compute_chunk(as_of: str, account_ids: list[int]) -> int:
    """The AccountSnapshot rows of one chunk of accounts; its own transaction."""
    day = date.fromisoformat(as_of)
    stored = services.compute_account_chunk(as_of=day, account_ids=account_ids)
    services.run_chunk_done(as_of=day)
    return stored


@shared_task(**TASK_OPTIONS)
def compute_rollups_task(as_of: str) -> str:
    """Percentiles, segments, programs, channels and influence, once every chunk is stored."""
    day = date.fromisoformat(as_of)
    services.compute_rollups(as_of=day)
    services.run_finish(as_of=day)
    return as_of


@shared_task
def mark_run_failed(as_of: str) -> None:
    """Errback of the chord: a chunk (or the rollups) failed for good; show it on the run."""
    services.run_fail(as_of=date.fromisoformat(as_of), error="A chunk or the rollups failed; see the worker log.")
