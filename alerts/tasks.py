"""Alerts as Celery tasks: thin wrappers around alerts.services.

send_alerts evaluates a day and queues one `deliver` per message; `deliver` makes one attempt and
asks Celery to retry it later when the failure was transient. All three are idempotent — a
day's messages are claimed once (unique rows) and each attempt claims its row — hence acks_late
and reject_on_worker_lost: a task lost with its worker runs again and sends nothing twice.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from celery import Task, shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from alerts import services
from metrics.selectors import latest_published_day

logger = logging.getLogger(__name__)

IDEMPOTENT = {"acks_late": True, "reject_on_worker_lost": True}
# Only transient database trouble is worth retrying an evaluation for; a bug fails it at once.
DATABASE_RETRIES = {"autoretry_for": (OperationalError,), "max_retries": 3, "retry_backoff": True}


def _day(as_of: str | None) -> date | None:
    """The given ISO day, or the latest published one if it is recent enough to be news."""
    if as_of:
        return date.fromisoformat(as_of)
    day = latest_published_day()
    if day is None or day < timezone.now().date() - timedelta(days=settings.ALERTS_DIGEST_MAX_AGE_DAYS):
        return None
    return day


# A day's alerts are stale by the next day's.
@shared_task(expires=20 * 3600, **IDEMPOTENT, **DATABASE_RETRIES)
def send_alerts(as_of: str | None = None) -> str:
    """Digests and webhooks of the published day `as_of` (default: the latest, when recent)."""
    day = _day(as_of)
    if day is None:
        return "No recent published day."
    try:
        report = services.alerts_send_for_day(as_of=day)
    except services.NotPublished as reason:
        logger.warning("Alerts of %s not sent: %s", day, reason)
        return str(reason)
    logger.info("Alerts: %s", report)
    return str(report)


@shared_task(expires=2 * 24 * 3600, **IDEMPOTENT, **DATABASE_RETRIES)
def send_weekly_summaries(as_of: str | None = None) -> str:
    """The weekly executive summary of `as_of` (default: the latest published day)."""
    try:
        report = services.weekly_summaries_send(as_of=date.fromisoformat(as_of) if as_of else None)
    except services.NotPublished as reason:
        logger.warning("Weekly summary not sent: %s", reason)
        return str(reason)
    logger.info("Weekly summary: %s", report)
    return str(report)


@shared_task(bind=True, expires=24 * 3600, **IDEMPOTENT)
def deliver(self: Task, delivery_id: int) -> str:
    """One attempt at one delivery; the service says whether and when to try again (it counts
    the retries, so Celery's own limit is off)."""
    retries = self.request.retries
    attempt = services.delivery_attempt(delivery_id=delivery_id, retries_done=retries)
    if attempt.retry_in is None:
        return attempt.status
    if self.request.is_eager:
        # In-process (no broker): nothing would bring the task back later, so the retries are
        # made now, one after the other, without the backoff.
        while attempt.retry_in is not None:
            retries += 1
            attempt = services.delivery_attempt(delivery_id=delivery_id, retries_done=retries)
        return attempt.status
    raise self.retry(countdown=attempt.retry_in, max_retries=None)
