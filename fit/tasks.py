"""The nightly fit training as a Celery task: a thin wrapper around fit.services.fit_train."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.db import OperationalError

from fit import services


# Idempotent (a rerun replaces the scores with the same ones), hence acks_late; only transient
# database trouble is retried; a night's training is stale by the next night.
@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError,), max_retries=3,
             retry_backoff=True, expires=20 * 3600)
def train_fit(as_of: str | None = None) -> int:
    """Train on the deals closed up to `as_of` (ISO date; default yesterday) and rescore every
    account. Returns the run's id."""
    return services.fit_train(as_of=date.fromisoformat(as_of) if as_of else None).pk
