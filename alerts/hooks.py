"""The one call the metrics app makes into alerts, when a run marks its day done.

Kept apart from alerts.services, and importing nothing of the alerts app at module level, so
metrics.services can import it without pulling the alerts app (and its imports) in.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


def day_published(*, as_of: dt.date) -> None:
    """Call inside the transaction that marks a day's run done: once it commits, the day's
    alerts are queued (alerts.tasks.send_alerts). Only for a recent day (ALERTS_DIGEST_MAX_AGE_DAYS):
    a backfill of old days sends nothing. `robust`: a problem in alerts never fails a metrics run."""
    if as_of < timezone.now().date() - dt.timedelta(days=settings.ALERTS_DIGEST_MAX_AGE_DAYS):
        return
    def queue_alerts() -> None:  # a named function: Django logs a robust callback's __qualname__
        _queue_day(as_of)

    transaction.on_commit(queue_alerts, robust=True)


def _queue_day(as_of: dt.date) -> None:
    from kombu.exceptions import OperationalError as BrokerError

    from alerts import tasks

    try:
        tasks.send_alerts.delay(as_of.isoformat())
    except BrokerError:
        logger.warning("Alerts of %s not queued: the broker is unavailable; beat's morning run sends them.", as_of)
